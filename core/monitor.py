"""Bad Buzz monitor: stream a CSV (or pasted tweets) through any model, track the negative share over time.

Reading streams in chunks (pandas, python engine, so malformed lines can be counted instead of aborting);
every row that parses is kept in the scored output, with a `reason` when it could not be scored or placed
in time. Nothing here imports Streamlit: the page only draws what these functions return.
"""
from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Protocol

import numpy as np
import pandas as pd

CHUNK_ROWS = 5_000
TEXT_NAMES = ("text", "tweet", "content", "message", "body", "full_text")
TIME_NAMES = ("timestamp", "time", "date", "datetime", "created_at", "created", "posted_at")
SENTIMENT140_COLUMNS = ["target", "id", "date", "query", "user", "text"]
MAX_BAD_SAMPLES = 20
# Sentiment140's dates read "Mon Apr 06 22:19:45 PDT 2009": dateutil ignores such abbreviations, so map them.
TZ_ABBREVIATIONS = {"PDT": "-07:00", "PST": "-08:00", "MDT": "-06:00", "MST": "-07:00", "CDT": "-05:00",
                    "CST": "-06:00", "EDT": "-04:00", "EST": "-05:00", "UTC": "+00:00", "GMT": "+00:00",
                    "BST": "+01:00", "CET": "+01:00", "CEST": "+02:00"}
_TZ_RE = re.compile(r"\s\b(" + "|".join(TZ_ABBREVIATIONS) + r")\b")
BUCKETS = [("1min", "minute"), ("5min", "5 minutes"), ("15min", "15 minutes"), ("1h", "hour"), ("3h", "3 hours"),
           ("6h", "6 hours"), ("12h", "12 hours"), ("1D", "day"), ("7D", "week"), ("30D", "30 days")]


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


def _detect_encoding(head: bytes) -> str:
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as err:
        # A multi-byte character cut at the end of the sniffed block is still UTF-8.
        return "utf-8" if err.start >= len(head) - 3 else "latin-1"


def inspect_csv(stream: IO[bytes]) -> CsvLayout:
    """Guess the layout from the first line; the page lets the user override the guessed columns."""
    start = stream.tell()
    head = stream.read(1 << 16)
    stream.seek(start)
    if not head.strip():
        raise MonitorError("The file is empty: upload a CSV with a text column (and optionally a timestamp).")
    encoding = _detect_encoding(head)
    first_line = head.decode(encoding, errors="replace").lstrip("\ufeff").splitlines()[0]
    fields = next(csv.reader([first_line]), [])
    names = [f.strip() for f in fields]
    lowered = [n.lower() for n in names]
    text = next((names[lowered.index(n)] for n in TEXT_NAMES if n in lowered), None)
    if text:
        time = next((names[lowered.index(n)] for n in TIME_NAMES if n in lowered), None)
        return CsvLayout(names, text, time, encoding=encoding)
    if len(fields) == 6 and fields[0].strip() in {"0", "2", "4"}:
        return CsvLayout(SENTIMENT140_COLUMNS, "text", "date", header=False, encoding=encoding)
    if len(fields) == 1:
        return CsvLayout(["text"], "text", None, header=False, lines=True, encoding=encoding)
    # Unknown header: let the user pick the text column among these.
    return CsvLayout(names, None, None, encoding=encoding)


# ---------------------------------------------------------------- reading

