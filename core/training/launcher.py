"""Launch trainers as subprocesses from the dashboard, follow them, cancel them.

Each launch gets a run folder under the runs folder with a readable unique id, its own process group (so a
cancel reaches every child the trainer starts), stdout+stderr in `train.log`, and a `launch.json` holding the
command and pid. launch.json lets the dashboard follow a run before the trainer has written run.json (slow
imports) and tell why a run that never got that far failed (a bad option, a missing package).

Commands are built from the trainers' options dataclasses (core.training.registry), so the page never duplicates them.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from core import config
from core.files import write_json_atomic
from core.tracking.runs import (
    RunInfo,
    process_alive,
    read_json,
    read_run,
)
from core.training.options import DataOptions, to_argv
from core.training.registry import TrainerSpec, trainer, trainers

CANCEL_GRACE_S = 15.0


def available_trainers() -> dict[str, TrainerSpec]:
    """Registered trainers whose entry point exists in this checkout."""
    return {k: t for k, t in trainers().items() if importlib.util.find_spec(t.module) is not None}


def trainer_options(trainer_key: str, values: dict[str, Any], data: str | Path, output: str | Path) -> DataOptions:
    """The trainer's options dataclass from the form's values (field name -> value; None = leave it unset)."""
    return trainer(trainer_key).options(data=str(data), output=str(output), **values)


# ---------------------------------------------------------------- launching


@dataclass
class Launch:
    run_id: str
    path: Path
    pid: int
    command: list[str]


_children: dict[int, tuple[subprocess.Popen, Path]] = {}  # pid -> (process, run folder)
_children_lock = threading.RLock()  # also serialises this process's launch.json updates


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")[:24]


def new_run_dir(trainer_key: str, values: dict[str, Any], root: Path | None = None, prefix: str = "") -> Path:
    """A fresh folder named `<local time>-[prefix-]<trainer>-<main options>`, made atomically (suffix on a clash)."""
    root = Path(root or config.runs_dir()).resolve()
    root.mkdir(parents=True, exist_ok=True)
    parts = [datetime.now().strftime("%Y%m%d-%H%M%S"), _slug(prefix), _slug(trainer_key)]
    parts += [
        _slug(Path(str(values[o])).name)
        for o in trainer(trainer_key).run_name_options
        if values.get(o) not in (None, "")
    ]
    base = "-".join(p for p in parts if p)
    for n in range(1, 1000):
        path = root / (base if n == 1 else f"{base}-{n}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise RuntimeError(f"could not make a new run folder under {root}")


def launch_command(command: list[str], run_dir: Path, label: str, target: str = "local", **extra: Any) -> Launch:
    """Start `command` in its own process group, output to run_dir/train.log; record launch.json."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
    # Held until launch.json exists, so reap() cannot collect a fast-failing child before its pid is recorded.
    with _children_lock, open(run_dir / "train.log", "ab") as log:
        proc = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=config.PROJECT_ROOT,
            env=env,
            start_new_session=True,
        )
        _children[proc.pid] = (proc, run_dir)
        write_json_atomic(
            run_dir / "launch.json",
            {
                "id": run_dir.name,
                "label": label,
                "target": target,
                "command": command,
                "pid": proc.pid,
                "pgid": proc.pid,
                "host": socket.gethostname(),
                "launched_unix": time.time(),
                **extra,
            },
        )
    return Launch(run_dir.name, run_dir, proc.pid, command)


def trainer_command(trainer_key: str, values: dict[str, Any], data: str | Path, output: str | Path) -> list[str]:
    """`python -m trainers.<x> --data DATA --output OUTPUT <options that differ from the defaults>`."""
    options = trainer_options(trainer_key, values, data, output)
    return [sys.executable, "-m", trainer(trainer_key).module, *to_argv(options)]


