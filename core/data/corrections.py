"""Labels fixed by an analyst: a small labelled dataset kept beside the data, usable to evaluate and to train.

An analyst who sees a wrong answer in the monitor or in Live scoring marks the tweet's true label (negative,
neutral or positive). Each mark is stored in an SQLite database under `config.data_dir()/corrections/` (the
standard library's sqlite3: several page sessions may write at once, and a write is one transaction), with who
made it, when (UTC, ISO 8601), where (`monitor` or `live`) and the model answers that were wrong (run id, run
label, P(positive) and the label it gave; an answer that agreed with the analyst is not kept), and for a negative
tweet, optionally, its complaint reason (`reason_tags()`: what core.reasons learns from).

Deduplicated by text: two marks of the same text, up to whitespace (runs of spaces, tabs and line breaks count as
one space, ends stripped), are one correction. The latest mark wins; every mark is kept as history
(`correction_history()`), and `corrections_frame()` gives one row per text with `times_corrected` and
`first_corrected_at`.

`export_csv()` writes the corrections as a CSV that `core.data.loading.load_dataset` reads as a labelled set:
columns `text,label` (negative / neutral / positive: the loader drops and counts the neutral ones, as for the
official test set) followed by the metadata columns. `corrections_csv_path()` is the stable copy of that export
(`corrections/corrections.csv`, refreshed after every mark) that evaluation sets, trainers (`--extra-data`) and
the pages' data sources (`core.data.sources`) use; it exists only while at least one correction is negative or
positive (a file of neutral rows only would be a labelled set with no usable row).
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from core import config
from core.data.spreadsheet import neutralised, xlsx_bytes
from core.files import write_atomic

LABELS = ("negative", "neutral", "positive")
ORIGINS = ("monitor", "live")
FOLDER = "corrections"
DATABASE = "corrections.sqlite3"
EXPORT = "corrections.csv"
LINE_END = "\r\n"  # as core.inference.batch: a lone carriage return inside a text stays one field
EXPORT_COLUMNS = [
    "text",
    "label",
    "who",
    "corrected_at",
    "origin",
    "run_id",
    "run_label",
    "score",
    "predicted_label",
    "times_corrected",
    "first_corrected_at",
    "reason",
]
MAX_WHO_CHARS = 200
MAX_REASON_CHARS = 60  # a complaint reason's name (core.reasons.taxonomy)
BUSY_TIMEOUT_S = 30.0
SCHEMA = """
CREATE TABLE IF NOT EXISTS corrections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    text_key TEXT NOT NULL,
    text TEXT NOT NULL,
    label TEXT NOT NULL,
    who TEXT NOT NULL,
    corrected_at TEXT NOT NULL,
    origin TEXT NOT NULL,
    answers TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS corrections_by_text ON corrections (text_key, id);
