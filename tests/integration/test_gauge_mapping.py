"""The gauge's in-domain mapping on small labelled, timed, grouped files (tests/unit/test_gauge.py makes them):
known shares recovered within the interval, a prior shift corrected, the result stored in the run folder."""

from __future__ import annotations

import json

import pytest

from core.evaluation import gauge
from tests.support.gauge_data import SHARES, BiasedBinaryRun, make_gauge_csv, settings


@pytest.fixture
def gauge_csv(tmp_path):
    return make_gauge_csv(tmp_path / "airline.csv", SHARES)


def test_known_shares_recovered_within_the_interval_and_a_prior_shift_corrected(gauge_csv, fake_encoder):
    """The first day (30-35 % negative) labels the mapping; the later days (45-80 %) are estimated within their
    interval, where the binary run alone is off by several points."""
    data = gauge.read_gauge_file(gauge_csv, settings())
    out_of_box, method, _ = gauge.estimate(data, BiasedBinaryRun().predict_class_proba(data.frame["text"]), settings())
    assert "binary run" in method["note"] and gauge.gauge_metrics(out_of_box, 0.6)["mae"] > 10
    table, method, _ = gauge.estimate(
        data, BiasedBinaryRun().predict_class_proba(data.frame["text"]), settings(labels=120)
    )
    assert list(table["window_start"].str[:10]) == ["2015-02-18", "2015-02-19"] * 2
    assert ((table["low"] <= table["true_share"]) & (table["true_share"] <= table["high"])).all()
    metrics = gauge.gauge_metrics(table, 0.6)
    assert metrics["mae"] < 3 and metrics["alert_recall"] == 1 and metrics["alert_precision"] == 1
    assert method["labels"] == 120 and "logistic regression" in method["mapping"]


def test_evaluate_gauge_stores_the_result_beside_the_evaluation_sets(gauge_csv, tmp_path, fake_encoder):
    run = tmp_path / "run"
    run.mkdir()
    data = gauge.read_gauge_file(gauge_csv, settings())
    result = gauge.evaluate_gauge(BiasedBinaryRun(), run, data, settings(labels=120, protocol="random", min_tweets=20))
    assert json.loads((run / "evaluations" / "airline" / "gauge.json").read_text())["metrics"] == result["metrics"]
    assert gauge.list_gauges(run)["airline"]["settings"]["protocol"] == "random"
    assert len(gauge.gauge_windows(run, "airline")) == result["metrics"]["windows"]
    assert "gauge on airline (120 random-split labels" in gauge.describe(result)


@pytest.mark.parametrize("run_fixture", ["trained_logreg_run", "three_way_logreg_run"])
def test_the_command_gauges_binary_and_three_way_runs_and_leaves_their_outputs(
    run_fixture, request, gauge_csv, tmp_path, capsys
):
    import shutil

    from core.commands import evaluate

    run = shutil.copytree(request.getfixturevalue(run_fixture), tmp_path / "run")
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file() and p.name != "heartbeat"}
    argv = ["--run", str(run), "--data", str(gauge_csv), "--gauge", "--group-column", "airline", "--encoder", "none"]
    evaluate.main(argv + ["--time-split", "120"])
    out = capsys.readouterr().out
    assert "gauge on airline (120 time-split labels, 4 windows of 1D" in out and "stored in" in out
    result = gauge.list_gauges(run)["airline"]
    assert result["method"]["mapping"] == "in-domain 3-class logistic regression on [run log-odds]"
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.name in before} == before
    evaluate.main(argv)
    assert "no in-domain labels" in capsys.readouterr().out
    note = gauge.list_gauges(run)["airline"]["method"].get("note", "")
    assert ("binary run" in note) == (run_fixture == "trained_logreg_run")


def test_the_learning_curve_labels_actively_within_the_pool(gauge_csv, fake_encoder):
    from benchmarks import gauge_curve

    data = gauge.read_gauge_file(gauge_csv, settings())
    proba = BiasedBinaryRun().predict_class_proba(data.frame["text"])
    plan = settings(labels=100, pool=120, min_tweets=20)
    X = gauge.mapping_features(data, proba, plan)
    chosen = gauge_curve.active_labels(data, proba, X, plan, 100)
    pool = gauge.split(data.frame, settings(labels=120))[0]
    assert len(set(chosen)) == 100 and set(chosen) <= set(pool)
    point = gauge_curve.curve_point(data, proba, X, plan, "active")
    assert point["k"] == 100 and point["windows"] == 4 and point["mae"] < 10
