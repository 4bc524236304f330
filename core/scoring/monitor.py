"""Bad Buzz monitor: stream a CSV (or pasted tweets) through any model, track the negative share over time.

Reading goes through core.data.csv_reader, like batch scoring and training data: the same column names, encodings
and rules, and every record is accounted for (scored, kept with a `reason`, or counted as malformed with its
line). Nothing here imports Streamlit: the page only draws what these functions return.
"""

from __future__ import annotations

import io
import math
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import IO, Protocol

import numpy as np
import pandas as pd

from core.data.columns import SAMPLE_ROWS, detect_columns, frame_from_rows
from core.data.columns import TZ_ABBREVIATIONS as TZ_ABBREVIATIONS
from core.data.columns import parse_timestamps as parse_timestamps
from core.data.csv_reader import (
    EMPTY_TEXT,
    TEXT_COLUMNS,
    TIME_COLUMNS,
    CsvFormatError,
    CsvTable,
    accepted_names,
    describe_layout,
    open_csv,
    prepare_texts,
)
from core.models.base import is_positive, labels_for
from core.scoring.batch import LINE_END, accounting_line

CHUNK_ROWS = 5_000
TEXT_NAMES = TEXT_COLUMNS
TIME_NAMES = TIME_COLUMNS
MAX_BAD_SAMPLES = 20
BUCKETS = [
    ("1min", "minute"),
    ("5min", "5 minutes"),
    ("15min", "15 minutes"),
    ("1h", "hour"),
    ("3h", "3 hours"),
    ("6h", "6 hours"),
    ("12h", "12 hours"),
    ("1D", "day"),
    ("7D", "week"),
    ("30D", "30 days"),
]
NOT_SCORED = "not scored"
NO_GROUP_VALUE = "(no value)"  # the group of a row whose group column is empty (the watcher says the same)
ALERT_SHARE = 0.6  # default alert level: a bucket whose share of negative tweets reaches it alerts


class MonitorError(ValueError):
    """Input the monitor cannot use at all (no text column, not a CSV); the message says what to fix."""


# ---------------------------------------------------------------- input layout


@dataclass
class CsvLayout:
    """How to read a file: its columns, which one holds the text and which (if any) the time."""

    columns: list[str]
    text_column: str | None
    time_column: str | None
    header: bool = True
    lines: bool = False  # headerless one-column file: every line is a tweet
    encoding: str = "utf-8"
    group_candidates: list[str] = field(default_factory=list)  # columns with a few repeated values (airline…)
    group_column: str | None = None  # the column that splits the negative share (chosen on the page)


def inspect_csv(stream: IO[bytes]) -> CsvLayout:
    """Guess the layout from line 1 (core.data.csv_reader's rules); the page lets the user override the columns."""
    start = stream.tell()
    head = stream.read(1 << 16)
    stream.seek(start)
    if not head.strip():
        raise MonitorError("The file is empty: upload a CSV with a text column (and optionally a timestamp).")
    try:
        with open_csv(stream) as table:
            layout = table.layout
            encoding = table.encoding
            sample = [fields for _, fields in islice(table.rows(), SAMPLE_ROWS)]
    except CsvFormatError as exc:
        raise MonitorError(str(exc)) from None
    finally:
        stream.seek(start)
    time = layout.columns[layout.time_index] if layout.time_index is not None else None
    found = CsvLayout(
        layout.columns, layout.text_column, time, header=layout.header, lines=layout.kind == "lines", encoding=encoding
    )
    if layout.kind in ("headered", "unknown"):
        _detect_by_content(found, sample)
    return found


def _detect_by_content(layout: CsvLayout, sample: list[list[str]]) -> None:
    """The text and time columns told by their values (core.data.columns); the names found on line 1 are the
    first guess, kept when the values say nothing."""
    if not sample:
        return
    guess = detect_columns(frame_from_rows(sample, layout.columns))
    layout.text_column = guess.text or layout.text_column
    layout.time_column = guess.time or layout.time_column
    layout.group_candidates = guess.group_candidates


# ---------------------------------------------------------------- reading


