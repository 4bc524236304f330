"""Evaluation sets: any run measured on any labelled file, stored in the run folder under the set's name.

`evaluate_set(model, run_dir, data, name)` reads the file with core.data.loading.load_dataset (the same reader and
labels as training), scores every kept row and writes `<run>/evaluations/<slug>/evaluation.json` (the set's name,
the file's sha256, its display name, the data report, `metrics` = core.evaluation.metrics.classification_report,
the neutral tweets reported apart) and `predictions.csv` (row_id, label, p_pos, text). A three-way run
(core.data.labels) reads the file three ways instead: its neutral tweets are a class of `metrics` (a 3x3
confusion matrix, macro F1), `classes` says so, and predictions.csv adds p_negative, p_neutral, p_positive. Re-evaluating a name
replaces it. TEST_SPLIT names the run's own shared test split (metrics.json, test_predictions.csv), OFFICIAL_SET
the hand-labelled Sentiment140 test set inside the official zip, evaluated after every training when the zip is
there (`evaluate_official_set`) and for older runs by `evaluate_missing`.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from core import config, run_kinds
from core.data.labels import BINARY_CLASSES, is_three_way, probability_columns
from core.data.loading import LoadedData, load_dataset, neutral_texts, resolve_source
from core.evaluation.metrics import classification_report
from core.files import write_atomic, write_json_atomic
from core.models.base import is_positive, labels_from_proba
from core.tracking.runs import RunCancelled, list_runs, one_line, read_json

log = logging.getLogger(__name__)

TEST_SPLIT = "test split"
OFFICIAL_SET = "sentiment140 manual"
EVALUATIONS_DIR = "evaluations"
EVALUATION_FILE = "evaluation.json"
PREDICTIONS_FILE = "predictions.csv"
MAX_NAME_CHARS = 80


class EvalSetError(Exception):
    """A set name or source that cannot be used (one line, says what to do)."""


@dataclass
class EvalSet:
    """A labelled file read once, ready to score with any number of runs."""

    name: str
    source: str  # the display name: the file's name (and zip member), never a server path
    loaded: LoadedData
    neutral: list[str] = field(default_factory=list)  # the non-blank neutral texts (report.neutral_dropped counts all)
    origin: str | Path | None = None  # where it was read from (never shown): a three-way run reads it again
    three_way: LoadedData | None = None  # the file read three ways, once a three-way run asked for it

    def loaded_for(self, classes) -> LoadedData:
        """The file as a run with these classes reads it: binary (neutral apart), or three-way (neutral kept)."""
        if not is_three_way(classes):
            return self.loaded
        if self.three_way is None:
            self.three_way = load_dataset(self.origin, classes=3)
        return self.three_way


# ------------------------------------------------------------------ names and sources


def slug(name: str) -> str:
    """The folder name of a set: lower case, runs of other characters as one '-'."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def check_name(name: str) -> str:
    name = " ".join(str(name).split())
    if not slug(name) or len(name) > MAX_NAME_CHARS:
        raise EvalSetError(f"an evaluation set needs a name of 1 to {MAX_NAME_CHARS} characters with letters or digits")
    if slug(name) == slug(TEST_SPLIT):
        raise EvalSetError(f"'{TEST_SPLIT}' names each run's own test split: choose another name")
    return name


def _file_and_member(source: str | Path) -> tuple[str, str | None]:
    text = str(source)
    if ".zip:" in text:
        archive, member = text.split(".zip:", 1)
        return Path(archive + ".zip").name, member
    return Path(text).name, None


def display_source(source: str | Path) -> str:
    """What a page or a report may show of a source: its file name (and zip member), no folders."""
    file_name, member = _file_and_member(source)
    return f"{file_name}:{Path(member).name}" if member else file_name


def default_name(source: str | Path) -> str:
    """OFFICIAL_SET for the official manual test file (in its zip or alone), else the file's (member's) stem."""
    file_name, member = _file_and_member(source)
    base = Path(member).name if member else file_name
    if base == config.OFFICIAL_TEST_NAME:
        return OFFICIAL_SET
    return Path(base).stem or base


def official_archive() -> Path:
    return config.data_dir() / config.OFFICIAL_ZIP_NAME


def official_source() -> str | None:
    """`<data folder>/trainingandtestdata.zip:testdata.manual.2009.06.14.csv` when the official zip is there."""
    archive = official_archive()
    return f"{archive}:{config.OFFICIAL_TEST_NAME}" if archive.is_file() else None


def load_eval_set(source: str | Path, name: str | None = None) -> EvalSet:
    """Read a labelled file as an evaluation set (DataError when it cannot be used), its neutral texts apart."""
    loaded = load_dataset(source)
    neutral = [t for t in neutral_texts(source) if t.strip()] if loaded.report.neutral_dropped else []
    return EvalSet(check_name(name or default_name(source)), display_source(source), loaded, neutral, origin=source)


