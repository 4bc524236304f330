"""The fast path of training-data loading: pyarrow's streaming CSV reader, for the files it reads exactly as the
one reader (core.data.csv_reader) does.

It reads every column as bytes, a block at a time (only the kept columns stay, as Arrow strings), then decides the encoding as the one reader does (a UTF-8 BOM, else UTF-8 when
every byte is, else latin-1) and applies loading's rules with Arrow compute functions. Whenever the result could
differ from the pure-Python reader's, it raises NotExact before anything is reported, and loading falls back to
that reader: UTF-16, NUL bytes, lone CR line ends, any record pyarrow finds invalid (wrong field count), a quoted
field spanning lines (every record must be one physical line: pyarrow's rows + blank lines = the file's lines),
a quote still open at the end of the file, a field over MAX_FIELD_CHARS, a layout loading refuses (its message
comes from the one reader), and a label that is not known when blank lines make line numbers uncertain.
tests/unit/test_data_fast_path.py checks on generated files, hostile ones included, that both paths give the
same frame and the same report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from core.data.csv_reader import MAX_FIELD_CHARS, MAX_TEXT_CHARS, Layout, detect_layout, encoding_from_head
from core.data.fingerprints import ByteScan

ARROW_BLOCK_BYTES = 1 << 22
MAX_COLUMNS = 256
BINARY_COLUMNS = {f"f{i}": pa.binary() for i in range(MAX_COLUMNS)}
PY_WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())  # what str.strip() removes
NEUTRAL, UNKNOWN = -1, -2  # label codes besides 0 and 1
STRING = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' default `str`, what the pure-Python path builds


class NotExact(Exception):
    """This file may read differently from the pure-Python reader: use that one."""


@dataclass
class FastRead:
    frame: pd.DataFrame  # row_id, text, label, extras (before duplicates and conflicts)
    layout: Layout
    encoding: str
    records: int = 0
    blank_lines: int = 0
    neutral: int = 0
    empty: int = 0
    truncated: int = 0
    unknown_label_lines: list[int] = field(default_factory=list)
    label_values: set[str] = field(default_factory=set)  # the distinct label fields, stripped and lower-cased


@dataclass
class _Columns:
    """What the batches leave: the kept rows' columns, a batch at a time."""

    names: list[str]
    row_ids: list[np.ndarray] = field(default_factory=list)
    labels: list[np.ndarray] = field(default_factory=list)
    strings: dict[str, list[pa.Array]] = field(default_factory=dict)

    def frame(self) -> pd.DataFrame:
        strings = {
            name: pd.array(pa.chunked_array(self.strings.pop(name, []), type=pa.large_string()), dtype=STRING)
            for name in self.names
        }
        row_ids, labels = (np.concatenate(parts or [np.zeros(0, np.int64)]) for parts in (self.row_ids, self.labels))
        return pd.DataFrame({"row_id": row_ids, "text": strings.pop("text"), "label": labels, **strings})


def read_labelled(
    source: str | IO[bytes],
    scan: ByteScan,
    head: bytes,
    name: str,
    label_code: Callable[[str], int],
    extra_columns: Callable[[Layout], dict[str, int]],
    keep_neutral: bool = False,
) -> FastRead:
    """The labelled rows of a CSV (a path or a binary stream at its start), read batch by batch, or NotExact.
    Neutral rows are counted (`neutral`) and dropped, or kept with the code NEUTRAL when `keep_neutral`."""
    encoding = _encoding(head, scan, name)
    batches = _binary_batches(source)
    first = next(batches, None)
    if first is None or first.num_rows == 0:
        raise NotExact("no rows")
    layout = detect_layout([_decode(v, encoding) for v in _row(first, 0)])
    if layout.kind not in ("headered", "sentiment140") or layout.label_index is None:
        raise NotExact("a layout loading refuses: the one reader words the error")
    extras = extra_columns(layout)
    wanted = {"label": layout.label_index, "text": layout.text_index, **extras}
    read = FastRead(pd.DataFrame(), layout, encoding, blank_lines=scan.blank_lines)
    kept = _Columns(["text", *extras])
    labels: dict[bytes, int] = {}
    last = first
    for number, batch in enumerate(_chain(first, batches)):
        _check_batch(batch, scan)
        columns = {key: batch.column(i) for key, i in wanted.items()}
        skip = int(layout.header) if number == 0 else 0  # the header row is not a record
        _add_batch(columns, skip, read, kept, labels, label_code, keep_neutral)
        last = batch
    _check_end(scan, read, last)
    read.frame = kept.frame()
    read.label_values = {_decode(value, encoding).strip().lower() for value in labels}
    return read


