"""The monitor's HTTP API (the standard library's HTTP server, bounded): other systems POST tweets, the watcher
scores them.

    POST /tweets   Authorization: Bearer <token>   {"tweets": [{"id": "...", "text": "...", "created_at": "...",
                                                                "group": {"airline": "United"}}]}
      -> 202 {"accepted": n, "duplicates": n, "rejected": [{"index": i, "reason": "..."}]}
    GET /health -> 200 {"status": "ok", "tweets": n, "scored": n, "pending": n, "malformed": n}

Errors are one JSON line, {"error": "..."}: 401 without the token, 400 for a body that is not the JSON above (or
two Content-Length headers), 411 without Content-Length, 413 over MAX_BODY_BYTES or MAX_TWEETS, 503 past
MAX_CONNECTIONS. A tweet no store can keep (a NUL, a lone surrogate) is rejected alone; a connection idle for IDLE_S
or whose request is not read within REQUEST_S is closed. A tweet with an `id` is stored once whatever
the number of times it is posted; without one, the same text, time and groups count as the same tweet.
docs/monitor.md documents the API.
"""

from __future__ import annotations

import contextlib
import hmac
import io
import json
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from core.monitor.records import NOT_JSON, Fields, digest, finish, json_tweet, parse_json, tweet_row
from core.monitor.store import Store

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1 << 20
MAX_TWEETS = 1_000
DRAIN_BYTES = 8 << 20  # an oversized body is read up to this much before the 413 (then the socket is closed)
MAX_TEXT_CHARS = 10_000  # a tweet is 280; longer is not a tweet (the model would see its first 1,000 anyway)
SOURCE = "http"
MAX_CONNECTIONS = 64  # connections served at once (a thread each); one more is answered 503
IDLE_S = 5.0  # a connection that sends nothing for this long is closed (an idle keep-alive one included)
REQUEST_S = 30.0  # a request (its line, headers and body) must arrive within this
CLOSING = (400, 411, 413)  # answered before the body was read: the connection cannot go on


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

    def __init__(
        self,
        store: Store,
        fields: Fields,
        token: str,
        host: str,
        port: int,
        on_new: Callable[[], None],
        max_connections: int = MAX_CONNECTIONS,
    ):
        if not token:
            raise ValueError("the HTTP endpoint needs a token: set BADBUZZ_MONITOR_TOKEN or --token-file")
        handler = type("Handler", (_Handler,), {"api": self})
        self.store, self.fields, self.token, self.on_new = store, fields, token, on_new
        self.server = BoundedHTTPServer((host, port), handler, max_connections)
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
        self.server.close_connections()

    def authorised(self, header: str | None) -> bool:
        scheme, _, given = (header or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), self.token.encode())

    def post_tweets(self, body: bytes) -> dict:
        try:
            payload = parse_json(body)
        except ValueError as exc:
            raise ApiError(400, f"the body is {exc}" if str(exc) == NOT_JSON else f"the body's {exc}") from None
        rows, rejected = http_rows(payload, self.fields)
        added, duplicates = self.store.add_tweets(finish(rows)) if rows else (0, 0)
        if added:
            self.on_new()
        return {"accepted": added, "duplicates": duplicates, "rejected": rejected}


class BoundedHTTPServer(ThreadingHTTPServer):
    """One thread per connection, at most `max_connections` at once: one more is answered 503 and closed at once.
    A connection's handler gives up on a request that is not read within REQUEST_S (slow or idle clients)."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler, max_connections: int):
        self.slots = threading.BoundedSemaphore(max_connections)
        self.open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request, client_address) -> None:
        if not self.slots.acquire(blocking=False):
            _refuse_busy(request)
            self.shutdown_request(request)
            return
        with self._open_lock:
            self.open.add(request)
        try:
            super().process_request(request, client_address)  # starts the connection's thread
        except BaseException:
            self._done(request)
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._done(request)

    def _done(self, request) -> None:
        with self._open_lock:
            self.open.discard(request)
        self.slots.release()

    def handle_error(self, request, client_address) -> None:  # one line, never the caller's address or data
        log.warning("a connection to the API failed: %s", sys.exc_info()[0].__name__)

    def close_connections(self) -> None:
        """Wake the handlers still reading (stop)."""
        with self._open_lock:
            for request in list(self.open):
                with contextlib.suppress(OSError):
                    request.shutdown(socket.SHUT_RDWR)


def _refuse_busy(request: socket.socket) -> None:
    body = json.dumps({"error": "the monitor is busy: try again in a few seconds"}).encode() + b"\n"
    head = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\n"
    head += f"Content-Length: {len(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
    with contextlib.suppress(OSError):
        request.settimeout(1)
        request.sendall(head.encode() + body)


class _DeadlineReader(io.RawIOBase):
    """A connection's bytes, each read given at most the time left to the request (and IDLE_S without a byte):
    a client that trickles its headers or body is cut off at the deadline, not kept for ever."""

    def __init__(self, connection: socket.socket):
        self.connection, self.deadline = connection, time.monotonic() + REQUEST_S

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request took too long")
        self.connection.settimeout(min(left, IDLE_S))
        return self.connection.recv_into(buffer)


class _Handler(BaseHTTPRequestHandler):
    api: TweetApi
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once (no 40 ms wait for a delayed ACK)

    def log_message(self, *args) -> None:  # requests are not logged: they would hold the callers' addresses
        pass

    def setup(self) -> None:
        super().setup()
        self.rfile.close()
        self.reader = _DeadlineReader(self.connection)
        self.rfile = io.BufferedReader(self.reader)

    def handle_one_request(self) -> None:
        self.reader.deadline = time.monotonic() + REQUEST_S  # the wait for the next request included
        super().handle_one_request()

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
            self._send(exc.status, {"error": str(exc)}, close=exc.status in CLOSING)
        except OSError:  # too slow (TimeoutError) or gone: no answer can be read
            self.close_connection = True
        except Exception as exc:  # noqa: BLE001 - the caller gets one line, the watcher goes on
            log.error("POST /tweets failed: %s", type(exc).__name__)
            self._send(500, {"error": f"the monitor could not store the tweets ({type(exc).__name__})"})

    def _post(self) -> dict:
        lengths = self.headers.get_all("Content-Length") or []
        if len(lengths) > 1:  # which one frames the body? (request smuggling): refused
            raise ApiError(400, "more than one Content-Length header")
        if self.headers.get("Transfer-Encoding"):
            raise ApiError(411, "Content-Length required (a chunked body is not read)")
        length = lengths[0].strip() if lengths else None
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