# ------------------------------------------------------------------ scoring and storing


def evaluate_set(model, run_dir: str | Path, data: str | Path | EvalSet, name: str | None = None) -> dict:
    """Score the set's kept rows (and its neutral ones) with `model`, store evaluation.json and predictions.csv
    under `<run_dir>/evaluations/<slug>/`, and return the evaluation. `data` is a source or a loaded EvalSet."""
    started = time.perf_counter()
    data = data if isinstance(data, EvalSet) else load_eval_set(data, name)
    name = check_name(name) if name else data.name
    check_service(model)
    classes = tuple(getattr(model, "classes", BINARY_CLASSES))
    loaded = data.loaded_for(classes)
    frame = loaded.frame
    neutral = [] if is_three_way(classes) else data.neutral
    proba = score_class_proba(model, frame["text"].tolist() + neutral, classes)
    classes = tuple(getattr(model, "classes", classes))  # an endpoint says its run's classes with its answers
    if is_three_way(classes) and loaded is data.loaded:  # an endpoint serving a three-way run: read three ways
        return evaluate_set(model, run_dir, data, name)
    answered = np.isfinite(proba[: len(frame)]).all(axis=1)
    if not answered.any():
        raise EvalSetError(f"{getattr(model, 'name', 'the model')} gave no score for any tweet of {data.source}")
    predictions = prediction_frame(frame, proba[: len(frame)], classes)[answered]
    scores = predictions[["p_negative", "p_neutral", "p_positive"]] if is_three_way(classes) else predictions["p_pos"]
    evaluation = {
        "name": name,
        "fingerprint": loaded.fingerprint,
        "source": data.source,
        "run": Path(run_dir).name,
        "model": getattr(model, "name", ""),
        "data": data_summary(data, loaded),
        "counts": {"rows_kept": len(frame), "scored": int(answered.sum()), "without_score": int((~answered).sum())},
        "neutral": neutral_summary(proba[len(frame) :, -1], data.loaded.report.neutral_dropped)
        if not is_three_way(classes)
        else three_way_neutral_summary(predictions),
        "metrics": classification_report(predictions["label"], scores.to_numpy(), classes=classes),
        "evaluated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if is_three_way(classes):
        evaluation["classes"] = list(classes)
    evaluation["seconds"] = round(time.perf_counter() - started, 3)
    store(Path(run_dir), evaluation, predictions)
    return evaluation


def prediction_frame(frame: pd.DataFrame, proba: np.ndarray, classes) -> pd.DataFrame:
    """row_id, label, p_pos (+ a three-way run's p_negative, p_neutral, p_positive), text."""
    return pd.DataFrame(
        {
            "row_id": frame["row_id"],
            "label": frame["label"],
            "p_pos": np.round(proba[:, -1], 6),
            **probability_columns(proba, classes),
            "text": frame["text"],
        }
    )


def check_service(model) -> None:
    """A cloud model (core.models.cloud) must be configured before anything is sent; its client's spend guard
    and cache do the rest (a budget refusal comes before any request)."""
    service = getattr(model, "service", None)
    if service is None or not hasattr(service, "status"):
        return
    configured, why = service.status()
    if not configured:
        from core.azure.errors import ServiceError

        raise ServiceError(f"{service.name} is not configured: {why}")


def score_texts(model, texts: list[str]) -> np.ndarray:
    """P(positive) per text in one call (a cloud client reserves its budget once), NaN where there is none."""
    if not texts:
        return np.zeros(0)
    return np.asarray(model.predict_proba(texts), dtype=float).reshape(-1)


def score_class_proba(model, texts: list[str], classes) -> np.ndarray:
    """(n, k) class probabilities in one call (a cloud client reserves its budget once), NaN rows where none."""
    if not texts:
        return np.zeros((0, len(classes)))
    if hasattr(model, "predict_class_proba"):
        return np.asarray(model.predict_class_proba(texts), dtype=float).reshape(len(texts), -1)
    p_pos = score_texts(model, texts)
    return np.column_stack([1 - p_pos, p_pos])


def data_summary(data: EvalSet, loaded: LoadedData | None = None) -> dict:
    loaded = loaded or data.loaded
    report = {**asdict(loaded.report), "source": data.source}
    return {"summary": loaded.report.summary(), "reader": loaded.reader, **report}


def neutral_summary(p_neutral: np.ndarray, n: int) -> dict:
    """How the model reads the neutral tweets: the share it calls positive and its mean P(positive)."""
    scored = p_neutral[np.isfinite(p_neutral)]
    return {
        "n": int(n),
        "scored": int(len(scored)),
        "predicted_positive": float(is_positive(scored).mean()) if len(scored) else None,
        "mean_p_pos": float(scored.mean()) if len(scored) else None,
    }


def three_way_neutral_summary(predictions: pd.DataFrame) -> dict:
    """A three-way run's neutral tweets are a class of its metrics: how many, and the share it calls neutral."""
    neutral = predictions[predictions["label"] == 1]
    called = labels_from_proba(
        neutral[["p_negative", "p_neutral", "p_positive"]].to_numpy(), ("negative", "neutral", "positive")
    )
    return {
        "n": int(len(neutral)),
        "scored": int(len(neutral)),
        "as_class": True,
        "predicted_neutral": float((called == "neutral").mean()) if len(neutral) else None,
    }


def store(run_dir: Path, evaluation: dict, predictions: pd.DataFrame) -> None:
    """Write predictions.csv, then evaluation.json (the evaluation is there once its json is), replacing any
    earlier evaluation of that name."""
    folder = run_dir / EVALUATIONS_DIR / slug(evaluation["name"])
    previous = read_json(folder / EVALUATION_FILE) if (folder / EVALUATION_FILE).exists() else None
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / PREDICTIONS_FILE, predictions.to_csv(index=False))
    write_json_atomic(folder / EVALUATION_FILE, evaluation)
    if isinstance(previous, dict) and previous.get("fingerprint") != evaluation["fingerprint"]:
        log.warning(
            f"{run_dir.name}: the evaluation '{evaluation['name']}' of another file "
            f"({str(previous.get('source', '?'))}, sha256 {str(previous.get('fingerprint', '?'))[:12]}) "
            f"was replaced by {evaluation['source']} (sha256 {evaluation['fingerprint'][:12]})"
        )
    elif previous is not None:
        log.info(f"{run_dir.name}: the evaluation '{evaluation['name']}' was replaced (same file)")


