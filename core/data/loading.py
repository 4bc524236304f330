"""Sentiment140 loading and data-quality cleaning, with the report of what was kept and why.

Labels are normalised to label codes (core.data.labels): 0 = negative, 1 = positive for a binary load (neutral
rows dropped and counted), 0 = negative, 1 = neutral, 2 = positive for a three-way one (`classes=3`). Label words
(negative / neutral / positive) are read as they say; numeric codes are Sentiment140's 0 / 2 / 4 or a binary
0 / 1, and a file that holds both 1 and 2 is refused as ambiguous (XLM-T-style sets write 0 / 1 / 2). Every CSV is read by pyarrow when it reads it exactly as the
one reader (core.data.csv_reader) would (core.data.arrow_reader decides), else by the one reader itself; both
stream the bytes (a file or a zip member), never holding them whole; `sentiment140` means the downloaded archive.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core import config
from core.data.arrow_reader import NEUTRAL, UNKNOWN, NotExact, read_labelled
from core.data.csv_reader import (
    LABEL_COLUMNS,
    MAX_TEXT_CHARS,
    SENTIMENT140_COLUMNS,
    SNIFF_BYTES,
    TEXT_COLUMNS,
    CsvFormatError,
    CsvTable,
    ReadReport,
    accepted_names,
    describe_layout,
    open_csv,
)
from core.data.fingerprints import ByteScan, cached_scan, file_key, remember_scan, scan_stream
from core.data.labels import classes_for

# Bump when the cleaning rules change: it is part of the split id. 2: the one CSV reader (a stray quote or an
# extra field affects only its record, NUL bytes are malformed, texts over MAX_TEXT_CHARS are cut).
CLEANING_VERSION = 2
OFFICIAL_COLUMNS = SENTIMENT140_COLUMNS
log = logging.getLogger(__name__)
LABEL_MAP = {"0": 0, "4": 1, "1": 1, "negative": 0, "positive": 1, "neg": 0, "pos": 1}
NEUTRAL_LABELS = {"2", "neutral"}
UNKNOWN_LABEL = "the label is not 0/4, 0/1 or negative/positive"
AMBIGUOUS_CODES = {"1", "2"}  # both in one file: Sentiment140's 2 (neutral) or XLM-T's 2 (positive)?
THREE_WAY_CODES = {0: 0, NEUTRAL: 1, 1: 2}  # the readers' codes (0, 1 = positive, NEUTRAL) -> three-way codes
TEXT_CODE_BUCKETS = 8
ROWS_PER_FRAME = 100_000  # the pure-Python reader's rows become a frame this often (Python tuples are heavy)
ENCRYPTED = 0x1  # a zip member's general-purpose flag bit 0
DEFLATE64 = 9
READABLE_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)
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
    neutral_kept: int = 0  # a three-way load: neutral rows among the rows kept
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
        kept_neutral = f" ({self.neutral_kept:,} of them neutral)" if self.neutral_kept else ""
        return (
            f"{self.rows_read:,} rows read, {self.malformed_rows:,} malformed, {self.empty_texts:,} empty, "
            f"{self.neutral_dropped:,} neutral dropped, {self.duplicates_dropped:,} duplicates dropped, "
            f"{self.conflicting_texts:,} texts with both labels ({self.conflicting_rows_dropped:,} rows) "
            f"removed: {self.rows_kept:,} rows kept{kept_neutral}{truncated}"
        )


@dataclass
class LoadedData:
    frame: pd.DataFrame  # row_id, text, label (+ user, date when the source has them)
    report: DataReport
    fingerprint: str
    reader: str = "python"  # "pyarrow" when the fast path read it (core.data.arrow_reader), else "python"
    classes: tuple[str, ...] = ("negative", "positive")  # what the label codes mean (core.data.labels)


# ------------------------------------------------------------------ reading


@dataclass(frozen=True)
class Source:
    """A CSV file or a zip member, opened afresh for each pass over its bytes (nothing holds them all)."""

    path: Path
    member: str | None = None

    @property
    def name(self) -> str:
        return f"{self.path}:{self.member}" if self.member else str(self.path)

    @contextmanager
    def open(self) -> Iterator[IO[bytes]]:
        if self.member is None:
            with open(self.path, "rb") as fh:
                yield fh
            return
        with zipfile.ZipFile(self.path) as zf, zf.open(self.member) as fh:
            yield fh

    def scan(self) -> ByteScan:
        """The sha256 and line facts of the bytes, from the cache when this file version was scanned before."""
        key = file_key(self.path, self.member)
        scan = cached_scan(key)
        if scan is None:
            with self.open() as fh:
                scan = scan_stream(fh)
            if file_key(self.path, self.member) == key:  # unchanged while we read it
                remember_scan(key, scan)
        return scan


def source_file(source: str | Path) -> Path:
    """The file a source names: the archive of `archive.zip:member.csv`, else the path itself."""
    text = str(source)
    return Path(text.split(".zip:", 1)[0] + ".zip") if ".zip:" in text else Path(text)


def source_name(source: str | Path) -> str:
    """What a page or run.json may show of a source: the file's (or zip member's) name, never its folders."""
    return Path(str(source).split(".zip:", 1)[-1]).name


def resolve_source(source: str | Path) -> Source:
    """A CSV, a zip member (`archive.zip` = its training CSV, `archive.zip:member.csv`) or `sentiment140`."""
    text = str(source)
    if text == "sentiment140":
        return resolve_source(download_sentiment140())
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
        return Source(path, _zip_member(path, member))
    return Source(path)


def source_fingerprint(source: str | Path) -> str:
    """The sha256 of a source's bytes (of the member, for a zip), cached per file version."""
    return resolve_source(source).scan().sha256


