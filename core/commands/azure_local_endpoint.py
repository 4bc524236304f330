"""Serve a run locally with the real Azure ML inference server (azmlinfsrv), bound to 127.0.0.1
(core.azure_ml.local_endpoint).

    python -m core.commands.azure_local_endpoint --run artifacts/runs/lr --port 5001
    # then: AZURE_ML_ENDPOINT_URL=http://127.0.0.1:5001/score  (no key needed locally)

It runs azmlinfsrv with the same scoring script as the cloud deployment (core/azure_ml/score_script.py). azmlinfsrv
always binds 0.0.0.0; this command pins it to --host (default 127.0.0.1) so the model is not served to the network
by accident.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from core.azure_ml.local_endpoint import SCORE_SCRIPT
from core.cli.fields import option
from core.cli.parser import fail, parse_options
from core.config import PROJECT_ROOT


@dataclass(kw_only=True)
class LocalEndpointOptions:
    run: Path = option(help="run folder to serve (any local run kind)")
    port: int = option(5001, "port of /score (and of the liveness probe /)")
    host: str = option("127.0.0.1", "address to bind")
    workers: int = option(1, "server worker processes")


def main(argv: list[str] | None = None) -> None:
    options = parse_options(LocalEndpointOptions, argv, __doc__)
    run_dir = options.run.resolve()
    if not (run_dir / "run.json").is_file():
        fail(f"{options.run} is not a run folder (no run.json)")
    from azureml_inference_server_http import amlserver

    amlserver.DEFAULT_HOST = options.host  # read by amlserver.run() when it starts gunicorn
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
        str(options.port),
        "--worker_count",
        str(options.workers),
    ]
    amlserver.run()


if __name__ == "__main__":
    main()
