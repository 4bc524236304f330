"""A local server that speaks the Azure AI Language sentiment REST contract (API 2023-04-01), for tests and benchmarks.

`POST /language/:analyze-text?api-version=2023-04-01` with `Ocp-Apim-Subscription-Key`; documents in,
`results.documents` / `results.errors` out. Like the service it answers 400 above 10 documents, a per-document
error above 5,120 characters or for an empty text, and 401 for a bad key. On request it throttles (429 every
n-th request, with or without Retry-After), fails (5xx every n-th request), reports the F0 quota as spent (403)
or refuses documents holding a marker (a per-document error).
Its sentiment is a tiny word count, enough to tell positive from negative tweets in tests.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass

from tests.support.json_http import JsonHandler, LocalServer

API_VERSION = "2023-04-01"
MAX_DOCUMENTS = 10
MAX_CHARACTERS = 5120
POSITIVE = {"good", "great", "love", "happy", "thanks", "awesome", "nice", "best", "fun", "glad", "enjoy", "cool"}
NEGATIVE = {
    "bad",
    "hate",
    "sad",
    "worst",
    "awful",
    "sorry",
    "miss",
    "sick",
    "tired",
    "delay",
    "delayed",
    "lost",
    "cancelled",
    "rude",
    "broken",
    "ugh",
}
QUOTA_MESSAGE = (
    "Out of call volume quota for TextAnalytics F0 pricing tier. Please retry after 15 days. "
    "To increase your call volume switch to a paid tier."
)


@dataclass
class Request:
    status: int
    documents: int
    characters: int


def sentiment(text: str) -> tuple[str, dict]:
    words = re.findall(r"[a-z']+", text.lower())
    pos, neg = sum(w in POSITIVE for w in words), sum(w in NEGATIVE for w in words)
    if pos and neg:
        return "mixed", {"positive": 0.45, "neutral": 0.1, "negative": 0.45}
    if pos:
        return "positive", {"positive": 0.9, "neutral": 0.07, "negative": 0.03}
    if neg:
        return "negative", {"positive": 0.04, "neutral": 0.06, "negative": 0.9}
    return "neutral", {"positive": 0.2, "neutral": 0.7, "negative": 0.1}


class LanguageServer(LocalServer):
    def __init__(
        self,
        key: str = "test-key",
        throttle_every: int = 0,
        retry_after: str | None = None,
        fail_every: int = 0,
        fail_status: int = 503,
        quota_exceeded: bool = False,
        reject_marker: str | None = None,
    ):
        self.key = key
        self.throttle_every, self.retry_after = throttle_every, retry_after
        self.fail_every, self.fail_status = fail_every, fail_status
        self.quota_exceeded = quota_exceeded
        self.reject_marker = reject_marker  # documents containing it get a per-document error
        self.requests: list[Request] = []
        self.languages: list[str] = []  # each document's `language`, as sent
        self._lock = threading.Lock()
        self._serve(self._handler())

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def max_documents_seen(self) -> int:
        return max((r.documents for r in self.requests), default=0)

    def analyze(self, documents: list[dict]) -> dict:
        results, errors = [], []
        for doc in documents:
            self.languages.append(doc.get("language", ""))
            text = doc.get("text", "")
            if not text.strip():
                errors.append(_doc_error(doc["id"], "InvalidDocument", "Document text is empty."))
            elif self.reject_marker and self.reject_marker in text:
                errors.append(_doc_error(doc["id"], "InvalidDocument", "Document text is invalid."))
            elif len(text) > MAX_CHARACTERS:
                errors.append(
                    _doc_error(
                        doc["id"],
                        "InvalidDocument",
                        "A document within the request was too large to be processed. Limit "
                        f"document size to: {MAX_CHARACTERS} text elements.",
                    )
                )
            else:
                label, scores = sentiment(text)
                results.append(
                    {
                        "id": doc["id"],
                        "sentiment": label,
                        "confidenceScores": scores,
                        "warnings": [],
                        "sentences": [
                            {
                                "text": text,
                                "sentiment": label,
                                "confidenceScores": scores,
                                "offset": 0,
                                "length": len(text),
                            }
                        ],
                    }
                )
        return {
            "kind": "SentimentAnalysisResults",
            "results": {"documents": results, "errors": errors, "modelVersion": "2022-11-01"},
        }

    def _handler(self):
        server = self

        class Handler(JsonHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path, _, query = self.path.partition("?")
                try:
                    payload = json.loads(body)
                    documents = payload["analysisInput"]["documents"]
                except (ValueError, KeyError, TypeError):
                    payload, documents = None, []
                status, reply, headers = self._decide(path, query, payload, documents)
                with server._lock:
                    server.requests.append(
                        Request(status, len(documents), sum(len(d.get("text", "")) for d in documents))
                    )
                self._send(status, reply, headers)

            def _decide(self, path, query, payload, documents):
                if path != "/language/:analyze-text" or f"api-version={API_VERSION}" not in query:
                    return 404, {"error": {"code": "404", "message": "Resource not found"}}, None
                if self.headers.get("Ocp-Apim-Subscription-Key") != server.key:
                    return (
                        401,
                        {
                            "error": {
                                "code": "401",
                                "message": (
                                    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide "
                                    "a valid key for an active subscription and use a correct regional API endpoint for your "
                                    "resource."
                                ),
                            }
                        },
                        None,
                    )
                if server.quota_exceeded:
                    return 403, {"error": {"code": "403", "message": QUOTA_MESSAGE}}, None
                count = len(server.requests) + 1
                if server.throttle_every and count % server.throttle_every == 0:
                    headers = {"Retry-After": server.retry_after} if server.retry_after else None
                    return 429, {"error": {"code": "429", "message": "Rate limit is exceeded."}}, headers
                if server.fail_every and count % server.fail_every == 0:
                    return server.fail_status, {"error": {"code": "InternalServerError", "message": "boom"}}, None
                if payload is None or payload.get("kind") != "SentimentAnalysis":
                    return 400, _request_error("InvalidRequestBodyFormat", "Request body is invalid."), None
                if len(documents) > MAX_DOCUMENTS:
                    return (
                        400,
                        _request_error(
                            "InvalidDocumentBatch",
                            (f"Batch request contains too many records. Max {MAX_DOCUMENTS} records are permitted."),
                        ),
                        None,
                    )
                return 200, server.analyze(documents), None

        return Handler


def _doc_error(doc_id: str, inner_code: str, message: str) -> dict:
    return {
        "id": doc_id,
        "error": {
            "code": "InvalidArgument",
            "message": "Invalid document in request.",
            "innererror": {"code": inner_code, "message": message},
        },
    }


def _request_error(inner_code: str, message: str) -> dict:
    return {
        "error": {
            "code": "InvalidRequest",
            "message": "Invalid Request.",
            "innererror": {"code": inner_code, "message": message},
        }
    }
