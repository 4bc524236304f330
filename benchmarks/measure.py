"""What the benchmarks share: a child process's wall time and its own peak memory."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def timed(cmd: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MiB, stdout) of a child process; a failure raises with its last stderr lines.

    The peak is the child's own (os.wait4), not the maximum over every child this process ever had."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode:
        tail = "\n".join(stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{tail}")
    return wall, usage.ru_maxrss / 1024, stdout


def python_code(code: str, *args: str, env: dict | None = None) -> tuple[float, float, str]:
    """`timed` for a snippet of Python run in a child with the project on its path."""
    return timed([PYTHON, "-c", code, *map(str, args)], env=env)


def child_env(**extra: str) -> dict:
    """This environment with the project importable and the given variables set."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = dict(os.environ, PYTHONPATH=path, **extra)
    env.pop("PYTHONSTARTUP", None)
    return env
