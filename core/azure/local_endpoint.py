"""Serve a run locally with the real Azure ML inference server (azmlinfsrv), bound to 127.0.0.1.

    python -m core.azure.local_endpoint --run artifacts/runs/lr --port 5001
    # then: AZURE_ML_ENDPOINT_URL=http://127.0.0.1:5001/score  (no key needed locally)

It runs azmlinfsrv with the same scoring script as the cloud deployment (core/azure/score_script.py). azmlinfsrv
always binds 0.0.0.0; this entry point pins it to --host (default 127.0.0.1) so the model is not served to the
network by accident.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from core.config import PROJECT_ROOT

SCORE_SCRIPT = Path(__file__).resolve().parent / "score_script.py"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--run", required=True, help="run folder to serve (any local run kind)")
    parser.add_argument("--port", type=int, default=5001, help="port of /score (and of the liveness probe /)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    run_dir = Path(args.run).resolve()
    if not (run_dir / "run.json").is_file():
        sys.exit(f"{args.run} is not a run folder (no run.json)")
    from azureml_inference_server_http import amlserver

    amlserver.DEFAULT_HOST = args.host  # read by amlserver.run() when it starts gunicorn
    os.environ.setdefault("AML_APP_ROOT", str(PROJECT_ROOT))
    # gunicorn's control socket lives at one path per user: two local endpoints would fight over it.
    os.environ["GUNICORN_CMD_ARGS"] = (os.environ.get("GUNICORN_CMD_ARGS", "") + " --no-control-socket").strip()
    sys.argv = [
        "azmlinfsrv",
        "--entry_script",
        str(SCORE_SCRIPT),
        "--model_dir",
        str(run_dir),
        "--port",
        str(args.port),
        "--worker_count",
        str(args.workers),
    ]
    amlserver.run()


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
        [sys.executable, "-m", "core.azure.local_endpoint", "--run", str(run_dir), "--port", str(port), "--host", host],
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


if __name__ == "__main__":
    main()
