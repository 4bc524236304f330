"""The project's entry points run as a user runs them: `python -m <module> ...` from the project root."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.data import ROOT


def module_argv(module: str, *args: str | Path) -> list[str]:
    """The command line of `python -m module args...` with this interpreter (paths as strings)."""
    return [sys.executable, "-m", module, *(str(arg) for arg in args)]


def run_module(
    module: str,
    *args: str | Path,
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
    check: bool = False,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run `python -m module args...` to its end, its output captured as text."""
    return subprocess.run(
        module_argv(module, *args), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=check
    )


def score_cli(run: Path, src: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`python -m core.score --run RUN --input SRC --output OUT [extra...]`."""
    return run_module("core.score", "--run", run, "--input", src, "--output", out, *extra)
