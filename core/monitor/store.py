"""The monitor's store: SQLite (standard library, WAL mode) at config.data_dir()/monitor/feed.sqlite or --db.

Tables: `tweets` (one row per record a source handed in, scored or kept with its reason; `source_key` is unique,
so a record read twice is stored once), `alerts`, `deliveries` (one per alert and channel, retried until sent),
`offsets` (how far each followed file was read; committed in the same transaction as its tweets, so a restart
neither loses nor repeats a record) and `settings` (what the watcher runs with, for the page). Times are UTC epoch
seconds. A database server would need SQLAlchemy, which this project does not install: only SQLite is accepted.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core import config

SCHEMA = """
CREATE TABLE IF NOT EXISTS tweets (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    source_key TEXT NOT NULL UNIQUE,
    tweet_id TEXT,
    line INTEGER,
    text TEXT NOT NULL DEFAULT '',
    groups TEXT NOT NULL DEFAULT '{}',
    created_at REAL,
    received_at REAL NOT NULL,
    event_at REAL NOT NULL,
    score REAL,
    label TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    run TEXT,
    scored_at REAL
);
CREATE INDEX IF NOT EXISTS tweets_pending ON tweets(id) WHERE scored_at IS NULL;
CREATE INDEX IF NOT EXISTS tweets_event ON tweets(event_at);
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY,
    grp TEXT NOT NULL,
    rule TEXT NOT NULL,
    group_column TEXT NOT NULL DEFAULT '',
    window_start REAL NOT NULL,
    window_end REAL NOT NULL,
    share REAL,
    volume INTEGER NOT NULL,
    negative INTEGER NOT NULL,
    threshold REAL,
    min_volume INTEGER,
    trailing_median REAL,
    created_at REAL NOT NULL,
    closed_at REAL,
    UNIQUE (grp, rule, window_start)
);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY,
    alert_id INTEGER NOT NULL REFERENCES alerts(id),
    channel TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    next_try_at REAL NOT NULL,
    sent_at REAL,
    UNIQUE (alert_id, channel)
);
CREATE TABLE IF NOT EXISTS offsets (
    path TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    inode INTEGER,
    size INTEGER,
    mtime_ns INTEGER,
    offset INTEGER NOT NULL DEFAULT 0,
    line INTEGER NOT NULL DEFAULT 0,
    generation INTEGER NOT NULL DEFAULT 0,
    header TEXT,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
TWEET_FIELDS = ("source", "source_key", "tweet_id", "line", "text", "groups", "created_at", "received_at", "event_at")
TWEET_FIELDS += ("score", "label", "reason", "scored_at")
BUSY_TIMEOUT_S = 30


class StoreError(ValueError):
    """A store that cannot be opened (a server URL, a folder that cannot be written)."""


def default_path() -> Path:
    return config.data_dir() / "monitor" / "feed.sqlite"


def path_from_target(target: str | Path | None) -> Path:
    """--db: a path or a sqlite:/// URL; any other URL is refused with what it would take."""
    if target is None or str(target) == "":
        return default_path()
    text = str(target)
    if "://" not in text:
        return Path(text)
    scheme, _, rest = text.partition("://")
    if scheme.split("+")[0] != "sqlite":
        raise StoreError(
            f"a {scheme.split('+')[0]} database server needs SQLAlchemy, which is not installed here: "
            "give a SQLite path (or a sqlite:///path URL)"
        )
    path = rest[1:] if rest.startswith("/") else rest  # sqlite:///relative, sqlite:////absolute
    if not path or path == ":memory:":
        raise StoreError("the monitor's store is a file: give sqlite:///path/to/feed.sqlite")
    return Path(path)


@dataclass
class Offset:
    """How far a followed file was read."""

    path: str
    kind: str  # "tail" or "file"
    inode: int | None = None
    size: int | None = None
    mtime_ns: int | None = None
    offset: int = 0
    line: int = 0  # physical lines consumed (the header's included)
    generation: int = 0  # bumped when the file is truncated or replaced, so its new lines get new keys
    header: str | None = None


class Store:
    """One connection shared by the watcher's threads behind a lock; the page opens its own, read-only."""

    def __init__(self, path: Path, readonly: bool = False):
        self.path, self.readonly = Path(path), readonly
        self._lock = threading.RLock()
        self._conn = _connect(self.path, readonly)
        if not readonly:
            with self._lock:
                self._conn.executescript(SCHEMA)

    @classmethod
    def open(cls, target: str | Path | None = None) -> Store:
        return cls(path_from_target(target))

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def query(self, sql: str, params: Iterable = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, tuple(params)).fetchall()

    def frame(self, sql: str, params: Iterable = ()) -> pd.DataFrame:
        with self._lock:
            cursor = self._conn.execute(sql, tuple(params))
            names = [d[0] for d in cursor.description]
            return pd.DataFrame(cursor.fetchall(), columns=names)

    # ------------------------------------------------------------ tweets

    def add_tweets(self, rows: list[dict], offset: Offset | None = None) -> tuple[int, int]:
        """Store new records (and where their file was read up to) in one transaction: (added, already there)."""
        with self.transaction() as conn:
            added = add_tweets(conn, rows)
            if offset is not None:
                save_offset(conn, offset)
        return added, len(rows) - added

    def pending(self, limit: int) -> pd.DataFrame:
        return self.frame("SELECT id, text, reason FROM tweets WHERE scored_at IS NULL ORDER BY id LIMIT ?", (limit,))

    def save_scores(self, scored: pd.DataFrame, run: str) -> tuple[float, float] | None:
        """`scored` has id, score (NaN: none), label, reason; returns the event time span of those tweets."""
        now = time.time()
        values = [
            (None if pd.isna(s) else float(s), label, reason, run, now, int(i))
            for i, s, label, reason in scored[["id", "score", "label", "reason"]].itertuples(index=False)
        ]
        with self.transaction() as conn:
            conn.executemany(
                "UPDATE tweets SET score=?, label=?, reason=?, run=?, scored_at=? WHERE id=? AND scored_at IS NULL",
                values,
            )
            marks = ",".join("?" * len(values))
            span = conn.execute(
                f"SELECT MIN(event_at), MAX(event_at) FROM tweets WHERE id IN ({marks})", [v[-1] for v in values]
            ).fetchone()
        return None if span[0] is None else (span[0], span[1])

    def scored_tweets(self, group_column: str | None, start: float, end: float) -> pd.DataFrame:
        """id, group, event_at, score of the scored tweets with start <= event_at < end."""
        return self.frame(
            f"SELECT id, {group_sql()} AS grp, event_at, score FROM tweets "
            "WHERE score IS NOT NULL AND event_at >= ? AND event_at < ?",
            (group_path(group_column), start, end),
        )

    def counts(self) -> dict[str, int]:
        row = self.query(
            "SELECT COUNT(*), COUNT(score), SUM(scored_at IS NULL), SUM(reason LIKE 'malformed%') FROM tweets"
        )[0]
        return {"tweets": row[0], "scored": row[1], "pending": row[2] or 0, "malformed": row[3] or 0}

    # ------------------------------------------------------------ offsets and settings

    def offset(self, path: str) -> Offset | None:
        rows = self.query(
            "SELECT path, kind, inode, size, mtime_ns, offset, line, generation, header FROM offsets WHERE path=?",
            (path,),
        )
        return Offset(*rows[0]) if rows else None

    def save_offset(self, offset: Offset) -> None:
        with self.transaction() as conn:
            save_offset(conn, offset)

    def put_setting(self, key: str, value) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO settings(key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def setting(self, key: str, default=None):
        rows = self.query("SELECT value FROM settings WHERE key=?", (key,))
        return json.loads(rows[0][0]) if rows else default


def _connect(path: Path, readonly: bool) -> sqlite3.Connection:
    if readonly:
        if not path.is_file():
            raise StoreError(f"no monitor store at {path}: start the watcher (python -m core.monitor.watch)")
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
    else:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the monitor store {path}: {exc}") from None
        conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
    return conn


def add_tweets(conn: sqlite3.Connection, rows: list[dict]) -> int:
    before = conn.total_changes
    marks = ",".join("?" * len(TWEET_FIELDS))
    conn.executemany(
        f"INSERT INTO tweets({','.join(TWEET_FIELDS)}) VALUES ({marks}) ON CONFLICT(source_key) DO NOTHING",
        [tuple(_tweet_value(row, name) for name in TWEET_FIELDS) for row in rows],
    )
    return conn.total_changes - before


def _tweet_value(row: dict, name: str):
    if name == "groups":
        return json.dumps(row.get("groups") or {}, ensure_ascii=False, sort_keys=True)
    if name == "event_at":
        return row["created_at"] if row.get("created_at") is not None else row["received_at"]
    if name in ("label", "reason", "text"):
        return row.get(name) or ""
    return row.get(name)


def save_offset(conn: sqlite3.Connection, o: Offset) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO offsets(path, kind, inode, size, mtime_ns, offset, line, generation, header, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (o.path, o.kind, o.inode, o.size, o.mtime_ns, o.offset, o.line, o.generation, o.header, time.time()),
    )


def group_path(column: str | None) -> str:
    """The JSON path of a group column in `tweets.groups` (a bound parameter: any column name is safe)."""
    return '$."' + (column or "").replace("\\", "\\\\").replace('"', '\\"') + '"'


def group_sql() -> str:
    """The group of a tweet under the group column given as a parameter ('' when it has none)."""
    return "COALESCE(CAST(json_extract(groups, ?) AS TEXT), '')"
