"""Live scoring: one tweet, every approach at once, each in its own column.

Columns are scored concurrently with a timeout each, so a slow or broken column (a cloud service that is
offline, a model still loading) never holds the others back: it answers with the reason instead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from core.data.labels import BINARY_CLASSES, binary_proba, is_three_way
from core.models.base import labels_from_proba
from core.run_kinds import RUN_KINDS, local_kinds
from core.training.registry import kind_train_commands

MAX_CHARS = 1000  # a tweet is at most 280 characters; longer input is almost surely pasted by mistake
DEFAULT_TIMEOUT_S = 15.0
OPERATORS_ONLY = "operators only"  # the status of a cloud column shown to a viewer
# Local kinds (core.run_kinds.local_kinds) answer in run columns; cloud kinds through their service columns.
LOADING = "loading"  # the status of a column whose model is still being loaded (by the warm-up, say)
LOADING_WAIT_S = 1.0  # how long a click waits for a model someone else is loading before answering LOADING
log = logging.getLogger(__name__)


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
    # a three-way answer's class probabilities, {"negative": p, "neutral": p, "positive": p}; None for a binary one
    probabilities: dict[str, float] | None = None

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
    proba: tuple[float, ...] | None = None  # class probabilities in `classes` order (None: [1 - p_pos, p_pos])
    classes: tuple[str, ...] = BINARY_CLASSES

    def answer_fields(self) -> dict:
        """p_pos, the label by the one decision rule, and a three-way answer's class probabilities."""
        proba = binary_proba([self.p_pos])[0] if self.proba is None else self.proba
        label = str(labels_from_proba([proba], self.classes)[0])
        if not is_three_way(self.classes):
            return {"p_pos": self.p_pos, "label": label, "probabilities": None}
        return {"p_pos": self.p_pos, "label": label, "probabilities": dict(zip(self.classes, map(float, proba)))}


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


class StillLoading(Exception):
    """The model is being loaded by another thread (the warm-up at server start, or another visitor's click)."""


class ModelCache:
    """Loaded models by run folder, reloaded when the run's files change; safe to share between threads.

    One per server: `warm(runs)` loads models in a background thread as soon as the server starts, so no visitor
    pays for it. A caller that finds a model being loaded waits at most `wait_s` (None: as long as it takes), then
    gets StillLoading; the load keeps going and is ready for the next tweet.
    """

    def __init__(self):
        self._models: dict[Path, tuple[float, object]] = {}
        self._locks: dict[Path, threading.Lock] = {}
        self._guard = threading.Lock()
        self._warming: threading.Thread | None = None
        self.warm_seconds: dict[str, float] = {}  # run folder name -> seconds its warm-up load took

    def get(self, run_dir: Path, wait_s: float | None = None) -> tuple[object, float | None]:
        """(model, milliseconds spent loading it now, or None when it was already loaded)."""
        run_dir = Path(run_dir)
        stamp = (run_dir / "run.json").stat().st_mtime
        with self._guard:
            lock = self._locks.setdefault(run_dir, threading.Lock())
        if not lock.acquire(timeout=-1 if wait_s is None else wait_s):
            raise StillLoading(run_dir.name)
        try:
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
        finally:
            lock.release()

    def loaded(self, run_dir: Path) -> bool:
        return Path(run_dir) in self._models

    def warm(self, run_dirs: list[Path]) -> threading.Thread | None:
        """Load these runs' models one after the other in a background thread (once: later calls while it runs,
        or for runs already loaded, start nothing). A run that cannot load is logged and skipped: its column
        says why when asked."""
        with self._guard:
            if self._warming is not None and self._warming.is_alive():
                return None
            todo = [Path(d) for d in run_dirs if not self.loaded(d)]
            if not todo:
                return None
            self._warming = threading.Thread(target=self._warm, args=(todo,), name="live-warm-up", daemon=True)
            self._warming.start()
            return self._warming

    def _warm(self, run_dirs: list[Path]) -> None:
        for run_dir in run_dirs:
            started = time.perf_counter()
            try:
                self.get(run_dir)
            except Exception as exc:  # noqa: BLE001 - the column reports it when asked; the warm-up goes on
                log.warning("warm-up: run %s not loaded (%s)", run_dir.name, type(exc).__name__)
                continue
            self.warm_seconds[run_dir.name] = time.perf_counter() - started
            log.info("warm-up: run %s loaded in %.1f s", run_dir.name, self.warm_seconds[run_dir.name])


def latest_per_approach(runs: list) -> list:
    """The newest succeeded local run of each approach (runs as core.tracking.runs.list_runs returns them)."""
    chosen: dict[str, object] = {}
    for run in sorted(runs, key=_started, reverse=True):
        if run.status == "succeeded" and run.kind in local_kinds():
            chosen.setdefault(run.approach, run)
    return list(chosen.values())


def _started(run) -> float:
    return run.meta.get("timings", {}).get("started_unix", 0.0)


def run_column(run, models: ModelCache, wait_s: float | None = LOADING_WAIT_S) -> LiveColumn:
    """A column answered by a local run's model; while another thread loads that model, the column waits
    `wait_s` at most, then answers LOADING (the load goes on, and the next tweet gets the model)."""
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
        try:
            model, load_ms = models.get(run.path, wait_s=wait_s)
        except StillLoading:
            raise Unavailable(
                LOADING, "the model is still loading (the server has just started): ask again in a few seconds"
            ) from None
        started = time.perf_counter()
        if getattr(model, "three_way", False):
            proba = tuple(float(v) for v in model.predict_class_proba([text])[0])
            latency_ms = _ms_since(started)
            return Score(
                proba[-1],
                latency_ms,
                load_ms=load_ms,
                backend=serving_backend(model),
                proba=proba,
                classes=model.classes,
            )
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
    return untrained_kind_columns(frozenset(run.kind for run in runs if run.status == "succeeded"))


def untrained_kind_columns(trained_kinds: frozenset[str]) -> list[LiveColumn]:
    """untrained_columns, from the kinds that have a succeeded run (what a page caches on)."""
    return [
        LiveColumn(
            f"untrained-{kind}",
            RUN_KINDS[kind].name,
            "local",
            unavailable_status="not trained",
            unavailable_reason=f"no succeeded {kind} run yet: train one on the Train page or run `{command}`",
        )
        for kind, command in kind_train_commands().items()
        if kind not in trained_kinds
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
        labels = list(getattr(result, "labels", None) or [])
        classes = tuple(getattr(result, "classes", BINARY_CLASSES))
        proba = tuple(float(v) for v in result.class_proba()[0]) if is_three_way(classes) else None
        return Score(
            p_pos=proba[-1] if proba else float(result.p_pos[0]),
            latency_ms=latency_ms,
            cost_usd=float(getattr(result, "cost_usd", 0.0) or 0.0),
            label=labels[0] if labels else None,
            cached=bool(_first(getattr(result, "cached", False))),
            proba=proba,
            classes=classes,
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
        **score.answer_fields(),
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
