"""The monitor's store, through SQLAlchemy Core: SQLite (WAL mode) at config.data_dir()/monitor/feed.sqlite by
default, or any `--db` path, sqlite:///path or postgresql+psycopg://user@host:port/db URL (postgresql:// means
psycopg). The dashboard reads the store named by $BADBUZZ_MONITOR_DB (a URL or a path), else the default path.

Tables: `tweets` (one row per record a source handed in, scored or kept with its reason; `source_key` is unique,
so a record read twice is stored once; `score` is P(positive), and a three-way run also stores `p_negative`,
`p_neutral`, `p_positive`, NULL for a binary run), `alerts`, `deliveries` (one per alert and channel, retried until sent),
`offsets` (how far each followed file was read; committed in the same transaction as its tweets, so a restart
neither loses nor repeats a record) and `settings` (what the watcher runs with, for the page). Times are UTC epoch
seconds. Callers' SQL is portable text with named parameters; the group of a tweet comes from `group_sql()`.
Columns added to a table since a store was made are nullable, and a store opened for writing gains the ones it
lacks (`add_missing_columns`), so an older store keeps its rows.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Engine, Row, make_url

from core import config
from core.monitor.masking import mask_secrets, mask_url

log = logging.getLogger(__name__)

DB_ENV = "BADBUZZ_MONITOR_DB"  # the store the dashboard reads (set by the operator)
TWEET_FIELDS = ("source", "source_key", "tweet_id", "line", "text", "groups", "created_at", "received_at", "event_at")
TWEET_FIELDS += ("score", "label", "reason", "scored_at")
BUSY_TIMEOUT_S = 30
SERVER_DIALECTS = ("postgresql",)

metadata = sa.MetaData()
tweets = sa.Table(
    "tweets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("source_key", sa.Text, nullable=False, unique=True),
    sa.Column("tweet_id", sa.Text),
    sa.Column("line", sa.Integer),
    sa.Column("text", sa.Text, nullable=False, server_default=""),
    sa.Column("groups", sa.Text, nullable=False, server_default="{}"),  # JSON text
    sa.Column("created_at", sa.Float),
    sa.Column("received_at", sa.Float, nullable=False),
    sa.Column("event_at", sa.Float, nullable=False),
    sa.Column("score", sa.Float),
    sa.Column("label", sa.Text, nullable=False, server_default=""),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Column("run", sa.Text),
    sa.Column("scored_at", sa.Float),
    sa.Column("language", sa.Text),  # detected when scored (core.text.language): ISO 639-1, 'und'; NULL before
    sa.Column("p_negative", sa.Float),  # a three-way run's class probabilities (NULL for a binary run)
    sa.Column("p_neutral", sa.Float),
    sa.Column("p_positive", sa.Float),
    sa.Column("complaint", sa.Text),  # a negative tweet's complaint reason (core.reasons), once tagged
    sa.Column("embedding", sa.LargeBinary),  # its sentence embedding, float32 bytes (core.monitor.explain)
)
LANGUAGE_GROUP = "language"  # `--group-column language` splits the feed by the detected language
PROBABILITY_FIELDS = ("p_negative", "p_neutral", "p_positive")
_pending = tweets.c.scored_at.is_(None)
sa.Index("tweets_pending", tweets.c.id, sqlite_where=_pending, postgresql_where=_pending)
sa.Index("tweets_event", tweets.c.event_at)
alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("grp", sa.Text, nullable=False),
    sa.Column("rule", sa.Text, nullable=False),
    sa.Column("group_column", sa.Text, nullable=False, server_default=""),
    sa.Column("window_start", sa.Float, nullable=False),
    sa.Column("window_end", sa.Float, nullable=False),
    sa.Column("share", sa.Float),  # the estimate (mean P(negative)), with its 90 % interval and P(share ≥ threshold)
    sa.Column("share_low", sa.Float),
    sa.Column("share_high", sa.Float),
    sa.Column("p_over", sa.Float),
    sa.Column("volume", sa.Integer, nullable=False),
    sa.Column("negative", sa.Integer, nullable=False),
    sa.Column("threshold", sa.Float),
    sa.Column("min_volume", sa.Integer),
    sa.Column("trailing_median", sa.Float),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("closed_at", sa.Float),
    sa.Column("explanation", sa.Text),  # JSON: the window's reasons and clusters (core.reasons.clusters.Explanation)
    sa.UniqueConstraint("grp", "rule", "window_start"),
)
deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id"), nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text, nullable=False, server_default=""),
    sa.Column("next_try_at", sa.Float, nullable=False),
    sa.Column("sent_at", sa.Float),
    sa.UniqueConstraint("alert_id", "channel"),
)
offsets = sa.Table(
    "offsets",
    metadata,
    sa.Column("path", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("inode", sa.BigInteger),
    sa.Column("size", sa.BigInteger),
    sa.Column("mtime_ns", sa.BigInteger),
    sa.Column("offset", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("line", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("generation", sa.Integer, nullable=False, server_default="0"),
    sa.Column("header", sa.Text),
    sa.Column("updated_at", sa.Float, nullable=False),
)
settings = sa.Table(
    "settings", metadata, sa.Column("key", sa.Text, primary_key=True), sa.Column("value", sa.Text, nullable=False)
)
OFFSET_FIELDS = ("path", "kind", "inode", "size", "mtime_ns", "offset", "line", "generation", "header")


class StoreError(ValueError):
    """A store that cannot be opened (an unsupported URL, a server that does not answer, a folder not writable)."""


def default_path() -> Path:
    return config.data_dir() / "monitor" / "feed.sqlite"


def configured_target() -> str | Path:
    """What the dashboard reads: $BADBUZZ_MONITOR_DB (a URL or a path), else the default path."""
    return os.environ.get(DB_ENV, "").strip() or default_path()


def url_from_target(target: str | Path | None) -> URL:
    """--db: a path, a sqlite:///path URL or a postgresql[+psycopg]:// URL; anything else is refused."""
    if target is None or str(target) == "":
        target = default_path()
    text = str(target)
    if "://" not in text:
        return URL.create("sqlite", database=str(Path(text)))
    try:
        url = make_url(text)
    except sa.exc.ArgumentError:
        raise StoreError("the monitor's store URL cannot be read: give sqlite:///PATH or postgresql://…") from None
    if url.get_backend_name() == "postgresql":
        return url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() != "sqlite":
        raise StoreError(
            f"a {url.get_backend_name()} server is not supported by the monitor's store (SQLAlchemy dialects here: "
            "sqlite, postgresql): give a SQLite path, sqlite:///PATH or postgresql://user@host:port/db"
        )
    if not url.database or url.database == ":memory:":
        raise StoreError("the monitor's SQLite store is a file: give sqlite:///path/to/feed.sqlite")
    return URL.create("sqlite", database=url.database)