def azure_job_command(
    trainer_key: str,
    values: dict[str, Any],
    data: str | Path,
    compute: str,
    gpu: bool = True,
    dry_run: bool = False,
    nodes: int = 1,
    gpus_per_node: int = 1,
) -> list[str]:
    """The same trainer command wrapped in `python -m core.commands.azure_job` (which replaces --output by the job's);
    more than one node or GPU per node runs it with Azure ML's PyTorch distribution."""
    distribution = ["--instance-count", str(nodes), "--gpus-per-node", str(gpus_per_node)]
    return [
        sys.executable,
        "-m",
        "core.commands.azure_job",
        "--trainer",
        trainer(trainer_key).module_name,
        "--compute",
        compute,
        *([] if gpu else ["--cpu"]),
        *(["--dry-run"] if dry_run else []),
        *(distribution if nodes > 1 or gpus_per_node > 1 else []),
        "--",
        *trainer_command(trainer_key, values, data, "outputs/run")[3:],
    ]


def display_command(command: list[str]) -> str:
    """A command as a user would type it (`python` rather than the venv's full path)."""
    return shlex.join(["python", *command[1:]] if command and command[0] == sys.executable else command)


def launch(trainer_key: str, values: dict[str, Any], data: str | Path, root: Path | None = None) -> Launch:
    """Run the trainer on this machine, in a new run folder."""
    run_dir = new_run_dir(trainer_key, values, root)
    return launch_command(trainer_command(trainer_key, values, data, run_dir), run_dir, trainer(trainer_key).label)


def launch_azure_job(
    trainer_key: str,
    values: dict[str, Any],
    data: str | Path,
    compute: str,
    root: Path | None = None,
    gpu: bool = True,
    dry_run: bool = False,
    nodes: int = 1,
    gpus_per_node: int = 1,
) -> Launch:
    """Submit the trainer to an Azure ML compute cluster through core.azure_ml.jobs.

    The local folder holds the submission's log (job name, studio link) and launch.json; the job's own run
    folder is its Azure ML output (`python -m core.commands.azure_job --download` fetches it).
    """
    run_dir = new_run_dir(trainer_key, values, root, prefix="azureml")
    command = azure_job_command(trainer_key, values, data, compute, gpu, dry_run, nodes, gpus_per_node)
    where = f"{compute}, {nodes} x {gpus_per_node} GPUs" if nodes > 1 or gpus_per_node > 1 else compute
    return launch_command(
        command, run_dir, f"{trainer(trainer_key).label} on Azure ML ({where})", target="azureml", dry_run=dry_run
    )


def _update_launch(folder: Path, **fields: Any) -> None:
    with _children_lock:
        launch_info = read_json(folder / "launch.json", {}) or {}
        write_json_atomic(folder / "launch.json", {**launch_info, **fields})


def reap() -> None:
    """Collect finished children (no zombies) and record their exit code in launch.json."""
    # Under the lock to the end, so a concurrent reader never sees a reaped child without its exit code.
    with _children_lock:
        finished = [(p, d) for p, d in _children.values() if p.poll() is not None]
        for proc, folder in finished:
            del _children[proc.pid]
            launch_info = read_json(folder / "launch.json", {}) or {}
            if launch_info.get("pid") == proc.pid and "exit_code" not in launch_info:
                _update_launch(folder, exit_code=proc.returncode, ended_unix=time.time())


# ---------------------------------------------------------------- following


@dataclass
class LaunchedRun:
    """What the Train page shows for one launched run."""

    id: str
    path: Path
    label: str
    target: str
    status: str  # starting, running, succeeded, failed, cancelled, cancelling, submitted (Azure ML)
    reason: str
    progress: dict
    log_tail: str
    launched_unix: float
    info: RunInfo | None = None
    launch: dict = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.status in ("starting", "running", "cancelling")

    @property
    def elapsed_s(self) -> float:
        end = self.launch.get("ended_unix") or (time.time() if self.active else None)
        if end is None and self.info:
            end = self.info.meta.get("timings", {}).get("started_unix", 0) + self.info.meta.get("timings", {}).get(
                "wall_seconds", 0
            )
        return max(0.0, (end or time.time()) - self.launched_unix)


def _signal_name(code: int | None) -> str:
    if code is None:
        return "exit status unknown: it was not started by this dashboard process"
    if code >= 0:
        return f"exit code {code}"
    try:
        return f"killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"killed by signal {-code}"


