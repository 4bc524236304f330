"""The monitor faces the public (issue 25): a hostile tweet never loses a good one nor stalls the feed, a delivery
problem stays one safe line on its channel, the HTTP server bounds its connections and their time, secrets stay
masked and out of argv, and the batch view's pasted tweets are one per line."""

from __future__ import annotations

import io
import json
import logging
import socket
import threading
import time
import urllib.request

import pandas as pd
import pytest

from core.cli.parser import parse_options
from core.commands import watch as watch_command
from core.inference import stream, stream_input
from core.inference.scorers import ModelScorer
from core.models.base import load
from core.monitor import alerts, http_api, watch
from core.monitor.channels import AlertMessage, DeliveryError, EmailChannel, SmtpSettings, WebhookChannel
from core.monitor.http_api import TweetApi
from core.monitor.masking import mask_secrets, mask_url
from core.monitor.records import Fields
from core.monitor.rules import GroupRule, Rules
from core.monitor.sources import FolderSource, TailSource
from core.monitor.store import DB_ENV, Store
from tests.integration.test_monitor_watch import BAD, GOOD, TOKEN, post, tweets_body
from tests.support.monitor_servers import SmtpSink

FAR = "9999-12-31T23:59:59Z"  # pandas holds no date after 2262: it raised OutOfBoundsDatetime for its whole batch
SECRET = "T0SECRET/B0SECRET/XyZsecretPath"


@pytest.fixture(scope="module")
def scorer(trained_logreg_run) -> ModelScorer:
    return ModelScorer(load(trained_logreg_run), "logreg-tiny")


@pytest.fixture
def store(tmp_path) -> Store:
    s = Store(tmp_path / "feed.sqlite")
    yield s
    s.close()


@pytest.fixture
def api(store):
    woken = threading.Event()
    server = TweetApi(store, Fields(group_columns=["airline"]), TOKEN, "127.0.0.1", 0, on_new=woken.set).start()
    yield server
    server.stop()


def watcher(store, scorer, **kw) -> watch.Watcher:
    rules = Rules(window="15min", default=GroupRule(0.6, 2, spike_factor=0))
    return watch.Watcher(store, scorer, "logreg-tiny", rules, "airline", **kw)


def stored_texts(store: Store) -> list[str]:
    return store.frame("SELECT text FROM tweets ORDER BY id")["text"].tolist()


# ---------------------------------------------------------------- 1. dates out of range


def test_a_date_out_of_range_over_http_is_one_flagged_tweet_and_the_others_are_kept(api, store, scorer):
    tweets = [
        {"id": "1", "text": GOOD, "created_at": "2015-02-24T08:00:00Z"},
        {"id": "2", "text": BAD, "created_at": FAR},
        {"id": "3", "text": BAD, "created_at": "1500-01-01T00:00:00Z"},
        {"id": "4", "text": GOOD, "created_at": "2015-02-24T08:01:00Z"},
    ]
    status, body, _ = post(api, tweets_body(tweets))
    assert (status, body) == (202, {"accepted": 4, "duplicates": 0, "rejected": []})
    stored = store.frame("SELECT tweet_id, created_at, reason FROM tweets ORDER BY id")
    assert stored["reason"].tolist() == ["", "unparseable timestamp", "unparseable timestamp", ""]
    assert stored["created_at"].isna().tolist() == [False, True, True, False]  # placed by their arrival time
    assert watcher(store, scorer).run_once()["scored"] == 4


def test_a_date_out_of_range_in_a_followed_file_neither_loses_the_file_nor_stalls_it(tmp_path, store, scorer):
    path = tmp_path / "feed.csv"
    path.write_text(
        f"id,text,created_at\n1,{GOOD},2015-02-24T08:00:00Z\n2,{BAD},{FAR}\n3,{GOOD},2015-02-24T08:02:00Z\n"
    )
    w = watcher(store, scorer, source=TailSource(path, store, Fields()))
    assert w.run_once()["read"] == 3
    with open(path, "a") as fh:
        fh.write(f"4,{BAD},0001-01-01T00:00:00Z\n5,{GOOD},2015-02-24T08:03:00Z\n")
    assert w.run_once()["read"] == 2 and w.run_once()["read"] == 0  # the feed goes on, nothing read twice
    stored = store.frame("SELECT line, reason FROM tweets ORDER BY id")
    assert stored["line"].tolist() == [2, 3, 4, 5, 6]
    assert stored["reason"].tolist() == ["", "unparseable timestamp", "", "unparseable timestamp", ""]
    assert store.counts()["pending"] == 0

    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "a.jsonl").write_text("\n".join(json.dumps({"text": GOOD, "created_at": at}) for at in (FAR, "2015")))
    w = watcher(store, scorer, source=FolderSource(inbox, store, Fields(), settle_s=0))
    assert w.run_once()["read"] == 2 and w.run_once()["read"] == 0


