"""The monitor's HTTP API (standard library ThreadingHTTPServer): other systems POST tweets, the watcher scores them.

    POST /tweets   Authorization: Bearer <token>   {"tweets": [{"id": "...", "text": "...", "created_at": "...",
                                                                "group": {"airline": "United"}}]}
      -> 202 {"accepted": n, "duplicates": n, "rejected": [{"index": i, "reason": "..."}]}
    GET /health -> 200 {"status": "ok", "tweets": n, "scored": n, "pending": n, "malformed": n}

Errors are one JSON line, {"error": "..."}: 401 without the token, 400 for a body that is not the JSON above, 411
without Content-Length, 413 over MAX_BODY_BYTES or MAX_TWEETS. A tweet with an `id` is stored once whatever
the number of times it is posted; without one, the same text, time and groups count as the same tweet.
docs/monitor.md documents the API.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from core.monitor.records import Fields, digest, finish, json_tweet, tweet_row
from core.monitor.store import Store

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1 << 20
MAX_TWEETS = 1_000
DRAIN_BYTES = 8 << 20  # an oversized body is read up to this much before the 413 (then the socket is closed)
MAX_TEXT_CHARS = 10_000  # a tweet is 280; longer is not a tweet (the model would see its first 1,000 anyway)
SOURCE = "http"


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def http_rows(payload, fields: Fields) -> tuple[list[dict], list[dict]]:
    """(rows to store, rejected tweets as {"index", "reason"}) from a parsed request body."""
    if not isinstance(payload, dict) or not isinstance(payload.get("tweets"), list):
        raise ApiError(400, 'expected a JSON object {"tweets": [...]}')
    if len(payload["tweets"]) > MAX_TWEETS:
        raise ApiError(413, f"at most {MAX_TWEETS:,} tweets per request")
    rows, rejected = [], []
    for index, item in enumerate(payload["tweets"]):
        try:
            tweet_id, text, created, groups = json_tweet(item, fields)
            if len(text) > MAX_TEXT_CHARS:
                raise ValueError(f"text longer than {MAX_TEXT_CHARS:,} characters")
        except ValueError as exc:
            rejected.append({"index": index, "reason": str(exc)})
            continue
        key = f"{SOURCE}:id:{tweet_id}" if tweet_id else f"{SOURCE}:{digest(text, created, json.dumps(groups))}"
        rows.append(tweet_row(SOURCE, key, text, created, groups, tweet_id=tweet_id or None))
    return rows, rejected


class TweetApi:
    """The server, served from a thread; `on_new()` is called after tweets are stored (wakes the watcher)."""

    def __init__(self, store: Store, fields: Fields, token: str, host: str, port: int, on_new: Callable[[], None]):
        if not token:
            raise ValueError("the HTTP endpoint needs a token: set BADBUZZ_MONITOR_TOKEN or --token-file")
        handler = type("Handler", (_Handler,), {"api": self})
        self.store, self.fields, self.token, self.on_new = store, fields, token, on_new
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, name="monitor-http", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        return self.server.server_address[:2]

    def start(self) -> TweetApi:
        self._thread.start()
        log.info("listening on http://%s:%d/tweets", *self.address)
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def authorised(self, header: str | None) -> bool:
        scheme, _, given = (header or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), self.token.encode())

    def post_tweets(self, body: bytes) -> dict:
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "the body is not valid JSON") from None
        rows, rejected = http_rows(payload, self.fields)
        added, duplicates = self.store.add_tweets(finish(rows)) if rows else (0, 0)
        if added:
            self.on_new()
        return {"accepted": added, "duplicates": duplicates, "rejected": rejected}


class _Handler(BaseHTTPRequestHandler):
    api: TweetApi
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # requests are not logged: they would hold the callers' addresses
        pass

    def _send(self, status: int, body: dict, close: bool = False) -> None:
        data = (json.dumps(body) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if status == 401:
            self.send_header("WWW-Authenticate", "Bearer")
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.split("?")[0] != "/health":
            return self._send(404, {"error": "not found: POST /tweets, GET /health"})
        self._send(200, {"status": "ok", **self.api.store.counts()})

    def do_POST(self) -> None:
        try:
            self._send(202, self._post())
        except ApiError as exc:
            self._send(exc.status, {"error": str(exc)}, close=exc.status == 413)
        except Exception as exc:  # noqa: BLE001 - the caller gets one line, the watcher goes on
            log.error("POST /tweets failed: %s", type(exc).__name__)
            self._send(500, {"error": f"the monitor could not store the tweets ({type(exc).__name__})"})

    def _post(self) -> dict:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise ApiError(411, "Content-Length required")
        if int(length) > MAX_BODY_BYTES:
            self._drain(int(length))
            raise ApiError(413, f"the body is over {MAX_BODY_BYTES:,} bytes: send fewer tweets per request")
        body = self.rfile.read(int(length))  # read before any answer: a socket closed unread resets the reply
        if self.path.split("?")[0] != "/tweets":
            raise ApiError(404, "not found: POST /tweets")
        if not self.api.authorised(self.headers.get("Authorization")):
            raise ApiError(401, "missing or wrong bearer token")
        return self.api.post_tweets(body)

    def _drain(self, length: int) -> None:
        """Read (and drop) an oversized body up to DRAIN_BYTES, so that the client reads the 413."""
        left = min(length, DRAIN_BYTES)
        while left > 0:
            chunk = self.rfile.read(min(left, 1 << 16))
            if not chunk:
                return
            left -= len(chunk)

    do_PUT = do_DELETE = do_PATCH = lambda self: self._send(405, {"error": "method not allowed: POST /tweets"})  # noqa: E731