def shown(url: URL) -> str:
    """A URL fit for a message or a log: never its password (in the user part or a `?password=` parameter); a
    SQLite store by its path."""
    return url.database if url.get_backend_name() == "sqlite" else mask_url(url.render_as_string(hide_password=False))


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
    """A pool of connections shared by the watcher's threads; the page opens its own, read-only."""

    def __init__(self, target: str | Path | URL, readonly: bool = False):
        self.url = target if isinstance(target, URL) else url_from_target(target)
        self.readonly = readonly
        self.dialect = self.url.get_backend_name()
        self.path = Path(self.url.database) if self.dialect == "sqlite" else None
        self.where = shown(self.url)
        self.engine = _engine(self.url, readonly)
        self.added_columns: list[str] = []  # by add_missing_columns (an older store opened for writing)
        try:
            if not readonly:
                metadata.create_all(self.engine)
                self.added_columns = add_missing_columns(self.engine)
            # what an older store still lacks (read-only: nothing is added; reads take NULL for those columns)
            self.lacking = missing_columns(self.engine)
        except sa.exc.SQLAlchemyError as exc:
            self.engine.dispose()
            why = mask_secrets(str(getattr(exc, "orig", None) or exc).strip().splitlines()[0])
            raise StoreError(f"cannot open the monitor store {self.where}: {why}") from None

    @classmethod
    def open(cls, target: str | Path | None = None) -> Store:
        return cls(target)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self, reading: bool = False) -> Iterator[Connection]:
        """One transaction, committed at the end, rolled back on an exception. On SQLite a writing one begins
        IMMEDIATE (it takes the write lock first, so two writers queue rather than fail); a reading one does not."""
        with self.engine.connect() as conn:
            with conn.execution_options(reading=reading).begin():
                yield conn

    def query(self, sql: str, params: dict | None = None) -> list[Row]:
        """Portable SQL with :named parameters, in its own transaction; the rows, if it returns any."""
        with self.transaction(reading=_is_select(sql)) as conn:
            result = conn.execute(sa.text(sql), params or {})
            return result.fetchall() if result.returns_rows else []

    def frame(self, sql: str, params: dict | None = None) -> pd.DataFrame:
        with self.transaction(reading=True) as conn:
            result = conn.execute(sa.text(sql), params or {})
            # the driver's plain tuples: a frame needs no Row objects (several times faster on large windows)
            return pd.DataFrame(result.cursor.fetchall(), columns=list(result.keys()))

    def insert(self, table: sa.Table):
        """An INSERT that takes ON CONFLICT DO NOTHING / DO UPDATE on this store's dialect."""
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)

    def group_sql(self, param: str = "group_path", column: str | None = None) -> str:
        """The group of a tweet under the group column bound to :param ('' when it has none); the column
        LANGUAGE_GROUP is the language detected when the tweet was scored."""
        if column == LANGUAGE_GROUP:
            return f"COALESCE({self.column_sql('tweets', 'language')}, '')"
        if self.dialect == "postgresql":
            return f"COALESCE(CAST(tweets.groups AS jsonb) ->> :{param}, '')"
        return f"COALESCE(CAST(json_extract(tweets.groups, :{param}) AS TEXT), '')"

    def column_sql(self, table: str, name: str) -> str:
        """`name`, or NULL where this store's table lacks the column (an older store opened read-only)."""
        return "NULL" if (table, name) in self.lacking else name

    def p_negative_sql(self) -> str:
        """P(negative) of a stored tweet, whatever the run: a three-way run's own, else 1 - P(positive)."""
        return f"COALESCE({self.column_sql('tweets', 'p_negative')}, 1.0 - score)"

    def group_arg(self, column: str | None) -> str:
        """The value to bind to group_sql's parameter for a group column (any column name is safe)."""
        return (column or "") if self.dialect == "postgresql" else group_path(column)

    # ------------------------------------------------------------ tweets

    def add_tweets(self, rows: list[dict], offset: Offset | None = None) -> tuple[int, int]:
        """Store new records (and where their file was read up to) in one transaction: (added, already there)."""
        with self.transaction() as conn:
            added = self._add_tweets(conn, rows)
            if offset is not None:
                self._save_offset(conn, offset)
        return added, len(rows) - added

    def _add_tweets(self, conn: Connection, rows: list[dict]) -> int:
        if not rows:
            return 0
        values = [{name: _tweet_value(row, name) for name in TWEET_FIELDS} for row in rows]
        statement = self.insert(tweets).on_conflict_do_nothing(index_elements=["source_key"])
        return len(conn.execute(statement.returning(tweets.c.id), values).all())

    def pending(self, limit: int) -> pd.DataFrame:
        return self.frame(
            "SELECT id, text, reason FROM tweets WHERE scored_at IS NULL ORDER BY id LIMIT :limit", {"limit": limit}
        )

    def save_scores(self, scored: pd.DataFrame, run: str) -> tuple[float, float] | None:
        """`scored` has id, score (NaN: none), label, reason, perhaps language, and from a three-way run p_negative,
        p_neutral, p_positive; returns the event time span of those tweets."""
        now = time.time()
        languages = scored["language"] if "language" in scored else pd.Series([None] * len(scored), index=scored.index)
        probabilities = scored.reindex(columns=list(PROBABILITY_FIELDS)).to_numpy(dtype=float)
        values = [
            {"s": _number(s), "l": label, "r": reason, "run": run, "at": now, "i": int(i), "lang": lang}
            | {name: _number(p) for name, p in zip(("pn", "pu", "pp"), row)}
            for (i, s, label, reason), lang, row in zip(
                scored[["id", "score", "label", "reason"]].itertuples(index=False), languages, probabilities
            )
        ]
        if not values:
            return None
        update = (
            "UPDATE tweets SET score=:s, label=:l, reason=:r, run=:run, scored_at=:at, language=:lang, "
            "p_negative=:pn, p_neutral=:pu, p_positive=:pp WHERE id=:i"
        )
        span = sa.select(sa.func.min(tweets.c.event_at), sa.func.max(tweets.c.event_at))
        with self.transaction() as conn:
            conn.execute(sa.text(update + " AND scored_at IS NULL"), values)
            low, high = conn.execute(span.where(tweets.c.id.in_([v["i"] for v in values]))).one()
        return None if low is None else (low, high)

    def scored_tweets(self, group_column: str | None, start: float, end: float) -> pd.DataFrame:
        """id, group, event_at, score (P(positive)), label and p_negative (P(negative), whatever the run) of the
        scored tweets with start <= event_at < end."""
        return self.frame(
            f"SELECT id, {self.group_sql(column=group_column)} AS grp, event_at, score, label, "
            f"{self.p_negative_sql()} AS p_negative FROM tweets "
            "WHERE score IS NOT NULL AND event_at >= :start AND event_at < :end",
            {"group_path": self.group_arg(group_column), "start": start, "end": end},
        )

    def counts(self) -> dict[str, int]:
        row = self.query(
            "SELECT COUNT(*), COUNT(score), SUM(CASE WHEN scored_at IS NULL THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN reason LIKE 'malformed%' THEN 1 ELSE 0 END) FROM tweets"
        )[0]
        return {"tweets": row[0], "scored": row[1], "pending": int(row[2] or 0), "malformed": int(row[3] or 0)}

    # ------------------------------------------------------------ offsets and settings

    def offset(self, path: str) -> Offset | None:
        with self.transaction(reading=True) as conn:
            row = conn.execute(sa.select(*(offsets.c[n] for n in OFFSET_FIELDS)).where(offsets.c.path == path)).first()
        return Offset(*row) if row else None

    def save_offset(self, offset: Offset) -> None:
        with self.transaction() as conn:
            self._save_offset(conn, offset)

    def _save_offset(self, conn: Connection, o: Offset) -> None:
        values = {name: getattr(o, name) for name in OFFSET_FIELDS} | {"updated_at": time.time()}
        conn.execute(self._upsert(offsets, ["path"], values))

    def put_setting(self, key: str, value) -> None:
        with self.transaction() as conn:
            conn.execute(self._upsert(settings, ["key"], {"key": key, "value": json.dumps(value)}))

    def _upsert(self, table: sa.Table, keys: list[str], values: dict):
        statement = self.insert(table).values(values)
        changed = {name: statement.excluded[name] for name in values if name not in keys}
        return statement.on_conflict_do_update(index_elements=keys, set_=changed)

    def setting(self, key: str, default=None):
        rows = self.query("SELECT value FROM settings WHERE key=:key", {"key": key})
        return json.loads(rows[0][0]) if rows else default


