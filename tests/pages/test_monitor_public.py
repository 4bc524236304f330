"""The monitor page faces viewers (issue 25): pasted tweets are one per line whatever the first one holds, the live
feed's store error never shows the database password, the scored tweets download as a workbook and a
spreadsheet-safe CSV beside the exact CSV, and a viewer never sees who marked a correction."""

from __future__ import annotations

import shutil

import pytest

from core import config
from core.data import corrections
from core.monitor.store import DB_ENV
from tests.support.streamlit import render, serving_on, texts

PASTED = ["worst delay, lost bag", "love the crew great flight", '"quoted, never closed', "awful seat, again"]


@pytest.fixture
def runs(trained_logreg_run, no_cloud):
    shutil.copytree(trained_logreg_run, config.runs_dir() / "logreg-tiny")


def test_pasted_tweets_with_commas_are_one_tweet_per_line(runs):
    at = render("views/monitor.py")
    at.text_area[0].set_value("\n".join(PASTED)).run()
    next(b for b in at.button if b.label == "Score").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert {m.label: m.value for m in at.metric}["Tweets scored"] == "4"
    assert "0 malformed" in texts(at.caption) and "malformed (line" not in texts(at.caption) + texts(at.markdown)
    labels = [e.proto.label for e in at.get("download_button")]
    assert labels == [
        "Download for a spreadsheet (.xlsx)",
        "Download a spreadsheet-safe CSV",
        "Download the scored CSV",
    ]
    assert "Open the **.xlsx**" in texts(at.caption)


def test_the_live_feed_never_shows_the_database_password(monkeypatch):
    monkeypatch.setenv(DB_ENV, "postgresql://monitor@127.0.0.1:1/badbuzz?password=hunter2")
    with serving_on("0.0.0.0"):  # a viewer
        at = render("views/monitor.py")
    shown = texts(at.error)
    assert "cannot open the monitor store" in shown and "password=***" in shown
    assert "hunter2" not in shown + texts(at.caption) + texts(at.markdown)


def test_a_viewer_sees_the_corrections_without_who_marked_them(runs):
    corrections.add_correction("awful delayed lost bag", "negative", who="ana@example.com")
    with serving_on("0.0.0.0"):
        at = render("views/monitor.py")
    table = next(d.value for d in at.dataframe if "label" in d.value.columns)
    assert "who" not in table.columns and "ana@example.com" not in table.to_string()
    assert "Who marked each tweet is not shown" in texts(at.caption)
    at = render("views/monitor.py")  # an operator (this machine) sees it
    assert "who" in next(d.value for d in at.dataframe if "label" in d.value.columns).columns
