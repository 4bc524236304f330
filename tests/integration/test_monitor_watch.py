"""The continuous monitor (core.monitor): a folder, a growing file and the HTTP endpoint followed, each tweet scored
once across restarts, a replayed feed with bursts in two groups raising one alert per group, alerts delivered to a
local webhook and SMTP server (a failed send retried), and the store's contents after a restart."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from core.commands import watch as watch_command
from core.inference.scorers import ModelScorer
from core.inference.stream_input import inspect_csv
from core.models.base import load
from core.monitor import alerts, watch
from core.monitor.channels import EmailChannel, SmtpSettings, WebhookChannel
from core.monitor.http_api import TweetApi
from core.monitor.records import Fields
from core.monitor.rules import SHARE, GroupRule, Rules
from core.monitor.sources import FolderSource, TailSource
from core.monitor.store import Store, StoreError
from tests.support.monitor_servers import SmtpSink, WebhookReceiver

AIRLINE_COLUMNS = ["tweet_id", "airline_sentiment", "airline", "name", "text", "tweet_created", "tweet_location"]
AIRLINE_COLUMNS += ["user_timezone"]
TOKEN = "s3cret-token"
START = pd.Timestamp("2015-02-24 08:00", tz="UTC")
GOOD = "love the crew great flight thanks"
BAD = "awful delayed lost bag hate worst"


@pytest.fixture(scope="module")
def scorer(trained_logreg_run) -> ModelScorer:
    return ModelScorer(load(trained_logreg_run), "logreg-tiny")


@pytest.fixture
def store(tmp_path) -> Store:
    s = Store(tmp_path / "feed.sqlite")
    yield s
    s.close()


def airline_export(path: Path, rows: list[tuple[str, str, pd.Timestamp]], start_id: int = 570306133677760513) -> Path:
    """A CSV shaped like the airline-tweets export: (airline, text, time) rows, -0800 timestamps."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(AIRLINE_COLUMNS)
        for i, (airline, text, when) in enumerate(rows):
            local = when.tz_convert("America/Los_Angeles").strftime("%Y-%m-%d %H:%M:%S -0800")
            writer.writerow([start_id + i, "", airline, f"user{i % 13}", text, local, "", "Pacific Time (US & Canada)"])
    return path


def watcher(store: Store, scorer, **kw) -> watch.Watcher:
    rules = kw.pop("rules", Rules(window="15min", default=GroupRule(0.6, 10, spike_factor=0)))
    return watch.Watcher(store, scorer, "logreg-tiny", rules, kw.pop("group_column", "airline"), **kw)


# ---------------------------------------------------------------- columns by content


def test_an_airline_export_has_its_text_and_time_columns_found_by_content(tmp_path):
    airlines = ["United", "Delta", "Virgin America"]
    rows = [(airlines[i % 3], f"{GOOD} {i}", START + pd.Timedelta(minutes=i)) for i in range(30)]
    data = airline_export(tmp_path / "Tweets.csv", rows).read_bytes()
    layout = inspect_csv(io.BytesIO(data))
    assert (layout.text_column, layout.time_column) == ("text", "tweet_created")
    assert "airline" in layout.group_candidates and "tweet_id" not in layout.group_candidates


# ---------------------------------------------------------------- folder


