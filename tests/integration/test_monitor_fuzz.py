"""Property-based test of the monitor's inputs (issue 25): the HTTP API driven in-process (TweetApi.post_tweets, the
handler's work without a socket) and the file sources (a landed folder file, a growing file), fed by Hypothesis with
random JSON shapes, dates (in and far out of range), unicode (lone surrogates and NULs included) and sizes.

Invariants, for every generated request or file:
- a request whose body is `{"tweets": [...]}` is answered with accepted + duplicates + rejected = tweets sent, and
  exactly the tweets that no store can keep (not an object, no text, a text over 10,000 characters, a NUL or a lone
  surrogate in a field) are rejected; any other body is a 400 / 413 (ApiError), never another exception;
- every record of a file is stored, scored or kept with its reason (the one reader's count), a good record's text
  exactly; reading again adds nothing;
- the watcher's round (score, rules, alerts) never raises and leaves nothing pending: the feed never stops.

Examples are bounded (derandomized, so the CI sees the same ones): 120 requests, 40 folder files, 25 tailed files.
"""

from __future__ import annotations

import csv
import io
import itertools
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.data.csv_reader import open_csv
from core.inference.scorers import ModelScorer
from core.models.base import load
from core.monitor import watch
from core.monitor.http_api import MAX_TEXT_CHARS, ApiError, TweetApi
from core.monitor.records import Fields
from core.monitor.rules import GroupRule, Rules
from core.monitor.sources import FolderSource, TailSource
from core.monitor.store import Store

API_EXAMPLES, FOLDER_EXAMPLES, TAIL_EXAMPLES = 120, 40, 25


def fuzz(examples: int) -> settings:
    return settings(FUZZ, max_examples=examples)


FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
ANY_CHAR = st.characters(codec=None, exclude_categories=())  # every code point, lone surrogates and NUL included
TEXT = st.text(ANY_CHAR, max_size=40) | st.text(st.sampled_from("ab =+-@\t\r\n,\"'\\é😀\x00"), max_size=60)
DATES = (
    st.sampled_from(
        [
            "2015-02-24T08:00:00Z",
            "Wed Feb 25 10:00:00 +0000 2015",
            "2/24/2015 11:35",
            "1424770552",
            "9999-12-31T23:59:59Z",
            "0001-01-01T00:00:00Z",
            "1500-01-01",
            "2199-12-31T23:59:59Z",
            "not a date",
            "",
        ]
    )
    | TEXT
)
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=8,
)
GOOD_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=80)
COUNTER = itertools.count()


@st.composite
def tweet(draw):
    """A tweet object, good or not: the fields a client sends, any of them of the wrong kind."""
    obj = {"text": draw(GOOD_TEXT | TEXT | JSON_VALUE | st.just("x" * (MAX_TEXT_CHARS + 1)))}
    if draw(st.booleans()):
        obj["id"] = draw(st.integers(0, 10**20).map(str) | TEXT | JSON_VALUE)
    if draw(st.booleans()):
        obj["created_at"] = draw(DATES | JSON_VALUE)
    if draw(st.booleans()):
        obj["group"] = draw(st.dictionaries(TEXT, JSON_VALUE, max_size=3) | JSON_VALUE)
    if draw(st.booleans()):
        obj["airline"] = draw(TEXT | JSON_VALUE)
    return obj if draw(st.integers(0, 9)) else draw(JSON_VALUE)


BODIES = st.lists(tweet(), max_size=25).map(lambda t: {"tweets": t}) | JSON_VALUE


def storable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in value


def plain(value) -> str:
    return "" if value is None else value if isinstance(value, str) else json.dumps(value)


def is_good(item) -> bool:
    """The oracle, written from the API's documentation: what must be accepted (or counted a duplicate)."""
    if not isinstance(item, dict) or not isinstance(item.get("text"), str) or len(item["text"]) > MAX_TEXT_CHARS:
        return False
    group = item.get("group") if isinstance(item.get("group"), dict) else {}
    strings = [item["text"], "" if item.get("id") is None else str(item["id"]), plain(item.get("created_at"))]
    strings += [s for k, v in group.items() for s in (str(k), plain(v))]
    strings += [plain(item["airline"])] if "airline" in item and "airline" not in group else []
    return all(storable(s) for s in strings)


@pytest.fixture(scope="module")
def scorer(trained_logreg_run) -> ModelScorer:
    return ModelScorer(load(trained_logreg_run), "logreg-tiny")


@pytest.fixture
def feed(tmp_path, scorer):
    store = Store(tmp_path / "feed.sqlite")
    rules = Rules(window="15min", default=GroupRule(0.6, 2, spike_factor=2, spike_min=2))
    yield store, watch.Watcher(store, scorer, "logreg-tiny", rules, "airline")
    store.close()


def stored(store: Store, text: str, source: str) -> int:
    return store.query("SELECT COUNT(*) FROM tweets WHERE text = :t AND source = :s", {"t": text, "s": source})[0][0]


def round_goes_on(watcher: watch.Watcher) -> None:
    watcher.run_once()  # raises if the feed would stop
    assert watcher.store.counts()["pending"] == 0


