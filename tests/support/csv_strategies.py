"""Hypothesis strategies for CSV files with damage, and where their records start."""

from __future__ import annotations

import csv
import io

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from core.data.csv_reader import CsvTable, open_csv

HEADER = ["id", "text", "user"]
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "latin-1"]
TRICKY = list('ab ,"\n\r\t') + ["\r\n", '""', ",,", "é", "€", "😀"]
LATIN1_ONLY = "éçü"  # high latin-1 bytes that never form valid UTF-8: the file cannot be mistaken for UTF-8
PROPERTY = settings(  # as many examples as the profile loaded by tests/conftest.py says
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# ---------------------------------------------------------------- generated files


def texts(encoding: str, stray_safe: bool = False) -> st.SearchStrategy[str]:
    """Tweet-like texts for `encoding`: tricky characters, empty ones, and a few longer than the csv module's
    default field limit (131,072 characters). `stray_safe` leaves out the texts a stray quote can pair with
    (see core.data.csv_reader's known limit): those starting with a line break, a comma or a quote."""
    pieces = TRICKY + (list(LATIN1_ONLY) if encoding == "latin-1" else ["é", "ü", "日本", "😀"])
    if encoding == "latin-1":
        pieces = [p for p in pieces if all(ord(c) < 256 for c in p)]
    short = st.lists(st.sampled_from(pieces), max_size=12).map("".join)
    huge = st.builds(lambda c, n: c * n, st.sampled_from(["a", "b ", ",", '"', "é"]), st.integers(131_073, 160_000))
    strategy = st.one_of(short, short, short, short, short, short, huge)
    if stray_safe:
        strategy = strategy.map(lambda t: "x" + t if t[:1] in {"\n", "\r", ",", '"'} else t)
    return strategy


def _row(fields: list[str], quoting: int, terminator: str) -> str:
    """One record as RFC 4180 writes it (csv.writer leaves a lone CR unquoted when the terminator is LF)."""

    def quoted(value: str) -> str:
        if quoting == csv.QUOTE_ALL or any(c in value for c in ',"\r\n'):
            return '"' + value.replace('"', '""') + '"'
        return value

    return ",".join(quoted(f) for f in fields) + terminator


def _damage(row: str, record: list[str], kind: str | None, terminator: str) -> str:
    if kind == "extra field":
        return row[: -len(terminator)] + ",extra" + terminator
    if kind == "NUL byte":
        return record[0] + "\0" + row[len(record[0]) :] if not row.startswith('"') else '"\0' + row[1:]
    if kind == "stray quote":  # a naive exporter: the text opens a quote it never closes
        return f'{record[0]},"{"great flight"} {record[0]},user{terminator}'
    return row


def physical_lines(text: str) -> int:
    return len(io.StringIO(text, newline="").readlines())


def read_all(data: bytes) -> tuple[CsvTable, list[tuple[int, list[str] | None, str | None]]]:
    with open_csv(data) as table:
        return table, list(table.records())


@st.composite
def csv_files(draw, damage: bool = False):
    """(bytes, encoding, records, damaged) where damaged maps a record index to its damage."""
    encoding = draw(st.sampled_from(ENCODINGS))
    n = draw(st.integers(1, 12))
    records = [
        [str(i), draw(texts(encoding, stray_safe=damage)), draw(st.sampled_from(["u", "", "a,b", '"q"']))]
        for i in range(n)
    ]
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    terminator = draw(st.sampled_from(["\n", "\r\n"]))
    damaged = {}
    if damage:
        kinds = st.sampled_from(["extra field", "NUL byte", "stray quote"])
        damaged = draw(st.dictionaries(st.integers(0, n - 1), kinds, max_size=max(1, n // 3)))
    parts = [_row(HEADER, quoting, terminator)]
    for i, record in enumerate(records):
        parts.append(_damage(_row(record, quoting, terminator), record, damaged.get(i), terminator))
    return "".join(parts).encode(encoding), encoding, records, damaged, parts


def start_lines(parts: list[str]) -> list[int]:
    """The line each part starts on (part 0 is the header)."""
    starts, line = [], 1
    for part in parts:
        starts.append(line)
        line += physical_lines(part)
    return starts