def _chain(first: pa.RecordBatch, rest: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    yield first
    yield from rest


def _encoding(head: bytes, scan: ByteScan, name: str) -> str:
    """The one reader's encoding, once the scan shows nothing this path declines."""
    if scan.nul or scan.lone_cr or (scan.unterminated and scan.tail_quote):
        raise NotExact("NUL bytes, lone CR line ends or a quote open at the end of the file")
    encoding = encoding_from_head(head, name)  # refuses Excel workbooks and zips, as the one reader does
    if encoding not in (None, "utf-8-sig"):
        raise NotExact("UTF-16")
    if encoding == "utf-8-sig" and not scan.utf8:
        raise NotExact("invalid UTF-8 after a UTF-8 BOM: the one reader replaces it")
    return encoding or ("utf-8" if scan.utf8 else "latin-1")


def _binary_batches(source: str | IO[bytes]) -> Iterator[pa.RecordBatch]:
    """Every column as bytes; an invalid row (wrong field count), a record longer than a block or an empty file
    raise NotExact."""
    try:
        reader = pacsv.open_csv(
            source,
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, block_size=ARROW_BLOCK_BYTES),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=True),  # bad rows raise
            convert_options=pacsv.ConvertOptions(column_types=BINARY_COLUMNS),
        )
        if not all(pa.types.is_binary(t) for t in reader.schema.types):
            raise NotExact("more columns than MAX_COLUMNS")
        yield from reader
    except (pa.ArrowException, ValueError) as exc:
        raise NotExact(str(exc)) from None


def _check_batch(batch: pa.RecordBatch, scan: ByteScan) -> None:
    if scan.size > MAX_FIELD_CHARS and any(
        (pc.max(pc.binary_length(column)).as_py() or 0) > MAX_FIELD_CHARS for column in batch.columns
    ):
        raise NotExact("a field over MAX_FIELD_CHARS")


def _check_end(scan: ByteScan, read: FastRead, last: pa.RecordBatch) -> None:
    """Every record was one physical line (a quoted field spanning lines makes fewer rows than lines), and no
    quote was left open at the end (pyarrow then keeps the last line end in the value)."""
    rows = read.records + int(read.layout.header)
    if rows != scan.lines - scan.blank_lines:
        raise NotExact("a quoted field spans lines")
    if scan.tail_quote and any(b"\n" in v or b"\r" in v for v in _row(last, last.num_rows - 1)):
        raise NotExact("a quote still open at the end of the file")
    if read.unknown_label_lines and scan.blank_lines:
        raise NotExact("an unknown label's line number depends on where the blank lines are")


def _row(batch: pa.RecordBatch, index: int) -> list[bytes]:
    return [column[index].as_py() for column in batch.columns]


def _decode(value: bytes, encoding: str) -> str:
    return value.decode("latin-1" if encoding == "latin-1" else "utf-8")


