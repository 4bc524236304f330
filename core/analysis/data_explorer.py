"""Descriptive statistics of a loaded Sentiment140 source, for the Data page.

Every function takes `LoadedData.frame` (row_id, text, label, and user/date when the source has them) or the
`DataReport`, and returns small DataFrames the page plots as they are. `data_stats(source)` computes all of them
once per data fingerprint and keeps them on disk (`<data dir>/stats/<fingerprint>-c<cleaning>-v<stats>/`), so the
page never holds the tweets themselves, and a restarted server reads a few small files instead of 1.6 M rows.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

from core import config
from core.data.loading import CLEANING_VERSION, DataReport, load_dataset, resolve_source, source_fingerprint
from core.models.base import CLASS_NAMES as LABEL_NAMES

CLASS_NAMES = dict(enumerate(LABEL_NAMES))  # label -> class name
TOKEN_SAMPLE = 200_000  # token counts on more rows change nothing visible and cost seconds
TOP_USERS = 20
LENGTH_BINS = {"characters": 5, "words": 1}  # histogram bin width per length unit
STATS_VERSION = 1  # bump when DataStats or a statistic changes: the disk cache is keyed by it
_ASCII_SPACE = np.isin(np.arange(256), [ord(c) for c in map(chr, range(128)) if c.isspace()])
_MAYBE_SPACE = np.isin(np.arange(256), [0xC2, 0xE1, 0xE2, 0xE3])  # lead bytes of str.isspace()'s other characters
_NOISE = re.compile(r"https?://\S+|www\.\S+|@\w+|&\w+;")
# Stop words minus negations and intensifiers, which carry sentiment in tweets.
TOKEN_STOP_WORDS = sorted(
    ENGLISH_STOP_WORDS - {"not", "no", "nor", "never", "very", "too", "against"} | {"im", "amp", "quot", "lt", "gt"}
)


def with_class_names(frame: pd.DataFrame) -> pd.Series:
    return frame["label"].map(CLASS_NAMES)


def class_balance(frame: pd.DataFrame) -> pd.DataFrame:
    """Tweets per class with their share (%)."""
    counts = with_class_names(frame).value_counts().reindex(list(CLASS_NAMES.values()), fill_value=0)
    out = counts.rename_axis("class").reset_index(name="tweets")
    out["share (%)"] = (100 * out["tweets"] / max(int(out["tweets"].sum()), 1)).round(2)
    return out


def cleaning_table(report: DataReport) -> pd.DataFrame:
    """What loading removed, step by step (rows), from the DataReport."""
    steps = [
        ("rows read", report.rows_read),
        ("malformed rows skipped", report.malformed_rows),
        ("empty texts skipped", report.empty_texts),
        ("neutral rows dropped (label 2)", report.neutral_dropped),
        ("exact duplicates dropped (same text and label)", report.duplicates_dropped),
        ("texts with both labels (conflicting)", report.conflicting_texts),
        ("rows of conflicting texts removed", report.conflicting_rows_dropped),
        ("rows kept", report.rows_kept),
    ]
    out = pd.DataFrame(steps, columns=["step", "rows"])
    out["share of rows read (%)"] = (100 * out["rows"] / max(report.rows_read, 1)).round(3)
    return out


def has_users(frame: pd.DataFrame) -> bool:
    return "user" in frame.columns and frame["user"].notna().any()


def tweets_per_user(frame: pd.DataFrame) -> pd.DataFrame:
    """How many users wrote k tweets, for every k (needs a user column)."""
    per_user = frame["user"].value_counts()
    dist = per_user.value_counts().sort_index()
    return dist.rename_axis("tweets per user").reset_index(name="users")


def top_users(frame: pd.DataFrame, n: int = 20) -> pd.DataFrame:
    """The n most prolific users with their negative / positive tweet counts and positive share (%)."""
    codes, users = pd.factorize(frame["user"], sort=True)  # crosstab's table, counted without a pivot
    labels = frame["label"].to_numpy()[codes >= 0]
    codes = codes[codes >= 0]
    counts = {name: np.bincount(codes[labels == label], minlength=len(users)) for label, name in CLASS_NAMES.items()}
    table = pd.DataFrame(counts, index=pd.Index(users, name="user"))
    table["tweets"] = table.sum(axis=1)
    table["positive share (%)"] = (100 * table["positive"] / table["tweets"]).round(1)
    return table.sort_values(["tweets", "positive"], ascending=False).head(n).reset_index()


def user_summary(frame: pd.DataFrame) -> dict:
    per_user = frame["user"].value_counts()
    return {
        "users": int(per_user.size),
        "median tweets per user": float(per_user.median()),
        "max tweets per user": int(per_user.max()),
        "share of tweets by the top 1% of users (%)": round(
            100 * per_user.head(max(1, per_user.size // 100)).sum() / max(len(frame), 1), 2
        ),
    }


def lengths(frame: pd.DataFrame) -> pd.DataFrame:
    """Per tweet: class, length in characters and in words (whitespace-separated)."""
    text = frame["text"].astype(str)
    return pd.DataFrame(
        {
            "class": with_class_names(frame).to_numpy(),
            "characters": text.str.len().to_numpy(),
            "words": _word_counts(text),
        }
    )


def _word_counts(text: pd.Series) -> np.ndarray:
    """len(t.split()) for every text, on the UTF-8 bytes: a word starts at a non-space byte after a space or at
    a text's start. Texts holding a byte that may begin a non-ASCII space (U+0085, U+00A0, U+1680, U+2000…) are
    counted by Python itself."""
    counts, check = [], []
    for chunk in pa.chunked_array(pa.array(text, type=pa.large_string())).chunks:
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int64)[chunk.offset : chunk.offset + len(chunk) + 1]
        data = np.frombuffer(chunk.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
        bounds = offsets - offsets[0]
        space = _ASCII_SPACE[data]
        starts = ~space
        starts[1:] &= space[:-1]
        firsts = bounds[:-1][bounds[:-1] < bounds[1:]]
        starts[firsts] = ~space[firsts]  # a text's first byte follows no space of its own
        counts.append(_per_text(starts, bounds))
        check.append(_per_text(_MAYBE_SPACE[data], bounds) > 0)
    words, suspect = np.concatenate(counts or [np.zeros(0, np.int64)]), np.concatenate(check or [np.zeros(0, bool)])
    for i in np.flatnonzero(suspect):
        words[i] = len(text.iloc[i].split())
    return words


def _per_text(flags: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """How many flags fall within each text's bytes [bounds[i], bounds[i + 1])."""
    where = np.flatnonzero(flags)
    return np.searchsorted(where, bounds[1:]) - np.searchsorted(where, bounds[:-1])


