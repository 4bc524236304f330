"""A finished run, logged to MLflow too when `MLFLOW_TRACKING_URI` is set (as inside an Azure ML job).

The run folder stays the record (the dashboard reads it); MLflow gets a copy, so a run trained in Azure ML shows
in Azure ML studio as well: run.json's params as parameters, metrics.json's scalars as metrics (the test split's
under their own names: `accuracy`, `f1_macro`, `roc_auc`; the others as `latency.*`, `training.*`), history.json's
per-epoch values as steps, and the run folder's files as artifacts under `run/`.

Best effort: any MLflow failure is one warning line and never fails the training. With the variable unset
nothing is imported (mlflow takes seconds to import). Under torchrun only rank 0 logs (RANK unset: one process).
Inside Azure ML, MLFLOW_RUN_ID names the job's own run, which is logged to; elsewhere a run is created in the
experiment MLFLOW_EXPERIMENT_NAME (default `bad-buzz`).
"""

from __future__ import annotations

import logging
import math
import os
import time
from pathlib import Path

from core.tracking.runs import read_json

log = logging.getLogger(__name__)

TRACKING_URI_VARIABLE = "MLFLOW_TRACKING_URI"
DEFAULT_EXPERIMENT = "bad-buzz"
MAX_PARAM_CHARS = 6000  # MLflow's limit on a parameter value
NOT_ARTIFACTS = {".lock", "heartbeat"}  # the writer's lock and liveness file say nothing about the model
BATCH = 100  # parameters per log_batch call (MLflow's limit)


def wanted(environ=os.environ) -> bool:
    """Whether this process logs to MLflow: the tracking URI is set and this is rank 0 (or no torchrun)."""
    return bool(environ.get(TRACKING_URI_VARIABLE)) and environ.get("RANK", "0").strip() in ("", "0")


def log_finished_run(run_dir: Path) -> str | None:
    """Log the run folder's params, metrics and files to MLflow when wanted; the MLflow run id, or None when
    not wanted or when MLflow failed (then one warning line says why)."""
    if not wanted():
        return None
    try:
        return _log(Path(run_dir))
    except Exception as exc:  # noqa: BLE001 - best effort: the training has succeeded whatever MLflow says
        first = (str(exc).splitlines() or [""])[0][:300]
        log.warning("MLflow logging skipped (the run folder is complete): %s: %s", type(exc).__name__, first)
        return None


def _log(run_dir: Path) -> str:
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    meta = _read(run_dir / "run.json", {})
    client = MlflowClient()
    run_id, created = _mlflow_run(client, meta)
    params = [Param(k, v) for k, v in flat_params(meta.get("params") or {}).items()]
    for start in range(0, len(params), BATCH):
        client.log_batch(run_id, params=params[start : start + BATCH])
    now = int(time.time() * 1000)
    metrics = [Metric(k, v, now, 0) for k, v in flat_metrics(_read(run_dir / "metrics.json", {})).items()]
    metrics += [Metric(k, v, now, step) for k, v, step in history_metrics(_read(run_dir / "history.json", []))]
    tags = [RunTag(f"badbuzz.{k}", str(meta.get(k))) for k in ("kind", "approach", "id") if meta.get(k)]
    for start in range(0, len(metrics), 1000):
        client.log_batch(run_id, metrics=metrics[start : start + 1000], tags=tags if start == 0 else [])
    for path in sorted(p for p in run_dir.rglob("*") if p.is_file() and p.name not in NOT_ARTIFACTS):
        parent = path.parent.relative_to(run_dir).as_posix()
        client.log_artifact(run_id, str(path), "run" if parent == "." else f"run/{parent}")
    if created:
        client.set_terminated(run_id, "FINISHED")
    log.info("logged to MLflow: run %s (%d params, %d metrics)", run_id, len(params), len(metrics))
    return run_id


def _mlflow_run(client, meta: dict) -> tuple[str, bool]:
    """(run id, created here): the job's run when MLFLOW_RUN_ID names one (Azure ML), else a new run."""
    if os.environ.get("MLFLOW_RUN_ID"):
        return os.environ["MLFLOW_RUN_ID"], False
    name = os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT
    experiment = client.get_experiment_by_name(name)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(name)
    return client.create_run(experiment_id, run_name=meta.get("id")).info.run_id, True


def flat_params(params: dict) -> dict[str, str]:
    """The trainer's options as MLflow parameters (strings within MLflow's length limit; None as 'None')."""
    return {str(k): str(v)[:MAX_PARAM_CHARS] for k, v in params.items()}


def flat_metrics(metrics: dict) -> dict[str, float]:
    """metrics.json's finite numbers, nested names joined by dots: the test split's without a prefix (`accuracy`,
    `macro.precision`), the other sections with theirs (`latency.single_p50_ms`). Curves and matrices (lists)
    are in the artifacts."""
    flat = {}
    for section, values in metrics.items():
        if isinstance(values, dict):
            flat |= _numbers(values, "" if section == "test" else f"{section}.")
    return flat


def _numbers(values: dict, prefix: str) -> dict[str, float]:
    flat = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat |= _numbers(value, f"{prefix}{key}.")
        elif _is_number(value):
            flat[f"{prefix}{key}"] = float(value)
    return flat


def history_metrics(history: list) -> list[tuple[str, float, int]]:
    """(name, value, step) per number of each epoch in history.json (step: its `epoch`, else its position)."""
    rows = []
    for position, epoch in enumerate(history if isinstance(history, list) else [], 1):
        if not isinstance(epoch, dict):
            continue
        step = int(epoch["epoch"]) if _is_number(epoch.get("epoch")) else position
        rows += [(f"history.{k}", float(v), step) for k, v in epoch.items() if k != "epoch" and _is_number(v)]
    return rows


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _read(path: Path, default):
    return read_json(path, default) or default