def test_the_pages_batch_scoring_keeps_a_row_with_a_date_out_of_range(scorer):
    data = f"created_at,text\n2015-02-24T08:00:00Z,{GOOD}\n{FAR},{BAD}\n2015-02-24T09:00:00Z,{BAD}\n".encode()
    layout = stream_input.inspect_csv(io.BytesIO(data))
    assert layout.time_column == "created_at"
    result = stream.score_stream(io.BytesIO(data), layout, scorer)
    assert result.scored["reason"].tolist() == ["", "unparseable timestamp", ""]
    assert result.scored["p_pos"].notna().all() and result.report.bad_timestamp == 1


# ---------------------------------------------------------------- 2. a malformed webhook URL


@pytest.mark.parametrize(
    "url", [f"https://hooks.example.com/services/{SECRET} x", f"https://hooks.example.com:port/{SECRET}"]
)
def test_a_malformed_webhook_url_is_refused_at_configuration_without_showing_it(url):
    with pytest.raises(ValueError) as refused:
        WebhookChannel(url)
    assert "https://hooks.example.com" in str(refused.value) and "SECRET" not in str(refused.value)


class ExplodingChannel:
    """A channel whose send raises what urllib's InvalidURL raised: not a DeliveryError, the URL in its message."""

    def send(self, message: AlertMessage) -> None:
        raise ValueError(f"URL can't contain control characters. '/services/{SECRET}' (found at least ' ')")


def test_a_failing_channel_is_one_safe_line_and_the_other_channels_still_go(store, scorer, caplog):
    rows = [{"id": f"b{i}", "text": BAD, "created_at": "2015-02-24T08:00:00Z", "airline": "X"} for i in range(4)]
    status, _, _ = post_direct(store, rows)
    assert status == 202
    with SmtpSink() as smtp, caplog.at_level(logging.INFO):
        email = EmailChannel(SmtpSettings.parse(smtp.address, "monitor@test", "ops@test"))
        w = watcher(store, scorer, channels={"webhook": ExplodingChannel(), "email": email})
        for _ in range(3):  # rounds go on
            w.run_once()
        assert len(smtp.messages) == 1  # the e-mail of the alert went, whatever the webhook did
    deliveries = store.frame("SELECT channel, status, last_error FROM deliveries ORDER BY id")
    assert deliveries[["channel", "status"]].values.tolist() == [["webhook", "pending"], ["email", "sent"]]
    assert deliveries["last_error"].tolist() == ["webhook failed: ValueError", ""]
    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("(webhook) failed" in line for line in logged)
    assert not any("SECRET" in line for line in logged)


def post_direct(store: Store, tweets: list[dict]) -> tuple[int, dict, str]:
    api = TweetApi(store, Fields(group_columns=["airline"]), TOKEN, "127.0.0.1", 0, on_new=lambda: None)
    try:
        return 202, api.post_tweets(tweets_body(tweets)), ""
    finally:
        api.server.server_close()


# ---------------------------------------------------------------- 3. odd characters


def test_odd_characters_are_rejected_one_by_one_and_the_good_tweets_kept(api, store):
    raw = (
        '{"tweets": ['
        f'{{"id": "g1", "text": "{GOOD}"}},'
        '{"id": "s1", "text": "lone \\ud800 surrogate"},'
        '{"id": "s2", "text": "ok", "group": {"airline": "\\udfff"}},'
        '{"id": "\\ud83d", "text": "ok"},'
        '{"id": "n1", "text": "a NUL \\u0000 inside"},'
        f'{{"id": "g2", "text": "{BAD} \\ud83d\\ude00"}}'
        "]}"
    )
    status, body, _ = post(api, raw.encode())
    assert status == 202 and body["accepted"] == 2
    assert [(r["index"], r["reason"].split(" (")[0]) for r in body["rejected"]] == [
        (1, "the text is not valid Unicode"),
        (2, "the group is not valid Unicode"),
        (3, "the id is not valid Unicode"),
        (4, "the text holds a NUL character"),
    ]
    assert stored_texts(store) == [GOOD, f"{BAD} 😀"]


