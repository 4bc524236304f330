"""The monitor streams real CSVs through a real (tiny) model and finds the bad-buzz moments."""

from __future__ import annotations

import io
import random

import numpy as np
import pandas as pd
import pytest

from core.analysis.timeline import most_negative, negative_timeline
from core.inference.scorers import ServiceScorer, scorer_for_run
from core.inference.stream import score_stream, scored_csv
from core.inference.stream_input import NO_GROUP_VALUE, CsvLayout, MonitorError, inspect_csv, pasted_tweets
from core.monitor import groups
from core.monitor.rules import GroupRule, Rules
from tests.support import airline
from tests.support.data import FILLER, NEGATIVE, POSITIVE, make_tweets_csv
from views.components.figures import group_share_figure, group_volume_figure, timeline_figure


@pytest.fixture(scope="module")
def scorer(tmp_path_factory):
    """A real TF-IDF logistic regression trained by the real trainer on a small CSV."""
    from trainers import logreg

    root = tmp_path_factory.mktemp("monitor")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BADBUZZ_DATA_DIR", str(root / "data"))
        run_dir = logreg.main(
            ["--data", str(make_tweets_csv(root / "train.csv")), "--output", str(root / "run"), "--C", "1.0"]
        )
    return scorer_for_run(run_dir)


def tweet(rng: random.Random, negative: bool) -> str:
    return " ".join(rng.sample(NEGATIVE if negative else POSITIVE, 2) + rng.sample(FILLER, 2))


def stream_csv(n: int, burst_hours=(9, 10), seed: int = 1) -> tuple[bytes, int]:
    """n tweets over one day at 2 minute-ish steps; mostly positive except during the burst hours."""
    rng = random.Random(seed)
    start = pd.Timestamp("2024-05-03 00:00:00")
    step = pd.Timedelta(days=1) / n
    lines = ["id,timestamp,text"]
    for i in range(n):
        at = start + i * step
        negative = rng.random() < (0.85 if at.hour in burst_hours else 0.15)
        lines.append(f'{i},{at.isoformat()},"{tweet(rng, negative)}, really"')
    return ("\n".join(lines) + "\n").encode(), n


def test_large_csv_streams_in_chunks_and_finds_the_burst(scorer):
    data, n = stream_csv(12_000)
    extra = (
        "\n".join(
            [
                '90001,2024-05-03T12:00:00,"ok",surplus,fields',  # malformed: too many fields
                "90002,2024-05-03T12:01:00,",  # empty text
                '90003,not a date,"great flight thanks"',  # unparseable timestamp
            ]
        )
        + "\n"
    ).encode()
    stream = io.BytesIO(data + extra)
    layout = inspect_csv(stream)
    assert (layout.text_column, layout.time_column) == ("text", "timestamp")
    progress = []
    result = score_stream(
        stream, layout, scorer, on_progress=lambda f, rows: progress.append((f, rows)), chunk_rows=2_000
    )
    report = result.report
    assert report.rows == n + 2 and report.malformed_lines == 1
    assert report.empty_text == 1 and report.bad_timestamp == 1
    assert report.malformed_samples == [f"line {n + 2}: 5 fields instead of 3"]  # where and why, never the content
    assert report.records == n + 3 and result.accounting().endswith(f"= {n + 3:,}")
    assert len(progress) >= 6 and progress[-1] == (1.0, n + 2)
    assert [f for f, _ in progress] == sorted(f for f, _ in progress)

    scored = result.scored
    assert len(scored) == n + 2
    assert scored["p_pos"].notna().sum() == n + 1  # every row but the empty one
    assert set(scored.loc[scored["text"] == "", "reason"]) == {"empty text"}
    assert scored.loc[scored["timestamp"].isna() & (scored["text"] != ""), "reason"].tolist() == [
        "unparseable timestamp"
    ]

    timeline = negative_timeline(scored, threshold=0.6, min_tweets=5)
    assert timeline.by == "time" and timeline.bucket_label == "hour"
    assert len(timeline.buckets) == 24
    alerting = timeline.buckets.loc[timeline.buckets["alert"], "start"].dt.hour.tolist()
    assert alerting == [9, 10]
    assert timeline.crossings["start"].dt.hour.tolist() == [9]
    quiet = timeline.buckets.loc[~timeline.buckets["alert"], "share"]
    assert quiet.max() < 0.4

    worst = most_negative(scored, 10)
    assert worst["p_pos"].is_monotonic_increasing and (worst["p_pos"] < 0.5).all()
    assert all(any(word in text for word in NEGATIVE) for text in worst["text"])

    back = pd.read_csv(io.BytesIO(scored_csv(scored)), keep_default_na=False)
    assert len(back) == n + 2 and list(back.columns) == ["row", "timestamp", "text", "score", "label", "reason"]
    assert set(back["label"]) == {"positive", "negative", ""}

    figure = timeline_figure(timeline, 0.6)
    assert [t.name for t in figure.data] == ["negative share", "above threshold"]