def test_folder_files_are_scored_once_and_a_restart_rescoring_nothing(tmp_path, scorer):
    inbox = tmp_path / "in"
    inbox.mkdir()
    rows = [("United", GOOD if i % 2 else BAD, START + pd.Timedelta(minutes=i)) for i in range(40)]
    airline_export(inbox / "a.csv", rows)
    (inbox / "b.jsonl").write_text(
        json.dumps({"id": "9", "text": BAD, "created_at": "Wed Feb 25 10:00:00 +0000 2015", "airline": "Delta"})
        + "\nnot json\n\n"
        + json.dumps({"id": "10", "text": "   ", "group": {"airline": "Delta"}})
        + "\n",
        encoding="utf-8",
    )
    (inbox / "c.csv.part").write_text("text\nstill being written\n")
    db = tmp_path / "feed.sqlite"
    first = Store(db)
    w = watcher(first, scorer, source=FolderSource(inbox, first, Fields(group_columns=["airline"]), settle_s=0))
    done = w.run_once()
    assert (done["read"], done["scored"]) == (43, 42)  # 40 + 2 JSON tweets; the malformed line is kept, not scored
    stored = first.frame(
        "SELECT source_key, line, text, groups, created_at, score, label, reason, scored_at FROM tweets"
    )
    malformed = stored[stored["reason"].str.startswith("malformed")]
    assert malformed[["line", "reason"]].values.tolist() == [[2, "malformed: not valid JSON"]]
    empty = stored[stored["text"].str.strip().eq("") & stored["reason"].eq("empty text")]
    assert len(empty) == 1 and empty["score"].isna().all()
    assert stored["created_at"].notna().sum() == 41  # the CSV's tweet_created and the JSON's Twitter date
    assert {json.loads(g).get("airline", "") for g in stored["groups"]} == {"United", "Delta", ""}
    first.close()

    again = Store(db)  # a restart: the same files, a new file
    airline_export(inbox / "d.csv", [("Delta", GOOD, START)], start_id=1)
    w = watcher(again, scorer, source=FolderSource(inbox, again, Fields(group_columns=["airline"]), settle_s=0))
    assert w.run_once()["scored"] == 1
    after = again.frame("SELECT source_key, scored_at FROM tweets WHERE source_key NOT LIKE 'file:d.csv%'")
    assert after.set_index("source_key")["scored_at"].equals(stored.set_index("source_key")["scored_at"])
    assert again.counts() == {"tweets": 44, "scored": 42, "pending": 0, "malformed": 1}
    again.close()


# ---------------------------------------------------------------- growing file


def test_a_growing_file_is_tailed_across_restarts_truncation_and_open_quotes(tmp_path, scorer):
    path, db = tmp_path / "feed.csv", tmp_path / "feed.sqlite"
    path.write_text(f"id,text,created_at\n1,{GOOD},2015-02-24T08:00:00Z\n2,{BAD},2015-02-24T08:01:00Z\n")
    store = Store(db)
    tail = TailSource(path, store, Fields())
    assert tail.poll() == 2
    with open(path, "a") as fh:
        fh.write(f'3,"{BAD}\nstill the same tweet",2015-02-24T08:02:00Z\n4,{GOOD},2015-02-24')  # a line half written
    assert tail.poll() == 1
    store.close()

    store = Store(db)  # restart, then the half line ends and a quoted field stays open at the end
    tail = TailSource(path, store, Fields())
    with open(path, "a") as fh:
        fh.write('T08:03:00Z\n5,"never closed yet\n')
    assert tail.poll() == 1  # line 6 (id 4); the open quote waits for the next write
    with open(path, "a") as fh:
        fh.write('and now closed",2015-02-24T08:04:00Z\n')
    assert tail.poll() == 1
    texts = store.frame("SELECT line, text FROM tweets ORDER BY id")
    assert texts["line"].tolist() == [2, 3, 4, 6, 7] and texts["text"].iloc[2].endswith("still the same tweet")
    assert texts["text"].iloc[4] == "never closed yet\nand now closed"

    path.write_text(f"id,text,created_at\n1,{GOOD},2015-02-24T09:00:00Z\n")  # truncated and rewritten
    assert tail.poll() == 1
    assert store.counts()["tweets"] == 6
    assert watcher(store, scorer).run_once()["scored"] == 6
    store.close()


# ---------------------------------------------------------------- HTTP


