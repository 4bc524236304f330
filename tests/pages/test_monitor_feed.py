"""The monitor page's live feed (views/components/monitor_feed.py): it follows the watcher's store, shows each
group's negative share with its threshold, the alerts and the tweets behind them; the batch upload stays beside it."""

from __future__ import annotations

import json

import pandas as pd
from streamlit.testing.v1 import AppTest

from core.config import PROJECT_ROOT
from core.inference.scorers import ModelScorer
from core.models.base import load
from core.monitor import watch
from core.monitor.http_api import http_rows
from core.monitor.records import Fields, finish
from core.monitor.rules import GroupRule, Rules
from core.monitor.store import Store, default_path
from core.reasons.tagger import build_tagger
from core.reasons.taxonomy import Reason, Taxonomy
from tests.support.reasons import StandInEncoder
from tests.support.streamlit import render, texts

START = pd.Timestamp("2015-02-24 08:00", tz="UTC")


def page() -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / "views" / "monitor.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    return at


def fill_store(run, tagger=None) -> None:
    """Four 15-minute windows of two airlines; 'Sky' turns negative in window 2 (one alert)."""
    store = Store(default_path())
    tweets = []
    for w in range(4):
        for airline in ("Sky", "Sea"):
            for i in range(10):
                negative = (airline == "Sky" and w == 2) or i < 2
                text = f"{'awful delayed lost bag hate' if negative else 'love the crew great flight'} {w}{i}"
                when = START + pd.Timedelta(minutes=15 * w + i)
                tweets.append(
                    {"id": f"{airline}{w}{i}", "text": text, "created_at": when.isoformat(), "airline": airline}
                )
    rows, _ = http_rows({"tweets": tweets}, Fields(group_columns=["airline"]))
    store.add_tweets(finish(rows))
    rules = Rules(window="15min", default=GroupRule(0.6, 5, spike_factor=0))
    w = watch.Watcher(store, ModelScorer(load(run), "logreg-tiny"), "logreg-tiny", rules, "airline", tagger=tagger)
    w.save_settings("http://127.0.0.1:8765/tweets")
    assert w.run_once()["alerts"] == 1
    w.tag_all()
    store.close()


def test_the_live_feed_shows_groups_alerts_and_the_tweets_behind_them(trained_logreg_run):
    fill_store(trained_logreg_run)
    at = page()
    assert at.radio(key="monitor_view").value == "Live feed"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Tweets stored"] == "80" and metrics["Open alerts"] == "1"
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    titles = {a["text"] for chart in charts for a in chart["layout"].get("annotations", ())}
    assert {"Sky", "Sea"} <= titles  # one small chart per group, not two lines tangled in one
    alerts = at.dataframe[0].value
    assert alerts[["group", "rule"]].values.tolist() == [["Sky", "negative share"]]
    behind = at.dataframe[1].value
    assert len(behind) == 10 and behind["tweet_id"].str.startswith("Sky2").all()
    assert behind["P(positive)"].is_monotonic_increasing
    at.radio(key="monitor_view").set_value("Upload a batch").run()
    assert not at.exception and at.text_area  # the batch upload still works beside it
    assert "No complaint reason yet" in " ".join(c.value for c in page().caption)


def test_the_feed_shows_each_groups_reasons_and_what_the_selected_alert_is_about(trained_logreg_run):
    texts = ["awful delayed lost bag hate", "love the crew great flight", "my flight is delayed", "my bag is lost"]
    taxonomy = Taxonomy((Reason("Delays", "my flight is delayed"), Reason("Bags", "my bag is lost")))
    fill_store(trained_logreg_run, build_tagger(StandInEncoder(texts, dim=3), taxonomy))
    at = page()
    assert at.selectbox(key="monitor_reason_group").options == ["Sea", "Sky"]
    assert len(at.get("plotly_chart")) == 3  # the negative share (a small chart per group), the volume, the reasons
    about = next(m.value for m in at.markdown if m.value.startswith("**About:**"))
    assert about.startswith("**About:** mostly: ")
    assert any("negative tweets explained" in c.value and "reasons: zero-shot" in c.value for c in at.caption)


def test_viewers_share_one_read_of_the_store_per_change(trained_logreg_run, monkeypatch):
    from core.monitor import feed
    from views.components import monitor_feed

    fill_store(trained_logreg_run)
    reads, real_windows = [], feed.windows
    monkeypatch.setattr(feed, "windows", lambda *args, **kwargs: reads.append(1) or real_windows(*args, **kwargs))
    monitor_feed.feed_version.clear()  # what changed is asked at most every VERSION_TTL_S seconds per server
    page()  # a first viewer reads the store
    second = page()  # a second one gets the same, read once
    assert len(reads) == 1
    assert {m.label: m.value for m in second.metric}["Tweets stored"] == "80" and second.get("plotly_chart")
    store = Store(default_path())
    rows, _ = http_rows({"tweets": [{"id": "late", "text": "lost bag", "created_at": START.isoformat()}]}, Fields())
    store.add_tweets(finish(rows))
    store.close()
    monitor_feed.feed_version.clear()
    third = page()
    assert len(reads) == 2 and {m.label: m.value for m in third.metric}["Tweets stored"] == "81"


def test_without_a_store_the_page_opens_on_the_batch_and_says_how_to_start_the_watcher():
    at = page()
    assert at.radio(key="monitor_view").value == "Upload a batch" and at.text_area
    at.radio(key="monitor_view").set_value("Live feed").run()
    assert not at.exception
    assert "python -m core.commands.watch" in at.code[0].value and not default_path().exists()


def test_the_overview_opens_with_the_buzz_per_group(trained_logreg_run):
    fill_store(trained_logreg_run)
    at = render("views/overview.py")
    assert at.subheader[0].value == "The buzz now"  # above the models
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Open alerts"] == "1" and metrics["Groups watched"] == "2"
    buzz = at.dataframe[0].value.set_index("group")
    assert buzz.loc["Sky", "status"] == "alert open" and buzz.loc["Sky", "open_alerts"] == 1
    assert buzz.loc["Sea", "status"] == "steady" and abs(buzz.loc["Sea", "change"]) < 10  # 2 angry of 10 each time
    assert buzz.loc["Sky", "share"] < 50 and buzz.loc["Sky", "tweets"] == 10  # latest window: 2 angry of 10
    assert buzz.loc["Sky", "change"] < -10  # calmer than the 3 windows before it, pooled (the burst among them)
    assert "Alert open for Sky" in texts(at.error)


def test_the_overview_without_a_monitor_says_how_to_start_one():
    at = render("views/overview.py")
    assert at.subheader[0].value == "The buzz now" and "No monitor is watching yet" in texts(at.info)
    assert "python -m core.commands.watch" in texts(at.code)