"""
ADDED_COLUMNS = {"reason": "TEXT NOT NULL DEFAULT ''"}  # columns a store made by an older version gains


class CorrectionError(ValueError):
    """A correction that cannot be stored (no text, an unknown label or origin), or a store that cannot be read or
    written. Never quotes the text."""


@dataclass(frozen=True)
class ModelAnswer:
    """What one model said about the tweet: its run (or service), P(positive) and the label it gave."""

    run_id: str
    run_label: str
    score: float | None
    predicted_label: str


@dataclass(frozen=True)
class Correction:
    text: str
    label: str
    who: str
    corrected_at: str
    origin: str
    answers: tuple[ModelAnswer, ...]
    times_corrected: int
    reason: str = ""


# ------------------------------------------------------------------ where


def corrections_dir() -> Path:
    return config.data_dir() / FOLDER


def database_path() -> Path:
    return corrections_dir() / DATABASE


def export_path() -> Path:
    """The stable export (may not exist yet: `corrections_csv_path()` writes it)."""
    return corrections_dir() / EXPORT


def normalise_text(text: str) -> str:
    """The deduplication key: whitespace runs as one space, ends stripped (NUL bytes dropped)."""
    return " ".join(str(text).replace("\0", "").split())


@contextmanager
def _connect(create: bool) -> Iterator[sqlite3.Connection | None]:
    """A connection for one operation (None when there is no database and `create` is False)."""
    path = database_path()
    if not create and not path.is_file():
        yield None
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with closing(sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)) as conn:
            conn.executescript(SCHEMA)
            _add_missing_columns(conn)
            yield conn
    except sqlite3.Error as exc:  # a corrupt or locked file: one sentence, not a traceback on a page
        raise CorrectionError(f"the corrections store {path.name} could not be used ({type(exc).__name__})") from None


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    have = {row[1] for row in conn.execute("PRAGMA table_info(corrections)")}
    for name, declaration in ADDED_COLUMNS.items():
        if name not in have:
            conn.execute(f"ALTER TABLE corrections ADD COLUMN {name} {declaration}")


# ------------------------------------------------------------------ writing


def add_correction(
    text: str,
    label: str,
    *,
    who: str = "local",
    origin: str = "monitor",
    answers: Iterable[ModelAnswer] = (),
    when: datetime | None = None,
    reason: str | None = None,
) -> Correction:
    """Store the analyst's label for a tweet (the latest label of a text wins) and refresh the export.

    Only the answers that disagree with `label` are kept: they are the model answers that were wrong. `reason`: the
    complaint reason of a negative tweet (a name of core.reasons' taxonomy, checked by the caller)."""
    key = normalise_text(text)
    if not key:
        raise CorrectionError("a correction needs a tweet with some text")
    label = str(label).strip().lower()
    if label not in LABELS:
        raise CorrectionError(f"the label must be one of {', '.join(LABELS)}")
    if origin not in ORIGINS:
        raise CorrectionError(f"the origin must be one of {', '.join(ORIGINS)}")
    who = " ".join(str(who).split())[:MAX_WHO_CHARS] or "local"
    reason = _checked_reason(reason, label)
    stamp = (when or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
    wrong = tuple(a for a in answers if a.predicted_label != label)
    stored = json.dumps([asdict(a) for a in wrong])
    with _connect(create=True) as conn, conn:
        conn.execute(
            "INSERT INTO corrections (text_key, text, label, who, corrected_at, origin, answers, reason) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (key, str(text), label, who, stamp, origin, stored, reason),  # the text exactly: ends and NULs kept
        )
        times = conn.execute("SELECT COUNT(*) FROM corrections WHERE text_key = ?", (key,)).fetchone()[0]
    corrections_csv_path()
    return Correction(str(text), label, who, stamp, origin, wrong, int(times), reason)


def _checked_reason(reason: str | None, label: str) -> str:
    reason = " ".join(str(reason or "").split())
    if reason and label != "negative":
        raise CorrectionError("a complaint reason goes with a negative label only")
    if len(reason) > MAX_REASON_CHARS:
        raise CorrectionError(f"a complaint reason is at most {MAX_REASON_CHARS} characters")
    return reason


# ------------------------------------------------------------------ reading


def correction_history() -> pd.DataFrame:
    """Every mark ever made, oldest first: id, text_key, text, label, who, corrected_at, origin, answers (JSON),
    reason."""
    columns = ["id", "text_key", "text", "label", "who", "corrected_at", "origin", "answers", "reason"]
    with _connect(create=False) as conn:
        if conn is None:
            return pd.DataFrame(columns=columns)
        rows = conn.execute(f"SELECT {', '.join(columns)} FROM corrections ORDER BY id").fetchall()
    return pd.DataFrame(rows, columns=columns)


def corrections_frame() -> pd.DataFrame:
    """One row per text (its latest label, who and when), in the order texts were first corrected; EXPORT_COLUMNS.

    run_id, run_label, score and predicted_label describe the answers that disagree with that label, from any mark
    of the text (the latest per run), joined by "; " when several models were wrong (empty when none was)."""
    history = correction_history()
    if history.empty:
        return pd.DataFrame(columns=EXPORT_COLUMNS)
    grouped = history.groupby("text_key", sort=False)
    latest = history.loc[grouped["id"].idxmax()].set_index("text_key")
    latest["times_corrected"] = grouped.size()
    latest["first_corrected_at"] = grouped["corrected_at"].first()
    latest["first_id"] = grouped["id"].min()
    answers = grouped["answers"].agg(list)
    parts = pd.Series([_answer_columns(answers[k], latest.at[k, "label"]) for k in latest.index], index=latest.index)
    for column in ("run_id", "run_label", "score", "predicted_label"):
        latest[column] = parts.map(lambda cells, c=column: cells[c])
    latest = latest.sort_values("first_id").reset_index(drop=True)
    return latest[EXPORT_COLUMNS]


def _answer_columns(stored: list[str], label: str) -> dict[str, str]:
    """The wrong answers of every mark of a text that still disagree with its latest label (one per run, the latest)."""
    by_run = {}
    for marks in stored:
        for answer in json.loads(marks or "[]"):
            by_run.pop(answer.get("run_id"), None)
            by_run[answer.get("run_id")] = answer
    answers = [a for a in by_run.values() if a.get("predicted_label") != label]
    return {
        "run_id": "; ".join(str(a.get("run_id", "")) for a in answers),
        "run_label": "; ".join(str(a.get("run_label", "")) for a in answers),
        "score": "; ".join("" if a.get("score") is None else f"{float(a['score']):.4f}" for a in answers),
        "predicted_label": "; ".join(str(a.get("predicted_label", "")) for a in answers),
    }


def reason_tags() -> pd.DataFrame:
    """The analysts' complaint reasons: text and reason of each text whose latest mark is negative with a reason."""
    frame = corrections_frame()
    tagged = frame[(frame["label"] == "negative") & (frame["reason"] != "")]
    return tagged[["text", "reason"]].reset_index(drop=True)


def latest_reason(text: str) -> str:
    """The complaint reason an analyst last gave this text ('' when none)."""
    with _connect(create=False) as conn:
        if conn is None:
            return ""
        row = conn.execute(
            "SELECT reason FROM corrections WHERE text_key = ? ORDER BY id DESC LIMIT 1", (normalise_text(text),)
        ).fetchone()
    return row[0] if row else ""


def corrected_keys() -> set[str]:
    """The normalised texts that have a correction (see `normalise_text`)."""
    with _connect(create=False) as conn:
        if conn is None:
            return set()
        return {row[0] for row in conn.execute("SELECT DISTINCT text_key FROM corrections")}


def latest_label(text: str) -> str | None:
    """The label an analyst last gave this text, or None."""
    with _connect(create=False) as conn:
        if conn is None:
            return None
        row = conn.execute(
            "SELECT label FROM corrections WHERE text_key = ? ORDER BY id DESC LIMIT 1", (normalise_text(text),)
        ).fetchone()
    return row[0] if row else None


# ------------------------------------------------------------------ export


def export_csv(target: str | Path | None = None, spreadsheet_safe: bool = False, with_who: bool = True) -> bytes:
    """The corrections as a labelled CSV (UTF-8, CRLF): `text,label` and the metadata columns, every text exactly
    as marked (its ends, NULs and a leading `=` kept: what `load_dataset` reads back). `spreadsheet_safe` prefixes
    a `'` to formula-leading cells (core.data.spreadsheet), for a spreadsheet only; `with_who=False` leaves out
    who marked each text (their e-mail addresses: a viewer's download).

    Written atomically to `target` when one is given; the bytes are returned either way (a download button)."""
    frame = export_frame(with_who)
    content = _csv_bytes(neutralised(frame) if spreadsheet_safe else frame)
    if target is not None:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, content)
    return content


def export_xlsx(with_who: bool = True) -> bytes:
    """The corrections as an Excel workbook whose text cells stay text (for a spreadsheet)."""
    return xlsx_bytes(export_frame(with_who), sheet="corrections")


def export_frame(with_who: bool = True) -> pd.DataFrame:
    frame = corrections_frame()
    return frame if with_who else frame.drop(columns=["who"])


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=LINE_END)
    writer.writerow(list(frame.columns))
    writer.writerows(frame.itertuples(index=False, name=None))
    return out.getvalue().encode("utf-8")


def usable_rows(frame: pd.DataFrame | None = None) -> int:
    """Corrections a labelled set can use (negative or positive: neutral ones are dropped by the loader)."""
    frame = corrections_frame() if frame is None else frame
    return int(frame["label"].isin(("negative", "positive")).sum())


_export_guard = threading.Lock()


def corrections_csv_path() -> Path | None:
    """The stable export, brought up to date (rewritten only when its content changed, so its fingerprint holds);
    None, and no file, while no correction is negative or positive."""
    path = export_path()
    if not database_path().is_file():
        return None
    # one export at a time (threads and processes): the last one to run reads every committed mark
    with _export_guard, _file_lock(corrections_dir() / ".export.lock"):
        frame = corrections_frame()
        if not usable_rows(frame):
            path.unlink(missing_ok=True)
            return None
        content = _csv_bytes(frame)
        if not (path.is_file() and path.read_bytes() == content):
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, content)
    return path


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
