"""Why the buzz in the monitor (core.monitor.why): the negative tweets tagged with a complaint reason, each alert
explained (reasons, clusters named against the previous windows, what is new) and the explanation in the alert text
a local webhook receives. A stand-in encoder (tests/support/reasons.py) replaces the sentence encoder."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from core.inference.scorers import ModelScorer
from core.monitor import alerts, watch
from core.monitor.channels import WebhookChannel
from core.monitor.rules import GroupRule, Rules
from core.monitor.store import Store
from core.monitor.why import stored_explanation
from core.reasons import clusters
from core.reasons.tagger import build_tagger
from core.reasons.taxonomy import Reason, Taxonomy
from tests.support.monitor_servers import WebhookReceiver
from tests.support.reasons import BACKGROUND, UNRELATED, StandInEncoder, topic_feed

START = pd.Timestamp("2015-02-24 08:00", tz="UTC")
GOOD = "love the crew great trip"
TAXONOMY = Taxonomy((
    Reason("Tarmac", "stuck on the tarmac, the plane waits for a gate", ("stuck on the tarmac", "no gate for us")),
    Reason("Bags", "a bag lost at baggage claim", ("my bag is lost", "baggage claim lost my bag")),
    Reason("Wifi", "the wifi on board is not working", ("wifi not working", "no wifi on board")),
    Reason("Other", "customer service, delays, seats, refunds", tuple(BACKGROUND[:4])),
))  # fmt: skip


class KeywordModel:
    """P(positive) 0.9 for a tweet that says 'love', else 0.1: the feed's sentiment is known, the reasons are tested."""

    def predict_proba(self, texts):
        return np.array([0.9 if "love" in t else 0.1 for t in texts])


def feed() -> list[list[tuple[str, str]]]:
    """Four quiet 15-minute windows of airline A (10 good tweets, 2 background complaints), then a burst window:
    three topics x 15 tweets + 3 unrelated complaints + 2 good tweets. (text, created_at) per tweet."""
    window, _, previous = topic_feed(0)
    windows = [[(GOOD, ""), *((GOOD, "") for _ in range(9)), (previous[2 * w], ""), (previous[2 * w + 1], "")]
               for w in range(4)]  # fmt: skip
    windows.append([*((t, "") for t in window), (GOOD, ""), (GOOD, "")])
    return [[(text, (START + pd.Timedelta(minutes=15 * w, seconds=i)).isoformat()) for i, (text, _) in enumerate(tweets)]
            for w, tweets in enumerate(windows)]  # fmt: skip


@pytest.fixture(autouse=True)
def no_umap(monkeypatch):
    """Windows go straight to HDBSCAN: UMAP's compilation takes minutes here (benchmarks.reasons times it)."""
    monkeypatch.setattr(clusters, "UMAP_FROM", 10**9)


@pytest.fixture
def tagger():
    window, _, previous = topic_feed(0)
    corpus = window + previous + [t for r in TAXONOMY.reasons for t in r.texts()] + UNRELATED
    return build_tagger(StandInEncoder(corpus), TAXONOMY)


def stored(store: Store, tweets: list[tuple[str, str]], w: int) -> None:
    rows = [
        {"source": "test", "source_key": f"{w}-{i}", "text": text, "groups": {"airline": "A"},
         "created_at": pd.Timestamp(when).timestamp(), "received_at": pd.Timestamp(when).timestamp()}
        for i, (text, when) in enumerate(tweets)
    ]  # fmt: skip
    store.add_tweets(rows)


def test_an_alert_says_what_its_window_is_about_and_the_webhook_receives_it(tmp_path, tagger):
    store = Store(tmp_path / "feed.sqlite")
    rules = Rules(window="15min", default=GroupRule(0.6, 10, spike_factor=0))
    with WebhookReceiver() as hook:
        w = watch.Watcher(store, ModelScorer(KeywordModel(), "keywords"), "keywords", rules, "airline",
                          channels={"webhook": WebhookChannel(hook.url)}, tagger=tagger)  # fmt: skip
        for i, tweets in enumerate(feed()):
            stored(store, tweets, i)
            w.run_once()
        (text,) = [body["text"] for _, body in hook.received]
    (alert,) = alerts.alerts(store)
    explanation = stored_explanation(alert)
    assert explanation.tweets == 48 and explanation.method.startswith("zero-shot")
    assert list(explanation.reasons)[:3] == ["Tarmac", "Bags", "Wifi"] or set(list(explanation.reasons)[:3]) == {
        "Tarmac", "Bags", "Wifi"}  # fmt: skip
    assert len(explanation.clusters) == 3 and explanation.new
    about = text.splitlines()[1]
    assert about.startswith("About: mostly: ") and "(31 %)" in about and f"new: '{explanation.new}'" in about
    assert any(word in explanation.new.lower() for word in ("tarmac", "ord", "denver", "bag", "wifi", "board"))
    assert (
        sum(
            re.match(r"• 1\d tweets: '.+' — mostly (Tarmac|Bags|Wifi)$", line) is not None for line in text.splitlines()
        )
        == 3
    )
    tagged = store.frame("SELECT complaint, embedding FROM tweets WHERE complaint IS NOT NULL")
    assert len(tagged) == 48 and tagged["embedding"].map(len).eq(4 * tagger.encoder.dim).all()
    assert w.tag_all() == 8  # the quiet windows' complaints, tagged by the reason thread in a running watcher
    store.close()


def test_an_older_store_gains_the_reason_columns_when_opened(tmp_path):
    path = tmp_path / "feed.sqlite"
    Store(path).close()
    import sqlite3

    with sqlite3.connect(path) as conn:
        for table, column in (("tweets", "complaint"), ("tweets", "embedding"), ("alerts", "explanation")):
            conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    store = Store(path)
    columns = {row[1] for row in store.query("PRAGMA table_info(tweets)")}
    assert {"complaint", "embedding"} <= columns
    assert "explanation" in {row[1] for row in store.query("PRAGMA table_info(alerts)")}
    store.close()


def test_an_alert_without_reasons_reads_as_before(tmp_path):
    assert stored_explanation({"explanation": None}) is None
    assert stored_explanation({"explanation": "not json"}) is None
    assert stored_explanation({"explanation": json.dumps({"tweets": 0, "reasons": {}})}).summary().startswith("no")


def test_the_reason_thread_tags_scored_negative_tweets_until_stopped(tmp_path, tagger, monkeypatch):
    import threading
    import time

    from core.monitor import why

    warmed = []
    monkeypatch.setattr(why, "warm_up", lambda: warmed.append(True))  # UMAP's compilation: benchmarks.reasons
    store = Store(tmp_path / "feed.sqlite")
    w = watch.Watcher(store, ModelScorer(KeywordModel(), "keywords"), "keywords", Rules(), "airline")
    stored(store, feed()[-1], 0)
    w.run_once()  # scored, not tagged: this watcher has no tagger
    stop = threading.Event()
    thread = why.ReasonThread(store, tagger, poll_s=0.05).start(stop)
    deadline = time.monotonic() + 60
    while store.query("SELECT COUNT(complaint) FROM tweets")[0][0] < 48 and time.monotonic() < deadline:
        stop.wait(0.05)
    stop.set()
    thread.join(10)
    assert warmed and not thread.is_alive()
    assert store.query("SELECT COUNT(complaint), COUNT(embedding) FROM tweets")[0] == (48, 48)  # the 2 good ones: none
    store.close()
