"""Exports an analyst can open in a spreadsheet without running what a tweet wrote.

Tweets are written by anyone: a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula
to Excel, LibreOffice and Google Sheets (`=HYPERLINK(…)`, `+cmd|' /c calc'!A0`). Two safe ways out, beside the
plain CSV that keeps every text exactly (and is what the project's own readers take back):

- `xlsx_bytes` / `XlsxWriter`: an Excel workbook (openpyxl) whose text cells are text cells, never formulas. A
  worksheet cannot hold control characters (they become U+FFFD) nor more than 32,767 characters in a cell (the rest
  is cut): open the CSV for the exact texts.
- `neutralise` (OWASP's advice on CSV injection): a text cell that starts with one of those characters gets a `'`
  in front, which spreadsheets take as "this is text" and hide. For a CSV meant for a spreadsheet only: a program
  reading it back sees the quote.
"""

from __future__ import annotations

import io
import numbers
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_CELL_CHARS = 32_767  # Excel's limit for one cell
_NOT_IN_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def neutralise(value):
    """A text that a spreadsheet would read as a formula, prefixed with `'`; anything else unchanged."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value


def neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every text cell passed through `neutralise` (numbers stay numbers)."""
    out = frame.copy()
    for name in out.columns:
        if not pd.api.types.is_numeric_dtype(out[name]) and not pd.api.types.is_bool_dtype(out[name]):
            out[name] = out[name].map(neutralise)
    return out


def _cell_text(value: str) -> str:
    return _NOT_IN_XML.sub("\ufffd", value)[:MAX_CELL_CHARS]


class XlsxWriter:
    """A workbook written row by row (openpyxl's write-only mode: constant memory); strings are text cells."""

    def __init__(self, header: Sequence[str], sheet: str = "tweets"):
        from openpyxl import Workbook

        self.workbook = Workbook(write_only=True)
        self.sheet = self.workbook.create_sheet(sheet)
        self.append([str(name) for name in header])

    def append(self, values: Iterable) -> None:
        self.sheet.append([self._cell(value) for value in values])

    def _cell(self, value):
        from openpyxl.cell import WriteOnlyCell

        if value is None or value is pd.NA or (isinstance(value, float) and value != value):  # missing: empty
            return None
        if isinstance(value, numbers.Real):  # numpy's too
            return value
        cell = WriteOnlyCell(self.sheet, value=_cell_text(str(value)))
        cell.data_type = "s"  # openpyxl makes a string that starts with "=" a formula: this one stays text
        return cell

    def save(self, target: str | Path | io.BytesIO) -> None:
        self.workbook.save(target)


def xlsx_bytes(frame: pd.DataFrame, sheet: str = "tweets") -> bytes:
    """The frame as an .xlsx workbook (header row, then one row per frame row)."""
    writer = XlsxWriter(list(frame.columns), sheet)
    for row in frame.itertuples(index=False, name=None):
        writer.append(row)
    out = io.BytesIO()
    writer.save(out)
    return out.getvalue()
