"""The one CSV reader behind training data (core.data.loading), batch scoring (core.inference.batch) and the monitor (core.inference.stream_input).

Every record is accounted for: it comes out as `(line, fields)`, or it is malformed and reported as
`line N: why`, never with its content (a file we cannot read may hold anything). What affects a record affects
only that record:

- a record with more or fewer fields than the header is malformed; the others keep their columns;
- a NUL byte makes its record malformed;
- a quoted field may span lines (tweet exports keep line breaks inside quotes), but only if it closes
  cleanly: within MAX_RECORD_LINES physical lines, with the closing quote followed by a delimiter or the end of
  the line (`strict`), and on a line whose quotes are odd in number (a stray quote that pairs with a quote on a
  well-formed later line always lands on a line with an even count). Otherwise the record is malformed at the
  line where it starts and reading resumes on the next physical line, so a stray quote never swallows the rest
  of the file;
- a field longer than MAX_FIELD_CHARS makes its record malformed; a text longer than MAX_TEXT_CHARS is kept,
  and `prepare_texts` cuts it for the model and says so.

Known limit: a stray quote immediately followed, on a later line, by a quoted field that starts with a line
break or a comma can still pair with it into one record of the right width; that record keeps its start line.

Encodings: UTF-8 with or without BOM, UTF-16 with BOM (or without, told by its NUL bytes), else latin-1 (the
official Sentiment140 files; it never fails). Excel workbooks (.xlsx zip, old .xls OLE) and other zip archives
are refused with a sentence that says to save the sheet as CSV.

This module imports only the standard library, numpy and pandas: it is the bottom layer.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

TEXT_COLUMNS = ("text", "tweet", "full_text", "content", "message", "body", "sentence")
LABEL_COLUMNS = ("target", "label", "sentiment", "polarity", "class")
LABEL_SUFFIXES = ("_sentiment", "_label")  # exports name the label after their subject: airline_sentiment, true_label
TIME_COLUMNS = ("timestamp", "time", "date", "datetime", "created_at", "created", "posted_at")
SENTIMENT140_COLUMNS = ["target", "id", "date", "flag", "user", "text"]
SENTIMENT140_TARGETS = {"0", "2", "4"}

MAX_RECORD_LINES = 100  # a quoted field may span this many physical lines; a tweet has a few at most
MAX_FIELD_CHARS = 10_000_000  # one field; a 1,000,000-character tweet is read (and cut by prepare_texts)
MAX_TEXT_CHARS = 1_000  # what a model sees of a text; the same cut as the live page (core.inference.live.MAX_CHARS)
MAX_EXAMPLES = 10  # malformed records listed by line in a report (all are counted)
EMPTY_TEXT = "empty text"
SNIFF_BYTES = 1 << 16
BLOCK_BYTES = 1 << 22

_XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE2 compound file: .xls (and old .doc)
_ZIP_MAGIC = b"PK\x03\x04"


class CsvFormatError(ValueError):
    """A file this reader cannot use at all; the message says what to do and never quotes the file."""


# ---------------------------------------------------------------- encodings


def detect_encoding(source: str | Path | bytes | IO[bytes], name: str | None = None) -> str:
    """The encoding to read `source` with (a path, bytes, or a seekable binary stream, left where it was).

    Raises CsvFormatError for an Excel workbook or a zip archive."""
    name = name or _display_name(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _encoding_of_blocks(bytes(source[:SNIFF_BYTES]), [bytes(source)], name)
    if isinstance(source, (str, Path)):
        with open(source, "rb") as fh:
            return _encoding_of_stream(fh, name)
    start = source.tell()
    try:
        return _encoding_of_stream(source, name)
    finally:
        source.seek(start)


def _encoding_of_stream(fh: IO[bytes], name: str) -> str:
    head = fh.read(SNIFF_BYTES)
    fh.seek(-len(head), io.SEEK_CUR)
    return _encoding_of_blocks(head, iter(lambda: fh.read(BLOCK_BYTES), b""), name)


def _encoding_of_blocks(head: bytes, blocks: Iterable[bytes], name: str) -> str:
    encoding = encoding_from_head(head, name)
    if encoding:
        return encoding
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for block in blocks:
            decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "latin-1"
    return "utf-8"


def encoding_from_head(head: bytes, name: str) -> str | None:
    """The encoding the first bytes settle (a BOM, UTF-16's NULs), None when only a full scan can tell."""
    _refuse_binary_formats(head, name)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return _utf16_without_bom(head)


def _refuse_binary_formats(head: bytes, name: str) -> None:
    save_as = "open it in Excel (or LibreOffice) and save the sheet as CSV UTF-8, then use that file"
    if head.startswith(_XLS_MAGIC):
        raise CsvFormatError(f"{name} is an Excel workbook (.xls), not a CSV: {save_as}")
    if head.startswith(_ZIP_MAGIC):
        if b"xl/" in head or b"[Content_Types].xml" in head:
            raise CsvFormatError(f"{name} is an Excel workbook (.xlsx), not a CSV: {save_as}")
        raise CsvFormatError(f"{name} is a zip archive, not a CSV: extract the CSV file from it first")


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 text without a BOM has a NUL in nearly every other byte (ASCII characters)."""
    sample = head[:4096]
    if len(sample) < 8:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


def _display_name(source) -> str:
    return str(source) if isinstance(source, (str, Path)) else "the file"


# ---------------------------------------------------------------- records


class _SpanTooLong(Exception):
    """Raised into the csv module when a record has used up MAX_RECORD_LINES lines."""


class _Lines:
    """Physical lines handed to csv.reader, numbered; keeps the lines of the record being read so that a record
    found malformed can be replayed from its second line."""

    __slots__ = ("_replay", "_source", "hit_eof", "line_no", "nul", "span")

    def __init__(self, lines: Iterable[str], first_line: int):
        self._source = iter(lines)
        self._replay: deque[str] = deque()
        self.line_no = first_line - 1
        self.span: list[str] = []  # the lines of the current record
        self.nul = False  # a NUL byte in the current record
        self.hit_eof = False  # the current record ran into the end of the input

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if len(self.span) >= MAX_RECORD_LINES:
            raise _SpanTooLong
        if self._replay:
            line = self._replay.popleft()
        else:
            try:
                line = next(self._source)
            except StopIteration:
                self.hit_eof = True
                raise
        self.line_no += 1
        self.span.append(line)
        if "\0" in line:
            self.nul = True
        return line

    def start_line(self) -> int:
        return self.line_no - len(self.span) + 1

    def next_record(self) -> None:
        self.span.clear()
        self.nul = self.hit_eof = False

    def resume_after_start(self) -> None:
        """Forget the current record and read again from its second line."""
        rest = self.span[1:]
        self.line_no -= len(rest)
        self._replay.extendleft(reversed(rest))
        self.next_record()


def iter_records(lines: Iterable[str], first_line: int = 1) -> Iterator[tuple[int, list[str] | None, str | None]]:
    """(line, fields, None) for each record and (line, None, why) for each malformed one, in file order.

    `lines` are physical lines with their line ends (a file opened with newline=""); `line` is where the
    record starts. A blank line is a record with no fields."""
    _raise_field_limit()
    source = _Lines(lines, first_line)
    reader = csv.reader(source)
    span = source.span
    while True:
        try:
            for fields in reader:  # the fast path: one line, one record
                if len(span) == 1 and not (source.nul or source.hit_eof):
                    span.clear()
                    yield source.line_no, fields, None
                    continue
                quote_problem = _quote_problem(span, source.hit_eof, fields)
                problem = quote_problem or ("NUL byte" if source.nul else None)
                yield source.start_line(), (None if problem else fields), problem
                if quote_problem:  # the quote may have swallowed the next records: read them again
                    source.resume_after_start()
                else:
                    source.next_record()
            return
        except _SpanTooLong:
            yield source.start_line(), None, f"a quoted field is still open after {MAX_RECORD_LINES} lines"
        except csv.Error as exc:
            yield source.start_line(), None, _csv_error_reason(exc)
        source.resume_after_start()


def iter_plain_lines(lines: Iterable[str], first_line: int = 1) -> Iterator[tuple[int, list[str] | None, str | None]]:
    """Like iter_records for a file that holds one text per line, with no CSV quoting."""
    for line_no, line in enumerate(lines, first_line):
        if "\0" in line:
            yield line_no, None, "NUL byte"
        else:
            text = line.rstrip("\r\n")
            yield line_no, ([text] if text else []), None


def _quote_problem(span: list[str], hit_eof: bool, fields: list[str]) -> str | None:
    """Why a record that spans lines or ran into the end of the input does not close cleanly, or None."""
    if hit_eof:  # the csv module only asks for another line from inside a quoted field
        return "a quote opened here never closes"
    if len(span) > 1 and not _closes_cleanly(span, fields):
        return f"a quote opened here is not closed properly (the record would span {len(span)} lines)"
    return None


def _closes_cleanly(span: list[str], fields: list[str]) -> bool:
    if span[-1].count('"') % 2 == 0:
        return False
    try:
        return list(csv.reader(span, strict=True)) == [fields]
    except csv.Error:
        return False


def _csv_error_reason(exc: csv.Error) -> str:
    if "field limit" in str(exc):
        return f"a field is longer than {MAX_FIELD_CHARS:,} characters"
    return "not readable as CSV"


def _raise_field_limit() -> None:
    if csv.field_size_limit() < MAX_FIELD_CHARS:
        csv.field_size_limit(MAX_FIELD_CHARS)


# ---------------------------------------------------------------- layout


@dataclass
class Layout:
    """What line 1 says about a file: its kind, its column names, and where the text, label and time are."""

    kind: str  # "headered", "sentiment140", "lines" (one text per line) or "unknown"
    columns: list[str]
    header: bool  # line 1 holds column names (then it is not a record)
    text_index: int | None = None
    label_index: int | None = None
    time_index: int | None = None

    @property
    def width(self) -> int:
        return len(self.columns)

    @property
    def text_column(self) -> str | None:
        return None if self.text_index is None else self.columns[self.text_index]


def detect_layout(first: Sequence[str]) -> Layout:
    """The layout from the fields of line 1."""
    lowered = [f.strip().lower() for f in first]
    label_index = _find_label(lowered)
    if len(first) == 6 and lowered[0] in SENTIMENT140_TARGETS and label_index is None:
        return Layout(
            "sentiment140", list(SENTIMENT140_COLUMNS), header=False, text_index=5, label_index=0, time_index=2
        )
    names = unique_names([f.strip() for f in first])
    text_index = _find(lowered, TEXT_COLUMNS)
    time_index = _find(lowered, TIME_COLUMNS)
    if text_index is not None:
        return Layout("headered", names, True, text_index, label_index, time_index)
    if len(first) == 1:
        return Layout("lines", ["text"], header=False, text_index=0)
    return Layout("unknown", names, True, None, label_index, time_index)


def _find(lowered: list[str], wanted: Sequence[str]) -> int | None:
    return next((lowered.index(name) for name in wanted if name in lowered), None)


def _find_label(lowered: list[str]) -> int | None:
    """A label column by name, else the first whose name ends like one (the airline export's `airline_sentiment`)."""
    found = _find(lowered, LABEL_COLUMNS)
    if found is None:
        found = next((i for i, name in enumerate(lowered) if name.endswith(LABEL_SUFFIXES)), None)
    return found


def unique_names(names: list[str]) -> list[str]:
    """Column names made unique (`text`, `text.1`) and never blank, so one name selects one column."""
    seen: dict[str, int] = {}
    out = []
    for i, name in enumerate(names):
        name = name or f"column_{i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        seen.setdefault(name, 0)
        out.append(name)
    return out


def describe_layout(layout: Layout, encoding: str, line: int = 1) -> str:
    """A file's shape in words, for error messages: its column count, encoding and line, never its content."""
    columns = f"{layout.width} column{'s' if layout.width != 1 else ''}"
    return f"line {line} has {columns} ({encoding})"


def accepted_names(names: Sequence[str]) -> str:
    return ", ".join(names)


# ---------------------------------------------------------------- tables


@dataclass
class ReadReport:
    """What reading found. records = rows + malformed; blank lines are not records."""

    encoding: str = ""
    records: int = 0
    rows: int = 0
    malformed: int = 0
    malformed_examples: list[str] = field(default_factory=list)  # "line N: why", the first MAX_EXAMPLES
    malformed_line_numbers: list[int] = field(default_factory=list)
    blank_lines: int = 0

    def add_malformed(self, line: int, why: str) -> None:
        self.malformed += 1
        if len(self.malformed_examples) < MAX_EXAMPLES:
            self.malformed_examples.append(f"line {line}: {why}")
            self.malformed_line_numbers.append(line)

    def reject(self, line: int, why: str) -> None:
        """A row handed out that its reader found unusable after all (a label it does not know): malformed."""
        self.rows -= 1
        self.add_malformed(line, why)

    def malformed_lines_text(self) -> str:
        """'lines 4, 9, 12, …' (the first ones), or '' when none."""
        if not self.malformed:
            return ""
        shown = ", ".join(str(n) for n in self.malformed_line_numbers)
        more = ", …" if self.malformed > len(self.malformed_line_numbers) else ""
        return f"line{'s' if self.malformed > 1 else ''} {shown}{more}"


class CsvTable:
    """A CSV read record by record: `layout` from line 1, then `records()`, `rows()` or `frames(n)`.

    `lines` are the physical lines (newline=""). With `plain_lines`, a file of one text per line is read
    without CSV quoting (pasted tweets)."""

    def __init__(self, lines: Iterable[str], name: str, encoding: str, plain_lines: bool = False):
        self.name = name
        self.report = ReadReport(encoding=encoding)
        self.header_line = 1
        self._first: tuple[int, list[str]] | None = None
        if plain_lines:
            self._records = iter_plain_lines(lines)
            self.layout = Layout("lines", ["text"], header=False, text_index=0)
        else:
            self._records = iter_records(lines)
            self.layout = self._read_layout()

    @property
    def encoding(self) -> str:
        return self.report.encoding

    def _read_layout(self) -> Layout:
        for line, fields, problem in self._records:
            if problem:
                raise CsvFormatError(
                    f"cannot tell the CSV layout of {self.name}: line {line} is not readable "
                    f"as CSV ({problem}; {self.encoding})"
                )
            if not fields:
                self.report.blank_lines += 1
                continue
            layout = detect_layout(fields)
            if layout.kind == "lines":
                self._first = (line, [fields[0]])
            elif not layout.header:
                self._first = (line, fields)
            self.header_line = line
            return layout
        raise CsvFormatError(f"{self.name} is empty")

    def records(self) -> Iterator[tuple[int, list[str] | None, str | None]]:
        """(line, fields, None) per record of the layout's width, (line, None, why) per malformed one, counted."""
        width, report = self.layout.width, self.report
        if self._first:
            report.records += 1
            report.rows += 1
            yield self._first[0], self._first[1], None
            self._first = None
        for line, fields, problem in self._records:
            if problem is None:
                if len(fields) == width:
                    report.records += 1
                    report.rows += 1
                    yield line, fields, None
                    continue
                if not fields:
                    if width != 1:
                        report.blank_lines += 1
                        continue
                    report.records += 1  # in a one-column file, a blank line is an empty text
                    report.rows += 1
                    yield line, [""], None
                    continue
                problem = f"{len(fields)} fields instead of {width}"
            report.records += 1
            report.add_malformed(line, problem)
            yield line, None, problem

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(line, fields) of the well-formed records; malformed ones are only counted in `report`."""
        return ((line, fields) for line, fields, problem in self.records() if problem is None)

    def frames(self, chunk_size: int) -> Iterator[pd.DataFrame]:
        """The well-formed records as DataFrames of strings, `chunk_size` rows each, indexed by `line`."""
        columns = self.layout.columns
        lines, rows = [], []
        for line, fields in self.rows():
            lines.append(line)
            rows.append(fields)
            if len(rows) >= chunk_size:
                yield _frame(rows, lines, columns)
                lines, rows = [], []
        if rows:
            yield _frame(rows, lines, columns)

    def column(self, wanted: str | None = None) -> str:
        """The name of the text column: `wanted` (any case) when given, else the layout's own."""
        if wanted is None:
            if self.layout.text_column is None:
                raise CsvFormatError(self.no_text_column())
            return self.layout.text_column
        lowered = [c.lower() for c in self.layout.columns]
        if wanted.strip().lower() not in lowered:
            raise CsvFormatError(self.no_text_column(wanted))
        return self.layout.columns[lowered.index(wanted.strip().lower())]

    def no_text_column(self, wanted: str | None = None) -> str:
        shape = describe_layout(self.layout, self.encoding, self.header_line)
        which = f"no column named {wanted!r}" if wanted else "no text column"
        return (
            f"{self.name}: {which}: {shape}. Name the text column one of {accepted_names(TEXT_COLUMNS)} "
            "(any case) in line 1, or give its name; the official 6-column Sentiment140 layout works too"
        )


def _frame(rows: list[list[str]], lines: list[int], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns, index=pd.Index(lines, name="line"), dtype=object)


@contextmanager
def open_csv(
    source: str | Path | bytes | IO[bytes], name: str | None = None, plain_lines: bool | None = None
) -> Iterator[CsvTable]:
    """A CsvTable over a path, bytes or a seekable binary stream (read from its current position).

    `plain_lines=None` decides from line 1: a file whose line 1 is one field and no known column name holds one
    text per line and is read without CSV quoting, like pasted tweets."""
    name = name or _display_name(source)
    encoding = detect_encoding(source, name)
    if isinstance(source, (str, Path)):
        binary: IO[bytes] = open(source, "rb")  # noqa: SIM115 (closed with the text wrapper below)
    elif isinstance(source, (bytes, bytearray, memoryview)):
        binary = io.BytesIO(source)
    else:
        binary = source
    start = binary.tell()
    text = io.TextIOWrapper(binary, encoding=encoding, errors="replace", newline="")
    try:
        table = CsvTable(text, name, encoding, plain_lines=bool(plain_lines))
        if plain_lines is None and table.layout.kind == "lines":
            text.detach()
            binary.seek(start)
            text = io.TextIOWrapper(binary, encoding=encoding, errors="replace", newline="")
            table = CsvTable(text, name, encoding, plain_lines=True)
        yield table
    finally:
        if binary is source:
            text.detach()  # the caller's stream stays open
        else:
            text.close()


# ---------------------------------------------------------------- texts


def prepare_texts(texts: Sequence | pd.Series) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The rules every scoring path applies to a text: (what the model sees, reason per text, scorable mask).

    None/NaN/blank -> not scored, reason "empty text"; longer than MAX_TEXT_CHARS (once stripped) -> the
    first MAX_TEXT_CHARS characters are scored and the reason says so; otherwise the stripped text, reason ''."""
    series = pd.Series(texts, dtype=object).map(lambda t: t if isinstance(t, str) else "")
    stripped = series.str.strip()
    lengths = stripped.str.len().to_numpy()
    usable = lengths > 0
    long = lengths > MAX_TEXT_CHARS
    reasons = np.where(usable, "", EMPTY_TEXT).astype(object)
    for i in np.flatnonzero(long):
        reasons[i] = truncation_reason(int(lengths[i]))
    model_texts = stripped.where(~long, stripped.str.slice(0, MAX_TEXT_CHARS))
    return model_texts.tolist(), reasons, usable


def truncation_reason(length: int) -> str:
    return f"text truncated: the first {MAX_TEXT_CHARS:,} of its {length:,} characters were scored"