@dataclass
class InputReport:
    records: int = 0  # records read: rows + malformed_lines
    rows: int = 0
    malformed_lines: int = 0
    empty_text: int = 0
    truncated: int = 0  # scored on their first MAX_TEXT_CHARS characters
    bad_timestamp: int = 0
    blank_lines: int = 0  # not records
    stopped_early: str | None = None  # kept for the page; the reader no longer stops early
    malformed_samples: list[str] = field(default_factory=list)  # "line N: why", never the line's content
    malformed_where: str = ""  # "lines 4, 9, …"

    @property
    def bad_rows(self) -> int:
        return self.malformed_lines + self.empty_text + self.bad_timestamp + self.truncated


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def read_chunks(
    stream: IO[bytes], layout: CsvLayout, report: InputReport, chunk_rows: int = CHUNK_ROWS
) -> Iterator[pd.DataFrame]:
    """Yield frames with `row` (1-based data row), `line` (where the record starts in the file), `text`,
    `model_text` (what a model is given), `timestamp` (UTC or NaT), `group` when the layout names a group column
    (an empty value is NO_GROUP_VALUE) and `reason` ('' when fine)."""
    if not layout.text_column:
        raise MonitorError(
            "Pick the column that holds the tweets: no column reads as free text and none is named "
            f"{accepted_names(TEXT_NAMES)}."
        )
    try:
        with open_csv(stream, plain_lines=layout.lines) as table:
            _check_columns(table, layout)
            seen = 0
            for chunk in table.frames(chunk_rows):
                yield _normalise(chunk, layout, report, first_row=seen + 1)
                seen += len(chunk)
            _take_read_report(table, report)
    except CsvFormatError as exc:
        raise MonitorError(str(exc)) from None


def _check_columns(table: CsvTable, layout: CsvLayout) -> None:
    missing = {layout.text_column, layout.time_column, layout.group_column} - {None} - set(table.layout.columns)
    if missing:  # the file's column names are its content: give their count, not the list
        raise MonitorError(
            f"Column(s) {', '.join(sorted(missing))} not in the file "
            f"({describe_layout(table.layout, table.encoding, table.header_line)})."
        )


def _take_read_report(table: CsvTable, report: InputReport) -> None:
    read = table.report
    report.records, report.malformed_lines, report.blank_lines = read.records, read.malformed, read.blank_lines
    report.malformed_samples = list(read.malformed_examples[:MAX_BAD_SAMPLES])
    report.malformed_where = read.malformed_lines_text()


def _normalise(chunk: pd.DataFrame, layout: CsvLayout, report: InputReport, first_row: int) -> pd.DataFrame:
    text = chunk[layout.text_column].fillna("").astype(str)
    model_texts, reasons, usable = prepare_texts(text)
    out = pd.DataFrame(
        {
            "row": np.arange(first_row, first_row + len(chunk)),
            "line": chunk.index.to_numpy(),
            "text": text.to_numpy(),
            "model_text": model_texts,
        }
    )
    if layout.time_column:
        raw_time = chunk[layout.time_column].fillna("").astype(str)
        out["timestamp"] = parse_timestamps(raw_time).to_numpy()
        bad_time = out["timestamp"].isna().to_numpy() & usable
    else:
        out["timestamp"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns, UTC]")
        bad_time = np.zeros(len(out), dtype=bool)
    if layout.group_column:
        group = chunk[layout.group_column].fillna("").astype(str).str.strip()
        out["group"] = group.mask(group.eq(""), NO_GROUP_VALUE).to_numpy()
    for i in np.flatnonzero(bad_time):
        reasons[i] = f"{reasons[i]}; unparseable timestamp" if reasons[i] else "unparseable timestamp"
    out["reason"] = reasons
    report.rows += len(out)
    report.empty_text += int((~usable).sum())
    report.truncated += int(sum(1 for r in reasons[usable] if r.startswith("text truncated")))
    report.bad_timestamp += int(bad_time.sum())
    return out


def pasted_tweets(text: str) -> bytes:
    """Pasted tweets, one per line, as a file the reader takes (blank lines dropped)."""
    return "\n".join(line for line in text.splitlines() if line.strip()).encode("utf-8")


# ---------------------------------------------------------------- scoring


@dataclass
class ScoredBatch:
    p_pos: np.ndarray  # NaN where the scorer gave no answer
    errors: dict[int, str]  # index in the batch -> why
    cost_usd: float = 0.0


class Scorer(Protocol):
    name: str
    batch_size: int

    def score(self, texts: list[str]) -> ScoredBatch: ...


