"""The analysis pages (app, Overview, Data, Compare, Live scoring) rendered by Streamlit's AppTest, with no data,
with data but no run, and with two real tiny logreg runs; plus unit tests of core/analysis/data_explorer.py."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core import config
from core.analysis import data_explorer as dx
from core.data.loading import load_dataset
from core.tracking.runs import list_runs
from tests.support.data import make_tweets, write_official_csv
from tests.support.runs import train_tiny_runs
from tests.support.streamlit import render, texts


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Two real runs (TF-IDF and hashing logreg) on a tiny CSV, trained once for this module."""
    return train_tiny_runs(tmp_path_factory.mktemp("analysis"))


@pytest.fixture
def no_data(monkeypatch, tmp_path, no_cloud):
    monkeypatch.setattr(config, "SHARED_SAMPLE", tmp_path / "absent.csv")
    monkeypatch.setenv("BADBUZZ_RUNS_DIR", str(tmp_path / "runs"))


@pytest.fixture
def data_no_runs(monkeypatch, tmp_path, trained, no_cloud):
    monkeypatch.setenv("BADBUZZ_DATA", str(trained / "tweets.csv"))
    monkeypatch.setenv("BADBUZZ_RUNS_DIR", str(tmp_path / "runs"))
    return trained / "tweets.csv"


@pytest.fixture
def with_runs(monkeypatch, trained, no_cloud):
    monkeypatch.setenv("BADBUZZ_DATA", str(trained / "tweets.csv"))
    monkeypatch.setenv("BADBUZZ_DATA_DIR", str(trained / "data"))
    monkeypatch.setenv("BADBUZZ_RUNS_DIR", str(trained / "runs"))
    return {run.id: run for run in list_runs(trained / "runs")}


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


# ------------------------------------------------------------------ app.py


def test_app_without_data_says_how_to_get_it(no_data):
    at = render("app.py")
    assert "upload a CSV or download Sentiment140" in texts(at.sidebar.warning)
    assert [s.value for s in at.sidebar.subheader] == ["Access", "Data", "Device"]
    assert at.title[0].value == "Bad Buzz — Air Paradis"  # the Overview page is the default one


def test_app_shows_the_data_source_in_use(data_no_runs):
    at = render("app.py")
    assert f"Configured data ({data_no_runs.name})" in texts(at.sidebar.success)


# ------------------------------------------------------------------ Overview


def test_overview_without_data_or_runs_offers_upload_download_and_baselines(no_data):
    at = render("views/overview.py")
    assert "No tweets to train on yet" in texts(at.warning)
    assert at.get("file_uploader") and any(b.label == "Download Sentiment140" for b in at.button)
    baselines = next(b for b in at.button if b.label == "Train the quick baselines")
    assert baselines.disabled  # nothing to train on yet
    assert "python -m trainers.logreg" in texts(at.code)
    assert "No run yet" in texts(at.info)
    next(b for b in at.button if b.label == "Download Sentiment140").click().run()
    assert "cannot reach the internet" in texts(at.error)  # offline (the tests' download address refuses)


def test_overview_with_data_and_no_run_names_the_data_in_the_command(data_no_runs):
    at = render("views/overview.py")
    assert not at.warning
    assert f"python -m trainers.logreg --data {data_no_runs}" in texts(at.code)


def test_overview_lists_every_run_with_its_accuracy(with_runs):
    at = render("views/overview.py")
    table = at.dataframe[0].value.set_index("run")
    assert set(table.index) == {"logreg-tfidf", "logreg-hashing"}
    for run_id, run in with_runs.items():
        assert table.loc[run_id, "accuracy (%)"] == pytest.approx(100 * run.metrics["test"]["accuracy"], abs=0.01)
        assert table.loc[run_id, "status"] == "succeeded"
    best_id, best = max(((i, 100 * r.metrics["test"]["accuracy"]) for i, r in with_runs.items()), key=lambda b: b[1])
    assert next(m for m in at.metric if m.label == "Best accuracy").value == f"{best:.2f} %"
    assert f"{with_runs[best_id].approach} · {best_id}" in texts(at.caption)  # which model, not only in a tooltip
    [chart] = at.get("plotly_chart")
    low, high = json.loads(chart.proto.spec)["layout"]["xaxis"]["range"]
    assert 0 < low < min(table["accuracy (%)"]) and max(table["accuracy (%)"]) < high <= 100  # not from 0


