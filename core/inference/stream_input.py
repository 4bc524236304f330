"""A batch of tweets to score, as the monitor page takes it: a CSV file (or pasted tweets), its layout guessed and
its rows read in chunks.

Reading goes through core.data.csv_reader, like batch scoring and training data: the same column names, encodings
and rules, and every record is accounted for (scored, kept with a `reason`, or counted as malformed with its
line). The text, time and group columns are told by their values (core.data.columns). Nothing here imports
Streamlit: the page only draws what these functions return.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import IO

import numpy as np
import pandas as pd

from core.data.columns import SAMPLE_ROWS, detect_columns, frame_from_rows, parse_timestamps
from core.data.csv_reader import (
    TEXT_COLUMNS,
    CsvFormatError,
    CsvTable,
    accepted_names,
    describe_layout,
    open_csv,
    prepare_texts,
)

CHUNK_ROWS = 5_000
MAX_BAD_SAMPLES = 20
NO_GROUP_VALUE = "(no value)"  # the group of a row whose group column is empty (the watcher says the same)


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


def count(n: int, noun: str) -> str:
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
            f"{accepted_names(TEXT_COLUMNS)}."
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
    """Pasted tweets, one per line, as a file the reader takes (blank lines dropped); read it with pasted_layout."""
    return "\n".join(line for line in text.splitlines() if line.strip()).encode("utf-8")


def pasted_layout() -> CsvLayout:
    """Pasted tweets are one tweet per line, whatever line 1 holds: a comma or a quote never makes it a header."""
    return CsvLayout(["text"], "text", None, header=False, lines=True)
