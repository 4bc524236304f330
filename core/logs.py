"""Logging for command-line entry points.

Library code never prints: it logs on its module's logger (`log = logging.getLogger(__name__)`). A command-line
entry point (a module's `main()`, a trainer, a benchmark) calls `configure_cli_logging()` once, first thing, so
those messages still reach the terminal: this project's INFO messages (loggers `core.*`, `trainers.*`,
`benchmarks.*` and `__main__`) and every library's warnings go to stderr, one plain line each (`warning: …`,
`error: …` for the levels above INFO). What a command prints as its result (a report, a YAML spec, a scoring URI)
stays a `print` in its `main()`, on stdout. The dashboard configures nothing: Streamlit owns its process's logging.
"""

from __future__ import annotations

import logging
import sys

PROJECT_LOGGERS = ("core", "trainers", "benchmarks", "__main__")


class _CliFormatter(logging.Formatter):
    """`message` for INFO and below, `level: message` above (as the CLIs' `error: …` lines)."""

    def format(self, record: logging.LogRecord) -> str:
        message = super().format(record)
        return message if record.levelno <= logging.INFO else f"{record.levelname.lower()}: {message}"


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is when a record comes (a test's capture may have replaced it since)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure_cli_logging(level: int = logging.INFO) -> None:
    """Show this project's messages from `level` up, and other libraries' warnings, on stderr. Idempotent."""
    root = logging.getLogger()
    if not any(isinstance(handler, _StderrHandler) for handler in root.handlers):
        handler = _StderrHandler()
        handler.setFormatter(_CliFormatter("%(message)s"))
        root.addHandler(handler)
    for name in PROJECT_LOGGERS:
        logging.getLogger(name).setLevel(level)
