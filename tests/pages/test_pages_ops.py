"""The Train, Résumé and Monitor pages, run by Streamlit's AppTest with no runs and with real tiny runs."""

from __future__ import annotations

import json
import sys

import pytest
from streamlit.testing.v1 import AppTest

from core.config import PROJECT_ROOT
from core.training import launcher
from tests.support.data import make_tweets_csv
from tests.support.runs import SLOW_RUN, train_logreg, wait_until
from views.components.devices import device_probe

TIMEOUT = 90


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A runs folder holding one real logistic-regression run, and the tiny CSV it was trained on."""
    root = tmp_path_factory.mktemp("pages")
    train_logreg(root, "logreg-tfidf", make_tweets_csv(root / "tweets.csv"))
    return root


@pytest.fixture
def empty_env(tmp_path, monkeypatch):
    monkeypatch.setenv("BADBUZZ_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("BADBUZZ_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BADBUZZ_DATA", str(make_tweets_csv(tmp_path / "tweets.csv")))
    return tmp_path


@pytest.fixture
def runs_env(trained, monkeypatch):
    monkeypatch.setenv("BADBUZZ_RUNS_DIR", str(trained / "runs"))
    monkeypatch.setenv("BADBUZZ_DATA_DIR", str(trained / "data"))
    monkeypatch.setenv("BADBUZZ_DATA", str(trained / "tweets.csv"))
    return trained


def page(name: str) -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / "views" / f"{name}.py"), default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    parts = [
        e.value
        for kind in ("markdown", "caption", "code", "info", "warning", "error", "success")
        for e in getattr(at, kind)
    ]
    return "\n".join(str(p) for p in parts)


# ---------------------------------------------------------------- Train


def test_train_page_without_runs(empty_env):
    at = page("train")
    assert "No run yet (runs folder" in texts(at)
    approaches = at.selectbox[0]
    assert "logreg" in approaches.options or any("Logistic" in o for o in approaches.options)
    device_probe().result(timeout=TIMEOUT)  # the device panel follows the server's background probe
    assert "CPU cores" in texts(at.run())
    labels = [w.label for kind in ("number_input", "selectbox", "text_input") for w in getattr(at, kind)]
    assert "Tweets to use (sample)" in labels and "Validation share (of training)" in labels  # words, not names
    assert "Hashing size (2^bits features)" not in labels  # TF-IDF features: the hashing size does not apply
    assert "--output RUN_DIR" in texts(at)
    data = next(s for s in at.selectbox if s.label == "Data")
    assert data.value == str(empty_env / "tweets.csv") and any("official set" in o for o in data.options)
    assert not next(b for b in at.button if b.label == "Launch").disabled
    next(t for t in at.text_input if t.label == "Regularisation (C)").set_value(str(empty_env / "nope.csv")).run()
    assert "does not pass paths of this server" in texts(at)
    assert next(b for b in at.button if b.label == "Launch").disabled


def test_train_page_names_the_runs_it_did_not_launch(runs_env):
    at = page("train")
    assert "1 run in the runs folder, trained from a terminal" in texts(at)  # not "no run launched"


def test_train_page_launches_follows_and_cancels(empty_env):
    at = page("train")
    features = next(s for s in at.selectbox if s.label == "Text features")
    features.set_value("hashing").run()
    assert "--features hashing" in texts(at)
    assert any(n.label == "Hashing size (2^bits features)" for n in at.number_input)
    next(b for b in at.button if b.label == "Launch").click().run()
    assert not at.exception, at.exception
    runs = launcher.launched_runs()
    assert len(runs) == 1 and runs[0].id.endswith("-logreg-hashing")
    done = wait_until(runs[0].path, lambda r: not r.active)
    assert done.status == "succeeded", done.log_tail
    at.run()
    shown = texts(at)
    assert "succeeded" in shown and "accuracy" in shown

    run_dir = launcher.new_run_dir("logreg", {"features": "slow"})
    slow = launcher.launch_command([sys.executable, "-c", SLOW_RUN, str(run_dir)], run_dir, "slow stand-in")
    wait_until(slow.path, lambda r: r.status == "running" and r.progress)
    at.run()
    assert "epoch: **1 / 2**" in texts(at) and "ETA" in texts(at)
    next(b for b in at.button if b.label == "Cancel").click().run()
    assert not at.exception, at.exception
    cancelled = wait_until(slow.path, lambda r: not r.active, timeout=30)
    assert cancelled.status == "cancelled"


def test_train_page_offers_nodes_and_gpus_for_the_transformer_on_azure_ml(empty_env, monkeypatch):
    for env in ("AZURE_SUBSCRIPTION_ID", "AZURE_RESOURCE_GROUP", "AZUREML_WORKSPACE_NAME"):
        monkeypatch.delenv(env, raising=False)
    at = page("train")
    approach = at.selectbox[0]
    approach.set_value(next(o for o in approach.options if "transformer" in o.lower())).run()
    next(r for r in at.radio if r.label == "Where").set_value("Azure ML compute").run()
    next(t for t in at.text_input if t.label == "Compute cluster").set_value("gpu-cluster").run()
    next(n for n in at.number_input if n.label == "Nodes").set_value(2).run()
    next(n for n in at.number_input if n.label == "GPUs per node").set_value(4).run()
    assert not at.exception, at.exception
    assert "--instance-count 2 --gpus-per-node 4" in texts(at)
    at = page("train")
    approach = at.selectbox[0]
    approach.set_value(next(o for o in approach.options if "keras" in o.lower())).run()
    next(r for r in at.radio if r.label == "Where").set_value("Azure ML compute").run()
    assert not any(n.label == "Nodes" for n in at.number_input)  # one process: nothing to distribute


# ---------------------------------------------------------------- Résumé


def test_resume_page_without_runs(empty_env):
    at = page("resume")
    assert "No finished run" in texts(at)
    table = at.dataframe[0].value
    assert len(table) == 3 and set(table["source"]) == {"study (not measured here)"}
    assert not at.get("plotly_chart")


def test_resume_page_with_runs(runs_env):
    at = page("resume")
    table = at.dataframe[0].value
    measured = table[table["source"] == "measured"]
    assert measured["run"].tolist() == ["logreg-tfidf"]
    assert measured["accuracy (%)"].iloc[0] > 80
    assert at.get("plotly_chart") and at.get("download_button")
    assert "None" not in table.astype(str).to_numpy() and table["macro F1 (%)"].dtype == float  # study rows: blank
    shown = list(at.dataframe[0].proto.column_order)
    assert shown[:2] == ["approach", "run"] and "single-tweet latency p50 (ms)" in shown and len(shown) <= 10
    assert {"notes", "lineage", "device"} <= set(at.dataframe[1].value.columns)  # the rest, in the expander
    assert set(at.dataframe[2].value["source"]) == {"study (not measured here)"}  # the study's rows apart, no blanks
    xaxis = json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["xaxis"]
    assert xaxis["ticktext"] and all(
        t.startswith("$") and "^" not in t for t in xaxis["ticktext"]
    )  # "$0.00002", not 10^-5
    at.number_input[0].set_value(10.0).run()  # a pricier machine: costs follow
    pricier = at.dataframe[0].value
    assert pricier["training cost (USD)"].iloc[0] > measured["training cost (USD)"].iloc[0]


# ---------------------------------------------------------------- Monitor


def test_monitor_page_without_runs(empty_env):
    at = page("monitor")
    assert "No model to score with" in texts(at)
    at.text_area[0].set_value("my bag is lost").run()
    assert not [b for b in at.button if b.label == "Score"]


def test_monitor_page_scores_pasted_tweets(runs_env):
    at = page("monitor")
    assert "Upload a CSV" in texts(at)
    tweets = ["love the crew great flight"] * 6 + ["awful delayed lost bag hate"] * 9
    at.text_area[0].set_value("\n".join(tweets)).run()
    next(b for b in at.button if b.label == "Score").click().run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Tweets scored"] == "15" and metrics["Negative share"] == "60.0%"
    assert at.get("plotly_chart") and at.get("download_button")
    worst = next(
        df.value for df in at.dataframe if "spread between runs" not in df.value.columns and "text" in df.value
    )
    assert worst["text"].iloc[0] == "awful delayed lost bag hate"
