"""The run registry: one self-contained folder per training or evaluation run.

run.json is the source of truth for a run's identity and status; `succeeded` is written last, after every
model file and metrics.json, so a crash can never leave a half-written run that looks good. A heartbeat file
lets readers tell a live run from one whose process died. One folder has one writer: `start_run` holds an
exclusive `flock` on `<run>/.lock` for the run's life, which the OS drops when the process dies.
"""

from __future__ import annotations

import fcntl
import json
import os
import platform
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from core.config import runs_dir
from core.files import json_default, write_json_atomic

HEARTBEAT_SECONDS = 5.0
STALE_AFTER_SECONDS = 60.0
STATUSES = ("running", "succeeded", "failed", "cancelled")
LOCK_FILE = ".lock"
TRACKED_PACKAGES = (
    "numpy",
    "pandas",
    "scikit-learn",
    "nltk",
    "gensim",
    "tensorflow",
    "keras",
    "torch",
    "transformers",
    "onnxruntime",
    "azure-ai-textanalytics",
    "azure-ai-ml",
)


class RunCancelled(Exception):
    """Raised inside a run when SIGTERM/SIGINT asks it to stop."""


class RunFolderInUse(RuntimeError):
    """Another live process holds the run folder's lock: it is that run's folder until the process ends."""


class RunFolderLock:
    """An exclusive, non-blocking `flock` on `<run>/.lock`, held while this object is open (use `with`).

    The lock belongs to the open file, not to the file on disk, so the OS releases it when the process dies,
    however it dies. The file keeps the holder's pid for the error message and is never deleted (deleting a
    lock file lets two processes each lock a different inode)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self._fd: int | None = None

    def acquire(self) -> RunFolderLock:
        fd = os.open(self.folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunFolderInUse(
                f"{self.folder} is in use by another training (pid {self.holder() or '?'}); choose another --output"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def holder(self) -> str:
        try:
            return (self.folder / LOCK_FILE).read_text().strip()
        except OSError:
            return ""

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the only descriptor drops the flock
            self._fd = None

    def __enter__(self) -> RunFolderLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def one_line(message: object) -> str:
    return " ".join(str(message).split())


def failure_reason(exc: BaseException, expected: tuple[type[BaseException], ...] = ()) -> str:
    """The one line run.json keeps about a failure. An expected error (bad data, a bad option) is its own
    message; anything else is its type and where it was raised, never its message, which may quote the data
    (the traceback, in the process's log, is for developers)."""
    if isinstance(exc, expected):
        return one_line(exc)
    frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ else []
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno} in {frames[-1].name}" if frames else ""
    return f"unexpected {type(exc).__name__}{where} (the traceback is in the log)"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def read_json(path: Path, default: Any = None) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (FileNotFoundError, json.JSONDecodeError):
        return default


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


class Run:
    """A run being written by the current process (see `start_run`)."""

    def __init__(self, path: Path, meta: dict):
        self.path = Path(path)
        self.meta = meta
        self._lock = threading.Lock()

    @property
    def id(self) -> str:
        return self.meta["id"]

    def update(self, **fields: Any) -> None:
        with self._lock:
            self.meta.update(fields)
            write_json_atomic(self.path / "run.json", self.meta)

    def set_data(self, split) -> None:
        """Record which data and which split this run used (see core.data.split.Split.describe)."""
        self.update(data=split.describe())

    def set_timing(self, **timings: float) -> None:
        self.update(timings={**self.meta.get("timings", {}), **timings})

    def progress(self, phase: str, message: str = "", **fields: Any) -> None:
        """Record progress for the dashboard (progress.json) and write it to stdout as one parseable line."""
        record = {"phase": phase, "message": message, "updated": time.time(), **fields}
        write_json_atomic(self.path / "progress.json", record)
        # A protocol, not a log message: one `[progress] {json}` line on the trainer's stdout, which the dashboard
        # and the tests parse. Logging would reformat it, filter it by level and send it to stderr.
        sys.stdout.write("[progress] " + json.dumps(record, default=json_default) + "\n")
        sys.stdout.flush()

    def save_history(self, history: list[dict]) -> None:
        write_json_atomic(self.path / "history.json", history)

    def finish(self, metrics: dict) -> None:
        write_json_atomic(self.path / "metrics.json", metrics)
        self._end("succeeded")

    def _end(self, status: str, **fields: Any) -> None:
        started = self.meta.get("timings", {}).get("started_unix", time.time())
        timings = {
            **self.meta.get("timings", {}),
            "finished": now_iso(),
            "wall_seconds": round(time.time() - started, 3),
        }
        self.update(status=status, timings=timings, **fields)


@contextmanager
def start_run(
    output_dir: str | Path,
    kind: str,
    approach: str,
    params: dict | None = None,
    expected_errors: tuple[type[BaseException], ...] = (),
) -> Iterator[Run]:
    """Create the run folder and keep its status honest whatever happens inside the block.

    Raises RunFolderInUse, before touching anything in the folder, when another live process writes it.
    `expected_errors` are failures whose message run.json may keep as is (see `failure_reason`)."""
    path = Path(output_dir)
    path.mkdir(parents=True, exist_ok=True)  # the dashboard's launcher may have made it already (train.log)
    with RunFolderLock(path):
        run = _begin(path, kind, approach, params)
        stop = threading.Event()
        beat = threading.Thread(target=_heartbeat_loop, args=(path, stop), daemon=True)
        beat.start()
        previous = _install_cancel_handlers()
        try:
            yield run
            if run.meta.get("status") == "running":
                raise RuntimeError("run ended without calling run.finish(metrics)")
        except (RunCancelled, KeyboardInterrupt):
            run._end("cancelled", error="cancelled by the user")
            raise
        except BaseException as exc:
            run._end("failed", error=failure_reason(exc, expected_errors))
            raise
        finally:
            stop.set()
            beat.join(timeout=2)
            _restore_handlers(previous)