def test_deeply_nested_json_is_a_400_over_http_and_one_malformed_line_in_a_file(api, store, tmp_path):
    deep = b'{"tweets": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}"
    status, body, raw = post(api, deep)
    assert (status, body) == (400, {"error": "the body's JSON nested too deeply"}) and raw.count("\n") == 1
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "a.jsonl").write_bytes(b'{"text": "fine"}\n' + b"[" * 100_000 + b"\n" + b'{"text": "also fine"}\n')
    assert FolderSource(inbox, store, Fields(), settle_s=0).poll() == 3
    stored = store.frame("SELECT line, text, reason FROM tweets ORDER BY id")
    assert stored.values.tolist() == [
        [1, "fine", ""],
        [2, "", "malformed: JSON nested too deeply"],
        [3, "also fine", ""],
    ]


# ---------------------------------------------------------------- 4. the HTTP server's bounds


def raw_request(port: int, data: bytes, timeout: float = 10) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_two_content_lengths_are_refused(api, store):
    body = tweets_body([{"id": "x", "text": GOOD}])
    head = (
        f"POST /tweets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: {len(body)}\r\n"
        f"Content-Length: 5\r\n\r\n"
    ).encode()
    answer = raw_request(api.address[1], head + body)
    assert answer.startswith(b"HTTP/1.1 400") and b"more than one Content-Length header" in answer
    assert store.counts()["tweets"] == 0


def trickle(connection: socket.socket, every_s: float = 0.3, limit_s: float = 8.0) -> float:
    """Send a byte every `every_s` until the server closes the connection; the seconds that took."""
    started = time.monotonic()
    connection.settimeout(every_s)
    while time.monotonic() - started < limit_s:
        try:
            connection.sendall(b"G")
            if connection.recv(1) == b"":
                break
        except TimeoutError:
            continue
        except OSError:
            break
    return time.monotonic() - started


def test_slow_and_idle_clients_are_cut_off_and_connections_are_bounded(store, monkeypatch):
    monkeypatch.setattr(http_api, "IDLE_S", 0.5)
    monkeypatch.setattr(http_api, "REQUEST_S", 1.5)
    api = TweetApi(store, Fields(), TOKEN, "127.0.0.1", 0, on_new=lambda: None, max_connections=3).start()
    port = api.address[1]
    try:
        idle = socket.create_connection(("127.0.0.1", port), timeout=5)
        slow = socket.create_connection(("127.0.0.1", port), timeout=5)
        third = socket.create_connection(("127.0.0.1", port), timeout=5)
        time.sleep(0.2)
        assert raw_request(port, b"GET /health HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 503")  # over the bound
        slow_s = trickle(slow)  # a byte every 0.3 s: never idle, never a whole request
        assert slow_s < 3.5  # cut at the request deadline (1.5 s), not kept for ever
        assert idle.recv(1) == b"" and third.recv(1) == b""  # idle connections closed after IDLE_S
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as answer:
            assert answer.status == 200  # the slots came back
        for s in (idle, slow, third):
            s.close()
    finally:
        api.stop()


def test_a_slow_client_does_not_block_the_others(store, monkeypatch):
    api = TweetApi(store, Fields(), TOKEN, "127.0.0.1", 0, on_new=lambda: None, max_connections=8).start()
    try:
        stalled = [socket.create_connection(("127.0.0.1", api.address[1])) for _ in range(4)]
        for s in stalled:
            s.sendall(b"POST /tweets HTTP/1.1\r\nContent-Length: 100\r\n\r\n{")  # and then nothing
        assert post(api, tweets_body([{"id": "ok", "text": GOOD}]))[:2] == (
            202,
            {"accepted": 1, "duplicates": 0, "rejected": []},
        )
        for s in stalled:
            s.close()
    finally:
        api.stop()


# ---------------------------------------------------------------- 5. secrets


def test_urls_are_shown_without_their_secrets():
    url = "postgresql://monitor:pw1@db:5432/badbuzz?password=pw2&sslmode=require"
    assert mask_url(url) == "postgresql://monitor:***@db:5432/badbuzz?password=***&sslmode=require"
    assert mask_url(f"https://hooks.slack.com/services/{SECRET}", keep_path=False) == "https://hooks.slack.com/…"
    said = mask_secrets(f"cannot reach {url}: password=pw3 refused")
    assert not any(secret in said for secret in ("pw1", "pw2", "pw3"))