def _zip_member(path: Path, member: str | None) -> str:
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except zipfile.BadZipFile:
        raise DataError(f"{path} is not a readable zip archive (truncated or corrupt)") from None
    member = member or next(
        (n for n in names if n.endswith(config.OFFICIAL_TRAIN_NAME)),
        next((n for n in names if n.lower().endswith(".csv")), None),
    )
    if member is None:  # the member names are the archive's content: count them, do not list them
        raise DataError(
            f"{path} holds {len(names)} files and none ends in .csv; name the member with --data {path}:MEMBER.csv"
        )
    if member not in names:
        raise DataError(f"{path} has no member {member!r}")
    with zipfile.ZipFile(path) as zf:
        check_zip_member(zf.getinfo(member), f"{path.name}:{member}")
    return member


def check_zip_member(info: zipfile.ZipInfo, name: str) -> None:
    """DataError, in one sentence, for a member Python's zipfile cannot read: encrypted, or compressed with a method
    it lacks (deflate64, which Windows' "Send to compressed folder" uses for large files; PPMd…)."""
    if info.flag_bits & ENCRYPTED:
        raise DataError(f"{name} is encrypted: extract the CSV from the zip (or re-zip it without a password)")
    if info.compress_type not in READABLE_METHODS:
        method = "deflate64" if info.compress_type == DEFLATE64 else f"method {info.compress_type}"
        raise DataError(f"{name} is compressed with {method}, which cannot be read here: re-zip it with plain deflate")


def load_dataset(source: str | Path, fast: bool = True, classes: int = 2) -> LoadedData:
    """Read, validate and clean a data source. Malformed records are counted with their line, never fatal.

    `classes` 2: labels 0 = negative, 1 = positive, neutral rows dropped and counted (`neutral_dropped`); 3: neutral
    rows kept, labels 0 = negative, 1 = neutral, 2 = positive (`neutral_kept`). `fast` tries pyarrow first
    (core.data.arrow_reader), which gives the same frame and report as the pure-Python reader or declines;
    `fast=False` uses the pure-Python reader only."""
    names = classes_for(classes)
    keep_neutral = len(names) == 3
    src = resolve_source(source)
    reader = "pyarrow"
    try:
        scan = src.scan()
        frame, report, values = _read_fast(src, scan, keep_neutral) if fast else (None, None, set())
        if frame is None or report is None:
            reader = "python"
            frame, report, values = _read_exact(src, keep_neutral)
    except CsvFormatError as exc:
        raise DataError(str(exc)) from None
    except zipfile.BadZipFile:
        raise DataError(f"{src.path} is not a readable zip archive (truncated or corrupt)") from None
    refuse_ambiguous_codes(values, src.name)
    if keep_neutral:
        frame["label"] = frame["label"].map(THREE_WAY_CODES).astype(np.int64)
    frame = _drop_duplicates_and_conflicts(frame, report)
    report.rows_kept = len(frame)
    report.neutral_kept = int((frame["label"] == 1).sum()) if keep_neutral else 0
    if frame.empty:
        raise DataError(f"{src.name}: no usable rows ({report.summary()})")
    return LoadedData(frame=frame, report=report, fingerprint=scan.sha256, reader=reader, classes=names)


