"""One streaming pass over a source's bytes: its sha256 and what the fast reader must know about its lines.

The pass is cached on disk, keyed by the file's path, device, inode, size, mtime_ns and ctime_ns (like git's index), so
reloading a persisted split does not hash 250 MB again. An entry is written only for a file last modified more
than RACY_SECONDS ago: a file rewritten within the same mtime tick could otherwise keep a stale entry.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

import numpy as np
import pyarrow as pa

from core import config
from core.files import write_atomic

BLOCK_BYTES = 1 << 22
RACY_SECONDS = 2.0
SCAN_VERSION = 3  # bump when ByteScan changes


@dataclass(frozen=True)
class ByteScan:
    """What one pass over the bytes says (the fast reader's preconditions, core.data.arrow_reader)."""

    sha256: str
    size: int
    lines: int  # physical lines: LF count, plus an unterminated last line
    blank_lines: int  # lines with nothing before their LF or CRLF
    utf8: bool  # every byte sequence is valid UTF-8 (the one reader's test for UTF-8 against latin-1)
    lone_cr: bool  # a CR not followed by LF (old Mac line ends): left to the pure-Python reader
    nul: bool  # a NUL byte anywhere
    unterminated: bool  # the last line has no line end
    tail_quote: bool  # the last line holds a quote (then only its own record can hide an open quote)


def scan_stream(stream: IO[bytes]) -> ByteScan:
    """Hash and count a binary stream from its current position, BLOCK_BYTES at a time."""
    digest = hashlib.sha256()
    counts = _LineCounts()
    utf8 = _Utf8Check()
    size = 0
    nul = quote_since_lf = False
    last = b""
    while block := stream.read(BLOCK_BYTES):
        digest.update(block)
        size += len(block)
        utf8.feed(block)
        counts.feed(block)
        nul = nul or b"\0" in block
        quote_since_lf = b'"' in block[block.rfind(b"\n") + 1 :] or (b"\n" not in block and quote_since_lf)
        last = block
    unterminated = size > 0 and last[-1:] != b"\n"
    return ByteScan(
        sha256=digest.hexdigest(),
        size=size,
        lines=counts.lf + unterminated,
        blank_lines=counts.blank,
        utf8=utf8.finish(),
        lone_cr=counts.cr != counts.crlf,
        nul=nul,
        unterminated=unterminated,
        tail_quote=quote_since_lf if unterminated else _last_line_quote(last, size),
    )


class _LineCounts:
    """LFs, CRs, CRLFs and blank lines (an LF or CRLF right after the previous line end), block by block."""

    def __init__(self):
        self.lf = self.cr = self.crlf = self.blank = 0
        self.tail = b"\n"  # the previous block's last two bytes; a virtual line end before the file

    def feed(self, block: bytes) -> None:
        buf = np.frombuffer(self.tail + block, dtype=np.uint8)
        skip = len(self.tail)
        ends = np.flatnonzero(buf[skip:] == 10) + skip
        before = buf[ends - 1]
        blank = before == 10
        crlf = np.flatnonzero(before == 13)
        blank[crlf] = buf[ends[crlf] - 2] == 10  # a CR before an LF is at position >= 1
        self.lf += len(ends)
        self.crlf += len(crlf)
        self.cr += int(np.count_nonzero(buf[skip:] == 13))
        self.blank += int(blank.sum())
        self.tail = (self.tail + block)[-2:]


class _Utf8Check:
    """Whether the blocks are valid UTF-8 (pyarrow's validation; a character cut by a block end waits)."""

    def __init__(self):
        self.valid = True
        self.pending = b""

    def feed(self, block: bytes) -> None:
        if not self.valid:
            return
        data = self.pending + block
        cut = len(data)
        while cut > 0 and len(data) - cut < 4 and 0x80 <= data[cut - 1] < 0xC0:
            cut -= 1  # continuation bytes: back to their lead byte
        if cut > 0 and data[cut - 1] >= 0xC0:
            cut -= 1  # a lead byte whose character may continue in the next block
        self.pending = data[cut:]
        self.valid = _is_utf8(data[:cut])

    def finish(self) -> bool:
        return self.valid and _is_utf8(self.pending)


def _is_utf8(data: bytes) -> bool:
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    try:
        pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(data)]).validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _last_line_quote(block: bytes, size: int) -> bool:
    """Whether the line that the final LF ends holds a quote (True when it starts in an earlier block)."""
    body = block[:-1]
    start = body.rfind(b"\n")
    return b'"' in body[start + 1 :] or (start < 0 and size > len(block))


def _cache_file(key: dict) -> Path:
    name = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
    return config.data_dir() / "fingerprints" / f"{name}.json"


def file_key(path: Path, member: str | None = None) -> dict:
    """What identifies one version of a file (or of a zip member, through its archive's version)."""
    stat = path.stat()
    return {
        "path": str(path.resolve()),
        "member": member,
        "dev": stat.st_dev,
        "ino": stat.st_ino,
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "ctime_ns": stat.st_ctime_ns,  # a rewrite changes it even when mtime is set back (os.utime, rsync -t)
        "version": SCAN_VERSION,
    }


def cached_scan(key: dict) -> ByteScan | None:
    """The cached scan of this file version, or None."""
    try:
        entry = json.loads(_cache_file(key).read_text())
        return ByteScan(**entry["scan"]) if entry.get("key") == key else None
    except (OSError, ValueError, TypeError, KeyError):
        return None


def remember_scan(key: dict, scan: ByteScan) -> None:
    """Cache a scan, unless the file changed too recently to trust its mtime (best effort: a read-only folder
    only costs the next reader a hash)."""
    if time.time() - key["mtime_ns"] / 1e9 < RACY_SECONDS:
        return
    target = _cache_file(key)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, json.dumps({"key": key, "scan": asdict(scan)}))
    except OSError:
        pass