def missing_columns(engine: Engine) -> set[tuple[str, str]]:
    """(table, column) of each column the schema has and this store's tables lack (a store made before it)."""
    inspector = sa.inspect(engine)
    lacking = set()
    for table in metadata.sorted_tables:
        if not inspector.has_table(table.name):  # a read-only store made before the table: nothing reads it
            continue
        present = {column["name"] for column in inspector.get_columns(table.name)}
        lacking |= {(table.name, column.name) for column in table.columns if column.name not in present}
    return lacking


def add_missing_columns(engine: Engine) -> list[str]:
    """Add to each table of the store the columns the schema has gained since the store was made; the names added,
    as `table.column`. A store made before a column existed keeps its rows: the column is NULL there, or its
    server default (a column declared NOT NULL must have one). SQLite and PostgreSQL alike (ALTER TABLE ADD)."""
    added = []
    with engine.begin() as conn:
        for table_name, name in sorted(missing_columns(conn)):
            column = metadata.tables[table_name].c[name]
            ddl = f'ALTER TABLE {table_name} ADD COLUMN "{name}" {column.type.compile(dialect=engine.dialect)}'
            if column.server_default is not None:
                default = sa.literal(column.server_default.arg).compile(
                    dialect=engine.dialect, compile_kwargs={"literal_binds": True}
                )
                ddl += f" DEFAULT {default}" + ("" if column.nullable else " NOT NULL")
            conn.execute(sa.text(ddl))
            added.append(f"{table_name}.{name}")
    if added:
        log.info("monitor store: added the columns %s", ", ".join(added))
    return added


