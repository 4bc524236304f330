"""The continuous monitor on a real PostgreSQL server (a throwaway one started from /usr/lib/postgresql): a folder
watcher restarted scores nothing twice and loses nothing, and a replayed feed with bursts raises exactly one alert
per burst group, delivered to a local webhook. Skipped only where PostgreSQL is not installed (scripts/test.sh
installs it)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.config import PROJECT_ROOT
from core.inference.scorers import ModelScorer
from core.models.base import load
from core.monitor import alerts
from core.monitor.channels import WebhookChannel
from core.monitor.http_api import TweetApi
from core.monitor.records import Fields
from core.monitor.rules import SHARE
from core.monitor.sources import FolderSource
from core.monitor.store import DB_ENV, Store
from tests.integration.test_monitor_watch import (
    BAD,
    GOOD,
    START,
    TOKEN,
    airline_export,
    burst_feed,
    post,
    tweets_body,
    watcher,
)
from tests.support.monitor_servers import WebhookReceiver
from tests.support.postgres_server import PostgresServer, binaries


@pytest.fixture(scope="module")
def server():
    bin_dir = binaries()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (scripts/test.sh installs it: apt-get install postgresql)")
    with PostgresServer(bin_dir) as running:
        yield running


@pytest.fixture(scope="module")
def scorer(trained_logreg_run) -> ModelScorer:
    return ModelScorer(load(trained_logreg_run), "logreg-tiny")


def test_a_folder_watcher_restarted_on_postgres_scores_nothing_twice_and_loses_nothing(tmp_path, server, scorer):
    url = server.url()  # the server's own database, as an operator would give it
    inbox = tmp_path / "in"
    inbox.mkdir()
    airline_export(
        inbox / "a.csv", [("United", GOOD if i % 2 else BAD, START + pd.Timedelta(minutes=i)) for i in range(40)]
    )
    (inbox / "b.jsonl").write_text(json.dumps({"id": "9", "text": BAD, "airline": "Delta"}) + "\nnot json\n")
    first = Store.open(url.replace("postgresql+psycopg://", "postgresql://"))  # plain postgresql:// means psycopg
    assert first.dialect == "postgresql" and first.where == url
    w = watcher(first, scorer, source=FolderSource(inbox, first, Fields(group_columns=["airline"]), settle_s=0))
    assert (w.run_once()["scored"], first.counts()) == (41, {"tweets": 42, "scored": 41, "pending": 0, "malformed": 1})
    stored = first.frame("SELECT source_key, scored_at FROM tweets ORDER BY id")
    first.close()

    again = Store.open(url)  # a restart: the same files and a new one
    airline_export(inbox / "d.csv", [("Delta", GOOD, START)], start_id=1)
    w = watcher(again, scorer, source=FolderSource(inbox, again, Fields(group_columns=["airline"]), settle_s=0))
    assert w.run_once()["scored"] == 1
    after = again.frame("SELECT source_key, scored_at FROM tweets WHERE source_key NOT LIKE 'file:d.csv%' ORDER BY id")
    assert after.equals(stored)  # nothing read or scored again
    assert again.counts() == {"tweets": 43, "scored": 42, "pending": 0, "malformed": 1}
    windows = alerts.stored_windows(again, w.rules, "airline", START.timestamp(), START.timestamp() + 3600)
    assert windows.groupby("group")["volume"].sum().to_dict() == {"Delta": 1, "United": 40}  # groups read from JSON
    again.close()


def test_a_burst_raises_exactly_one_alert_per_group_on_postgres_and_its_webhook(server, scorer, monkeypatch):
    monkeypatch.setattr(alerts, "BACKOFF_S", (0,) * 7)
    store = Store.open(server.create_database("burst"))
    with WebhookReceiver() as hook:
        hook.fail_next = [500]  # the first send fails: recorded and retried
        w = watcher(store, scorer, channels={"webhook": WebhookChannel(hook.url)})
        api = TweetApi(store, Fields(group_columns=["airline"]), TOKEN, "127.0.0.1", 0, on_new=w.wake.set).start()
        try:
            for window in burst_feed():
                assert post(api, tweets_body(window))[0] == 202
                w.run_once()
            assert post(api, tweets_body(burst_feed()[4]))[1]["duplicates"] == 36  # posted again: stored once
        finally:
            api.stop()
        w.run_once()
        raised = alerts.alerts(store)
        assert sorted((a["grp"], a["rule"]) for a in raised) == [("A", SHARE), ("B", SHARE)]
        assert len(hook.received) == 2 and any(
            "airline = A: " in b["text"] and "% negative (estimate; 90 % interval" in b["text"]
            for _, b in hook.received
        )
    by_group = {a["grp"]: a for a in raised}
    assert by_group["A"]["closed_at"] == (START + pd.Timedelta(minutes=90)).timestamp()
    behind = alerts.alert_tweets(store, by_group["B"])
    assert len(behind) == 12 and behind["tweet_id"].str.startswith("B6-").all()
    deliveries = store.frame("SELECT status, attempts FROM deliveries ORDER BY id")
    assert deliveries.values.tolist() == [["sent", 2], ["sent", 1]]
    store.close()

    again = Store.open(store.url)  # restart: nothing scored or raised twice
    assert again.counts() == {"tweets": 360, "scored": 360, "pending": 0, "malformed": 0}
    assert watcher(again, scorer, channels={}).run_once() == {"read": 0, "scored": 0, "alerts": 0, "sent": 0}
    assert len(alerts.alerts(again)) == 2
    again.close()

    monkeypatch.setenv(DB_ENV, server.url("burst"))  # the dashboard reads the store the operator configured
    at = AppTest.from_file(str(PROJECT_ROOT / "views" / "monitor.py"), default_timeout=60).run()
    assert not at.exception and at.radio(key="monitor_view").value == "Live feed"
    assert {m.label: m.value for m in at.metric}["Tweets stored"] == "360"
    assert sorted(at.dataframe[0].value["group"]) == ["A", "B"]


def test_a_nul_or_a_lone_surrogate_is_one_rejected_tweet_on_postgres_not_a_lost_request(server):
    store = Store.open(server.create_database("hostile"))
    api = TweetApi(store, Fields(), TOKEN, "127.0.0.1", 0, on_new=lambda: None).start()
    try:
        raw = (
            '{"tweets": [{"id": "1", "text": "before"}, {"id": "2", "text": "a NUL \\u0000 here"}, '
            '{"id": "3", "text": "lone \\ud800"}, {"id": "4", "text": "after", "created_at": "9999-12-31"}]}'
        )
        status, body, _ = post(api, raw.encode())
    finally:
        api.stop()
    assert status == 202 and body["accepted"] == 2 and [r["index"] for r in body["rejected"]] == [1, 2]
    assert store.frame("SELECT text, reason FROM tweets ORDER BY id").values.tolist() == [
        ["before", ""],
        ["after", "unparseable timestamp"],
    ]
    store.close()
