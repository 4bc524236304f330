"""A local cache of Azure AI Language answers, so a tweet already scored is never sent (nor billed) twice.

Keyed by sha256(API version, language, text): the text itself is not stored. SQLite keeps it safe to share
between the dashboard and CLI processes.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from core import config


def default_cache_path() -> Path:
    return config.artifacts_dir() / "azure" / "language_cache.sqlite"


class AnswerCache:
    def __init__(self, path: Path | str | None = None):
        self.path = Path(path) if path else default_cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, answer TEXT NOT NULL, created REAL NOT NULL)"
            )

    @contextmanager
    def _connect(self):
        db = sqlite3.connect(self.path, timeout=30)
        try:
            with db:  # commits, or rolls back on error
                yield db
        finally:
            db.close()

    @staticmethod
    def key(api_version: str, language: str, text: str) -> str:
        return hashlib.sha256(f"{api_version}\0{language}\0{text}".encode()).hexdigest()

    def get_many(self, keys: list[str]) -> dict[str, dict]:
        found: dict[str, dict] = {}
        unique = list(dict.fromkeys(keys))
        with self._lock, self._connect() as db:
            for start in range(0, len(unique), 500):
                chunk = unique[start : start + 500]
                rows = db.execute(
                    f"SELECT key, answer FROM answers WHERE key IN ({','.join('?' * len(chunk))})", chunk
                ).fetchall()
                found.update({key: json.loads(answer) for key, answer in rows})
        return found

    def put_many(self, answers: dict[str, dict]) -> None:
        if not answers:
            return
        now = time.time()
        with self._lock, self._connect() as db:
            db.executemany(
                "INSERT OR REPLACE INTO answers (key, answer, created) VALUES (?, ?, ?)",
                [(key, json.dumps(answer), now) for key, answer in answers.items()],
            )

    def __len__(self) -> int:
        with self._lock, self._connect() as db:
            return db.execute("SELECT COUNT(*) FROM answers").fetchone()[0]
