"""Corrections on the pages: an operator marks a tweet's true label in the monitor and in Live scoring (stored in
core.data.corrections); a viewer sees the control disabled and why; the monitor suggests what to label next."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import config
from core.config import PROJECT_ROOT
from core.data import corrections
from core.reasons.taxonomy import load_taxonomy
from tests.support.streamlit import serving_on

TIMEOUT = 90
TWEETS = ["love the crew great flight"] * 3 + ["awful delayed lost bag hate", "the flight today", "my bag again"]


@pytest.fixture
def runs(trained_logreg_run, no_cloud) -> Path:
    """Two copies of the tiny logreg run: the monitor's model and another run to compare with."""
    for name in ("logreg-tiny", "logreg-other"):
        shutil.copytree(trained_logreg_run, config.runs_dir() / name)
    return config.runs_dir()


def run_page(name: str) -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / "views" / f"{name}.py"), default_timeout=TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def scored_monitor() -> AppTest:
    at = run_page("monitor")
    at.text_area[0].set_value("\n".join(TWEETS)).run()
    next(b for b in at.button if b.label == "Score").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def suggestions(at: AppTest):
    """The "Label these next" table."""
    return next(d.value for d in at.dataframe if "why" in d.value.columns)


def shown(at: AppTest, kind: str) -> str:
    return "\n".join(str(e.value) for e in getattr(at, kind))


def test_an_operator_marks_tweets_in_the_monitor_and_they_are_stored(runs):
    at = scored_monitor()
    assert at.selectbox(key="worst-pick").value == 4  # the most negative tweet's row (rows count from 1)
    at.button(key="worst-positive").click().run()
    assert "Saved as **positive**" in shown(at, "success")
    (row,) = corrections.corrections_frame().to_dict("records")
    assert (row["text"], row["label"], row["who"], row["origin"]) == (TWEETS[3], "positive", "local", "monitor")
    assert row["run_id"] in ("logreg-tiny", "logreg-other") and row["predicted_label"] == "negative"
    assert float(row["score"]) < 0.5
    assert any(e.label == "Saved corrections (1)" for e in at.expander)

    suggested = suggestions(at)  # "Label these next": the least sure first, the corrected tweet left out
    assert TWEETS[3] not in suggested["text"].tolist() and len(suggested) == 5
    first, text = suggested[["row", "text"]].iloc[0]
    assert at.selectbox(key="label-next-pick").value == first
    at.button(key="label-next-neutral").click().run()
    assert corrections.latest_label(text) == "neutral"
    assert first not in suggestions(at)["row"].tolist()

    next(b for b in at.button if b.label.startswith("Compare with 1 other run")).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Compared with: " in shown(at, "caption")
    assert suggestions(at)["spread between runs"].notna().all()  # same model twice: spread 0, but measured


def test_an_operator_saves_a_complaint_reason_with_a_negative_mark(runs):
    at = scored_monitor()
    assert at.selectbox(key="worst-reason").options[:3] == ["(no reason)", "Late Flight", "Cancelled Flight"]
    at.selectbox(key="worst-reason").set_value("Lost Luggage").run()
    at.button(key="worst-negative").click().run()
    assert "Saved as **negative** about **Lost Luggage**" in shown(at, "success")
    assert corrections.reason_tags().to_dict("records") == [{"text": TWEETS[3], "reason": "Lost Luggage"}]
    assert at.selectbox(key="worst-reason").value == "Lost Luggage"


def test_an_operator_splits_a_batchs_negative_tweets_by_complaint_reason(runs, fake_encoder):
    at = scored_monitor()
    negatives = int(at.button(key="batch_reasons").label.split()[2])  # "Tag the N negative tweets with ..."
    at.button(key="batch_reasons").click().run()
    assert not at.exception, [e.value for e in at.exception]
    table = next(d.value for d in at.dataframe if list(d.value.columns) == ["reason", "tweets", "share"])
    assert negatives >= 1 and table["tweets"].sum() == negatives
    assert set(table["reason"]) <= set(load_taxonomy().names) and abs(table["share"].sum() - 100) < 1e-6
    assert any(c.value.startswith("Reasons: zero-shot") for c in at.caption)


def test_a_viewer_sees_the_control_disabled_and_why(runs):
    with serving_on("0.0.0.0"):
        at = scored_monitor()
        buttons = [at.button(key=f"worst-{label}") for label in corrections.LABELS]
        assert all(b.disabled for b in buttons) and at.selectbox(key="worst-reason").disabled
        assert at.button(key="batch_reasons").disabled  # embedding the batch is machine time
        assert "Marking labels builds a shared dataset. Operators only:" in shown(at, "caption")
        compare = next(b for b in at.button if b.label.startswith("Compare with"))
        assert compare.disabled  # the other runs' scoring is machine time
    assert corrections.corrections_frame().empty


def test_an_operator_marks_a_live_answer_recording_the_wrong_models(runs):
    at = run_page("live")
    at.text_area(key="live_text").input("thanks for nothing, awful delayed lost bag")
    next(b for b in at.button if b.label == "Score").click().run()
    at.button(key="live-mark-positive").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Saved as **positive**" in shown(at, "success")
    (row,) = corrections.corrections_frame().to_dict("records")
    assert row["origin"] == "live" and row["label"] == "positive"
    assert row["predicted_label"].split("; ") == ["negative"] * len(row["run_id"].split("; "))
    assert set(row["run_id"].split("; ")) <= {"logreg-tiny", "logreg-other"} and row["run_id"]
