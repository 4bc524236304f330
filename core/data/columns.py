"""Which column holds the time, the text and the groups of a table, told by the values rather than by the names.

An export names its columns as it likes (`tweet_created`, `body`, `message_text`…): a timestamp column is any
column whose non-empty values mostly parse as dates (Twitter's `created_at`, ISO 8601, "2015-02-24 11:35:52 -0800",
"2/24/2015 11:35", epoch seconds or milliseconds in a plausible range); the text column is the longest free-text
column (long, distinct values with spaces; not an id, a URL or a date). The known names of core.data.csv_reader
are a first guess and break ties. Pure pandas: the monitor (core.inference.stream_input, core.monitor) and the pages use it.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from core.data.csv_reader import TEXT_COLUMNS, TIME_COLUMNS

SAMPLE_ROWS = 500  # values looked at per column
MIN_DATE_SHARE = 0.8  # "mostly parse as dates"
MIN_VALUES = 1
# Epoch numbers are dates only between 2000-01-01 and 2100-01-01 (seconds, or milliseconds): a tweet id, a count
# or a price is not.
EPOCH_SECONDS = (946_684_800, 4_102_444_800)
EPOCH_MILLIS = (EPOCH_SECONDS[0] * 1000, EPOCH_SECONDS[1] * 1000)
# A written date is a tweet's time only from 1970 to 2200: pandas holds 1677-2262 at most, and the windows,
# buckets and cool-downs built on a time need room around it. Outside, it reads as unparseable.
TIME_RANGE = (pd.Timestamp("1970-01-01", tz="UTC"), pd.Timestamp("2200-01-01", tz="UTC"))
MIN_TEXT_CHARS = 15  # mean length below which a column is a name or a code, not free text
MIN_SPACED_SHARE = 0.5  # free text has words: at least half its values hold a space
MIN_DISTINCT_SHARE = 0.3
GROUP_MAX_VALUES = 50  # a group column has a few repeated values (airline, route, language)
NAMED_TEXT_SHARE = 0.5  # a column named like a text wins if it scores at least this share of the best
# Sentiment140's dates read "Mon Apr 06 22:19:45 PDT 2009": dateutil ignores such abbreviations, so map them.
TZ_ABBREVIATIONS = {
    "PDT": "-07:00",
    "PST": "-08:00",
    "MDT": "-06:00",
    "MST": "-07:00",
    "CDT": "-05:00",
    "CST": "-06:00",
    "EDT": "-04:00",
    "EST": "-05:00",
    "UTC": "+00:00",
    "GMT": "+00:00",
    "BST": "+01:00",
    "CET": "+01:00",
    "CEST": "+02:00",
}
_TZ_RE = re.compile(r"\s\b(" + "|".join(TZ_ABBREVIATIONS) + r")\b")
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"
# A value is worth handing to the date parser only if it looks like a date: dateutil alone reads "1" or "May" too.
_DATE_LIKE = re.compile(
    r"\d{4}-\d{1,2}-\d{1,2}"  # ISO
    r"|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}"  # 2/24/2015, 24.02.2015
    rf"|\b{_MONTH}\b.*\d{{4}}|\d{{4}}.*\b{_MONTH}\b|\d{{1,2}}\s+{_MONTH}\b",  # Twitter, RFC 2822
    re.IGNORECASE,
)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
# Layouts the generic parser misreads, read day first: a spreadsheet's export of a timestamp ("24-02-2015 11.35",
# "24.02.2015 11:35"); a column is read with one of them only when every filled value has its shape.
DAY_FIRST_FORMATS = (
    (re.compile(r"\d{1,2}-\d{1,2}-\d{4} \d{1,2}\.\d{2}"), "%d-%m-%Y %H.%M"),
    (re.compile(r"\d{1,2}\.\d{1,2}\.\d{4} \d{1,2}:\d{2}"), "%d.%m.%Y %H:%M"),
)
_URL = re.compile(r"^(https?://|www\.)\S+$", re.IGNORECASE)


@dataclass
class ColumnGuess:
    """The columns found in a sample, best first, and the choice made from them."""

    text: str | None
    time: str | None
    text_candidates: list[str]
    time_candidates: list[str]
    group_candidates: list[str]


# ---------------------------------------------------------------- timestamps


def parse_timestamps(values: pd.Series) -> pd.Series:
    """Strings -> UTC datetimes (NaT where unparseable or out of range): ISO, US-style, Twitter, Sentiment140, epoch
    s or ms."""
    values = pd.Series(values, dtype=object).fillna("").astype(str).str.strip()
    filled = values.ne("")
    if len(values) and filled.any() and values[filled].str.fullmatch(_NUMBER).all():
        return _epoch(values)
    for pattern, layout in DAY_FIRST_FORMATS:
        if filled.any() and values[filled].str.fullmatch(pattern).all():
            return _in_range(pd.to_datetime(values.where(filled, None), format=layout, errors="coerce", utc=True))
    values = values.str.replace(_TZ_RE, lambda m: " " + TZ_ABBREVIATIONS[m.group(1)], regex=True)
    with warnings.catch_warnings():  # "could not infer format": the mixed pass below reads those
        warnings.simplefilter("ignore")
        parsed = _in_range(pd.to_datetime(values.where(filled, None), errors="coerce", utc=True))
        missed = parsed.isna() & filled
        if missed.any():  # several formats in one column: read the others one by one
            parsed[missed] = _in_range(pd.to_datetime(values[missed], errors="coerce", utc=True, format="mixed"))
    return parsed


def _in_range(parsed: pd.Series) -> pd.Series:
    """Nanosecond UTC datetimes, NaT outside TIME_RANGE: a date pandas reads but cannot hold in nanoseconds
    (9999-12-31) is one unparseable value, not an OutOfBoundsDatetime that fails its whole batch."""
    inside = (parsed >= TIME_RANGE[0]) & (parsed < TIME_RANGE[1])
    return parsed.where(inside).astype("datetime64[ns, UTC]")


def _epoch(values: pd.Series) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce")
    seconds = numbers.where(numbers.between(*EPOCH_SECONDS))
    millis = numbers.where(numbers.between(*EPOCH_MILLIS)) / 1000
    return pd.to_datetime(seconds.fillna(millis), unit="s", utc=True).astype("datetime64[ns, UTC]")


def date_share(values: pd.Series) -> float:
    """The share of a column's non-empty values that read as dates (0 when it has none)."""
    filled = _non_empty(values)
    if len(filled) < MIN_VALUES:
        return 0.0
    if filled.str.fullmatch(_NUMBER).all():
        numbers = pd.to_numeric(filled, errors="coerce")
        plausible = numbers.between(*EPOCH_SECONDS) | numbers.between(*EPOCH_MILLIS)
        return float(plausible.mean())
    looks = filled[filled.str.contains(_DATE_LIKE)]
    if looks.empty:
        return 0.0
    return float(parse_timestamps(looks).notna().sum() / len(filled))