def _begin(path: Path, kind: str, approach: str, params: dict | None) -> Run:
    """Clear what a previous run in this folder left and write the new run.json (status running)."""
    for stale in ("metrics.json", "progress.json", "history.json", "test_predictions.csv"):
        (path / stale).unlink(missing_ok=True)
    meta = {
        "id": path.name,
        "kind": kind,
        "approach": approach,
        "params": params or {},
        "status": "running",
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "versions": library_versions(),
        "timings": {"started": now_iso(), "started_unix": time.time()},
    }
    run = Run(path, meta)
    run.update()
    return run


def _heartbeat_loop(path: Path, stop: threading.Event) -> None:
    while True:
        try:
            (path / ".heartbeat.tmp").write_text(str(time.time()))
            os.replace(path / ".heartbeat.tmp", path / "heartbeat")
        except OSError:
            pass
        if stop.wait(HEARTBEAT_SECONDS):
            return


def _raise_cancelled(signum, frame):
    raise RunCancelled(f"received signal {signum}")


def _install_cancel_handlers():
    if threading.current_thread() is not threading.main_thread():
        return None
    return {sig: signal.signal(sig, _raise_cancelled) for sig in (signal.SIGTERM, signal.SIGINT)}


def _restore_handlers(previous) -> None:
    for sig, handler in (previous or {}).items():
        signal.signal(sig, handler)


# ---------------------------------------------------------------- reading runs


@dataclass
class RunInfo:
    path: Path
    meta: dict
    status: str
    status_reason: str = ""
    metrics: dict = field(default_factory=dict)
    history: list = field(default_factory=list)
    progress: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.meta.get("id", self.path.name)

    @property
    def kind(self) -> str:
        return self.meta.get("kind", "?")

    @property
    def approach(self) -> str:
        return self.meta.get("approach", self.kind)

    def log_tail(self, lines: int = 20) -> str:
        log = self.path / "train.log"
        if not log.exists():
            return ""
        with open(log, "rb") as fh:
            fh.seek(max(0, log.stat().st_size - 64_000))
            return "\n".join(fh.read().decode("utf-8", "replace").splitlines()[-lines:])


def process_alive(meta: dict) -> bool:
    pid = meta.get("pid")
    if not pid or meta.get("host") != socket.gethostname():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (finished, not yet reaped) is not alive; but a leader thread that exited while other threads
    # still shut down also reads as a zombie, so the process is alive while any of its threads is.
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        return any(_thread_state(t / "stat") not in ("Z", "X") for t in tasks)
    except OSError:
        return True


def _thread_state(stat: Path) -> str:
    try:
        return stat.read_text().rsplit(") ", 1)[1][0]
    except (OSError, IndexError):
        return "X"


def effective_status(path: Path, meta: dict) -> tuple[str, str]:
    """The status to show: a 'running' run whose process is gone or silent is shown as failed."""
    status = meta.get("status", "failed")
    if status != "running":
        return status, meta.get("error", "")
    try:
        beat = float((Path(path) / "heartbeat").read_text())
    except (OSError, ValueError):
        beat = meta.get("timings", {}).get("started_unix", 0.0)
    same_host = meta.get("host") == socket.gethostname()
    if same_host and not process_alive(meta):
        return "failed", "the training process died (no exit status recorded)"
    if time.time() - beat > STALE_AFTER_SECONDS:
        return "failed", f"no heartbeat for {time.time() - beat:.0f} s"
    return "running", ""


def read_run(path: str | Path) -> RunInfo | None:
    path = Path(path)
    meta = read_json(path / "run.json")
    if not isinstance(meta, dict):
        return None
    status, reason = effective_status(path, meta)
    return RunInfo(
        path=path,
        meta=meta,
        status=status,
        status_reason=reason,
        metrics=read_json(path / "metrics.json", {}) if status == "succeeded" else {},
        history=read_json(path / "history.json", []) or [],
        progress=read_json(path / "progress.json", {}) or {},
    )


def list_runs(root: str | Path | None = None) -> list[RunInfo]:
    """Every run under root (default: the runs folder), newest first."""
    root = Path(root) if root else runs_dir()
    if not root.is_dir():
        return []
    runs = [info for child in root.iterdir() if child.is_dir() and (info := read_run(child))]
    return sorted(runs, key=lambda r: r.meta.get("timings", {}).get("started_unix", 0.0), reverse=True)


def runs_signature(root: str | Path | None = None) -> tuple:
    """A cheap fingerprint of the runs folder (names + mtimes) to key dashboard caches on."""
    root = Path(root) if root else runs_dir()
    if not root.is_dir():
        return ()
    sig = []
    for child in sorted(root.iterdir()):
        for name in ("run.json", "metrics.json", "progress.json", "heartbeat"):
            f = child / name
            if f.exists():
                sig.append((child.name, name, f.stat().st_mtime_ns))
    return tuple(sig)