def refuse_ambiguous_codes(label_values: set[str], name: str) -> None:
    """DataError for a file whose numeric labels hold both 1 and 2: neutral or positive cannot be told apart."""
    if AMBIGUOUS_CODES <= label_values:
        raise DataError(
            f"{name}: the labels hold both 1 and 2, which is ambiguous (Sentiment140 writes 0/2/4 for negative/"
            "neutral/positive, XLM-T-style sets 0/1/2): write the labels as negative/neutral/positive"
        )


def neutral_texts(source: str | Path) -> list[str]:
    """The texts of the neutral rows that load_dataset drops and counts (`neutral_dropped`), in file order, cut to
    MAX_TEXT_CHARS (an evaluation set reports them apart). Read by the pure-Python reader: call it only when the
    report counted some."""
    src = resolve_source(source)
    try:
        with src.open() as fh, open_csv(fh, src.name, plain_lines=False) as table:
            layout = _training_layout(table, src.name)
            return [
                fields[layout.text_index][:MAX_TEXT_CHARS]
                for _, fields, problem in table.records()
                if not problem and fields[layout.label_index].strip().lower() in NEUTRAL_LABELS
            ]
    except CsvFormatError as exc:
        raise DataError(str(exc)) from None
    except zipfile.BadZipFile:
        raise DataError(f"{src.path} is not a readable zip archive (truncated or corrupt)") from None


def _read_fast(src: Source, scan: ByteScan, keep_neutral: bool = False):
    """pyarrow's reading (frame, report, the distinct label values), or (None, None, set()) when it cannot promise
    the pure-Python reader's result."""
    with src.open() as fh:
        head = fh.read(SNIFF_BYTES)
        if src.member is not None:
            fh.seek(0)
        try:
            read = read_labelled(
                str(src.path) if src.member is None else fh,
                scan,
                head,
                src.name,
                _label_code,
                _extra_columns,
                keep_neutral=keep_neutral,
            )
        except NotExact as exc:
            log.debug("%s: the pure-Python reader takes over (%s)", src.name, exc)
            return None, None, set()
    report = DataReport(source=src.name, encoding=read.encoding, format=read.layout.kind)
    report.rows_read, report.blank_lines = read.records, read.blank_lines
    report.neutral_dropped = 0 if keep_neutral else read.neutral
    report.empty_texts, report.truncated_texts = read.empty, read.truncated
    table_report = ReadReport(encoding=read.encoding, records=read.records, rows=read.records)
    for line in read.unknown_label_lines:
        table_report.reject(line, UNKNOWN_LABEL)
    report.malformed_rows = table_report.malformed
    report.malformed_examples = list(table_report.malformed_examples)
    return read.frame, report, read.label_values


def _label_code(raw: str) -> int:
    """0 or 1, NEUTRAL, or UNKNOWN for a label field."""
    value = raw.strip().lower()
    if value in NEUTRAL_LABELS:
        return NEUTRAL
    return LABEL_MAP.get(value, UNKNOWN)


def _read_exact(src: Source, keep_neutral: bool = False) -> tuple[pd.DataFrame, DataReport, set[str]]:
    """The pure-Python reader, streaming from the file; rows become frames of ROWS_PER_FRAME as they come."""
    values: set[str] = set()
    with src.open() as fh, open_csv(fh, src.name, plain_lines=False) as table:
        layout = _training_layout(table, src.name)
        report = DataReport(source=src.name, encoding=table.encoding, format=layout.kind)
        extras = _extra_columns(layout)
        columns = ["row_id", "text", "label", *extras.keys()]
        rows = _labelled_rows(table, layout, extras, report, keep_neutral, values)
        frames = [pd.DataFrame(batch, columns=columns) for batch in _batches(rows)]
    _copy_read_report(table.report, report)
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    return frame, report, values


def _batches(rows: Iterable[tuple]) -> Iterator[list[tuple]]:
    batch: list[tuple] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= ROWS_PER_FRAME:
            yield batch
            batch = []
    if batch:
        yield batch


def _training_layout(table: CsvTable, name: str):
    """The table's layout, refused unless it has a text and a label column."""
    layout = table.layout
    if layout.kind in ("headered", "sentiment140") and layout.label_index is not None:
        return layout
    which = "a text column but no label column" if layout.text_index is not None else "no text and label columns"
    raise DataError(
        f"cannot tell the CSV layout of {name}: {describe_layout(layout, table.encoding, table.header_line)}, with "
        f"{which}. Expected the official Sentiment140 format (6 columns, no header, the first one 0, 2 or 4) "
        f"or a header naming a text column ({accepted_names(TEXT_COLUMNS)}) and a label column "
        f"({accepted_names(LABEL_COLUMNS)}, or a name ending in _sentiment or _label), in any case"
    )