def test_pasted_tweets_are_charted_by_position(scorer):
    rng = random.Random(3)
    lines = [tweet(rng, negative=i >= 60) for i in range(100)]
    data = pasted_tweets("\n".join(lines[:50] + ["", "   "] + lines[50:]))
    layout = inspect_csv(io.BytesIO(data))
    assert layout.lines and layout.time_column is None
    result = score_stream(io.BytesIO(data), layout, scorer)
    assert result.report.rows == 100 and result.report.bad_rows == 0 and not result.has_time
    timeline = negative_timeline(result.scored, threshold=0.5, min_tweets=1, target_buckets=10)
    assert timeline.by == "position" and timeline.bucket_label == "10 tweets"
    assert timeline.buckets["alert"].tolist() == [False] * 6 + [True] * 4
    assert timeline.crossings["start"].tolist() == [61]


def test_sentiment140_raw_file_latin1_with_pdt_dates(scorer):
    rows = [
        '"0","1","Mon Apr 06 22:19:45 PDT 2009","NO_QUERY","user1","awful delayed flight, caf\xe9 closed"',
        '"4","2","Mon Apr 06 23:19:45 PDT 2009","NO_QUERY","user2","love the crew, great trip"',
        '"4","3","Tue Apr 07 01:02:03 PDT 2009","NO_QUERY","user3","best seat ever thanks"',
    ]
    data = ("\n".join(rows) + "\n").encode("latin-1")
    layout = inspect_csv(io.BytesIO(data))
    assert not layout.header and layout.encoding == "latin-1" and layout.time_column == "date"
    result = score_stream(io.BytesIO(data), layout, scorer)
    scored = result.scored
    assert scored["text"][0].endswith("café closed")
    assert scored["timestamp"][0] == pd.Timestamp("2009-04-07 05:19:45", tz="UTC")
    assert scored["label"].tolist() == ["negative", "positive", "positive"]


def test_unusable_inputs_say_what_to_fix(scorer):
    with pytest.raises(MonitorError, match="empty"):
        inspect_csv(io.BytesIO(b"  \n"))
    layout = inspect_csv(io.BytesIO(b"when,what\n2024-01-01,hello\n"))
    assert layout.text_column is None
    with pytest.raises(MonitorError, match="Pick the column"):
        score_stream(io.BytesIO(b"when,what\n2024-01-01,hello\n"), layout, scorer)
    layout.text_column, layout.time_column = "what", "when"  # what the page's selectboxes do
    result = score_stream(io.BytesIO(b"when,what\n2024-01-01,love it great\n"), layout, scorer)
    assert result.scored["label"].tolist() == ["positive"] and result.has_time
    with pytest.raises(MonitorError, match="no data lines"):
        score_stream(io.BytesIO(b"text\n"), CsvLayout(["text"], "text", None), scorer)


def test_unquoted_comma_in_one_column_file_is_a_malformed_line(scorer):
    data = b"text\nlove this crew\nworst delay, lost bag\nbad seat\n"
    result = score_stream(io.BytesIO(data), inspect_csv(io.BytesIO(data)), scorer)
    assert result.scored["text"].tolist() == ["love this crew", "bad seat"]
    assert result.report.malformed_lines == 1 and result.report.malformed_samples == ["line 3: 2 fields instead of 1"]


def test_unclosed_quote_is_contained_and_the_rows_after_it_are_kept(scorer):
    good = "".join(f"great flight {i}\n" for i in range(30))
    data = ("text\n" + good + '"this quote never ends\nawful\n').encode()
    result = score_stream(io.BytesIO(data), inspect_csv(io.BytesIO(data)), scorer, chunk_rows=10)
    assert result.report.stopped_early is None
    assert result.scored["text"].tolist()[-1] == "awful" and len(result.scored) == 31
    assert result.report.malformed_samples == ["line 32: a quote opened here never closes"]
    assert (
        result.accounting() == "32 records in: 31 scored, 0 kept without a score, 1 malformed (line 32); "
        "31 + 0 + 1 = 32"
    )