def test_a_database_password_in_the_url_is_never_printed(tmp_path, trained_logreg_run, capsys, monkeypatch):
    url = "postgresql://monitor@127.0.0.1:1/badbuzz?password=hunter2"
    for argv in (["--db", url], ["--db-file", str(secret_file(tmp_path / "db.url", url))], []):
        monkeypatch.setenv(DB_ENV, url)  # the watcher reads the store the dashboard reads when --db is not given
        with pytest.raises(SystemExit):
            watch_command.main(["--run", str(trained_logreg_run), "--folder", str(tmp_path), "--once", *argv])
        out = capsys.readouterr()
        assert "monitor@127.0.0.1:1/badbuzz?password=***: connection failed" in out.err
        assert "hunter2" not in out.err + out.out


def secret_file(path, value: str):
    path.write_text(value + "\n")
    path.chmod(0o600)
    return path


def test_webhook_and_smtp_password_come_from_files(tmp_path, trained_logreg_run, monkeypatch):
    hook = secret_file(tmp_path / "hook", f"https://hooks.example.com/services/{SECRET}")
    password = secret_file(tmp_path / "smtp", "mail-pw")
    monkeypatch.setenv("BADBUZZ_SMTP_USER", "monitor")
    argv = ["--run", str(trained_logreg_run), "--folder", str(tmp_path), "--db", str(tmp_path / "f.sqlite")]
    argv += ["--webhook-file", str(hook), "--smtp", "mail.example.com", "--smtp-ssl", "--smtp-to", "ops@x"]
    options = parse_options(watch_command.WatchOptions, [*argv, "--smtp-password-file", str(password)])
    channels = watch_command.channels_from(options)
    assert channels["webhook"].url.endswith(SECRET)
    settings = channels["email"].settings
    assert (settings.password, settings.ssl, settings.port) == ("mail-pw", True, 465)


def test_smtp_never_sends_a_password_in_plain_text(monkeypatch):
    monkeypatch.setenv("BADBUZZ_SMTP_USER", "monitor")
    monkeypatch.setenv("BADBUZZ_SMTP_PASSWORD", "mail-pw")
    message = AlertMessage("Bad buzz", "text")
    with SmtpSink(auth=True) as sink:
        with pytest.raises(ValueError, match="--smtp-starttls, or --smtp-ssl"):
            EmailChannel(SmtpSettings.parse(sink.address, None, "ops@x"))
        with pytest.raises(DeliveryError, match="unreachable: SMTPNotSupportedError"):  # STARTTLS not offered
            EmailChannel(SmtpSettings.parse(sink.address, None, "ops@x", starttls=True)).send(message)
        assert not [c for c in sink.commands if c.upper().startswith("AUTH")] and not sink.messages
        EmailChannel(SmtpSettings.parse(sink.address, None, "ops@x", plaintext_auth=True)).send(message)  # test server
        assert [c.split()[:2] for c in sink.commands if c.upper().startswith("AUTH")] == [["AUTH", "PLAIN"]]
    with pytest.raises(ValueError, match="a test server on this machine"):
        EmailChannel(SmtpSettings.parse("mail.example.com:25", None, "ops@x", plaintext_auth=True))


# ---------------------------------------------------------------- 8. pasted tweets


def test_pasted_tweets_are_one_per_line_whatever_the_first_one_holds(scorer):
    pasted = 'worst delay, lost bag\nlove the crew\n"quoted, and open\nbad seat, again'
    result = stream.score_stream(io.BytesIO(stream_input.pasted_tweets(pasted)), stream_input.pasted_layout(), scorer)
    assert result.scored["text"].tolist() == pasted.split("\n")
    assert result.report.records == 4 and result.report.malformed_lines == 0


def test_a_tweet_dated_far_ahead_does_not_make_the_rules_walk_every_window_between(store, scorer):
    tweets = [{"id": f"t{i}", "text": BAD, "created_at": "2015-02-24T08:00:00Z", "airline": "X"} for i in range(3)]
    tweets.append({"id": "far", "text": BAD, "created_at": "2199-12-31T23:59:59Z", "airline": "X"})
    post_direct(store, tweets)
    w = watcher(store, scorer)
    assert w.run_once()["scored"] == 4
    rules = w.rules
    windows = alerts.stored_windows(store, rules, "airline", pd.Timestamp("2015-02-24", tz="UTC").timestamp(), 7.3e9)
    assert len(windows) <= 2 * (rules.history + 1)  # not the 6.4 million 15-minute windows of 185 years
