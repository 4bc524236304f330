"""The launcher starts real trainer processes, follows them, cancels them, and reports dead ones as failed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import PROJECT_ROOT
from core.tracking.runs import read_json
from core.training import launcher
from tests.support.data import make_tweets_csv
from tests.support.runs import SLOW_RUN, wait_until


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("BADBUZZ_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("BADBUZZ_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


# A stand-in trainer with the real run lifecycle (core.tracking.runs.start_run) that runs until stopped, so cancelling
# and killing can be exercised at a known point; the real trainers share exactly this lifecycle.


def start_slow(root: Path, *extra: str) -> launcher.Launch:
    run_dir = launcher.new_run_dir("logreg", {"features": "slow"}, root)
    return launcher.launch_command([sys.executable, "-c", SLOW_RUN, str(run_dir), *extra], run_dir, "slow stand-in")


def test_commands_come_from_the_trainer_options_dataclass():
    command = launcher.trainer_command(
        "logreg", {"features": "hashing", "seed": 42, "sample": None, "ngram_max": 1}, "tweets.csv", "RUN_DIR"
    )
    assert command[1:] == [
        "-m",
        "trainers.logreg",
        "--data",
        "tweets.csv",
        "--output",
        "RUN_DIR",
        "--features",
        "hashing",
        "--ngram-max",
        "1",
    ]  # defaults are left to the trainer
    azure = launcher.azure_job_command("keras", {"arch": "bilstm"}, "tweets.csv", "gpu-cluster", dry_run=True)
    assert azure[1:] == [
        "-m",
        "core.commands.azure_job",
        "--trainer",
        "keras_nn",
        "--compute",
        "gpu-cluster",
        "--dry-run",
        "--",
        "--data",
        "tweets.csv",
        "--output",
        "outputs/run",
        "--arch",
        "bilstm",
    ]
    with pytest.raises(TypeError):  # a value for an option the trainer does not have
        launcher.trainer_command("logreg", {"epochs": 3}, "tweets.csv", "RUN_DIR")


def test_launch_real_logreg_run_and_follow_it_to_success(workspace):
    data = make_tweets_csv(workspace / "tweets.csv")
    started = launcher.launch("logreg", {"features": "hashing", "hash_bits": 12}, data)
    assert started.path.parent == (workspace / "runs").resolve()
    assert "-logreg-hashing" in started.run_id
    seen = set()
    run = wait_until(started.path, lambda r: seen.add(r.status) or not r.active)
    assert run.status == "succeeded", run.log_tail
    assert seen <= {"starting", "running", "succeeded"}
    assert run.info.metrics["test"]["accuracy"] > 0.8
    assert "done: accuracy" in (started.path / "train.log").read_text()
    exited = wait_until(started.path, lambda r: "exit_code" in r.launch, timeout=30)
    assert exited.launch["exit_code"] == 0 and exited.status == "succeeded"
    assert [r.id for r in launcher.launched_runs()] == [started.run_id]


def test_bad_option_fails_before_run_json_with_log_tail(workspace):
    data = make_tweets_csv(workspace / "tweets.csv", n=50)
    started = launcher.launch("logreg", {"features": "no-such-features"}, data)
    run = wait_until(started.path, lambda r: not r.active)
    assert run.status == "failed"
    assert run.reason.startswith("error: ") and "invalid choice" in run.reason  # the trainer's own one line
    assert "invalid choice" in run.log_tail


def test_cancel_marks_the_run_cancelled(workspace):
    started = start_slow(workspace / "runs")
    wait_until(started.path, lambda r: r.status == "running" and r.progress)
    running = launcher.follow(started.path)
    assert launcher.progress_fraction(running.progress) is not None
    assert running.progress["phase"] == "train"
    assert launcher.cancel(started.path) is True
    run = wait_until(started.path, lambda r: not r.active, timeout=30)
    assert run.status == "cancelled"
    assert read_json(started.path / "run.json")["status"] == "cancelled"  # written by the run itself
    assert launcher.cancel(started.path) is False  # already gone


def test_cancel_kills_a_run_that_ignores_sigterm(workspace):
    started = start_slow(workspace / "runs", "deaf")
    wait_until(started.path, lambda r: "slow run started" in r.log_tail)
    assert launcher.cancel(started.path, grace_s=1.0)
    run = wait_until(
        started.path,
        lambda r: r.status == "cancelled" and read_json(r.path / "run.json")["status"] == "cancelled",
        timeout=30,
    )
    assert run.status == "cancelled"
    with pytest.raises(ProcessLookupError):
        os.kill(started.pid, 0)


def test_killed_process_shows_as_failed_with_log_tail(workspace):
    started = start_slow(workspace / "runs")
    wait_until(started.path, lambda r: "slow run started" in r.log_tail)
    os.killpg(started.pid, signal.SIGKILL)
    run = wait_until(started.path, lambda r: not r.active, timeout=30)
    assert run.status == "failed"
    assert "died" in run.reason and "SIGKILL" in run.reason
    assert "slow run started" in run.log_tail
    assert json.loads((started.path / "run.json").read_text())["status"] == "running"  # nobody rewrote it


def test_run_ids_are_unique_and_readable(workspace):
    first = launcher.new_run_dir("keras", {"arch": "lstm", "embedding": "/models/glove.6B.100d.txt"})
    second = launcher.new_run_dir("keras", {"arch": "lstm", "embedding": "/models/glove.6B.100d.txt"})
    assert first != second and first.name.endswith("-keras-lstm-glove-6b-100d-txt")
    assert second.name == first.name + "-2" or second.name.split("-keras")[0] != first.name.split("-keras")[0]


def test_progress_display():
    fields = launcher.progress_fields(
        {
            "phase": "train",
            "epoch": 2,
            "epochs": 4,
            "step": 50,
            "steps": 100,
            "loss": 0.41234,
            "tweets_per_s": 1234.5,
            "eta_s": 125,
        }
    )
    assert fields == {
        "phase": "train",
        "epoch": "2 / 4",
        "step": "50 / 100",
        "loss": "0.4123",
        "speed": "1,234 tweets/s",
        "ETA": "2 min 05 s",
    }
    assert launcher.progress_fraction({"epoch": 2, "epochs": 4, "step": 50, "steps": 100}) == 0.375


def test_azure_ml_dry_run_prints_the_job_it_would_submit(workspace, monkeypatch):
    for env in ("AZURE_SUBSCRIPTION_ID", "AZURE_RESOURCE_GROUP", "AZUREML_WORKSPACE_NAME"):
        monkeypatch.delenv(env, raising=False)
    configured, why = launcher.azure_ml_status()
    assert "AZUREML_WORKSPACE_NAME" in why or configured  # a config.json above the checkout would configure it
    data = make_tweets_csv(workspace / "tweets.csv", n=20)
    started = launcher.launch_azure_job(
        "logreg", {"features": "hashing"}, data, compute="cpu-cluster", gpu=False, dry_run=True
    )
    run = wait_until(started.path, lambda r: not r.active, timeout=120)
    assert run.status == "submitted", run.log_tail
    assert "dry run" in run.reason
    log = (started.path / "train.log").read_text()
    assert "python -m trainers.logreg --data ${{inputs.data}} --output ${{outputs.run}} --features hashing" in log
    assert "cpu-cluster" in log


def test_the_transformer_goes_to_azure_ml_on_several_nodes_and_gpus(workspace, monkeypatch):
    for env in ("AZURE_SUBSCRIPTION_ID", "AZURE_RESOURCE_GROUP", "AZUREML_WORKSPACE_NAME"):
        monkeypatch.delenv(env, raising=False)
    command = launcher.azure_job_command("transformer", {}, "d.csv", "gpu-cluster", nodes=2, gpus_per_node=4)
    assert command[command.index("--instance-count") :][:4] == ["--instance-count", "2", "--gpus-per-node", "4"]
    assert "--instance-count" not in launcher.azure_job_command("transformer", {}, "d.csv", "gpu-cluster")
    data = make_tweets_csv(workspace / "tweets.csv", n=20)
    started = launcher.launch_azure_job(
        "transformer", {"base_model": "minilm"}, data, compute="gpu-cluster", dry_run=True, nodes=2, gpus_per_node=4
    )
    run = wait_until(started.path, lambda r: not r.active, timeout=120)
    assert run.status == "submitted", run.log_tail
    log = (started.path / "train.log").read_text()
    assert "process_count_per_instance: 4" in log and "instance_count: 2" in log and "type: pytorch" in log


def test_preset_dependent_flag_has_three_states():
    def flags(value):
        return launcher.trainer_command("keras", {"trainable_embeddings": value}, "d.csv", "out")[7:]

    assert flags(None) == []  # the preset decides
    assert flags(True) == ["--trainable-embeddings"]
    assert flags(False) == ["--no-trainable-embeddings"]


def test_the_command_line_parser_stays_without_pytorch():
    """The registry, options and launcher import no ML library (import-linter's `light-for-the-dashboard`
    contract); the parser imports transformers, which must not pull in PyTorch (a fresh process sees it)."""
    code = "import sys, core.cli.parser; print('torch' in sys.modules)"  # HfArgumentParser without PyTorch
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr
