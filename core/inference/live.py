"""Live scoring: one tweet, every approach at once, each in its own column.

Columns are scored concurrently with a timeout each, so a slow or broken column (a cloud service that is
offline, a model still loading) never holds the others back: it answers with the reason instead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from core.models.base import label_for
from core.run_kinds import RUN_KINDS, local_kinds
from core.training.registry import kind_train_commands

MAX_CHARS = 1000  # a tweet is at most 280 characters; longer input is almost surely pasted by mistake
DEFAULT_TIMEOUT_S = 15.0
OPERATORS_ONLY = "operators only"  # the status of a cloud column shown to a viewer
# Local kinds (core.run_kinds.local_kinds) answer in run columns; cloud kinds through their service columns.


class EmptyText(ValueError):
    """The text to score is empty or only whitespace."""


@dataclass(frozen=True)
class PreparedText:
    text: str
    truncated: bool
    original_chars: int
    max_chars: int


def prepare_text(text: str | None, max_chars: int = MAX_CHARS) -> PreparedText:
    """Strip the text, refuse empty input, and cut a huge one to `max_chars` (`truncated` says so)."""
    stripped = (text or "").strip()
    if not stripped:
        raise EmptyText("Type or paste a tweet first: the text is empty.")
    return PreparedText(stripped[:max_chars], len(stripped) > max_chars, len(stripped), max_chars)


@dataclass
class Answer:
    key: str
    name: str
    source: str  # "local" or "cloud"
    status: str  # ok, not trained, not configured, offline, error, timeout
    p_pos: float | None = None
    label: str | None = None
    latency_ms: float | None = None
    cost_usd: float | None = None
    reason: str = ""
    load_ms: float | None = None  # time spent loading the model on this call (not part of latency)
    cached: bool = False
    service_label: str | None = None  # a cloud service's own label (Azure Language: also neutral / mixed)
    backend: str = ""  # what computed a local answer: "ONNX int8", "ONNX fp32", "PyTorch", "scikit-learn", ...

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Score:
    p_pos: float
    latency_ms: float | None = None  # the scoring call alone; None = the whole column call
    cost_usd: float = 0.0
    label: str | None = None
    load_ms: float | None = None
    cached: bool = False
    backend: str = ""


@dataclass
class LiveColumn:
    """One column of the live page: either a scorer, or the reason it cannot answer."""

    key: str
    name: str
    source: str
    scorer: Callable[[str], Score] | None = None
    unavailable_status: str = ""
    unavailable_reason: str = ""


# ----------------------------------------------------------------- local runs


class ModelCache:
    """Loaded models by run folder, reloaded when the run's files change; safe to share between threads.

    A load that outlives a column's timeout keeps going in its thread and is ready for the next tweet.
    """

    def __init__(self):
        self._models: dict[Path, tuple[float, object]] = {}
        self._locks: dict[Path, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, run_dir: Path) -> tuple[object, float | None]:
        """(model, milliseconds spent loading it now, or None when it was already loaded)."""
        run_dir = Path(run_dir)
        stamp = (run_dir / "run.json").stat().st_mtime
        with self._guard:
            lock = self._locks.setdefault(run_dir, threading.Lock())
        with lock:
            cached = self._models.get(run_dir)
            if cached and cached[0] == stamp:
                return cached[1], None
            started = time.perf_counter()
            from core.models.base import (
                load,  # lazily: loading a logreg run never imports TF or torch
            )

            model = load(run_dir)
            model.predict_proba(["warm up"])  # graph tracing / session start count as loading, not as latency
            self._models[run_dir] = (stamp, model)
            return model, (time.perf_counter() - started) * 1000


def latest_per_approach(runs: list) -> list:
    """The newest succeeded local run of each approach (runs as core.tracking.runs.list_runs returns them)."""
    chosen: dict[str, object] = {}
    for run in sorted(runs, key=_started, reverse=True):
        if run.status == "succeeded" and run.kind in local_kinds():
            chosen.setdefault(run.approach, run)
    return list(chosen.values())


def _started(run) -> float:
    return run.meta.get("timings", {}).get("started_unix", 0.0)


def run_column(run, models: ModelCache) -> LiveColumn:
    """A column answered by a local run's model."""
    name = f"{run.approach} · {run.id}"
    if run.status != "succeeded":
        return LiveColumn(
            run.id,
            name,
            "local",
            unavailable_status="not trained",
            unavailable_reason=f"run {run.id} is {run.status}, not succeeded",
        )

    def score(text: str) -> Score:
        model, load_ms = models.get(run.path)
        started = time.perf_counter()
        p = float(model.predict_proba([text])[0])
        return Score(p_pos=p, latency_ms=_ms_since(started), load_ms=load_ms, backend=serving_backend(model))

    return LiveColumn(run.id, name, "local", scorer=score)


def serving_backend(model) -> str:
    """What answers for a loaded model: the transformer's actual backend (after any fallback), else its library."""
    label = getattr(model, "backend_label", "")
    return f"{label} (fallback: {model.note})" if getattr(model, "note", "") else label


def untrained_columns(runs: list) -> list[LiveColumn]:
    """One 'not trained' column per local approach family (that has a "train this" command) with no succeeded run
    yet."""
    trained = {run.kind for run in runs if run.status == "succeeded"}
    return [
        LiveColumn(
            f"untrained-{kind}",
            RUN_KINDS[kind].name,
            "local",
            unavailable_status="not trained",
            unavailable_reason=f"no succeeded {kind} run yet: train one on the Train page or run `{command}`",
        )
        for kind, command in kind_train_commands().items()
        if kind not in trained
    ]


# ------------------------------------------------------------- cloud services


class Unavailable(Exception):
    """A column that cannot answer for a known reason; `status` says which (not configured, not trained)."""

    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status = status


def service_column(service) -> LiveColumn:
    """A column answered by a cloud service (core.azure.services); unconfigured ones say what is missing.

    The status check runs inside the column (it may ask Key Vault over the network), so it is timed out too.
    """
    key, name = getattr(service, "key", "service"), getattr(service, "name", "Cloud service")

    def score(text: str) -> Score:
        configured, why = service.status()
        if not configured:
            raise Unavailable("not configured", why)
        started = time.perf_counter()
        result = service.score([text])
        latency_ms = _ms_since(started)
        errors = list(getattr(result, "errors", None) or [])
        if errors and errors[0]:
            raise RuntimeError(str(errors[0]))
        p = float(result.p_pos[0])
        labels = list(getattr(result, "labels", None) or [])
        return Score(
            p_pos=p,
            latency_ms=latency_ms,
            cost_usd=float(getattr(result, "cost_usd", 0.0) or 0.0),
            label=labels[0] if labels else None,
            cached=bool(_first(getattr(result, "cached", False))),
        )

    return LiveColumn(key, name, "cloud", scorer=score)


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _first(value):
    if isinstance(value, (list, tuple)):
        return value[0] if value else False
    return value


def cloud_columns() -> list[LiveColumn]:
    """Every cloud service as a column; a service whose client cannot be built says why in its column."""
    try:
        from core.azure import services
    except Exception as exc:
        return [
            LiveColumn(
                "cloud",
                "Cloud services",
                "cloud",
                unavailable_status="not configured",
                unavailable_reason=f"cloud services unavailable ({type(exc).__name__}: {exc})",
            )
        ]
    columns = []
    for key in services.SERVICE_KEYS:  # one by one, so a broken client leaves the others usable
        try:
            columns.append(service_column(services.get_service(key)))
        except Exception as exc:
            columns.append(
                LiveColumn(
                    key, key, "cloud", unavailable_status="error", unavailable_reason=f"{type(exc).__name__}: {exc}"
                )
            )
    return columns


def refused_cloud_columns(reason: str) -> list[LiveColumn]:
    """The cloud columns as a viewer sees them: named, never called (no status check either), refused with
    `reason` — paid calls are for operators."""
    return [
        replace(column, scorer=None, unavailable_status=OPERATORS_ONLY, unavailable_reason=reason)
        for column in cloud_columns()
    ]


_OFFLINE_NAMES = {
    "ConnectionError",
    "ServiceRequestError",
    "NewConnectionError",
    "MaxRetryError",
    "NameResolutionError",
    "gaierror",
    "ConnectTimeout",
    "ConnectionRefusedError",
}


def _is_offline(exc: BaseException) -> bool:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if (
            type(exc).__name__ in _OFFLINE_NAMES
            or isinstance(exc, ConnectionError)
            or any(marker in str(exc).lower() for marker in ("offline", "not reachable"))
        ):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


# -------------------------------------------------------------------- scoring


def _answer(column: LiveColumn, text: str) -> Answer:
    if column.scorer is None:
        return Answer(
            column.key,
            column.name,
            column.source,
            column.unavailable_status or "error",
            reason=column.unavailable_reason,
        )
    started = time.perf_counter()
    try:
        score = column.scorer(text)
    except Unavailable as exc:
        return Answer(column.key, column.name, column.source, exc.status, reason=str(exc))
    except Exception as exc:
        status = "offline" if _is_offline(exc) else "error"
        return Answer(column.key, column.name, column.source, status, reason=f"{type(exc).__name__}: {exc}")
    latency_ms = score.latency_ms if score.latency_ms is not None else _ms_since(started)
    return Answer(
        column.key,
        column.name,
        column.source,
        "ok",
        p_pos=score.p_pos,
        label=label_for(score.p_pos),
        latency_ms=latency_ms,
        cost_usd=score.cost_usd,
        load_ms=score.load_ms,
        cached=score.cached,
        service_label=score.label,
        backend=score.backend,
    )


def score_columns(columns: list[LiveColumn], text: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> list[Answer]:
    """Score `text` in every column at once; a column still busy after `timeout_s` answers 'timeout'."""
    if not columns:
        return []
    pool = ThreadPoolExecutor(max_workers=len(columns), thread_name_prefix="live-column")
    futures = [pool.submit(_answer, column, text) for column in columns]
    wait(futures, timeout=timeout_s)
    answers = []
    for column, future in zip(columns, futures):
        if future.done():
            answers.append(future.result())
        else:
            answers.append(
                Answer(
                    column.key,
                    column.name,
                    column.source,
                    "timeout",
                    reason=f"no answer within {timeout_s:g} s (a model may still be loading: try again in a moment)",
                )
            )
    pool.shutdown(wait=False, cancel_futures=True)  # a stuck column keeps its thread, not the page
    return answers
