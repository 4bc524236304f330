"""What this machine offers for training: CPU, memory and the GPUs that TensorFlow and PyTorch each see.

The frameworks are probed in child processes (in parallel, with a timeout) so the dashboard process never
imports TensorFlow or PyTorch just to draw the sidebar, and a broken CUDA install cannot crash it.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

import psutil

from core.config import artifacts_dir

PROBE_TIMEOUT_S = 180  # in the background, at a lower priority: a busy machine may take minutes
PROBE_NICE = 10  # the probes import TensorFlow and PyTorch: below the dashboard's own work on a small machine
CACHE_TTL_S = 24 * 3600  # a probe's answer is reused this long by the next server on the same environment


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity: a container's or taskset's limit), else all."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


_PROBES = {
    "torch": """
import json, torch
gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
print(json.dumps({"version": torch.__version__, "cuda": torch.version.cuda, "gpus": gpus}))
""",
    "tensorflow": """
import json, os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf
gpus = []
for gpu in tf.config.list_physical_devices("GPU"):
    details = tf.config.experimental.get_device_details(gpu)
    gpus.append(details.get("device_name") or gpu.name)
print(json.dumps({"version": tf.__version__, "cuda": tf.test.is_built_with_cuda(), "gpus": gpus}))
""",
}


@dataclass
class FrameworkView:
    name: str
    available: bool
    version: str | None = None
    gpus: list[str] = field(default_factory=list)
    error: str | None = None

    def describe(self) -> str:
        if not self.available:
            return f"{self.name}: not usable ({self.error})"
        where = ", ".join(self.gpus) if self.gpus else "CPU only"
        return f"{self.name} {self.version}: {where}"


@dataclass
class DeviceSummary:
    hostname: str
    cpu_count: int
    memory_gb: float
    nvidia_smi: list[str]
    frameworks: dict[str, FrameworkView]

    @property
    def has_gpu(self) -> bool:
        return any(view.gpus for view in self.frameworks.values()) or bool(self.nvidia_smi)

    @property
    def headline(self) -> str:
        gpus = sorted({g for view in self.frameworks.values() for g in view.gpus} | set(self.nvidia_smi))
        where = f"GPU: {', '.join(gpus)}" if gpus else "no GPU (CPU only)"
        return f"{self.cpu_count} CPU cores, {self.memory_gb:.0f} GB RAM, {where}"

    def to_dict(self) -> dict:
        return asdict(self)


def _probe(name: str) -> FrameworkView:
    try:
        done = subprocess.run(
            [sys.executable, "-c", _PROBES[name]],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
            preexec_fn=_lower_priority if hasattr(os, "nice") else None,
        )
    except subprocess.TimeoutExpired:
        return FrameworkView(name, False, error=f"probe took over {PROBE_TIMEOUT_S} s")  # not cached
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        return FrameworkView(name, False, error=last[:200])
    try:
        found = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return FrameworkView(name, False, error="probe printed no answer")
    return FrameworkView(name, True, version=found["version"], gpus=found["gpus"])


def _lower_priority() -> None:
    os.nice(PROBE_NICE)


def _nvidia_smi() -> list[str]:
    if not shutil.which("nvidia-smi"):
        return []
    try:
        done = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (subprocess.TimeoutExpired, OSError):
        return []
    return [line.strip() for line in done.stdout.splitlines() if line.strip()] if done.returncode == 0 else []


_probe_lock = threading.Lock()


def device_summary(recent: bool = False) -> DeviceSummary:
    """Probe once per process (a few seconds); concurrent callers wait for the one probe in flight. `recent`:
    a probe's answer from this environment less than CACHE_TTL_S ago will do (the dashboard's sidebar)."""
    with _probe_lock:
        if recent and not _device_summary.cache_info().currsize and (cached := _read_cache()) is not None:
            return cached
        return _device_summary()


@functools.lru_cache(maxsize=1)
def _device_summary() -> DeviceSummary:
    with ThreadPoolExecutor(max_workers=2) as pool:
        views = dict(zip(_PROBES, pool.map(_probe, _PROBES)))
    summary = DeviceSummary(
        hostname=platform.node(),
        cpu_count=psutil.cpu_count(logical=True) or 1,
        memory_gb=psutil.virtual_memory().total / 1e9,
        nvidia_smi=_nvidia_smi(),
        frameworks=views,
    )
    if not any(view.error and view.error.startswith("probe took over") for view in views.values()):
        _write_cache(summary)  # a probe that ran out of time (a busy machine) is tried again by the next server
    return summary


def _cache_path() -> Path:
    return artifacts_dir() / "devices.json"


def _environment() -> dict:
    """What a cached answer is only valid for: this interpreter, host and framework versions."""
    versions = {}
    for package in ("torch", "tensorflow", "tensorflow-cpu"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {"python": sys.executable, "host": platform.node(), "versions": versions}


def _read_cache() -> DeviceSummary | None:
    """The answer of a probe run on this environment less than CACHE_TTL_S ago, so a restarted dashboard shows
    its devices at once (None when there is none, or it is stale or unreadable)."""
    try:
        cached = json.loads(_cache_path().read_text())
        if cached["environment"] != _environment() or time.time() - cached["at"] > CACHE_TTL_S:
            return None
        summary = cached["summary"]
        views = {name: FrameworkView(**view) for name, view in summary.pop("frameworks").items()}
        return DeviceSummary(**summary, frameworks=views)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_cache(summary: DeviceSummary) -> None:
    try:
        _cache_path().parent.mkdir(parents=True, exist_ok=True)
        payload = {"environment": _environment(), "at": time.time(), "summary": summary.to_dict()}
        _cache_path().write_text(json.dumps(payload))
    except OSError:  # a read-only checkout probes again next time
        pass