class ModelScorer:
    """Any object with predict_proba(texts) -> P(positive): a loaded run."""

    def __init__(self, model, name: str, batch_size: int = 512):
        self.model, self.name, self.batch_size = model, name, batch_size

    def score(self, texts: list[str]) -> ScoredBatch:
        return ScoredBatch(np.asarray(self.model.predict_proba(texts), dtype=float), {})


class ServiceScorer:
    """A cloud service from core.azure.services (score(texts) -> ServiceResult); failures become per-row reasons."""

    def __init__(self, service, batch_size: int = 100):
        self.service, self.name, self.batch_size = service, service.name, batch_size

    def score(self, texts: list[str]) -> ScoredBatch:
        result = self.service.score(texts)
        p_pos = np.array([np.nan if p is None else float(p) for p in result.p_pos], dtype=float)
        errors = result.errors or {}
        if not isinstance(errors, dict):  # a list aligned with texts
            errors = {i: str(e) for i, e in enumerate(errors) if e}
        return ScoredBatch(p_pos, {int(i): str(e) for i, e in errors.items()}, float(result.cost_usd or 0.0))


def scorer_for_run(run_dir, name: str | None = None) -> ModelScorer:
    from core.models.base import load

    model = load(run_dir)
    return ModelScorer(model, name or getattr(model, "name", str(run_dir)))


@dataclass
class MonitorResult:
    scored: pd.DataFrame
    report: InputReport
    model: str
    cost_usd: float = 0.0
    failed_scores: int = 0
    group_column: str | None = None  # the file's column behind `scored["group"]`, when one was chosen

    @property
    def has_time(self) -> bool:
        return bool(self.scored["timestamp"].notna().any())

    def accounting(self) -> str:
        """The same count core.scoring.batch prints: records in = scored + kept without a score + malformed."""
        scored = self.scored
        unscored = Counter(scored.loc[scored["p_pos"].isna(), "reason"].str.split(":").str[0])
        return accounting_line(
            self.report.records,
            int(scored["p_pos"].notna().sum()),
            unscored,
            self.report.malformed_lines,
            self.report.malformed_where,
            self.report.truncated,
        )

    @property
    def rows_needing_attention(self) -> int:
        return self.report.bad_rows + self.failed_scores

    def negative_share(self) -> float:
        """Share of the scored tweets that read negative (NaN when none was scored)."""
        p_pos = self.scored["p_pos"].dropna()
        return float((~is_positive(p_pos)).mean()) if len(p_pos) else float("nan")


def score_stream(
    stream: IO[bytes],
    layout: CsvLayout,
    scorer: Scorer,
    on_progress: Callable[[float, int], None] | None = None,
    chunk_rows: int = CHUNK_ROWS,
    total_bytes: int | None = None,
) -> MonitorResult:
    """Read, score in the scorer's batch size, report progress as (fraction of bytes read, rows scored)."""
    report = InputReport()
    if total_bytes is None:
        here = stream.tell()
        total_bytes = stream.seek(0, io.SEEK_END) - here
        stream.seek(here)
    start, parts, cost, failed = stream.tell(), [], 0.0, 0
    for chunk in read_chunks(stream, layout, report, chunk_rows):
        cost += _score_chunk(chunk, scorer)
        failed += int(chunk["reason"].str.startswith(NOT_SCORED).sum())
        parts.append(chunk.drop(columns="model_text"))
        if on_progress:
            done = (stream.tell() - start) / total_bytes if total_bytes else 1.0
            on_progress(min(done, 1.0), report.rows)
    if not report.rows:
        if report.malformed_lines:
            raise MonitorError(
                f"No usable rows: all {_count(report.records, 'record')} of the file are malformed "
                f"({report.malformed_where})."
            )
        raise MonitorError("No rows found: the file has a header but no data lines.")
    scored = pd.concat(parts, ignore_index=True)
    scored["label"] = labels_for(scored["p_pos"])
    if on_progress:
        on_progress(1.0, report.rows)
    return MonitorResult(scored, report, scorer.name, cost, failed, layout.group_column)