def post(api: TweetApi, body: bytes, token: str | None = TOKEN) -> tuple[int, dict, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{api.address[1]}/tweets", body, method="POST")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read().decode()
            return response.status, json.loads(raw), raw
    except urllib.error.HTTPError as exc:
        raw = exc.read().decode()
        return exc.code, json.loads(raw), raw


def tweets_body(tweets: list[dict]) -> bytes:
    return json.dumps({"tweets": tweets}).encode()


def test_the_http_endpoint_wants_its_token_and_answers_one_json_line(store, scorer):
    w = watcher(store, scorer)
    api = TweetApi(store, Fields(group_columns=["airline"]), TOKEN, "127.0.0.1", 0, on_new=w.wake.set).start()
    try:
        good = tweets_body([{"id": "a1", "text": BAD, "created_at": "2015-02-24T08:00:00Z", "group": {"airline": "X"}}])
        assert post(api, good, token=None)[:2] == (401, {"error": "missing or wrong bearer token"})
        assert post(api, good, token="wrong")[0] == 401
        status, body, raw = post(api, b"{not json")
        assert (status, body) == (400, {"error": "the body is not valid JSON"}) and raw.count("\n") == 1
        assert post(api, b'{"tweet": []}')[0] == 400
        assert post(api, b"x" * (1 << 20 + 1))[0] == 413
        mixed = tweets_body([{"id": "a2", "text": GOOD}, {"text": 5}, "no", {"text": "y" * 10_001}])
        status, body, _ = post(api, mixed)
        assert status == 202 and body["accepted"] == 1 and [r["index"] for r in body["rejected"]] == [1, 2, 3]
        assert post(api, good)[1] == {"accepted": 1, "duplicates": 0, "rejected": []}
        assert post(api, good)[1] == {"accepted": 0, "duplicates": 1, "rejected": []}  # the same id: stored once
        assert w.wake.is_set()
        stop = threading.Event()
        loop = threading.Thread(target=w.run_forever, args=(stop,), daemon=True)
        loop.start()  # the watcher's loop, woken by the POSTs
        deadline = time.time() + 20
        while store.counts()["pending"] and time.time() < deadline:
            time.sleep(0.02)
        stop.set(), w.wake.set(), loop.join(10)
        assert store.counts() == {"tweets": 2, "scored": 2, "pending": 0, "malformed": 0}
        stored = store.frame("SELECT tweet_id, label, groups FROM tweets ORDER BY id")
        assert stored.values.tolist() == [["a2", "positive", "{}"], ["a1", "negative", '{"airline": "X"}']]
    finally:
        api.stop()


def test_the_watcher_refuses_to_serve_without_a_token_and_a_database_server(
    tmp_path, trained_logreg_run, capsys, monkeypatch
):
    monkeypatch.delenv(watch_command.TOKEN_ENV, raising=False)
    for extra, why in [
        (["--http", "127.0.0.1:0"], "needs a token"),
        (["--http", "127.0.0.1:0", "--db", "postgresql://u:secret@127.0.0.1:1/db"], "cannot open the monitor store"),
        (["--folder", str(tmp_path / "none")], "is not a folder"),
        (["--folder", str(tmp_path), "--threshold", "7"], "between 0 and 1"),
    ]:
        with pytest.raises(SystemExit) as exit_:
            watch_command.main(["--run", str(trained_logreg_run), "--db", str(tmp_path / "f.sqlite"), *extra])
        err = capsys.readouterr().err.strip()
        assert exit_.value.code == 2 and err.startswith("error: ") and why in err and "\n" not in err
        assert "secret" not in err  # a server URL is shown without its password
    with pytest.raises(StoreError, match="SQLAlchemy"):
        Store.open("mysql+pymysql://u@h/db")


# ---------------------------------------------------------------- a replayed feed with bursts


def burst_feed() -> list[list[dict]]:
    """Ten 15-minute windows of three airlines, 12 tweets each; A bursts in windows 3-5, B in 6-7 (10 of 12)."""
    windows = []
    for w in range(10):
        tweets = []
        for airline in ("A", "B", "C"):
            burst = (airline == "A" and 3 <= w <= 5) or (airline == "B" and w in (6, 7))
            for i in range(12):
                negative = i < (10 if burst else 2)
                when = START + pd.Timedelta(minutes=15 * w + i)
                text = f"{BAD if negative else GOOD} {airline}{w}-{i}"
                tweets.append(
                    {
                        "id": f"{airline}{w}-{i}",
                        "text": text,
                        "created_at": when.isoformat(),
                        "group": {"airline": airline},
                    }
                )
        windows.append(tweets)
    return windows


def test_a_replayed_feed_raises_one_alert_per_burst_group_and_delivers_it(tmp_path, scorer, monkeypatch):
    monkeypatch.setattr(alerts, "BACKOFF_S", (0,) * 7)  # a failed send is due again at once
    db = tmp_path / "feed.sqlite"
    store = Store(db)
    with WebhookReceiver() as hook, SmtpSink() as smtp:
        hook.fail_next = [500]  # the first send fails: recorded, retried, never raised
        channels = {
            "webhook": WebhookChannel(hook.url),
            "email": EmailChannel(SmtpSettings.parse(smtp.address, "monitor@test", "ops@test")),
        }
        w = watcher(store, scorer, channels=channels)
        api = TweetApi(store, Fields(group_columns=["airline"]), TOKEN, "127.0.0.1", 0, on_new=w.wake.set).start()
        try:
            for window in burst_feed():
                assert post(api, tweets_body(window))[0] == 202
                w.run_once()
        finally:
            api.stop()
        w.run_once()  # the retry of the failed send
        raised = alerts.alerts(store)
        assert sorted((a["grp"], a["rule"]) for a in raised) == [("A", SHARE), ("B", SHARE)]
        by_group = {a["grp"]: a for a in raised}
        assert by_group["A"]["window_start"] == (START + pd.Timedelta(minutes=45)).timestamp()
        assert by_group["A"]["closed_at"] == (START + pd.Timedelta(minutes=90)).timestamp()  # back under at window 6
        texts = [body["text"] for _, body in hook.received]
        assert len(texts) == 2 and all("Most negative tweets" in t for t in texts)
        shown = next(t for t in texts if "airline = A: " in t)  # the estimate with its interval, and the count
        assert "% negative (estimate; 90 % interval " in shown and "(10 of 12 tweets called negative)" in shown
        assert len(smtp.messages) == 2 and "Subject: Bad buzz: A (negative share)" in "".join(smtp.messages)
    deliveries = store.frame("SELECT channel, status, attempts, last_error FROM deliveries ORDER BY id")
    assert (deliveries["status"] == "sent").all() and deliveries["attempts"].max() == 2
    assert "webhook answered HTTP 500" in deliveries["last_error"].tolist()
    behind = alerts.alert_tweets(store, by_group["B"])
    assert len(behind) == 12 and behind["score"].is_monotonic_increasing
    assert behind["tweet_id"].str.startswith("B6-").all()
    store.close()

    again = Store(db)  # restart: the store holds everything, nothing is scored or raised twice
    assert again.counts() == {"tweets": 360, "scored": 360, "pending": 0, "malformed": 0}
    assert watcher(again, scorer, channels={}).run_once() == {"read": 0, "scored": 0, "alerts": 0, "sent": 0}
    assert len(alerts.alerts(again)) == 2
    again.close()


# ---------------------------------------------------------------- languages


def test_each_tweet_gets_its_language_and_the_feed_splits_by_it(tmp_path, scorer):
    inbox = tmp_path / "in"
    inbox.mkdir()
    french = "mon vol est encore annulé, personne au guichet, c'est honteux"
    rows = [("United", BAD if i % 2 else f"{GOOD} today", START + pd.Timedelta(minutes=i)) for i in range(20)]
    rows += [("United", french, START + pd.Timedelta(minutes=i)) for i in range(12)]
    airline_export(inbox / "a.csv", rows)
    store = Store(tmp_path / "feed.sqlite")
    w = watcher(store, scorer, group_column="language", source=FolderSource(inbox, store, Fields(), settle_s=0))
    w.run_once()
    counts = store.frame("SELECT language, COUNT(*) AS n FROM tweets GROUP BY language").set_index("language")["n"]
    assert counts.get("fr") == 12 and counts.get("en", 0) + counts.get("und", 0) == 20
    notes = store.frame("SELECT DISTINCT reason FROM tweets WHERE language = 'fr'")["reason"].tolist()
    assert notes == ["language fr: the model was trained on en tweets only"]  # an English-only run, scored anyway
    windows = alerts.stored_windows(store, w.rules, "language", START.timestamp(), START.timestamp() + 3600)
    assert {"fr", "en"} <= set(windows["group"])
    store.close()


def test_a_store_made_before_the_language_column_gains_it_when_opened(tmp_path):
    import sqlite3

    db = tmp_path / "old.sqlite"
    Store(db).close()
    with sqlite3.connect(db) as conn:  # the store as an older version made it: no language column
        conn.execute("ALTER TABLE tweets DROP COLUMN language")
        conn.execute(
            "INSERT INTO tweets (source, source_key, text, groups, received_at, event_at) "
            "VALUES ('x', 'k1', 'old tweet', '{}', 1, 1)"
        )
    store = Store(db)
    assert store.added_columns == ["tweets.language"]
    assert store.frame("SELECT text, language FROM tweets").values.tolist() == [["old tweet", None]]
    assert Store(db).added_columns == []
    store.close()
