"""The sources the watcher follows on disk: a folder where CSV / JSON-lines files land, and a file that grows.

A landed file is read once it has not changed for `settle_s` seconds (writers should write elsewhere and rename
in: a file is taken as it is then), and remembered by inode, size and mtime; its records are keyed by file name,
line and content, so a file read again adds nothing. A growing file is read from the byte offset where the last
read stopped (kept in the store, committed with the tweets read), one complete line at a time; truncated or
replaced (another inode, a smaller size), it is read again from the start under a new generation of keys.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from core.data.csv_reader import CsvFormatError
from core.monitor.records import (
    JSON_SUFFIXES,
    MALFORMED,
    Fields,
    csv_rows,
    finish,
    json_line_rows,
    malformed_row,
    safe_name,
)
from core.monitor.store import Offset, Store

log = logging.getLogger(__name__)

FOLDER_SUFFIXES = (".csv", ".txt", *JSON_SUFFIXES)
UNFINISHED = (".part", ".tmp", ".partial", ".crdownload")
MAX_TAIL_BYTES = 8 << 20  # read per poll
OPEN_QUOTE = "a quote opened here never closes"


def _with_last(items: Iterable) -> Iterator[tuple[object, bool]]:
    """(item, is_last) pairs."""
    it = iter(items)
    try:
        previous = next(it)
    except StopIteration:
        return
    for item in it:
        yield previous, False
        previous = item
    yield previous, True


class FolderSource:
    kind = "folder"

    def __init__(self, folder: Path, store: Store, fields: Fields, settle_s: float = 1.0):
        self.folder, self.store, self.fields, self.settle_s = Path(folder), store, fields, settle_s

    def landed(self) -> list[Path]:
        """Files ready to read: a known suffix, not hidden, not being written."""
        try:
            entries = sorted(self.folder.iterdir())
        except OSError as exc:
            log.warning("cannot list %s: %s", self.folder, exc.strerror or type(exc).__name__)
            return []
        return [
            p
            for p in entries
            if p.suffix.lower() in FOLDER_SUFFIXES
            and not p.name.startswith(".")
            and p.is_file()
            and not p.name.lower().endswith(UNFINISHED)
        ]

    def poll(self) -> int:
        added = 0
        for path in self.landed():
            try:
                stat = path.stat()
                if time.time() - stat.st_mtime < self.settle_s or self._seen(path, stat):
                    continue
                added += self.read(path, stat)
            except OSError as exc:  # removed or unreadable meanwhile: tried again next poll
                log.warning("cannot read %s: %s", path.name, exc.strerror or type(exc).__name__)
        return added

    def _seen(self, path: Path, stat: os.stat_result) -> bool:
        done = self.store.offset(safe_name(str(path.resolve())))
        return done is not None and (done.inode, done.size, done.mtime_ns) == (
            stat.st_ino,
            stat.st_size,
            stat.st_mtime_ns,
        )

    def read(self, path: Path, stat: os.stat_result) -> int:
        """Store every record of a landed file; the file is marked read in the last batch's transaction. A file
        that cannot be read through (not a CSV, or a reading error) ends as one malformed record: the folder goes
        on. A store or disk error (OSError, SQLAlchemyError) leaves the file to the next poll."""
        done = Offset(safe_name(str(path.resolve())), "file", stat.st_ino, stat.st_size, stat.st_mtime_ns)
        done.offset, name = stat.st_size, safe_name(path.name)
        prefix = f"file:{name}"
        if path.suffix.lower() in JSON_SUFFIXES:
            batches: Iterable[list[dict]] = [json_line_rows(path.read_bytes(), self.kind, prefix, self.fields)]
        else:
            batches = csv_rows(str(path), name, self.kind, prefix, self.fields)
        added = 0
        try:
            for batch, last in _with_last(batches):
                added += self.store.add_tweets(finish(batch), done if last else None)[0]
        except (OSError, SQLAlchemyError):
            raise
        except Exception as exc:  # noqa: BLE001 - not a CSV (an Excel workbook), or a bug: one record, kept with why
            why = str(exc) if isinstance(exc, CsvFormatError) else f"the file could not be read ({type(exc).__name__})"
            row = malformed_row(self.kind, f"{prefix}:{stat.st_size}:{MALFORMED}", None, why)
            added += self.store.add_tweets(finish([row]), done)[0]
        else:
            if not added and self.store.offset(done.path) != done:  # an empty file
                self.store.save_offset(done)
        log.info("%s: %d new records", name, added)
        return added


class TailSource:
    """A file that grows (a log of tweets, CSV with a header line or JSON lines), read by offset."""

    kind = "file"

    def __init__(self, path: Path, store: Store, fields: Fields, max_bytes: int = MAX_TAIL_BYTES):
        self.path, self.store, self.fields, self.max_bytes = Path(path), store, fields, max_bytes
        self.key, self.name = safe_name(str(self.path.resolve())), safe_name(self.path.name)
        self.json = self.path.suffix.lower() in JSON_SUFFIXES
        self._held: tuple[int, int] | None = None  # (offset, size) when an open quote at the end was held back

    def poll(self) -> int:
        try:
            stat = self.path.stat()
            offset = self._offset(stat)
            if stat.st_size <= offset.offset:
                return 0
            with open(self.path, "rb") as fh:
                fh.seek(offset.offset)
                data = fh.read(min(self.max_bytes, stat.st_size - offset.offset))
        except FileNotFoundError:
            return 0  # rotated away: the next file under this name is read from its start
        end = data.rfind(b"\n") + 1  # a line is read once its line end is written
        if not end:
            return 0
        try:
            rows, consumed = self._rows(data[:end], offset, stat.st_size)
        except Exception as exc:  # noqa: BLE001 - a bug on some lines must not stall the feed: one malformed record
            line = offset.line + 1
            why = f"lines from here could not be read ({type(exc).__name__})"
            rows, consumed = [malformed_row(self.kind, f"{self._prefix(offset)}:{line}:{MALFORMED}", line, why)], end
        offset.offset += consumed
        offset.line += len(data[:consumed].splitlines())
        offset.size, offset.mtime_ns = stat.st_size, stat.st_mtime_ns
        return self.store.add_tweets(finish(rows), offset)[0]

    def _offset(self, stat: os.stat_result) -> Offset:
        offset = self.store.offset(self.key) or Offset(self.key, "tail", inode=stat.st_ino)
        if offset.inode != stat.st_ino or stat.st_size < offset.offset:  # replaced or truncated
            log.info("%s was truncated or replaced: reading it from the start", self.name)
            offset = Offset(self.key, "tail", inode=stat.st_ino, generation=offset.generation + 1)
        return offset

    def _prefix(self, offset: Offset) -> str:
        return f"tail:{self.name}:{offset.generation}"

    def _rows(self, chunk: bytes, offset: Offset, size: int) -> tuple[list[dict], int]:
        """The rows of the complete lines read, and how many of their bytes they consumed."""
        prefix = self._prefix(offset)
        if self.json:
            return json_line_rows(chunk, self.kind, prefix, self.fields, line_base=offset.line), len(chunk)
        if offset.header is None:  # the first read: line 1 is the header
            offset.header = chunk[: chunk.find(b"\n") + 1].decode("latin-1")
            data, line_base = chunk, 0
        else:
            data, line_base = offset.header.encode("latin-1") + chunk, offset.line - 1
        try:
            rows = [
                row for batch in csv_rows(data, self.name, self.kind, prefix, self.fields, line_base) for row in batch
            ]
        except CsvFormatError as exc:
            return [
                malformed_row(self.kind, f"{prefix}:{offset.line + 1}:{MALFORMED}", offset.line + 1, str(exc))
            ], len(chunk)
        return self._hold_open_quote(rows, chunk, offset, size)

    def _hold_open_quote(self, rows: list[dict], chunk: bytes, offset: Offset, size: int) -> tuple[list[dict], int]:
        """A quoted field still open at the end of what is written may close in the next write: keep its record
        for the next read, unless the file has not grown since it was held back (then it is malformed)."""
        open_at = next((r["line"] for r in rows if r.get("reason", "").endswith(OPEN_QUOTE)), None)
        if open_at is None or self._held == (offset.offset, size):
            self._held = None
            return rows, len(chunk)
        self._held = (offset.offset, size)
        starts = [0]
        for line in chunk.splitlines(keepends=True):
            starts.append(starts[-1] + len(line))
        return [r for r in rows if (r.get("line") or 0) < open_at], starts[open_at - offset.line - 1]