# ------------------------------------------------------------------ reading back


def list_evaluations(run_dir: str | Path) -> dict[str, dict]:
    """name -> evaluation.json content of every stored evaluation of a run (TEST_SPLIT is metrics.json)."""
    root = Path(run_dir) / EVALUATIONS_DIR
    if not root.is_dir():
        return {}
    found = {}
    for path in sorted(root.glob(f"*/{EVALUATION_FILE}")):
        try:
            evaluation = _read_evaluation(str(path), path.stat().st_mtime_ns)
        except OSError:
            continue
        if isinstance(evaluation, dict) and evaluation.get("name") and isinstance(evaluation.get("metrics"), dict):
            found[evaluation["name"]] = evaluation
    return found


@functools.lru_cache(maxsize=512)
def _read_evaluation(path: str, mtime_ns: int) -> dict | None:
    """evaluation.json, read once per version (pages ask for it many times a rerun); callers do not modify it."""
    return read_json(Path(path))


def set_metrics(run_dir: str | Path, name: str) -> dict | None:
    """The classification report of a run on a set (TEST_SPLIT: metrics.json's `test`), or None."""
    if name == TEST_SPLIT:
        metrics = read_json(Path(run_dir) / "metrics.json")
        return (metrics or {}).get("test") if isinstance(metrics, dict) else None
    return (list_evaluations(run_dir).get(name) or {}).get("metrics")


def set_predictions(run_dir: str | Path, name: str) -> pd.DataFrame | None:
    """row_id, label, p_pos (and text, except on TEST_SPLIT; and a three-way run's p_negative, p_neutral,
    p_positive) of a run on a set, or None when it has none."""
    run_dir = Path(run_dir)
    if name == TEST_SPLIT:
        path = run_dir / "test_predictions.csv"
        return pd.read_csv(path) if path.exists() else None
    path = run_dir / EVALUATIONS_DIR / slug(name) / PREDICTIONS_FILE
    if not path.exists():
        return None
    return pd.read_csv(path, keep_default_na=False, dtype={"text": str}).astype({"p_pos": float})


def evaluations_signature(run_dirs) -> tuple:
    """Names and modification times of the runs' evaluation files, to key a page's caches on."""
    signature = []
    for run_dir in run_dirs:
        for path in sorted((Path(run_dir) / EVALUATIONS_DIR).glob(f"*/{EVALUATION_FILE}")):
            signature.append((str(path), path.stat().st_mtime_ns))
    return tuple(signature)


# ------------------------------------------------------------------ the official set, automatically


