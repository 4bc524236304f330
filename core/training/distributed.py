"""Training with several processes (`torchrun`, `accelerate launch`; one machine or several): who owns the run.

The launcher starts the same command once per process and tells each its place in the environment (RANK,
WORLD_SIZE, LOCAL_RANK). Rank 0 is the run's owner: it alone creates and locks the run folder, writes run.json,
progress and history, saves the model, exports it and scores the test split. The other ranks (`is_worker()`) run
`worker_main`: the same options, the same persisted split (deterministic; written atomically, so ranks that build
it at once agree), the same tokenised cache, then the Trainer's data-parallel training (validation is shared and
gathered by the Trainer); they write nothing but their part of the Trainer's collective work, and exit 0.
Several machines need the run folder on a shared file system (checkpoints are written by rank 0 and the best one
is read back by every rank).
"""

from __future__ import annotations

import importlib
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def local_world_size() -> int:
    """Processes on this machine."""
    return int(os.environ.get("LOCAL_WORLD_SIZE", "1"))


def is_worker() -> bool:
    """A process of a distributed launch that is not rank 0."""
    return rank() != 0


def describe() -> dict:
    """What run.json records about the launch."""
    return {
        "world_size": world_size(),
        "nodes": int(os.environ.get("GROUP_WORLD_SIZE", os.environ.get("NNODES", "1")) or 1),
        "launcher": "torchrun" if "TORCHELASTIC_RUN_ID" in os.environ else ("env" if world_size() > 1 else "none"),
    }


class WorkerRun:
    """What a non-owning rank gives the fit code instead of a Run: the folder's path, and no writes."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.meta: dict = {}

    def update(self, **fields: Any) -> None:
        self.meta.update(fields)

    def progress(self, phase: str, message: str = "", **fields: Any) -> None:
        pass

    def save_history(self, history: list[dict]) -> None:
        pass

    def set_data(self, split) -> None:
        pass


def worker_main(key: str, argv: list[str] | None = None, description: str | None = None) -> None:
    """A non-zero rank: parse the same command line, load the same split, train its share; no run folder."""
    from core.cli.parser import parse_options
    from core.logs import configure_cli_logging
    from core.training import runner
    from core.training.registry import trainer

    configure_cli_logging()
    spec = trainer(key)
    options = parse_options(spec.options, argv, description)
    fit = importlib.import_module(spec.fit_module)
    with runner.expected_failures(*getattr(fit, "EXPECTED_ERRORS", ())):
        options, _ = runner.checked_options(spec, fit, options)
        split = runner.load_checked_split(options)
        fit.train(options, split, WorkerRun(options.output))
    log.info(f"rank {rank()} of {world_size()}: done")


def end_process_group() -> None:
    """Wait for every rank, then leave the process group (no collective may follow)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
