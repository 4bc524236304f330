"""Sentiment140 loading and data-quality cleaning, with the report of what was kept and why.

Labels are normalised to 0 = negative, 1 = positive. Every CSV goes through the one reader
(core.data.csv_reader); the official zip is read member by member; `sentiment140` means the downloaded archive.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from core import config
from core.data.csv_reader import (
    LABEL_COLUMNS,
    MAX_TEXT_CHARS,
    SENTIMENT140_COLUMNS,
    TEXT_COLUMNS,
    CsvFormatError,
    CsvTable,
    ReadReport,
    accepted_names,
    decode_bytes,
    describe_layout,
)

# Bump when the cleaning rules change: it is part of the split id. 2: the one CSV reader (a stray quote or an
# extra field affects only its record, NUL bytes are malformed, texts over MAX_TEXT_CHARS are cut).
CLEANING_VERSION = 2
OFFICIAL_COLUMNS = SENTIMENT140_COLUMNS
LABEL_MAP = {"0": 0, "4": 1, "1": 1, "negative": 0, "positive": 1, "neg": 0, "pos": 1}
NEUTRAL_LABELS = {"2", "neutral"}
OFFICIAL_SHA256 = None  # the archive publishes no checksum; we verify structure and record our own sha256


class DataError(Exception):
    """A data source that cannot be used, with a message that says how to fix it."""


@dataclass
class DataReport:
    source: str
    format: str = ""
    encoding: str = ""
    rows_read: int = 0
    malformed_rows: int = 0
    malformed_examples: list[str] = field(default_factory=list)  # "line N: why", never the line's content
    empty_texts: int = 0
    neutral_dropped: int = 0
    duplicates_dropped: int = 0
    conflicting_texts: int = 0
    conflicting_rows_dropped: int = 0
    rows_kept: int = 0
    truncated_texts: int = 0  # kept, cut to MAX_TEXT_CHARS characters
    blank_lines: int = 0  # not records

    def summary(self) -> str:
        """One line; rows read = malformed + empty + neutral + duplicates + conflicting rows + rows kept."""
        truncated = (
            f" ({self.truncated_texts:,} texts cut to {MAX_TEXT_CHARS:,} characters)" if self.truncated_texts else ""
        )
        return (
            f"{self.rows_read:,} rows read, {self.malformed_rows:,} malformed, {self.empty_texts:,} empty, "
            f"{self.neutral_dropped:,} neutral dropped, {self.duplicates_dropped:,} duplicates dropped, "
            f"{self.conflicting_texts:,} texts with both labels ({self.conflicting_rows_dropped:,} rows) "
            f"removed: {self.rows_kept:,} rows kept{truncated}"
        )


@dataclass
class LoadedData:
    frame: pd.DataFrame  # row_id, text, label (+ user, date when the source has them)
    report: DataReport
    fingerprint: str


# ------------------------------------------------------------------ reading


def read_source_bytes(source: str | Path) -> tuple[bytes, str]:
    """Bytes of a CSV, a zip member (`archive.zip` or `archive.zip:member.csv`), plus a display name."""
    text = str(source)
    if text == "sentiment140":
        return read_source_bytes(download_sentiment140())
    member = None
    if ".zip:" in text:
        text, member = text.split(".zip:", 1)
        text += ".zip"
    path = Path(text)
    if not path.exists():
        raise DataError(
            f"data file not found: {path}. Pass a Sentiment140 CSV or zip with --data, "
            f"or use --data sentiment140 to download the official set."
        )
    if path.suffix.lower() == ".zip":
        return _read_zip_member(path, member)
    return path.read_bytes(), str(path)


def _read_zip_member(path: Path, member: str | None) -> tuple[bytes, str]:
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            member = member or next(
                (n for n in names if n.endswith(config.OFFICIAL_TRAIN_NAME)),
                next((n for n in names if n.lower().endswith(".csv")), None),
            )
            if member is None:  # the member names are the archive's content: count them, do not list them
                raise DataError(
                    f"{path} holds {len(names)} files and none ends in .csv; name the member "
                    f"with --data {path}:MEMBER.csv"
                )
            if member not in names:
                raise DataError(f"{path} has no member {member!r}")
            return zf.read(member), f"{path}:{member}"
    except zipfile.BadZipFile:
        raise DataError(f"{path} is not a readable zip archive (truncated or corrupt)") from None


def load_dataset(source: str | Path) -> LoadedData:
    """Read, validate and clean a data source. Malformed records are counted with their line, never fatal."""
    raw, name = read_source_bytes(source)
    fingerprint = hashlib.sha256(raw).hexdigest()
    try:
        text, encoding = decode_bytes(raw, name)
    except CsvFormatError as exc:
        raise DataError(str(exc)) from None
    del raw
    table = _open_table(text, name, encoding)
    layout = table.layout
    report = DataReport(source=name, encoding=encoding, format=layout.kind)
    extras = _extra_columns(layout)
    rows = _labelled_rows(table, layout, extras, report)
    del text
    frame = pd.DataFrame(rows, columns=["row_id", "text", "label", *extras.keys()])
    _copy_read_report(table.report, report)
    frame = _drop_duplicates_and_conflicts(frame, report)
    report.rows_kept = len(frame)
    if frame.empty:
        raise DataError(f"{name}: no usable rows ({report.summary()})")
    return LoadedData(frame=frame, report=report, fingerprint=fingerprint)


def _open_table(text: str, name: str, encoding: str) -> CsvTable:
    """The CSV table of a training source, refused unless it has a text and a label column."""
    try:
        table = CsvTable(io.StringIO(text, newline=""), name, encoding)
    except CsvFormatError as exc:
        raise DataError(str(exc)) from None
    layout = table.layout
    if layout.kind in ("headered", "sentiment140") and layout.label_index is not None:
        return table
    which = "a text column but no label column" if layout.text_index is not None else "no text and label columns"
    raise DataError(
        f"cannot tell the CSV layout of {name}: {describe_layout(layout, encoding, table.header_line)}, with "
        f"{which}. Expected the official Sentiment140 format (6 columns, no header, the first one 0, 2 or 4) "
        f"or a header naming a text column ({accepted_names(TEXT_COLUMNS)}) and a label column "
        f"({accepted_names(LABEL_COLUMNS)}), in any case"
    )


def _extra_columns(layout) -> dict[str, int]:
    """user/date columns kept next to the text (the Data page's per-user figures)."""
    if layout.kind == "sentiment140":
        return {"user": 4, "date": 2}
    lowered = [c.lower() for c in layout.columns]
    return {c: lowered.index(c) for c in ("user", "date", "timestamp") if c in lowered}


def _labelled_rows(table: CsvTable, layout, extras: dict[str, int], report: DataReport) -> list[tuple]:
    """(row_id, text, label, extras...) per usable record; row_id is the 0-based record index in the source."""
    text_idx, label_idx, extra_idx = layout.text_index, layout.label_index, list(extras.values())
    rows: list[tuple] = []
    read = table.report
    for row_id, (line, fields, problem) in enumerate(table.records()):
        if problem:
            continue  # counted by the reader, with its line
        label_raw = fields[label_idx].strip().lower()
        if label_raw in NEUTRAL_LABELS:
            report.neutral_dropped += 1
            continue
        label = LABEL_MAP.get(label_raw)
        if label is None:  # the value itself is file content: say what is accepted instead
            read.reject(line, "the label is not 0/4, 0/1 or negative/positive")
            continue
        tweet = fields[text_idx]
        if not tweet.strip():
            report.empty_texts += 1
            continue
        if len(tweet) > MAX_TEXT_CHARS:  # the model never sees more at scoring time either
            tweet = tweet[:MAX_TEXT_CHARS]
            report.truncated_texts += 1
        rows.append((row_id, tweet, label, *(fields[i] for i in extra_idx)))
    return rows


def _copy_read_report(read: ReadReport, report: DataReport) -> None:
    report.rows_read = read.records
    report.malformed_rows = read.malformed
    report.malformed_examples = list(read.malformed_examples)
    report.blank_lines = read.blank_lines


def _drop_duplicates_and_conflicts(frame: pd.DataFrame, report: DataReport) -> pd.DataFrame:
    before = len(frame)
    frame = frame.drop_duplicates(subset=["text", "label"], keep="first")
    report.duplicates_dropped = before - len(frame)
    labels_per_text = frame.groupby("text")["label"].nunique()
    conflicting = labels_per_text[labels_per_text > 1].index
    report.conflicting_texts = len(conflicting)
    mask = frame["text"].isin(conflicting)
    report.conflicting_rows_dropped = int(mask.sum())
    return frame[~mask].reset_index(drop=True)


# ------------------------------------------------------------------ download


def download_sentiment140(dest_dir: Path | None = None, progress=None) -> Path:
    """The official archive (core.data.download), with its failure as a DataError for the data readers' callers."""
    from core.data.download import DownloadError
    from core.data.download import download_sentiment140 as fetch

    try:
        return fetch(dest_dir, progress=progress)
    except DownloadError as exc:
        raise DataError(str(exc)) from None
