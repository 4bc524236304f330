"""What a source hands in, as rows for the store: CSV files (read by core.data.csv_reader, the one reader), JSON
lines, and the HTTP API's tweets. Every record becomes a row: a tweet to score, or a malformed record kept with its
line and why (never its content). A row's `source_key` makes it idempotent: the same record read again is stored
once.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice

import pandas as pd

from core.data.columns import SAMPLE_ROWS, detect_columns, frame_from_rows, parse_timestamps
from core.data.csv_reader import open_csv

MALFORMED = "malformed"
BAD_TIME = "unparseable timestamp"
NO_TEXT_COLUMN = "no text column in its file"
CHUNK_ROWS = 5_000
JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")
NOT_JSON = "not valid JSON"
DEEP = "JSON nested too deeply"


@dataclass
class Fields:
    """Which fields hold what: None = found from the values (core.data.columns) or the API's names."""

    text: str | None = None
    time: str | None = None
    group_columns: list[str] = field(default_factory=list)


def digest(*parts: str) -> str:
    return hashlib.sha1("\x1f".join(parts).encode("utf-8", "replace")).hexdigest()[:16]


def tweet_row(source: str, key: str, text: str, created: str, groups: dict, **extra) -> dict:
    """A row to store; `created` is the raw timestamp text ('' when none), parsed by `finish`."""
    return {"source": source, "source_key": key, "text": text, "created_raw": created, "groups": groups, **extra}


def malformed_row(source: str, key: str, line: int | None, why: str) -> dict:
    return {"source": source, "source_key": key, "line": line, "reason": f"{MALFORMED}: {why}", "scored_at": 0.0}


def finish(rows: list[dict], received_at: float | None = None) -> list[dict]:
    """Parse the timestamps of a batch at once (created_at: epoch seconds or None) and stamp the arrival time."""
    received_at = time.time() if received_at is None else received_at
    raw = pd.Series([row.pop("created_raw", "") or "" for row in rows], dtype=object)
    parsed = parse_timestamps(raw) if len(raw) else pd.Series([], dtype="datetime64[ns, UTC]")
    seconds = (parsed - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
    for row, value, text in zip(rows, seconds, raw):
        row["received_at"] = received_at
        row["created_at"] = None if pd.isna(value) else float(value)
        if row["created_at"] is None and text.strip():
            row["reason"] = BAD_TIME
        if row.get("scored_at") == 0.0:  # nothing to score: done when it arrives
            row["scored_at"] = received_at
    return rows


# ---------------------------------------------------------------- CSV


def csv_rows(
    data: bytes | str, name: str, source: str, prefix: str, fields: Fields, line_base: int = 0
) -> Iterator[list[dict]]:
    """The records of a CSV (bytes or a path) as rows, CHUNK_ROWS at a time; `line_base` is added to its line
    numbers (a tailed file's chunk). CsvFormatError when it is not a CSV at all (an Excel workbook)."""
    text, time_column = csv_columns(data, name, fields)
    with open_csv(data, name=name) as table:
        columns = table.layout.columns
        groups = [c for c in fields.group_columns if c in columns]
        where = {column: columns.index(column) for column in [text, time_column, *groups] if column}
        batch: list[dict] = []
        for line, values, why in table.records():
            line += line_base
            if values is None or text is None:
                why = (why or "unreadable") if values is None else NO_TEXT_COLUMN
                batch.append(malformed_row(source, f"{prefix}:{line}:{MALFORMED}", line, why))
            else:
                key = f"{prefix}:{line}:{digest(*values)}"
                created = values[where[time_column]] if time_column else ""
                group_values = {column: values[where[column]] for column in groups}
                batch.append(tweet_row(source, key, values[where[text]], created, group_values, line=line))
            if len(batch) >= CHUNK_ROWS:
                yield batch
                batch = []
        if batch:
            yield batch


def csv_columns(data: bytes | str, name: str, fields: Fields) -> tuple[str | None, str | None]:
    """The text and time columns: the ones asked for when the file has them, else found from its first rows
    (core.data.columns), else the ones line 1 names."""
    with open_csv(data, name=name) as table:
        layout = table.layout
        sample = [values for _, values in islice(table.rows(), SAMPLE_ROWS)]
    columns = layout.columns
    named_time = columns[layout.time_index] if layout.time_index is not None else None
    text = fields.text if fields.text in columns else None
    time_column = fields.time if fields.time in columns else None
    if layout.kind in ("lines", "sentiment140") or not sample:
        return text or layout.text_column, time_column or named_time
    guess = detect_columns(frame_from_rows(sample, columns))
    return text or guess.text or layout.text_column, time_column or guess.time or named_time


# ---------------------------------------------------------------- JSON


def json_tweet(obj, fields: Fields) -> tuple[str, str, str, dict]:
    """(id, text, created, groups) of one tweet object; ValueError says why it cannot be one."""
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    text = obj.get(fields.text or "text")
    if not isinstance(text, str):
        raise ValueError(f"no text field (a string named {fields.text or 'text'!r})")
    created = obj.get(fields.time or "created_at")
    groups = obj.get("group") if isinstance(obj.get("group"), dict) else {}
    groups = {str(k): _plain(v) for k, v in groups.items()}
    for name in fields.group_columns:
        if name in obj and name not in groups:
            groups[name] = _plain(obj[name])
    tweet_id = "" if obj.get("id") is None else str(obj.get("id"))
    created = _plain(created)
    for name, value in (("text", text), ("id", tweet_id), ("time", created), *_group_strings(groups)):
        _check_storable(name, value)
    return tweet_id, text, created, groups


def _plain(value) -> str:
    return "" if value is None else value if isinstance(value, str) else json.dumps(value)


def _group_strings(groups: dict) -> list[tuple[str, str]]:
    return [("group", string) for pair in groups.items() for string in pair]


def _check_storable(name: str, value: str) -> None:
    """ValueError for a string no store keeps as it is: a lone surrogate (`\\ud800` in JSON: not Unicode text, which
    no database encodes) or a NUL character (PostgreSQL refuses it; the CSV reader counts such a record malformed)."""
    if "\x00" in value:
        raise ValueError(f"the {name} holds a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"the {name} is not valid Unicode (a lone surrogate)") from None


def safe_name(name: str) -> str:
    """A file name or path as text any store keeps: a name that is not UTF-8 on disk has its bytes escaped."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def parse_json(raw: bytes | str):
    """json.loads, with one ValueError for anything that is not a JSON document it can hold (too deep included)."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise ValueError(DEEP) from None
    except (ValueError, UnicodeDecodeError):  # json.JSONDecodeError is a ValueError
        raise ValueError(NOT_JSON) from None


def json_line_rows(data: bytes, source: str, prefix: str, fields: Fields, line_base: int = 0) -> list[dict]:
    """JSON lines (one tweet object per line; blank lines are not records)."""
    rows = []
    for number, raw in enumerate(data.splitlines(), line_base + 1):
        if not raw.strip():
            continue
        try:
            tweet_id, text, created, groups = json_tweet(parse_json(raw), fields)
        except ValueError as exc:
            rows.append(malformed_row(source, f"{prefix}:{number}:{MALFORMED}", number, str(exc)))
            continue
        key = f"{prefix}:{number}:{digest(tweet_id, text, created)}"
        rows.append(tweet_row(source, key, text, created, groups, line=number, tweet_id=tweet_id or None))
    return rows
