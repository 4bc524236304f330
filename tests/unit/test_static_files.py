"""views/components/static_files.py: Streamlit's front-end files from memory, gzipped once, with the headers
Streamlit gives them; everything else (another path, a file outside the folder, a miss, a POST) goes on."""

from __future__ import annotations

import asyncio
import gzip

import pytest

from views.components.static_files import IMMUTABLE, StaticFromMemory

SCRIPT = b"function hello() { return 'bonjour'; }\n" * 200


class Downstream:
    """The app behind the middleware (Streamlit): records what reached it."""

    def __init__(self):
        self.paths = []

    async def __call__(self, scope, receive, send):
        self.paths.append(scope["path"])
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b"downstream"})


@pytest.fixture
def served(tmp_path):
    folder = tmp_path / "static" / "static"
    (folder / "js").mkdir(parents=True)
    (folder / "js" / "index.abc123.js").write_bytes(SCRIPT)
    (folder / "font.woff2").write_bytes(bytes(range(256)) * 4)
    (folder / "page.html").write_text("<html></html>")
    (tmp_path / "static" / "secret.txt").write_text("not under static/static")
    downstream = Downstream()
    return StaticFromMemory(downstream, root=tmp_path / "static", base_url=""), downstream


def call(app, path: str, method: str = "GET", **headers: str) -> tuple[int, dict, bytes]:
    sent = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b""}

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()],
    }
    asyncio.run(app(scope, receive, send))
    start, body = sent[0], b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body


def test_a_bundle_file_is_answered_from_memory_gzipped_once_with_streamlits_headers(served):
    app, downstream = served
    status, headers, body = call(app, "/static/js/index.abc123.js", accept_encoding="gzip, deflate, br")
    assert status == 200 and downstream.paths == []
    assert headers["content-encoding"] == "gzip" and gzip.decompress(body) == SCRIPT
    assert headers["cache-control"] == IMMUTABLE.decode() and headers["vary"] == "Accept-Encoding"
    assert "javascript" in headers["content-type"] and int(headers["content-length"]) == len(body) < len(SCRIPT)
    status, plain_headers, plain = call(app, "/static/js/index.abc123.js")  # a client without gzip
    assert status == 200 and plain == SCRIPT and "content-encoding" not in plain_headers
    status, _, empty = call(app, "/static/js/index.abc123.js", if_none_match=headers["etag"])
    assert status == 304 and empty == b""
    status, _, nothing = call(app, "/static/js/index.abc123.js", method="HEAD")
    assert status == 200 and nothing == b""
    assert len(app.files) == 1  # read once


def test_fonts_are_not_gzipped_and_everything_else_goes_on_to_streamlit(served):
    app, downstream = served
    status, headers, _ = call(app, "/static/font.woff2", accept_encoding="gzip")
    assert status == 200 and "content-encoding" not in headers
    passed = ["/static/../secret.txt", "/static/missing.js", "/static/page.html", "/live", "/static/js/"]
    for path in passed:
        assert call(app, path)[2] == b"downstream"
    assert call(app, "/static/js/index.abc123.js", method="POST")[2] == b"downstream"
    assert downstream.paths == [*passed, "/static/js/index.abc123.js"]
    assert set(app.files) == {"/static/font.woff2"}  # a miss is never kept


def test_under_a_base_url_only_its_static_folder_is_served(served, tmp_path):
    _, downstream = served
    app = StaticFromMemory(downstream, root=tmp_path / "static", base_url="/badbuzz/")
    assert call(app, "/badbuzz/static/js/index.abc123.js")[2] == SCRIPT
    assert call(app, "/static/js/index.abc123.js")[2] == b"downstream"
