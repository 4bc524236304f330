"""Evaluation sets (core/evaluation/eval_sets.py, `python -m core.commands.evaluate`): a real tiny logreg run measured on
labelled files the tests write, the official manual set from a small fake official zip (neutral tweets reported
apart), the evaluation after training, older runs evaluated later, cloud runs through the spend guard and cache,
and the Compare / Résumé tables built on them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core import config
from core.analysis import compare as cmp
from core.analysis import resume_table
from core.commands.evaluate import main as evaluate_main
from core.data.labels import THREE_CLASSES
from core.evaluation import eval_sets
from core.evaluation.eval_sets import OFFICIAL_SET, TEST_SPLIT
from core.models.base import load
from core.tracking.runs import list_runs, read_run
from tests.support.azure_language_server import LanguageServer
from tests.support.data import make_tweets, write_official_csv
from tests.support.eval_sets import copy_run, fake_cloud_run, write_labelled_csv, write_official_zip


@pytest.fixture
def run(trained_logreg_run, tmp_path) -> Path:
    return copy_run(trained_logreg_run, tmp_path / "runs" / "logreg-a")


def one_line_error(capsys, argv: list[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        evaluate_main(argv)
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and err.startswith("error: ") and "\n" not in err, err
    return err


def test_cli_measures_a_run_on_a_labelled_csv_and_stores_it(run, tmp_path, capsys):
    data = write_labelled_csv(tmp_path / "in_domain.csv")
    evaluate_main(["--run", str(run), "--data", str(data)])  # in-process: a child Python costs seconds here
    out = capsys.readouterr().out
    assert "in_domain (in_domain.csv, 24 tweets): accuracy" in out and "1 neutral tweets" in out
    folder = run / "evaluations" / "in-domain"
    assert f"stored in {folder / 'evaluation.json'}" in out
    evaluation = json.loads((folder / "evaluation.json").read_text())
    assert evaluation["name"] == "in_domain" and evaluation["source"] == "in_domain.csv"
    assert evaluation["fingerprint"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert str(tmp_path) not in (folder / "evaluation.json").read_text()  # no server path, only the file name
    report = evaluation["data"]
    assert (report["rows_read"], report["malformed_rows"], report["neutral_dropped"], report["rows_kept"]) == (
        26,
        1,
        1,
        24,
    )
    assert len(report["malformed_examples"]) == 1 and report["malformed_examples"][0].startswith("line 27: ")
    assert evaluation["counts"] == {"rows_kept": 24, "scored": 24, "without_score": 0}
    assert evaluation["metrics"]["n"] == 24 and evaluation["metrics"]["accuracy"] >= 0.75
    assert evaluation["neutral"]["n"] == 1 and evaluation["neutral"]["scored"] == 1
    predictions = pd.read_csv(folder / "predictions.csv")
    assert list(predictions.columns) == ["row_id", "label", "p_pos", "text"] and len(predictions) == 24
    assert predictions["p_pos"].between(0, 1).all() and set(predictions["label"]) == {0, 1}
    assert eval_sets.list_evaluations(run)["in_domain"]["metrics"] == evaluation["metrics"]
    assert eval_sets.set_predictions(run, "in_domain")["text"].str.len().gt(0).all()
    assert list(eval_sets.set_predictions(run, TEST_SPLIT).columns) == ["row_id", "label", "p_pos"]


def test_official_set_reports_neutral_apart_and_a_new_file_replaces_it(run, tmp_path, capsys, caplog):
    write_official_zip(tmp_path)
    evaluate_main(["--run", str(run), "--official"])
    out = capsys.readouterr().out
    assert f"{OFFICIAL_SET} (trainingandtestdata.zip:{config.OFFICIAL_TEST_NAME}, 30 tweets)" in out
    assert "7 neutral tweets reported apart" in out
    first = eval_sets.list_evaluations(run)[OFFICIAL_SET]
    neutral = first["neutral"]
    assert neutral["n"] == neutral["scored"] == 7 and 0 <= neutral["predicted_positive"] <= 1
    assert 0 < neutral["mean_p_pos"] < 1 and first["data"]["neutral_dropped"] == 7
    assert first["metrics"]["n"] == 30 and sum(map(sum, first["metrics"]["confusion_matrix"])) == 30

    evaluate_main(["--run", str(run), "--official"])
    assert "replaced (same file)" in caplog.text
    other = write_official_csv(tmp_path / config.OFFICIAL_TEST_NAME, make_tweets(10, seed=1))
    evaluate_main(["--run", str(run), "--data", str(other)])  # the manual file alone is the official set too
    assert "was replaced by testdata.manual.2009.06.14.csv" in caplog.text
    assert list(eval_sets.list_evaluations(run)) == [OFFICIAL_SET]
    assert eval_sets.list_evaluations(run)[OFFICIAL_SET]["metrics"]["n"] == 10


def test_expected_failures_are_one_line(run, tmp_path, capsys, no_cloud):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    assert "not a run folder" in one_line_error(capsys, ["--run", str(tmp_path / "nope"), "--data", str(bad)])
    assert "cannot tell the CSV layout" in one_line_error(capsys, ["--run", str(run), "--data", str(bad)])
    assert "not found" in one_line_error(capsys, ["--run", str(run), "--data", str(tmp_path / "absent.csv")])
    assert "is a folder" in one_line_error(capsys, ["--run", str(run), "--data", str(tmp_path)])
    assert "official zip" in one_line_error(capsys, ["--run", str(run), "--official"])
    labelled = write_labelled_csv(tmp_path / "l.csv")
    assert "choose another name" in one_line_error(
        capsys, ["--run", str(run), "--data", str(labelled), "--name", TEST_SPLIT]
    )
    cloud = fake_cloud_run(tmp_path / "runs" / "azure-lang")
    assert "not configured" in one_line_error(capsys, ["--run", str(cloud), "--data", str(labelled)])
    assert not (cloud / "evaluations").exists()


def test_training_evaluates_the_official_set_when_the_zip_is_there(tiny_csv, tmp_path, caplog):
    from trainers import logreg

    write_official_zip(tmp_path)
    out = logreg.main(["--data", str(tiny_csv), "--output", str(tmp_path / "runs" / "with-official")])
    evaluation = eval_sets.list_evaluations(out)[OFFICIAL_SET]
    assert evaluation["metrics"]["n"] == 30 and evaluation["neutral"]["n"] == 7 and evaluation["run"] == out.name
    assert read_run(out).status == "succeeded"

    (config.data_dir() / config.OFFICIAL_ZIP_NAME).write_bytes(b"PK\x03\x04 not really a zip")
    broken = logreg.main(["--data", str(tiny_csv), "--output", str(tmp_path / "runs" / "broken-zip")])
    assert read_run(broken).status == "succeeded" and eval_sets.list_evaluations(broken) == {}
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(f"the {OFFICIAL_SET} evaluation was skipped" in w and "\n" not in w for w in warnings), warnings


def test_older_runs_are_evaluated_once_and_the_tables_show_each_set(run, tmp_path, trained_logreg_run):
    other = copy_run(trained_logreg_run, tmp_path / "runs" / "logreg-b")
    write_official_zip(tmp_path)
    eval_sets.evaluate_set(load(run), run, eval_sets.official_source())
    done = eval_sets.evaluate_missing(runs_root=tmp_path / "runs")
    assert [run_id for run_id, _ in done] == ["logreg-b"] and "accuracy" in done[0][1]
    assert eval_sets.evaluate_missing(runs_root=tmp_path / "runs") == []

    data = write_labelled_csv(tmp_path / "mine.csv")
    eval_sets.evaluate_set(load(run), run, data, name="my tweets")
    runs = [read_run(run), read_run(other)]
    assert cmp.evaluation_sets(runs) == [TEST_SPLIT, OFFICIAL_SET, "my tweets"]
    table = cmp.metrics_table(runs).set_index("run")
    column = cmp.set_column(OFFICIAL_SET)
    official = eval_sets.list_evaluations(run)[OFFICIAL_SET]["metrics"]["accuracy"]
    assert table.loc[cmp.run_label(runs[0]), column] == pytest.approx(100 * official, abs=0.01)
    assert pd.isna(table.loc[cmp.run_label(runs[1]), cmp.set_column("my tweets")])
    assert cmp.with_set(runs, "my tweets") == ([runs[0]], [runs[1]])
    frames = cmp.set_prediction_frames(runs, OFFICIAL_SET)
    assert list(frames) == [cmp.run_label(r) for r in runs]
    assert all(list(f.columns) == ["label", "p_pos"] and len(f) == 30 for f in frames.values())
    assert cmp.confusion(runs[0], set_name=OFFICIAL_SET).to_numpy().sum() == 30
    assert set(cmp.curve_points(runs, "roc", OFFICIAL_SET)["run"].str.split(" \\(").str[0]) == set(frames)
    texts, problem = cmp.set_texts(runs, OFFICIAL_SET)
    assert problem is None and len(texts) == 30
    summary = resume_table.summary_table(runs, include_study=False, set_name="my tweets")
    assert summary.columns.tolist().index(column) == summary.columns.tolist().index("test split") + 1
    assert summary["run"].tolist()[0] == "logreg-a"  # ranked by the chosen set: the other run lacks it
    assert (
        resume_table.missing_set(summary, "my tweets") == ["logreg-b"]
        and len(resume_table.on_set(summary, "my tweets")) == 1
    )


def test_cloud_runs_are_evaluated_through_the_cache(tmp_path, monkeypatch):
    cloud = fake_cloud_run(tmp_path / "runs" / "azure-lang")
    data = write_labelled_csv(tmp_path / "cloud.csv")
    with LanguageServer() as server:
        monkeypatch.setenv("AZURE_LANGUAGE_ENDPOINT", server.endpoint)
        monkeypatch.setenv("AZURE_LANGUAGE_KEY", server.key)
        monkeypatch.setenv("BADBUZZ_SECRETS_FILE", str(tmp_path / "none.toml"))
        first = eval_sets.evaluate_set(load(cloud), cloud, data)
        requests = len(server.requests)
        again = eval_sets.evaluate_set(load(cloud), cloud, data)
    # 25 texts, 10 a request; Azure AI Language answers three ways, so the neutral tweet is a class of its metrics
    assert first["counts"]["scored"] == 25 and requests == 3 and first["classes"] == list(THREE_CLASSES)
    neutral = first["neutral"]
    assert (neutral["n"], neutral["as_class"]) == (1, True) and neutral["predicted_neutral"] in (0.0, 1.0)
    assert np.array(first["metrics"]["confusion_matrix"]).shape == (3, 3)
    assert len(server.requests) == requests and again["metrics"] == first["metrics"]  # answered from the cache
    assert server.key not in (cloud / "evaluations" / "cloud" / "evaluation.json").read_text()
    assert [r.id for r in list_runs(tmp_path / "runs")] == ["azure-lang"]