def _extra_columns(layout) -> dict[str, int]:
    """user/date columns kept next to the text (the Data page's per-user figures)."""
    if layout.kind == "sentiment140":
        return {"user": 4, "date": 2}
    lowered = [c.lower() for c in layout.columns]
    return {c: lowered.index(c) for c in ("user", "date", "timestamp") if c in lowered}


def _labelled_rows(
    table: CsvTable, layout, extras: dict[str, int], report: DataReport, keep_neutral: bool, values: set[str]
) -> Iterator[tuple]:
    """(row_id, text, label, extras...) per usable record; row_id is the 0-based record index in the source. The
    label is 0, 1 (positive) or, kept when `keep_neutral`, NEUTRAL; `values` gathers the distinct label fields."""
    text_idx, label_idx, extra_idx = layout.text_index, layout.label_index, list(extras.values())
    read = table.report
    for row_id, (line, fields, problem) in enumerate(table.records()):
        if problem:
            continue  # counted by the reader, with its line
        label_raw = fields[label_idx].strip().lower()
        values.add(label_raw)
        if label_raw in NEUTRAL_LABELS and not keep_neutral:
            report.neutral_dropped += 1
            continue
        label = NEUTRAL if label_raw in NEUTRAL_LABELS else LABEL_MAP.get(label_raw)
        if label is None:  # the value itself is file content: say what is accepted instead
            read.reject(line, UNKNOWN_LABEL)
            continue
        tweet = fields[text_idx]
        if not tweet.strip():
            report.empty_texts += 1
            continue
        if len(tweet) > MAX_TEXT_CHARS:  # the model never sees more at scoring time either
            tweet = tweet[:MAX_TEXT_CHARS]
            report.truncated_texts += 1
        yield (row_id, tweet, label, *(fields[i] for i in extra_idx))


def _copy_read_report(read: ReadReport, report: DataReport) -> None:
    report.rows_read = read.records
    report.malformed_rows = read.malformed
    report.malformed_examples = list(read.malformed_examples)
    report.blank_lines = read.blank_lines


def _drop_duplicates_and_conflicts(frame: pd.DataFrame, report: DataReport) -> pd.DataFrame:
    """Keep the first row of each (text, label) pair, then remove every text left with both labels.

    One factorisation of the texts (integer codes) instead of pandas' drop_duplicates + groupby: 1.6 M strings
    are hashed once."""
    text_codes = _text_codes(frame["text"])
    pairs = text_codes.astype(np.int64) * 3 + frame["label"].to_numpy(dtype=np.int64)  # labels 0..2
    _, first = np.unique(pairs, return_index=True)
    keep = np.zeros(len(frame), dtype=bool)
    keep[first] = True
    report.duplicates_dropped = len(frame) - len(first)
    labels_per_text = np.bincount(text_codes[keep], minlength=int(text_codes.max(initial=-1)) + 1)
    conflicting = keep & (labels_per_text[text_codes] > 1)
    report.conflicting_texts = int((labels_per_text > 1).sum())
    report.conflicting_rows_dropped = int(conflicting.sum())
    return frame[keep & ~conflicting].reset_index(drop=True)


def _text_codes(texts: pd.Series) -> np.ndarray:
    """An integer per distinct text, hashed TEXT_CODE_BUCKETS parts at a time: equal texts have equal byte
    lengths, so bucketing by length is exact, and each part's hash table is a fraction of the texts' memory
    (one table for 1.6 M distinct tweets costs more than the tweets)."""
    try:
        arrow = pa.chunked_array(texts.array.__arrow_array__())
    except (AttributeError, TypeError, pa.ArrowException):
        return pd.factorize(texts)[0]
    buckets = pc.binary_length(arrow).to_numpy() % TEXT_CODE_BUCKETS
    codes = np.empty(len(texts), dtype=np.int64)
    base = 0
    for bucket in range(TEXT_CODE_BUCKETS):
        rows = np.flatnonzero(buckets == bucket)
        if len(rows):
            encoded = pc.dictionary_encode(arrow.take(pa.array(rows)).combine_chunks())
            codes[rows] = encoded.indices.to_numpy() + base
            base += len(encoded.dictionary)
    return codes


# ------------------------------------------------------------------ download


def download_sentiment140(dest_dir: Path | None = None, progress=None) -> Path:
    """The official archive (core.data.download), with its failure as a DataError for the data readers' callers."""
    from core.data.download import DownloadError
    from core.data.download import download_sentiment140 as fetch

    try:
        return fetch(dest_dir, progress=progress)
    except DownloadError as exc:
        raise DataError(str(exc)) from None
