"""Trainers log to MLflow too when MLFLOW_TRACKING_URI is set (core.tracking.mlflow_log): a real file store, the
real logreg trainer, the run read back with MlflowClient."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from core.tracking.mlflow_log import history_metrics, log_finished_run, wanted
from tests.support.cli import run_module
from tests.support.data import ROOT


def trainer_env(**extra: str) -> dict[str, str]:
    """The test's environment (isolated artifacts) without the developer's MLflow settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_") and k != "RANK"}
    return env | extra


def logged_runs(uri: str):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("bad-buzz")
    return client, (client.search_runs([experiment.experiment_id]) if experiment else [])


def test_a_trained_run_is_logged_with_its_params_metrics_and_files(tmp_path, tiny_csv):
    uri = f"file:{tmp_path / 'mlruns'}"  # the file store wants a fresh folder
    out = tmp_path / "logreg-run"
    done = run_module("trainers.logreg", "--data", tiny_csv, "--output", out, env=trainer_env(MLFLOW_TRACKING_URI=uri))
    assert done.returncode == 0, done.stderr
    client, runs = logged_runs(uri)
    assert len(runs) == 1
    logged, meta = runs[0], json.loads((out / "run.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    assert logged.info.status == "FINISHED" and logged.info.run_name == meta["id"]
    assert logged.data.params["features"] == "tfidf" and logged.data.params["seed"] == "42"
    assert logged.data.metrics["accuracy"] == pytest.approx(metrics["test"]["accuracy"])
    assert logged.data.metrics["training.seconds"] == pytest.approx(metrics["training"]["seconds"])
    assert logged.data.tags["badbuzz.kind"] == "logreg"
    files = {a.path for a in client.list_artifacts(logged.info.run_id, "run")}
    assert {"run/run.json", "run/metrics.json", "run/model.joblib", "run/test_predictions.csv"} <= files
    assert "run/.lock" not in files and "run/heartbeat" not in files


def test_an_mlflow_failure_is_one_warning_and_the_training_succeeds(tmp_path, tiny_csv):
    out = tmp_path / "logreg-run"
    env = trainer_env(MLFLOW_TRACKING_URI="nowhere-scheme://tracking")  # no such tracking store
    done = run_module("trainers.logreg", "--data", tiny_csv, "--output", out, env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads((out / "run.json").read_text())["status"] == "succeeded"
    warnings = [line for line in done.stderr.splitlines() if "MLflow" in line]
    assert len(warnings) == 1 and warnings[0].startswith("warning: MLflow logging skipped"), done.stderr
    assert "Traceback" not in done.stderr


def test_without_a_tracking_uri_mlflow_is_not_even_imported(tmp_path, tiny_csv):
    code = (
        "import sys; from core.training.runner import main; "
        f"main('logreg', ['--data', {str(tiny_csv)!r}, '--output', {str(tmp_path / 'run')!r}]); "
        "print('mlflow imported:', 'mlflow' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=trainer_env(), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "mlflow imported: False"
    assert "MLflow" not in done.stderr


def test_only_rank_zero_logs(tmp_path, trained_logreg_run, monkeypatch):
    assert wanted({"MLFLOW_TRACKING_URI": "file:x"}) and wanted({"MLFLOW_TRACKING_URI": "file:x", "RANK": "0"})
    assert not wanted({"MLFLOW_TRACKING_URI": "file:x", "RANK": "1"}) and not wanted({"RANK": "0"})
    run = shutil.copytree(trained_logreg_run, tmp_path / "run")
    store = tmp_path / "mlruns"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"file:{store}")
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    monkeypatch.setenv("RANK", "3")  # a torchrun worker: rank 0 logs the run
    assert log_finished_run(run) is None and not store.exists()
    monkeypatch.setenv("RANK", "0")
    run_id = log_finished_run(run)
    _, runs = logged_runs(f"file:{store}")
    assert [r.info.run_id for r in runs] == [run_id]


def test_history_epochs_become_steps():
    history = [{"epoch": 1, "loss": 0.6, "val_accuracy": 0.7, "note": "x"}, {"epoch": 2, "loss": 0.4, "nan": None}]
    assert history_metrics(history) == [
        ("history.loss", 0.6, 1),
        ("history.val_accuracy", 0.7, 1),
        ("history.loss", 0.4, 2),
    ]