# ------------------------------------------------------------------ Data


def test_data_page_without_data_says_how_to_get_it(no_data, monkeypatch):
    monkeypatch.delenv("BADBUZZ_DATA", raising=False)
    at = render("views/data.py")
    assert "No data yet" in texts(at.info) and at.get("file_uploader")


def test_data_page_explores_a_headered_csv(data_no_runs):
    report = load_dataset(data_no_runs).report
    at = render("views/data.py")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Tweets kept"] == f"{report.rows_kept:,}" and metrics["Rows read"] == f"{report.rows_read:,}"
    cleaning = next(d.value for d in at.dataframe if "step" in d.value.columns).set_index("step")
    assert cleaning.loc["exact duplicates dropped (same text and label)", "rows"] == 1
    assert cleaning.loc["texts with both labels (conflicting)", "rows"] == 1
    assert "no user column" in texts(at.info)
    assert len(at.get("plotly_chart")) == 5  # balance, 2 length histograms, 2 token bars
    at.radio[0].set_value("most distinctive").run()
    assert not at.exception


def test_data_page_shows_users_for_the_official_format(monkeypatch, tmp_path, no_cloud):
    source = write_official_csv(tmp_path / "official.csv", make_tweets(140))
    monkeypatch.setenv("BADBUZZ_DATA", str(source))
    at = render("views/data.py")
    assert not at.info
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["users"] == "7" and metrics["max tweets per user"] == "20"
    assert len(at.get("plotly_chart")) == 7  # + tweets per user, top users


def test_data_page_reports_an_unusable_file(monkeypatch, tmp_path, no_cloud):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,c\n1,2,3\n")
    monkeypatch.setenv("BADBUZZ_DATA", str(bad))
    at = render("views/data.py")
    assert "cannot be used" in texts(at.error) and "cannot tell the CSV layout" in texts(at.error)


def test_data_explorer_statistics():
    rows = make_tweets(40) + [(0, "short"), (4, "a much longer positive tweet with many words in it")]
    frame = pd.DataFrame(
        {
            "row_id": range(len(rows)),
            "text": [t for _, t in rows],
            "label": [int(t == 4) for t, _ in rows],
            "user": [f"u{i % 3}" for i in range(len(rows))],
        }
    )
    balance = dx.class_balance(frame).set_index("class")
    assert balance.loc["negative", "tweets"] == 21 and balance["share (%)"].sum() == pytest.approx(100)
    lengths = dx.lengths(frame)
    assert lengths.loc[40, "words"] == 1 and lengths.loc[41, "characters"] == len(rows[41][1])
    hist = dx.length_histogram(lengths, "words")
    assert hist.groupby("class")["share of class (%)"].sum().tolist() == pytest.approx([100, 100], abs=0.01)
    assert dx.tweets_per_user(frame).set_index("tweets per user").loc[14, "users"] == 3
    top = dx.top_users(frame, 2)
    assert len(top) == 2 and (top["negative"] + top["positive"] == top["tweets"]).all()
    counts = dx.token_counts(frame)
    assert "http" not in set(counts["token"]) and "the" not in set(counts["token"])
    frequent = dx.top_tokens(counts, 3)
    best_negative = frequent[frequent["class"] == "negative"].iloc[0]
    assert best_negative["count"] == counts["negative"].max()
    distinctive = dx.top_tokens(counts, 3, distinctive=True)
    assert (distinctive["z"] > 0).all()


# ------------------------------------------------------------------ Compare


def test_compare_without_runs_gives_the_commands(data_no_runs):
    at = render("views/compare.py")
    assert "No finished run" in texts(at.info) and "python -m trainers.logreg" in texts(at.code)