def length_summary(length_frame: pd.DataFrame) -> pd.DataFrame:
    """Mean, median and 95th percentile of both lengths, per class."""
    stats = length_frame.groupby("class")[["characters", "words"]].describe(percentiles=[0.5, 0.95])
    keep = [(m, s) for m in ("characters", "words") for s in ("mean", "50%", "95%", "max")]
    out = stats[keep].round(1)
    out.columns = [f"{m} {s.replace('50%', 'median').replace('95%', 'p95')}" for m, s in keep]
    return out.reset_index()


def length_histogram(length_frame: pd.DataFrame, column: str, bin_width: int = 1) -> pd.DataFrame:
    """Share of each class's tweets (%) per length bin: small enough to plot for 1.6 million tweets."""
    binned = length_frame.assign(bin=(length_frame[column] // bin_width) * bin_width)
    counts = binned.groupby(["class", "bin"]).size().rename("tweets").reset_index()
    per_class = counts.groupby("class")["tweets"].transform("sum")
    counts["share of class (%)"] = (100 * counts["tweets"] / per_class).round(3)
    return counts.rename(columns={"bin": column})


def _clean_for_tokens(text: str) -> str:
    return _NOISE.sub(" ", text.lower())


def token_counts(frame: pd.DataFrame, max_rows: int = TOKEN_SAMPLE, seed: int = 0) -> pd.DataFrame:
    """Count of every token per class (links, @mentions, HTML entities and stop words left out).

    Runs on a stratified sample of `max_rows` tweets when the source is bigger.
    """
    if len(frame) > max_rows:
        frame = frame.groupby("label", group_keys=False).sample(frac=max_rows / len(frame), random_state=seed)
    vectorizer = CountVectorizer(
        preprocessor=_clean_for_tokens, token_pattern=r"(?u)\b[a-z][a-z']+\b", stop_words=TOKEN_STOP_WORDS, min_df=2
    )
    matrix = vectorizer.fit_transform(frame["text"].astype(str))
    labels = frame["label"].to_numpy()
    counts = {name: np.asarray(matrix[labels == label].sum(axis=0)).ravel() for label, name in CLASS_NAMES.items()}
    return pd.DataFrame({"token": vectorizer.get_feature_names_out(), **counts})


def top_tokens(counts: pd.DataFrame, n: int = 20, distinctive: bool = False) -> pd.DataFrame:
    """The n top tokens of each class: most frequent, or most distinctive.

    Distinctive = z-score of the smoothed log-odds ratio between the classes, which favours tokens that are both
    frequent and lopsided (a raw ratio would rank one-off hashtags first).
    Long format: class, rank, token, count (in that class), z (toward that class).
    """
    neg = counts["negative"].to_numpy(dtype=float) + 0.5
    pos = counts["positive"].to_numpy(dtype=float) + 0.5
    delta = np.log(pos / (pos.sum() - pos)) - np.log(neg / (neg.sum() - neg))
    z = delta / np.sqrt(1.0 / pos + 1.0 / neg)
    parts = []
    for name, sign in (("negative", -1.0), ("positive", 1.0)):
        scored = counts.assign(count=counts[name], z=(sign * z).round(2))
        best = scored.sort_values(["z" if distinctive else "count", "count"], ascending=False).head(n)
        parts.append(best.assign(**{"class": name, "rank": range(1, len(best) + 1)}))
    return pd.concat(parts)[["class", "rank", "token", "count", "z"]].reset_index(drop=True)


# ------------------------------------------------------------------ computed once per data version


@dataclass
class DataStats:
    """Everything the Data page shows about a source: the report, small tables, and no tweets."""

    report: DataReport
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # balance, length_summary, hist_*, users, tokens
    user_summary: dict | None = None
    computed: bool = True  # False when read back from the disk cache

    @property
    def tweets(self) -> int:
        return self.report.rows_kept


def data_stats(source, cache_dir: Path | None = None) -> DataStats:
    """The Data page's statistics of a source: read from the disk cache, else computed once and stored there."""
    folder = Path(cache_dir or config.data_dir() / "stats") / (
        f"{source_fingerprint(source)[:32]}-c{CLEANING_VERSION}-v{STATS_VERSION}"
    )
    if (folder / "stats.json").exists():
        stats = _read_stats(folder)
        stats.report.source = resolve_source(source).name  # the same bytes may live under another name
        return stats
    loaded = load_dataset(source)
    stats = compute_stats(loaded.frame, loaded.report)
    del loaded
    _write_stats(folder, stats)
    return stats


def compute_stats(frame: pd.DataFrame, report: DataReport) -> DataStats:
    length_frame = lengths(frame)
    tables = {"balance": class_balance(frame), "length_summary": length_summary(length_frame)}
    for column, width in LENGTH_BINS.items():
        tables[f"hist_{column}"] = length_histogram(length_frame, column, width)
    del length_frame
    stats = DataStats(report=report, tables=tables)
    if has_users(frame):
        stats.user_summary = user_summary(frame)
        tables.update(per_user=tweets_per_user(frame), top_users=top_users(frame, TOP_USERS))
    tables["token_counts"] = token_counts(frame)
    return stats


def _write_stats(folder: Path, stats: DataStats) -> None:
    """A temporary folder renamed into place: the cache is complete or absent (a concurrent writer's is equal)."""
    tmp = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    for name, table in stats.tables.items():
        table.to_parquet(tmp / f"{name}.parquet", index=False)
    meta = {"report": asdict(stats.report), "user_summary": stats.user_summary, "tables": list(stats.tables)}
    (tmp / "stats.json").write_text(json.dumps(meta, indent=2))
    try:
        os.replace(tmp, folder)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)


def _read_stats(folder: Path) -> DataStats:
    meta = json.loads((folder / "stats.json").read_text())
    tables = {name: pd.read_parquet(folder / f"{name}.parquet") for name in meta["tables"]}
    return DataStats(DataReport(**meta["report"]), tables, meta["user_summary"], computed=False)
