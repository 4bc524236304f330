"""Streamlit's own front-end files, answered from memory (serve.py puts this in front of the server).

A first visit fetches about 60 files under /static/ (2.3 MB of JavaScript, CSS and fonts, with hashed names that
never change). Streamlit answers each through its whole Starlette stack: about 3 ms of the server's CPU per file,
some 200 ms per visitor, more than the page's own script. Here each file is read once per server, kept in memory,
gzipped once when that helps (text: about a third of the bytes on a room's Wi-Fi), and then answered in one message
with the headers Streamlit gives it (`public, immutable` for a year, an ETag). Anything else goes on to Streamlit
untouched: pages, the websocket, index.html, a path that is not a file of that folder.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

IMMUTABLE = b"public, immutable, max-age=31536000"  # what Streamlit sends for these hashed files
COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml")
MAX_FILE_BYTES = 8 * 2**20  # larger files (none today) are left to Streamlit


@dataclass(frozen=True)
class CachedFile:
    body: bytes
    gzipped: bytes | None  # None when gzip would not help (fonts, images)
    content_type: bytes
    etag: bytes


class StaticFromMemory:
    """ASGI middleware: GET and HEAD under `{base}/static/` from `root` (Streamlit's static folder), from memory."""

    def __init__(self, app, root: str | Path | None = None, base_url: str | None = None):
        """`root` and `base_url` default to Streamlit's static folder and its `server.baseUrlPath`."""
        from streamlit import config, file_util

        self.app = app
        self.folder = (Path(root or file_util.get_static_dir()) / "static").resolve()
        base = config.get_option("server.baseUrlPath") if base_url is None else base_url
        self.prefix = "/" + "/".join(part for part in ((base or "").strip("/"), "static") if part) + "/"
        self.files: dict[str, CachedFile] = {}  # only files found: a miss is never kept (any path may be asked)

    async def __call__(self, scope, receive, send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD") or not path.startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        found = self.files.get(path)
        if found is None and (found := await asyncio.to_thread(self.read, path[len(self.prefix) :])) is not None:
            self.files[path] = found
        if found is None:
            await self.app(scope, receive, send)
            return
        await self.answer(found, dict(scope.get("headers") or []), scope["method"] == "HEAD", send)

    def read(self, relative: str) -> CachedFile | None:
        """The file under the folder (never outside it), or None: then Streamlit answers."""
        try:
            target = (self.folder / relative).resolve()
            if not target.is_relative_to(self.folder) or not target.is_file() or target.suffix == ".html":
                return None
            body = target.read_bytes()
        except (OSError, ValueError):  # a name the file system refuses (a NUL byte, too long): Streamlit answers
            return None
        if len(body) > MAX_FILE_BYTES:
            return None
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        packed = gzip.compress(body, 6, mtime=0) if content_type.startswith(COMPRESSIBLE) else None
        return CachedFile(
            body,
            packed if packed is not None and len(packed) < len(body) * 0.9 else None,
            content_type.encode(),
            b'"' + hashlib.md5(body, usedforsecurity=False).hexdigest().encode() + b'"',
        )

    async def answer(self, found: CachedFile, headers: dict, head_only: bool, send) -> None:
        common = [(b"cache-control", IMMUTABLE), (b"etag", found.etag), (b"vary", b"Accept-Encoding")]
        if headers.get(b"if-none-match") == found.etag:
            await send({"type": "http.response.start", "status": 304, "headers": common})
            await send({"type": "http.response.body", "body": b""})
            return
        zipped = found.gzipped is not None and b"gzip" in headers.get(b"accept-encoding", b"")
        body = found.gzipped if zipped else found.body
        fields = [*common, (b"content-type", found.content_type), (b"content-length", str(len(body)).encode())]
        if zipped:
            fields.append((b"content-encoding", b"gzip"))
        await send({"type": "http.response.start", "status": 200, "headers": fields})
        await send({"type": "http.response.body", "body": b"" if head_only else body})