@fuzz(API_EXAMPLES)
@given(body=BODIES)
def test_every_tweet_sent_over_the_api_is_accepted_counted_or_rejected(feed, body):
    store, watcher = feed
    api = TweetApi(store, Fields(group_columns=["airline"]), "t", "127.0.0.1", 0, on_new=lambda: None)
    api.server.server_close()  # driven in-process: the handler's work without a socket
    raw = json.dumps(body).encode()
    ids_before = {row[0] for row in store.query("SELECT tweet_id FROM tweets WHERE source = 'http'")}
    try:
        answer = api.post_tweets(raw)
    except ApiError as exc:
        assert exc.status in (400, 413)
        assert not (isinstance(body, dict) and isinstance(body.get("tweets"), list) and len(body["tweets"]) <= 1000)
        return
    sent = body["tweets"]
    assert answer["accepted"] + answer["duplicates"] + len(answer["rejected"]) == len(sent)
    assert sorted(r["index"] for r in answer["rejected"]) == [i for i, t in enumerate(sent) if not is_good(t)]
    for item in first_of_their_id(filter(is_good, sent), ids_before):  # no good tweet lost
        assert stored(store, item["text"], "http") >= 1
    round_goes_on(watcher)


def first_of_their_id(items, ids_before: set[str]):
    """The tweets the store must hold as sent: an id already stored (by an earlier example: the store is shared) or
    given twice in a request is one tweet, the first one kept and the others counted as duplicates."""
    seen = set(ids_before)
    for item in items:
        tweet_id = "" if item.get("id") is None else str(item["id"])  # no id: the tweet is its text, time, groups
        if not tweet_id or tweet_id not in seen:
            yield item
        seen.add(tweet_id)


@st.composite
def landed_file(draw):
    """(name, bytes, good texts): JSON lines or a CSV with hostile lines among good ones."""
    good = draw(st.lists(GOOD_TEXT.filter(lambda t: t.strip()), max_size=15))
    dates = draw(st.lists(DATES.filter(storable), min_size=len(good), max_size=len(good)))
    if draw(st.booleans()):
        lines = [json.dumps({"text": t, "created_at": d}).encode() for t, d in zip(good, dates)]
        bad = st.binary(max_size=30) | st.just(b"[" * 5000) | JSON_VALUE.map(lambda v: json.dumps(v).encode())
        lines += draw(st.lists(bad, max_size=6))
        return f"feed{next(COUNTER)}.jsonl", b"\n".join(draw(st.permutations(lines))) + b"\n", good
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["id", "text", "created_at"])
    writer.writerows([i, t, d] for i, (t, d) in enumerate(zip(good, dates)))
    bad = draw(st.lists(st.binary(max_size=30) | st.just(b'1,"open quote,x') | st.just(b"1,a\x00b,c"), max_size=5))
    data = out.getvalue().encode() + b"".join(line + b"\n" for line in bad)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:  # the one reader reads a file that is not UTF-8 as latin-1, every line of it
        good = [text.encode("utf-8").decode("latin-1") for text in good]
    return f"feed{next(COUNTER)}.csv", data, good


def records_in(name: str, data: bytes) -> int:
    if name.endswith(".jsonl"):
        return sum(1 for line in data.splitlines() if line.strip())
    with open_csv(data, name=name) as table:
        for _ in table.records():
            pass
        return table.report.records


@fuzz(FOLDER_EXAMPLES)
@given(landed=landed_file())
def test_every_record_of_a_landed_file_is_stored_and_the_folder_goes_on(feed, tmp_path_factory, landed):
    store, watcher = feed
    name, data, good = landed
    inbox = tmp_path_factory.mktemp("inbox")
    (inbox / name).write_bytes(data)
    source = FolderSource(inbox, store, Fields(text="text", time="created_at"), settle_s=0)
    before = store.counts()["tweets"]
    added = source.poll()
    assert added == store.counts()["tweets"] - before == records_in(name, data)  # every record accounted for
    for text in good:
        assert stored(store, text, "folder") >= 1
    assert source.poll() == 0
    round_goes_on(watcher)


@fuzz(TAIL_EXAMPLES)
@given(landed=landed_file(), cuts=st.lists(st.integers(1, 400), max_size=4))
def test_a_growing_file_written_in_pieces_loses_no_record_and_never_stalls(feed, tmp_path_factory, landed, cuts):
    store, watcher = feed
    name, data, good = landed
    path = tmp_path_factory.mktemp("tail") / name
    source = TailSource(path, store, Fields(text="text", time="created_at"))
    path.write_bytes(b"")
    written = 0
    for cut in [*sorted(set(cuts)), len(data)]:  # the file grows piece by piece, lines cut anywhere
        with open(path, "ab") as fh:
            fh.write(data[written : max(written, min(cut, len(data)))])
        written = max(written, min(cut, len(data)))
        source.poll()
        round_goes_on(watcher)
    for _ in range(3):  # a quote left open at the end is given up after a poll without growth
        source.poll()
    for text in good:
        assert stored(store, text, "file") >= 1
    assert source.poll() == 0
    round_goes_on(watcher)