def evaluate_official_set(model, run) -> dict | None:
    """After a training's evaluation on the shared test split: the official manual set too, when the official
    zip is there. A failure is one warning line, never the run's failure."""
    source = official_source()
    if source is None:
        return None
    run.progress(phase="evaluate", message=f"scoring the {OFFICIAL_SET} set")
    try:
        evaluation = evaluate_set(model, run.path, source, OFFICIAL_SET)
    except RunCancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - an extra measurement never fails the run it measures
        log.warning(f"the {OFFICIAL_SET} evaluation was skipped: {_reason(exc)}")
        return None
    log.info(describe(evaluation))
    return evaluation


def _reason(exc: BaseException) -> str:
    from core.data.loading import DataError
    from core.models.base import ModelLoadError

    known = (DataError, EvalSetError, ModelLoadError, OSError)  # their messages never quote the data
    return one_line(exc) if isinstance(exc, known) else f"unexpected {type(exc).__name__}"


def describe(evaluation: dict) -> str:
    """One line: the set, accuracy, macro F1, the neutral tweets."""
    metrics, neutral = evaluation["metrics"], evaluation.get("neutral") or {}
    line = (
        f"{evaluation['name']} ({evaluation['source']}, {metrics['n']:,} tweets): accuracy "
        f"{metrics['accuracy']:.4f}, macro F1 {metrics['f1_macro']:.4f}"
    )
    if neutral.get("as_class"):
        share = neutral.get("predicted_neutral")
        if neutral.get("n"):
            line += f"; {neutral['n']:,} neutral tweets" + (
                f", {share:.0%} of them called neutral" if share is not None else ""
            )
    elif neutral.get("n"):
        share = neutral.get("predicted_positive")
        called = f", {share:.0%} of them called positive" if share is not None else ""
        line += f"; {neutral['n']:,} neutral tweets reported apart{called}"
    return line


def evaluate_missing(
    source: str | Path | None = None, name: str | None = None, runs_root: str | Path | None = None, cloud: bool = False
) -> list[tuple[str, str]]:
    """Evaluate every succeeded run that lacks the set (by name and file fingerprint): the official set by
    default. Cloud runs only when `cloud` (they cost money). Returns (run id, what happened) per run."""
    source = source or official_source()
    if source is None:
        raise EvalSetError(
            f"the official zip is not in {config.data_dir()}: run `python -m core.commands.data --download`"
        )
    data = load_eval_set(source, name)
    lacking = []
    for run in list_runs(runs_root or config.runs_dir()):
        if run.status != "succeeded" or (run_kinds.is_cloud(run.kind) and not cloud):
            continue
        if (list_evaluations(run.path).get(data.name) or {}).get("fingerprint") != data.loaded.fingerprint:
            lacking.append(run.path)
    return [(run_id, outcome) for run_id, outcome, _ in evaluate_runs(lacking, data)]


def evaluate_runs(run_dirs: list, data: EvalSet) -> list[tuple[str, str, bool]]:
    """Each run (loaded by core.models.base.load) on one loaded set: (run id, what happened, whether it worked).
    A run that cannot be loaded or scored is reported and the others go on."""
    from core.azure.errors import ServiceError
    from core.data.loading import DataError
    from core.models.base import ModelLoadError, load

    done = []
    for run_dir in run_dirs:
        run_dir = Path(run_dir)
        try:
            evaluation = evaluate_set(load(run_dir), run_dir, data)
        except (DataError, EvalSetError, ModelLoadError, ServiceError, OSError) as exc:
            done.append((run_dir.name, f"skipped: {one_line(exc)}", False))
            continue
        done.append((run_dir.name, describe(evaluation), True))
    return done


def page_set_choices() -> list[tuple[str, str, str]]:
    """(label, source key, set name) of each labelled file a dashboard page may evaluate on: what
    core.data.sources.page_sources offers, but the official training set (1.6 M tweets: the command line's job).
    An upload is named after the file the visitor uploaded, the official test set OFFICIAL_SET."""
    from core.data.sources import page_sources

    choices = []
    for source in page_sources():
        if source.origin == "official" and ".zip:" not in source.key:
            continue
        name = default_name(source.key)
        if source.origin == "upload":
            uploaded = read_json(source.path.with_suffix(".json")) or {}
            name = Path(str(uploaded.get("name") or name)).stem[:MAX_NAME_CHARS]
        choices.append((source.label, source.key, name if slug(name) else Path(source.key).stem))
    return choices


def tweets_at_most(source: str | Path) -> int:
    """At most how many tweets a labelled file holds: its non-blank lines (a header included), from the cached
    scan of its bytes, without parsing it (a tweet spanning lines counts more than once)."""
    scan = resolve_source(source).scan()
    return scan.lines - scan.blank_lines


def accuracy_on(evaluation: dict | None) -> float | None:
    value = ((evaluation or {}).get("metrics") or {}).get("accuracy")
    return float(value) if value is not None and math.isfinite(float(value)) else None
