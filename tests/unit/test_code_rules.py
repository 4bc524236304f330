"""The code's house rules, checked by the suite CI runs: ruff (lint and format) and import-linter, with the
settings in pyproject.toml, and no module but the Azure ML scoring script edits sys.path."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # ruff and lint-imports are installed next to this Python (.venv/bin)

# The Azure ML inference server and parallel job runner load the scoring scripts by path, outside the project:
# they must put the code folder on sys.path themselves. Everything else runs from the project root: the trainers
# and CLIs as `python -m ...`, the benchmarks as `python -m benchmarks.<name>`, the tests with pytest's `pythonpath`.
SYS_PATH_ALLOWED = {"core/azure_ml/score_script.py", "core/azure_ml/batch_score_script.py"}
SCANNED = ["app.py", "serve.py", "core", "trainers", "views", "tests", "benchmarks"]
# sys.path.insert/append/extend/remove/…, sys.path = / += / [..] =, site.addsitedir: also inside the code string
# a test hands to a child Python (give the child cwd=ROOT or PYTHONPATH instead).
SYS_PATH_EDIT = re.compile(
    r"\bsys\.path\s*(\.\s*(insert|append|extend|remove|pop|clear)\b|\+?=(?!=)|\[[^\]]*\]\s*=(?!=))"
    r"|\bsite\.addsitedir\b"
)


def assert_tool_passes(*command: str, fix: str) -> None:
    """Run `command` (a tool from .venv/bin) in the project root; on failure show its whole output."""
    tool = BIN / command[0]
    if not tool.exists():
        pytest.fail(f"{command[0]} is not installed next to {sys.executable}: install requirements-dev.txt")
    done = subprocess.run([str(tool), *command[1:]], cwd=ROOT, capture_output=True, text=True, timeout=300)
    output = (done.stdout + "\n" + done.stderr).strip()
    if done.returncode != 0:
        pytest.fail(f"`{' '.join(command)}` failed (exit {done.returncode}): {fix}\n{output}", pytrace=False)


def test_ruff_finds_nothing():
    assert_tool_passes("ruff", "check", "--no-cache", ".", fix="`ruff check --fix .` fixes the [*] ones")


def test_code_is_ruff_formatted():
    assert_tool_passes("ruff", "format", "--no-cache", "--check", ".", fix="run `ruff format .`")


def test_imports_keep_the_contracts():
    assert_tool_passes(
        "lint-imports",
        "--no-cache",
        fix="the contracts are in pyproject.toml, the reasons in docs/ARCHITECTURE.md (Import rules)",
    )


def python_files() -> list[Path]:
    files = []
    for name in SCANNED:
        path = ROOT / name
        files += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return [f for f in files if "__pycache__" not in f.parts]


def test_no_module_edits_sys_path():
    edits = []
    for path in python_files():
        relative = path.relative_to(ROOT).as_posix()
        if relative in SYS_PATH_ALLOWED or path == Path(__file__).resolve():  # this file quotes the forms
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if SYS_PATH_EDIT.search(line):
                edits.append(f"{relative}:{number}: {line.strip()}")
    assert not edits, (
        "only core/azure_ml/score_script.py may edit sys.path; run from the project root instead "
        "(`python -m ...`, pytest's pythonpath, a child process with cwd=ROOT):\n" + "\n".join(edits)
    )


def test_the_sys_path_check_sees_the_usual_forms():
    seen = [
        "sys.path.insert(0, str(ROOT))",
        "sys.path.append(x)",
        "sys.path = [root]",
        "sys.path += [root]",
        "sys.path[:0] = [root]",
        'code = f"import sys; sys.path.insert(0, {str(ROOT)!r})"',
        "site.addsitedir(root)",
    ]
    unseen = ["if str(ROOT) not in sys.path:", "print(sys.path)", "paths = list(sys.path)", "sys.path == x"]
    assert all(SYS_PATH_EDIT.search(line) for line in seen)
    assert not any(SYS_PATH_EDIT.search(line) for line in unseen)