@dataclass
class InputReport:
    rows: int = 0
    malformed_lines: int = 0
    empty_text: int = 0
    bad_timestamp: int = 0
    stopped_early: str | None = None  # a fatal parse error after some rows (those rows are kept)
    malformed_samples: list[str] = field(default_factory=list)

    @property
    def bad_rows(self) -> int:
        return self.malformed_lines + self.empty_text + self.bad_timestamp

    def lines(self) -> list[str]:
        out = [f"{_count(self.rows, 'row')} read"]
        if self.malformed_lines:
            out.append(f"{_count(self.malformed_lines, 'malformed CSV line')} skipped (wrong number of fields)")
        if self.empty_text:
            out.append(f"{_count(self.empty_text, 'row')} with empty text (kept, not scored)")
        if self.bad_timestamp:
            out.append(f"{_count(self.bad_timestamp, 'row')} with an unparseable timestamp "
                       "(scored, left out of the time chart)")
        if self.stopped_early:
            out.append(f"reading stopped early: {self.stopped_early}")
        return out


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def parse_timestamps(values: pd.Series) -> pd.Series:
    """Strings -> UTC datetimes (NaT where unparseable); ISO, US-style, Sentiment140 and epoch seconds."""
    values = values.fillna("").astype(str).str.strip()
    if len(values) and values.str.fullmatch(r"\d{9,10}(\.\d+)?|").all() and values.ne("").any():
        return pd.to_datetime(pd.to_numeric(values, errors="coerce"), unit="s", utc=True)
    values = values.str.replace(_TZ_RE, lambda m: " " + TZ_ABBREVIATIONS[m.group(1)], regex=True)
    parsed = pd.to_datetime(values, errors="coerce", utc=True, format="mixed")
    return parsed.astype("datetime64[ns, UTC]")


def _lines_chunks(text_stream: IO[str], chunk_rows: int) -> Iterator[pd.DataFrame]:
    line_no, batch = 0, []
    for raw in text_stream:
        line_no += 1
        batch.append((line_no, raw.rstrip("\r\n")))
        if len(batch) >= chunk_rows:
            yield pd.DataFrame(batch, columns=["row", "text"])
            batch = []
    if batch:
        yield pd.DataFrame(batch, columns=["row", "text"])