def _score_chunk(chunk: pd.DataFrame, scorer: Scorer) -> float:
    """Fill `p_pos` for the rows that have a text; a row the scorer could not answer says why. Returns the cost."""
    chunk["p_pos"] = np.nan
    p_col, reason_col = chunk.columns.get_loc("p_pos"), chunk.columns.get_loc("reason")
    todo = np.flatnonzero(chunk["reason"].ne(EMPTY_TEXT).to_numpy())
    cost = 0.0
    for begin in range(0, len(todo), scorer.batch_size):
        rows = todo[begin : begin + scorer.batch_size]
        batch = scorer.score(chunk["model_text"].iloc[rows].tolist())
        chunk.iloc[rows, p_col] = batch.p_pos
        for i, why in batch.errors.items():
            chunk.iloc[rows[i], reason_col] = f"{NOT_SCORED}: {why}"
        cost += batch.cost_usd
    reason = chunk["reason"]
    unanswered = chunk["p_pos"].isna() & reason.ne(EMPTY_TEXT) & ~reason.str.startswith(NOT_SCORED)
    chunk.loc[unanswered, "reason"] = f"{NOT_SCORED}: no answer"
    return cost


# ---------------------------------------------------------------- analysis


@dataclass
class Timeline:
    buckets: pd.DataFrame  # start, end (or first/last row), tweets, negative, share, alert
    by: str  # "time" or "position"
    bucket_label: str  # "hour", "500 tweets", ...
    crossings: pd.DataFrame  # the buckets where the share rose above the threshold
    freq: str | None = None  # the time buckets' length ("1h"), None when charted by position


def choose_bucket(span: pd.Timedelta, target: int = 40) -> tuple[str, str]:
    """The smallest standard bucket that cuts the span into at most ~target buckets."""
    for freq, label in BUCKETS:
        if span / pd.Timedelta(freq) <= target:
            return freq, label
    return BUCKETS[-1]


def negative_timeline(
    scored: pd.DataFrame, threshold: float = ALERT_SHARE, min_tweets: int = 5, target_buckets: int = 40
) -> Timeline:
    """Negative share per bucket (time buckets when timestamps exist, else position) and the alert crossings.

    A bucket alerts when its negative share reaches `threshold` (an alert level on the share of negative tweets,
    not the P(positive) decision threshold) and it holds at least min_tweets tweets
    (one angry tweet in an empty hour is not a bad buzz).
    """
    rated = scored[scored["p_pos"].notna()].copy()
    rated["negative"] = ~is_positive(rated["p_pos"])
    timed = rated[rated["timestamp"].notna()]
    if len(timed):
        span = timed["timestamp"].max() - timed["timestamp"].min()
        freq, label = choose_bucket(max(span, pd.Timedelta("1min")), target_buckets)
        grouped = timed.groupby(timed["timestamp"].dt.floor(freq))
        buckets = pd.DataFrame({"tweets": grouped.size(), "negative": grouped["negative"].sum()})
        full = pd.date_range(buckets.index.min(), buckets.index.max(), freq=freq)
        buckets = buckets.reindex(full, fill_value=0).rename_axis("start").reset_index()
        buckets["end"] = buckets["start"] + pd.Timedelta(freq)
        by = "time"
    else:
        freq = None
        size = max(1, math.ceil(len(rated) / target_buckets))
        position = np.arange(len(rated)) // size
        grouped = rated.groupby(position)
        buckets = pd.DataFrame(
            {
                "start": grouped["row"].min(),
                "end": grouped["row"].max(),
                "tweets": grouped.size(),
                "negative": grouped["negative"].sum(),
            }
        )
        buckets = buckets.reset_index(drop=True)
        label, by = (_count(size, "tweet") if size > 1 else "tweet"), "position"
    buckets["negative"] = buckets["negative"].astype(int)
    buckets["share"] = np.where(buckets["tweets"] > 0, buckets["negative"] / buckets["tweets"].clip(lower=1), np.nan)
    buckets["alert"] = (buckets["share"] >= threshold) & (buckets["tweets"] >= min_tweets)
    rising = buckets["alert"] & ~buckets["alert"].shift(1, fill_value=False)
    return Timeline(buckets, by, label, buckets[rising].reset_index(drop=True), freq)


def most_negative(scored: pd.DataFrame, n: int = 20) -> pd.DataFrame:
    rated = scored[scored["p_pos"].notna()]
    return rated.nsmallest(n, "p_pos")[["row", "timestamp", "text", "p_pos"]].reset_index(drop=True)


def scored_csv(scored: pd.DataFrame) -> bytes:
    out = scored.rename(columns={"p_pos": "score"})
    out["timestamp"] = out["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ").fillna("")
    columns = ["row", "timestamp", *(["group"] if "group" in out else []), "text", "score", "label", "reason"]
    return out[columns].to_csv(index=False, lineterminator=LINE_END).encode("utf-8")  # see core.scoring.batch.LINE_END