def test_service_answers_and_per_row_errors_are_kept(tmp_path):
    """A cloud service through ServiceScorer: the real Azure Language client against the local test server."""
    from core.azure.cache import AnswerCache
    from core.azure.language import LanguageClient
    from core.azure.spend import LanguagePrice, SpendGuard
    from tests.support.azure_language_server import LanguageServer

    with LanguageServer() as server:
        client = LanguageClient(
            endpoint=server.endpoint,
            api_key=server.key,
            cache=AnswerCache(tmp_path / "c"),
            spend=SpendGuard(tmp_path / "s.json", LanguagePrice(1.0, 5000, "test", "test")),
        )
        data = (
            "text\n"
            + "love this great crew\n"
            + '"worst delay ever, lost bag"\n'
            + ("x" * 6000)
            + "\n"
            + "\n".join(f"great trip {i}" for i in range(250))
            + "\n"
        ).encode()
        result = score_stream(io.BytesIO(data), inspect_csv(io.BytesIO(data)), ServiceScorer(client))
        assert max(r.documents for r in server.requests) <= 10  # the client's own batching
    scored = result.scored
    assert scored["label"].tolist()[:2] == ["positive", "negative"]
    assert result.model == "Azure AI Language" and result.failed_scores == 0  # long text is truncated, not refused
    assert len(scored) == 253 and np.isfinite(scored["p_pos"]).all()


def airline_summary(scored: pd.DataFrame, freq: str, **per_group: GroupRule) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The page's per-group figures: windows (breaches) and the summary, 60% from 5 tweets unless told."""
    tweets = groups.scored_tweets(scored)
    rules = Rules(window=freq, default=GroupRule(0.6, 5), groups=per_group)
    windows = groups.breaches(groups.window_counts(tweets, rules.window_delta), rules)
    return windows, groups.group_summary(tweets, windows).set_index("group")


def test_an_airline_export_split_by_airline_shows_the_burst_in_its_airline_only(scorer):
    data = airline.airline_csv_bytes()
    layout = inspect_csv(io.BytesIO(data))
    assert (layout.text_column, layout.time_column, layout.group_candidates) == ("text", "tweet_created", ["airline"])
    layout.group_column = "airline"
    result = score_stream(io.BytesIO(data), layout, scorer)
    scored = result.scored
    assert result.group_column == "airline" and result.report.bad_rows == 0
    assert len(scored) == result.report.records == len(airline.AIRLINES) * airline.HOURS * airline.PER_HOUR + 3
    counts = scored["group"].value_counts().to_dict()
    assert counts == {
        **dict.fromkeys(airline.AIRLINES, airline.HOURS * airline.PER_HOUR),
        NO_GROUP_VALUE: airline.UNNAMED,
    }

    timeline = negative_timeline(scored, threshold=0.6, min_tweets=5)
    assert (timeline.by, timeline.freq) == ("time", "1h")
    windows, summary = airline_summary(scored, timeline.freq)
    burst = summary.loc[airline.BURSTING]
    assert (burst["over_threshold"], burst["crossings"]) == (2, 1)
    assert burst["first_crossing"] == pd.Timestamp("2015-02-24 17:00", tz="UTC")  # 09:00 at -0800
    others = summary.drop(index=airline.BURSTING)
    assert others["over_threshold"].eq(0).all() and others["first_crossing"].isna().all()
    assert summary.index[-1] == NO_GROUP_VALUE and summary["tweets"].sum() == len(scored)

    top_share = windows.loc[windows["group"] == airline.BURSTING, "share"].max()
    _, strict = airline_summary(scored, timeline.freq, **{airline.BURSTING: GroupRule(min(top_share + 0.05, 1.0), 5)})
    assert strict["over_threshold"].eq(0).all() and strict["first_crossing"].isna().all()

    back = pd.read_csv(io.BytesIO(scored_csv(scored)), keep_default_na=False)
    assert list(back.columns) == ["row", "timestamp", "group", "text", "score", "label", "reason"]
    charted = summary.index[:3].tolist()
    share_figure = group_share_figure(windows, charted, "hour")  # one small chart per group, titled by it
    assert [a.text for a in share_figure.layout.annotations][: len(charted)] == charted
    assert [t.name for t in group_volume_figure(windows, charted, "hour").data] == charted