def test_compare_shows_metrics_matrices_curves_and_disagreements(with_runs):
    at = render("views/compare.py")
    metrics = at.dataframe[0].value
    assert len(metrics) == 2 and "ROC AUC" in metrics.columns
    assert len(at.get("plotly_chart")) == 5  # 2 confusion matrices, ROC, precision-recall, reliability diagram
    assert not at.warning
    disagreement = next(d.value for d in at.dataframe if "spread" in d.value.columns)
    assert len(disagreement) > 0 and disagreement["text"].notna().all()
    assert "get different labels" in texts(at.markdown)
    at.radio[0].set_value("positive").run()
    filtered = next(d.value for d in at.dataframe if "spread" in d.value.columns)
    assert set(filtered["true label"]) == {"positive"}
    at.toggle[0].set_value(True).run()
    assert not at.exception
    mistakes = [d.value for d in at.dataframe if "confidence" in d.value.columns]
    assert len(mistakes) == 2 and all((m["predicted"] != m["true label"]).all() for m in mistakes)


def test_compare_warns_when_split_ids_differ(with_runs, monkeypatch, tmp_path):
    root = tmp_path / "runs"
    for run in with_runs.values():
        shutil.copytree(run.path, root / run.id)
    meta = json.loads((root / "logreg-hashing" / "run.json").read_text())
    meta["data"]["split_id"] = "another-split"
    (root / "logreg-hashing" / "run.json").write_text(json.dumps(meta))
    monkeypatch.setenv("BADBUZZ_RUNS_DIR", str(root))
    at = render("views/compare.py")
    assert "different test splits" in texts(at.warning)


def test_compare_without_the_runs_data_still_shows_the_disagreements(with_runs, monkeypatch, tmp_path):
    root = tmp_path / "runs"
    for run in with_runs.values():
        shutil.copytree(run.path, root / run.id)
        meta = json.loads((root / run.id / "run.json").read_text())
        meta["data"]["source"] = str(tmp_path / "moved-away.csv")
        (root / run.id / "run.json").write_text(json.dumps(meta))
    monkeypatch.setenv("BADBUZZ_RUNS_DIR", str(root))
    at = render("views/compare.py")
    assert "Some tweet texts are not shown" in texts(at.caption) and "moved-away.csv" in texts(at.caption)
    disagreement = next(d.value for d in at.dataframe if "spread" in d.value.columns)
    assert len(disagreement) > 0 and disagreement["text"].isna().all() and disagreement["row_id"].notna().all()


# ------------------------------------------------------------------ Live scoring


def score(at: AppTest, text: str) -> AppTest:
    at.text_area(key="live_text").input(text)
    button(at, "Score").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_live_without_runs_folds_what_cannot_answer_into_one_line(data_no_runs):
    at = score(render("views/live.py"), "lost my bag")
    line = next(c.value for c in at.caption if c.value.startswith("Not answering here:"))
    assert "(not trained)" in line and "(not configured)" in line  # local approaches; the cloud, no Azure here
    assert "python" not in line and "/" not in line  # no command, no server path in the line itself
    assert "python -m trainers.keras_nn" in texts(at.info)  # an operator (here) gets the how-to, folded
    assert not at.get("progress")


def test_live_answers_a_typed_tweet_in_both_columns(with_runs):
    at = render("views/live.py")
    assert len(at.multiselect[0].value) == 2  # the newest run of each approach, by default
    score(at, "the crew was great, thanks, smooth flight")
    bars = at.get("progress")
    assert len(bars) == 2 and all("P(positive)" in str(bar.proto.text) for bar in bars)
    answered = texts(at.markdown)
    for run in with_runs.values():
        assert f"{run.approach} · {run.id}" in answered
    assert "latency" in texts(at.caption) and "USD" not in texts(at.caption)  # a local model costs nothing per call
    history = at.dataframe[0].value
    assert len(history) == 2 and set(history["label"]) <= {"positive", "negative"}
    assert history["cost (USD)"].isna().all()
    score(at, "   ")
    assert "text is empty" in texts(at.warning)
    score(at, "delayed " * 200)
    assert "only the first 1,000 were scored" in texts(at.info)
    assert len(at.dataframe[0].value) == 4  # the history keeps the session's answers


def test_live_example_buttons_fill_the_text(with_runs):
    at = render("views/live.py")
    at.button(key="example-0").click().run()
    assert at.text_area(key="live_text").value.startswith("Flight delayed")
