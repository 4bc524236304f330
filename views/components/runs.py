"""The runs folder as every page reads it: one cached list, refreshed as soon as a run's files change."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.config import runs_dir
from core.tracking.runs import list_runs, runs_signature


@st.cache_data(ttl=10, show_spinner=False)
def _cached_runs(root: str, signature: tuple) -> list:
    return list_runs(root)


def load_runs(root: str | Path | None = None) -> list:
    """core.tracking.runs.list_runs(root), cached per server and keyed on the run files' modification times
    (runs_signature), so a page rerun costs a directory scan, not a read of every run."""
    root = Path(root) if root else runs_dir()
    return _cached_runs(str(root), runs_signature(root))