def time_columns(frame: pd.DataFrame) -> list[str]:
    """The columns whose values mostly parse as dates, best first: a known name, then the higher share."""
    shares = {name: date_share(frame[name]) for name in frame.columns}
    found = [name for name, share in shares.items() if share >= MIN_DATE_SHARE]
    return sorted(found, key=lambda name: (-_name_rank(name, TIME_COLUMNS), -shares[name]))


# ---------------------------------------------------------------- text and groups


def text_score(values: pd.Series) -> float:
    """How much a column reads like free text: mean length x distinct share, 0 for ids, URLs, codes and names."""
    filled = _non_empty(values)
    if filled.empty:
        return 0.0
    lengths = filled.str.len()
    spaced = filled.str.contains(r"\s", regex=True).mean()
    distinct = filled.nunique() / len(filled)
    urls = filled.str.match(_URL).mean()
    numeric = filled.str.fullmatch(_NUMBER).mean()
    if lengths.mean() < MIN_TEXT_CHARS or spaced < MIN_SPACED_SHARE or distinct < MIN_DISTINCT_SHARE:
        return 0.0
    if urls > 0.5 or numeric > 0.5:
        return 0.0
    return float(lengths.mean() * distinct * spaced)


def text_columns(frame: pd.DataFrame, exclude: Sequence[str] = ()) -> list[str]:
    """Free-text columns, best first; a column named like a text (csv_reader's names) comes first when it scores
    at least NAMED_TEXT_SHARE of the best."""
    scores = {name: text_score(frame[name]) for name in frame.columns if name not in exclude}
    ranked = sorted((name for name, s in scores.items() if s > 0), key=lambda name: -scores[name])
    if not ranked:
        return []
    best = scores[ranked[0]]
    named = [n for n in ranked if _name_rank(n, TEXT_COLUMNS) and scores[n] >= NAMED_TEXT_SHARE * best]
    named.sort(key=lambda name: -_name_rank(name, TEXT_COLUMNS))
    return named + [n for n in ranked if n not in named]


def group_columns(frame: pd.DataFrame, exclude: Sequence[str] = ()) -> list[str]:
    """Columns with a few repeated values (airline, route, language), in the table's order."""
    found = []
    for name in frame.columns:
        filled = _non_empty(frame[name])
        if name in exclude or len(filled) < 2 or filled.str.fullmatch(_NUMBER).all():  # counts are not groups
            continue
        distinct = filled.nunique()
        if 2 <= distinct <= GROUP_MAX_VALUES and distinct < len(filled) / 2:
            found.append(name)
    return found


def detect_columns(frame: pd.DataFrame) -> ColumnGuess:
    """The text and time columns of a sample of rows (strings), from their values."""
    sample = frame.head(SAMPLE_ROWS).astype(object)
    times = time_columns(sample)
    texts = text_columns(sample, exclude=times)
    groups = group_columns(sample, exclude=[*times, *texts[:1]])
    return ColumnGuess(texts[0] if texts else None, times[0] if times else None, texts, times, groups)


def _non_empty(values: pd.Series) -> pd.Series:
    strings = pd.Series(values, dtype=object).dropna().astype(str).str.strip()
    return strings[strings.ne("")].head(SAMPLE_ROWS)


def _name_rank(name: str, known: Sequence[str]) -> int:
    """len(known) for the first known name, 1 for the last, 0 when the name is not known."""
    lowered = name.strip().lower()
    return len(known) - known.index(lowered) if lowered in known else 0


def frame_from_rows(rows: list[list[str]], columns: list[str]) -> pd.DataFrame:
    """A sample of records as a frame of strings."""
    return pd.DataFrame(rows, columns=columns, dtype=object)