def read_chunks(stream: IO[bytes], layout: CsvLayout, report: InputReport,
                chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """Yield frames with `row` (1-based data row), `text`, `timestamp` (UTC or NaT), `reason` ('' when fine)."""
    if not layout.text_column:
        raise MonitorError(f"Pick the column that holds the tweets (columns: {', '.join(layout.columns)}).")
    text_stream = io.TextIOWrapper(stream, encoding=layout.encoding, errors="replace", newline="")

    def bad_line(fields: list[str]) -> None:
        report.malformed_lines += 1
        if len(report.malformed_samples) < MAX_BAD_SAMPLES:
            report.malformed_samples.append(",".join(fields)[:300])

    if layout.lines:
        chunks = _lines_chunks(text_stream, chunk_rows)
    else:
        reader = pd.read_csv(
            text_stream, chunksize=chunk_rows, engine="python", on_bad_lines=bad_line, dtype=str,
            keep_default_na=False, skip_blank_lines=True, index_col=False,
            header=0 if layout.header else None, names=None if layout.header else layout.columns,
        )
        chunks = _numbered(reader, layout)
    try:
        for chunk in chunks:
            yield _normalise(chunk, layout, report)
    except (pd.errors.ParserError, csv.Error) as err:
        report.stopped_early = f"malformed CSV after {report.rows:,} rows ({err}); the rows before were kept"
    finally:
        text_stream.detach()


def _numbered(reader, layout: CsvLayout) -> Iterator[pd.DataFrame]:
    seen = 0
    for chunk in reader:
        if layout.header:
            chunk.columns = [str(c).strip() for c in chunk.columns]
        missing = {layout.text_column, layout.time_column} - {None} - set(chunk.columns)
        if missing:
            raise MonitorError(f"Column(s) {', '.join(sorted(missing))} not in the file "
                               f"(columns: {', '.join(map(str, chunk.columns))}).")
        chunk.insert(0, "row", np.arange(seen + 1, seen + len(chunk) + 1))
        seen += len(chunk)
        yield chunk


def _normalise(chunk: pd.DataFrame, layout: CsvLayout, report: InputReport) -> pd.DataFrame:
    text = chunk[layout.text_column].fillna("").astype(str)
    out = pd.DataFrame({"row": chunk["row"].to_numpy(), "text": text.to_numpy()})
    if layout.time_column:
        raw_time = chunk[layout.time_column].fillna("").astype(str)
        out["timestamp"] = parse_timestamps(raw_time).to_numpy()
        bad_time = out["timestamp"].isna().to_numpy()
    else:
        out["timestamp"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns, UTC]")
        bad_time = np.zeros(len(out), dtype=bool)
    empty = text.str.strip().eq("").to_numpy()
    out["reason"] = np.where(empty, "empty text", np.where(bad_time, "unparseable timestamp", ""))
    report.rows += len(out)
    report.empty_text += int(empty.sum())
    report.bad_timestamp += int((bad_time & ~empty).sum())
    return out


def pasted_tweets(text: str) -> bytes:
    """Pasted tweets, one per line, as a file the reader takes (blank lines dropped)."""
    return "\n".join(line for line in text.splitlines() if line.strip()).encode("utf-8")


# ---------------------------------------------------------------- scoring

@dataclass
class ScoredBatch:
    p_pos: np.ndarray            # NaN where the scorer gave no answer
    errors: dict[int, str]       # index in the batch -> why
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
    from core.models import load
    model = load(run_dir)
    return ModelScorer(model, name or getattr(model, "name", str(run_dir)))


@dataclass
class MonitorResult:
    scored: pd.DataFrame
    report: InputReport
    model: str
    cost_usd: float = 0.0
    failed_scores: int = 0

    @property
    def has_time(self) -> bool:
        return bool(self.scored["timestamp"].notna().any())


def score_stream(stream: IO[bytes], layout: CsvLayout, scorer: Scorer,
                 on_progress: Callable[[float, int], None] | None = None,
                 chunk_rows: int = CHUNK_ROWS, total_bytes: int | None = None) -> MonitorResult:
    """Read, score in the scorer's batch size, report progress as (fraction of bytes read, rows scored)."""
    report = InputReport()
    if total_bytes is None:
        here = stream.tell()
        total_bytes = stream.seek(0, io.SEEK_END) - here
        stream.seek(here)
    start, parts, cost, failed = stream.tell(), [], 0.0, 0
    for chunk in read_chunks(stream, layout, report, chunk_rows):
        chunk["p_pos"] = np.nan
        todo = np.flatnonzero(chunk["reason"].ne("empty text").to_numpy())
        for begin in range(0, len(todo), scorer.batch_size):
            rows = todo[begin:begin + scorer.batch_size]
            batch = scorer.score(chunk["text"].iloc[rows].tolist())
            chunk.iloc[rows, chunk.columns.get_loc("p_pos")] = batch.p_pos
            for i, why in batch.errors.items():
                chunk.iloc[rows[i], chunk.columns.get_loc("reason")] = f"not scored: {why}"
            cost += batch.cost_usd
        unanswered = chunk["p_pos"].isna() & chunk["reason"].ne("empty text") & ~chunk["reason"].str.startswith("not scored")
        chunk.loc[unanswered, "reason"] = "not scored: no answer"
        failed += int(chunk["reason"].str.startswith("not scored").sum())
        parts.append(chunk)
        if on_progress:
            done = (stream.tell() - start) / total_bytes if total_bytes else 1.0
            on_progress(min(done, 1.0), report.rows)
    if not report.rows:
        raise MonitorError("No rows found: the file has a header but no data lines." +
                           (f" ({report.stopped_early})" if report.stopped_early else ""))
    scored = pd.concat(parts, ignore_index=True)
    scored["label"] = np.where(scored["p_pos"].isna(), "", np.where(scored["p_pos"] >= 0.5, "positive", "negative"))
    if on_progress:
        on_progress(1.0, report.rows)
    return MonitorResult(scored, report, scorer.name, cost, failed)


# ---------------------------------------------------------------- analysis

@dataclass
class Timeline:
    buckets: pd.DataFrame   # start, end (or first/last row), tweets, negative, share, alert
    by: str                 # "time" or "position"
    bucket_label: str       # "hour", "500 tweets", ...
    crossings: pd.DataFrame  # the buckets where the share rose above the threshold


def choose_bucket(span: pd.Timedelta, target: int = 40) -> tuple[str, str]:
    """The smallest standard bucket that cuts the span into at most ~target buckets."""
    for freq, label in BUCKETS:
        if span / pd.Timedelta(freq) <= target:
            return freq, label
    return BUCKETS[-1]


def negative_timeline(scored: pd.DataFrame, threshold: float = 0.5, min_tweets: int = 5,
                      target_buckets: int = 40) -> Timeline:
    """Negative share per bucket (time buckets when timestamps exist, else position) and the alert crossings.

    A bucket alerts when its negative share reaches the threshold and it holds at least min_tweets tweets
    (one angry tweet in an empty hour is not a bad buzz).
    """
    rated = scored[scored["p_pos"].notna()].copy()
    rated["negative"] = rated["p_pos"] < 0.5
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
        size = max(1, math.ceil(len(rated) / target_buckets))
        position = np.arange(len(rated)) // size
        grouped = rated.groupby(position)
        buckets = pd.DataFrame({"start": grouped["row"].min(), "end": grouped["row"].max(),
                                "tweets": grouped.size(), "negative": grouped["negative"].sum()})
        buckets = buckets.reset_index(drop=True)
        label, by = (_count(size, "tweet") if size > 1 else "tweet"), "position"
    buckets["negative"] = buckets["negative"].astype(int)
    buckets["share"] = np.where(buckets["tweets"] > 0, buckets["negative"] / buckets["tweets"].clip(lower=1), np.nan)
    buckets["alert"] = (buckets["share"] >= threshold) & (buckets["tweets"] >= min_tweets)
    rising = buckets["alert"] & ~buckets["alert"].shift(1, fill_value=False)
    return Timeline(buckets, by, label, buckets[rising].reset_index(drop=True))


def most_negative(scored: pd.DataFrame, n: int = 20) -> pd.DataFrame:
    rated = scored[scored["p_pos"].notna()]
    return rated.nsmallest(n, "p_pos")[["row", "timestamp", "text", "p_pos"]].reset_index(drop=True)


def scored_csv(scored: pd.DataFrame) -> bytes:
    out = scored.rename(columns={"p_pos": "score"})
    out["timestamp"] = out["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ").fillna("")
    return out[["row", "timestamp", "text", "score", "label", "reason"]].to_csv(index=False).encode("utf-8")


def timeline_figure(timeline: Timeline, threshold: float):
    """Plotly chart: negative share per bucket, the threshold line, alert buckets and crossings highlighted."""
    import plotly.graph_objects as go

    b = timeline.buckets
    x = b["start"] if timeline.by == "time" else (b["start"] + b["end"]) / 2
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=x, y=b["share"] * 100, mode="lines+markers", name="negative share", line={"color": "#4FA3E0", "width": 2},
        customdata=np.stack([b["tweets"], b["negative"]], axis=-1),
        hovertemplate="%{y:.1f} % negative<br>%{customdata[1]} of %{customdata[0]} tweets<extra></extra>",
    ))
    alerts = b[b["alert"]]
    if len(alerts):
        fig.add_trace(go.Scatter(
            x=x[b["alert"]], y=alerts["share"] * 100, mode="markers", name="above threshold",
            marker={"color": "#F28C28", "size": 11, "symbol": "diamond"},
            hovertemplate="%{y:.1f} % negative: alert<extra></extra>",
        ))
    for start in timeline.crossings["start"]:  # where each alert episode begins
        fig.add_vline(x=start, line={"color": "#F28C28", "dash": "dot", "width": 1})
    fig.add_hline(y=threshold * 100, line={"color": "#D9534F", "dash": "dash"},
                  annotation_text=f"alert threshold {threshold:.0%}", annotation_position="top left")
    fig.update_layout(
        yaxis={"title": "negative tweets (%)", "range": [0, 100]},
        xaxis={"title": "time (UTC)" if timeline.by == "time" else "position in the file (row)"},
        margin={"l": 10, "r": 10, "t": 30, "b": 10}, height=380, legend={"orientation": "h", "y": 1.1},
    )
    return fig