def _finish_exiting(launch_info: dict, timeout: float = 2.0) -> None:
    """Wait briefly for our child whose main thread has exited while other threads still tear down.

    /proc shows such a process as a zombie (so core.tracking.runs calls it dead) before waitpid can collect it.
    """
    with _children_lock:
        child = _children.get(launch_info.get("pid"))
    if child and child[0].poll() is None and not process_alive(launch_info):
        try:
            child[0].wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass


def follow(path: Path, tail_lines: int = 15) -> LaunchedRun:
    """Re-read a launched run's folder: status, progress, log tail."""
    path = Path(path)
    _finish_exiting(read_json(path / "launch.json", {}) or {})
    info = read_run(path)
    reap()  # after read_run: a child it saw dead is reaped here, so its exit code is in launch.json below
    launch_info = read_json(path / "launch.json", {}) or {}
    alive = process_alive(launch_info)
    cancel_asked = bool(launch_info.get("cancel_requested_unix"))
    tail = _tail(path / "train.log", tail_lines)
    if info is None:
        if alive:
            status, reason = ("cancelling" if cancel_asked else "starting"), ""
        elif launch_info.get("target") == "azureml" and _submitted(launch_info, path):
            status = "submitted"
            reason = (
                "dry run: the job spec is in the log, nothing was submitted"
                if launch_info.get("dry_run")
                else "submitted to Azure ML: the log has the job name and its studio link"
            )
        elif cancel_asked:
            status, reason = "cancelled", "cancelled before the trainer started"
        else:
            status = "failed"
            reason = (
                _error_line(tail)
                or f"the trainer ended before writing run.json ({_signal_name(launch_info.get('exit_code'))})"
            )
    else:
        status, reason = info.status, info.status_reason or info.meta.get("error", "")
        if status == "running" and cancel_asked:
            status = "cancelling"
        elif status == "failed" and cancel_asked:
            status, reason = "cancelled", "cancelled by the user (process stopped)"
        if info.meta.get("status") == "running" and not alive and "exit_code" in launch_info:
            reason = f"{reason} ({_signal_name(launch_info['exit_code'])})"
    return LaunchedRun(
        id=path.name,
        path=path,
        label=launch_info.get("label") or (info.approach if info else path.name),
        target=launch_info.get("target", "local"),
        status=status,
        reason=reason,
        progress=info.progress if info else {},
        log_tail=tail,
        launched_unix=launch_info.get("launched_unix") or path.stat().st_mtime,
        info=info,
        launch=launch_info,
    )


def _error_line(log_tail: str) -> str:
    """The one-line `error: ...` an expected trainer failure prints (the trainers' contract), if any."""
    return next((line for line in reversed(log_tail.splitlines()) if line.startswith("error: ")), "")


def _submitted(launch_info: dict, path: Path) -> bool:
    """An Azure ML submission process that ended well (exit code 0, or its log says so after a restart)."""
    if "exit_code" in launch_info:
        return launch_info["exit_code"] == 0
    log = _tail(path / "train.log", 200)
    return "submitted job" in log or "# dry run" in log


def launched_runs(root: Path | None = None, limit: int = 20) -> list[LaunchedRun]:
    """Runs started from the dashboard (they have launch.json), newest first."""
    reap()
    root = Path(root or config.runs_dir())
    if not root.is_dir():
        return []
    folders = sorted(
        (p.parent for p in root.glob("*/launch.json")),
        key=lambda p: (read_json(p / "launch.json", {}) or {}).get("launched_unix", 0),
        reverse=True,
    )
    return [follow(p) for p in folders[:limit]]


def _tail(log: Path, lines: int) -> str:
    if not log.exists():
        return ""
    with open(log, "rb") as fh:
        fh.seek(max(0, log.stat().st_size - 32_000))
        text = fh.read().decode("utf-8", "replace")
    # progress lines are shown as structured fields already; the tail is for everything else
    return "\n".join([line for line in text.splitlines() if not line.startswith("[progress] ")][-lines:])


# ---------------------------------------------------------------- cancelling