def _number(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _engine(url: URL, readonly: bool) -> Engine:
    if url.get_backend_name() == "postgresql":
        engine = sa.create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})
        return engine.execution_options(postgresql_readonly=True) if readonly else engine
    return _sqlite_engine(Path(url.database), readonly)


def _sqlite_engine(path: Path, readonly: bool) -> Engine:
    """SQLAlchemy's pysqlite recipe: the driver's own transactions off, BEGIN (IMMEDIATE when writing) emitted here."""
    if readonly:
        if not path.is_file():
            raise StoreError(f"no monitor store at {path}: start the watcher (python -m core.commands.watch)")
        url = URL.create("sqlite", database=f"file:{path.resolve()}", query={"mode": "ro", "uri": "true"})
    else:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot open the monitor store {path}: {exc}") from None
        url = URL.create("sqlite", database=str(path))
    engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_S})

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        if not readonly:
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")
        dbapi_connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")

    @sa.event.listens_for(engine, "begin")
    def _begin(conn):
        reading = readonly or conn.get_execution_options().get("reading", False)
        conn.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")

    return engine


def _is_select(sql: str) -> bool:
    return sql.lstrip().split(None, 1)[0].upper() in ("SELECT", "WITH")


def _tweet_value(row: dict, name: str):
    if name == "groups":
        return json.dumps(row.get("groups") or {}, ensure_ascii=False, sort_keys=True)
    if name == "event_at":
        return row["created_at"] if row.get("created_at") is not None else row["received_at"]
    if name in ("label", "reason", "text"):
        return row.get(name) or ""
    return row.get(name)


def group_path(column: str | None) -> str:
    """The SQLite JSON path of a group column in `tweets.groups` (bound as a parameter)."""
    return '$."' + (column or "").replace("\\", "\\\\").replace('"', '\\"') + '"'
