"""Serve a run locally with the real Azure ML inference server (azmlinfsrv), bound to 127.0.0.1 (the command:
core.commands.azure_local_endpoint; `start` runs it in a child process and waits until it answers).

    python -m core.commands.azure_local_endpoint --run artifacts/runs/lr --port 5001
    # then: AZURE_ML_ENDPOINT_URL=http://127.0.0.1:5001/score  (no key needed locally)

It runs azmlinfsrv with the same scoring script as the cloud deployment (core/azure_ml/score_script.py). azmlinfsrv
always binds 0.0.0.0; this entry point pins it to --host (default 127.0.0.1) so the model is not served to the
network by accident.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from core.config import PROJECT_ROOT

SCORE_SCRIPT = Path(__file__).resolve().parent / "score_script.py"


def start(
    run_dir: str | Path,
    port: int,
    host: str = "127.0.0.1",
    log_path: str | Path | None = None,
    timeout_s: float = 120.0,
) -> subprocess.Popen:
    """Start the local endpoint in a child process and wait until it answers its liveness probe."""
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "core.commands.azure_local_endpoint",
            "--run",
            str(run_dir),
            "--port",
            str(port),
            "--host",
            host,
        ],
        cwd=PROJECT_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"the local endpoint exited with code {proc.returncode}" + (f"; see {log_path}" if log_path else "")
            )
        try:
            if requests.get(f"http://{host}:{port}/", timeout=2).ok:
                return proc
        except requests.RequestException:
            pass
        time.sleep(0.3)
    stop(proc)
    raise TimeoutError(f"the local endpoint did not answer on {host}:{port} within {timeout_s:.0f} s")


def stop(proc: subprocess.Popen, grace_s: float = 10.0) -> None:
    """Stop the server and its gunicorn workers (they share the child's process group)."""
    if proc.poll() is None:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