def cancel(path: Path, grace_s: float = CANCEL_GRACE_S) -> bool:
    """SIGTERM the run's process group (the trainer marks itself cancelled); SIGKILL after grace_s.

    Returns False when the run had already ended.
    """
    path = Path(path)
    launch_info = read_json(path / "launch.json", {}) or {}
    finished = (read_json(path / "run.json", {}) or {}).get("status") in ("succeeded", "failed", "cancelled")
    if finished or not process_alive(launch_info):  # a finished run may still be exiting: leave it be
        return False
    _update_launch(path, cancel_requested_unix=time.time())
    pgid = int(launch_info["pgid"])
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    threading.Thread(target=_kill_after, args=(path, launch_info, grace_s), daemon=True).start()
    return True


def _kill_after(path: Path, launch_info: dict, grace_s: float) -> None:
    deadline = time.time() + grace_s
    while time.time() < deadline:
        reap()
        if not process_alive(launch_info):
            break
        time.sleep(0.2)
    else:
        try:
            os.killpg(int(launch_info["pgid"]), signal.SIGKILL)
        except ProcessLookupError:
            pass
        time.sleep(0.5)
        reap()
    meta = read_json(path / "run.json")
    # A trainer killed before its SIGTERM handler ran leaves run.json at "running": record what happened.
    if isinstance(meta, dict) and meta.get("status") == "running" and not process_alive(launch_info):
        write_json_atomic(path / "run.json", {**meta, "status": "cancelled", "error": "cancelled by the user"})


# ---------------------------------------------------------------- display helpers


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def progress_fraction(progress: dict) -> float | None:
    """Share of the work done, from epoch/step counters (None when the trainer reports none)."""
    epoch, epochs = progress.get("epoch"), progress.get("epochs")
    step, steps = progress.get("step"), progress.get("steps")
    within = step / steps if step is not None and steps else None
    if epoch and epochs:
        return min(1.0, max(0.0, ((epoch - 1) + (within if within is not None else 0.0)) / epochs))
    return None if within is None else min(1.0, max(0.0, within))


def progress_fields(progress: dict) -> dict[str, str]:
    """Phase, epoch, step, loss, throughput and ETA as labelled strings with their units."""
    out = {"phase": progress.get("phase") or "–"}
    if progress.get("epochs"):
        out["epoch"] = f"{progress.get('epoch') or 0} / {progress['epochs']}"
    if progress.get("steps"):
        out["step"] = f"{progress.get('step') or 0:,} / {progress['steps']:,}"
    if progress.get("loss") is not None:
        out["loss"] = f"{progress['loss']:.4f}"
    if progress.get("tweets_per_s"):
        out["speed"] = f"{progress['tweets_per_s']:,.0f} tweets/s"
    if progress.get("eta_s") is not None:
        out["ETA"] = format_duration(progress["eta_s"])
    if progress.get("updated"):
        out["updated"] = f"{format_duration(time.time() - progress['updated'])} ago"
    return out


def azure_ml_status() -> tuple[bool, str]:
    """(configured, where the workspace comes from / what to set) for Azure ML job submission.

    Mirrors core.azure.workspace.ml_client's lookup (environment, then config.json upwards) without a network
    call; whether the sign-in works is only known when the job is submitted (the run's log says it).
    """
    from core.azure.workspace import WORKSPACE_SETTINGS

    missing = [env for _, env in WORKSPACE_SETTINGS if not os.environ.get(env)]
    if not missing:
        return True, f"workspace {os.environ['AZUREML_WORKSPACE_NAME']} (from the environment)"
    for folder in (config.PROJECT_ROOT, *config.PROJECT_ROOT.parents):
        for name in (".azureml/config.json", "config.json"):
            if (folder / name).is_file():
                return True, f"workspace from {folder / name}"
    return False, (
        f"no Azure ML workspace: set {', '.join(missing)}, or put the workspace's config.json in "
        f"{config.PROJECT_ROOT / '.azureml'}/, then sign in (`az login` or AZURE_CLIENT_ID/"
        "AZURE_CLIENT_SECRET/AZURE_TENANT_ID)"
    )