def _add_batch(
    columns: dict, skip: int, read: FastRead, kept: _Columns, labels: dict, label_code, keep_neutral: bool
) -> None:
    """One batch's rows through loading's rules: label, blank text, truncation; the kept ones go to `kept`."""
    if skip:
        columns = {key: column.slice(skip) for key, column in columns.items()}
    start = read.records  # records before this batch
    read.records = start + len(columns["label"])
    codes = _label_codes(columns["label"], read.encoding, labels, label_code)
    read.neutral += int((codes == NEUTRAL).sum())
    read.unknown_label_lines += (np.flatnonzero(codes == UNKNOWN) + start + 1 + int(read.layout.header)).tolist()
    text = _strings(columns["text"], read.encoding)
    blank = _blank(text)
    labelled = (codes >= 0) | (codes == NEUTRAL) if keep_neutral else codes >= 0
    read.empty += int((blank & labelled).sum())
    keep = labelled & ~blank
    mask = None if keep.all() else pa.array(keep)
    text = text if mask is None else text.filter(mask)
    long = pc.greater(pc.utf8_length(text), MAX_TEXT_CHARS)
    truncated = int(pc.sum(long).as_py() or 0)
    if truncated:
        text = pc.if_else(long, pc.utf8_slice_codeunits(text, 0, MAX_TEXT_CHARS), text)
    read.truncated += truncated
    kept.row_ids.append(np.flatnonzero(keep) + start)
    kept.labels.append(codes[keep])
    kept.strings.setdefault("text", []).append(text)
    for name in kept.names[1:]:
        strings = _strings(columns[name], read.encoding)
        kept.strings.setdefault(name, []).append(strings if mask is None else strings.filter(mask))


def _label_codes(column: pa.Array, encoding: str, known: dict[bytes, int], label_code) -> np.ndarray:
    """0, 1, NEUTRAL or UNKNOWN per row: the rule runs in Python once per distinct value of the file."""
    distinct = pc.unique(column)
    for value in distinct.to_pylist():
        if value not in known:
            known[value] = label_code(_decode(value, encoding))
    codes = np.array([known[v] for v in distinct.to_pylist()], dtype=np.int64)
    return codes[pc.index_in(column, value_set=distinct).to_numpy(zero_copy_only=False)]


def _blank(text: pa.Array) -> np.ndarray:
    """Texts that str.strip() empties. Only those starting with whitespace (or empty) are trimmed: a trimmed
    copy of every text would cost as much memory as the texts."""
    first = pc.utf8_slice_codeunits(text, 0, 1)
    candidates = pc.is_in(first, value_set=pa.array(["", *PY_WHITESPACE], type=pa.large_string()))
    blank = np.zeros(len(text), dtype=bool)
    where = np.flatnonzero(candidates.to_numpy(zero_copy_only=False))
    if len(where):
        trimmed = pc.utf8_trim(text.take(pa.array(where)), characters=PY_WHITESPACE)
        blank[where] = pc.equal(pc.utf8_length(trimmed), 0).to_numpy(zero_copy_only=False)
    return blank


def _strings(column: pa.Array, encoding: str) -> pa.LargeStringArray:
    """A column of bytes as large strings (what pandas keeps): UTF-8 as it is, latin-1 transcoded."""
    if encoding != "latin-1":
        return column.cast(pa.large_string())
    return _latin1_to_utf8(column)


def _latin1_to_utf8(chunk: pa.BinaryArray) -> pa.LargeStringArray:
    """Every byte >= 0x80 becomes two UTF-8 bytes: each offset moves by the count of such bytes before it."""
    offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32)[chunk.offset : chunk.offset + len(chunk) + 1]
    data = np.frombuffer(chunk.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    relative = offsets.astype(np.int64) - offsets[0]
    high = np.flatnonzero(data >= 0x80)
    if len(high):
        relative += np.searchsorted(high, relative)
        data = np.frombuffer(data.tobytes().decode("latin-1").encode("utf-8"), dtype=np.uint8)
    return pa.LargeStringArray.from_buffers(len(chunk), pa.py_buffer(relative), pa.py_buffer(data))
