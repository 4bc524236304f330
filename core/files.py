"""The one way files are replaced: readers see the old file or the new one, never a part of it.

Every writer of a file that someone may read at the same time (run.json and its kin, uploads, corrections,
evaluations, caches) goes through `write_atomic`: the content goes to a temporary sibling (a name unique to the
process and thread), is flushed to the disk, and is renamed over the target. Imports nothing of the project, so
any layer may use it.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any


def write_atomic(path: str | Path, content: bytes | str) -> None:
    """Replace `path` by `content` (text is written as UTF-8) in one rename; the temporary file never stays."""
    path = Path(path)
    data = content.encode("utf-8") if isinstance(content, str) else content
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json_atomic(path: str | Path, data: Any, indent: int | None = 2) -> None:
    """`write_atomic` of `data` as JSON (numpy scalars and arrays, and paths, written as plain values)."""
    write_atomic(path, json.dumps(data, indent=indent, default=json_default))


def json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
