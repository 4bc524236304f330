"""The Data page computes its statistics once per data fingerprint and reads them from disk afterwards: a second
AppTest run with Streamlit's caches cleared (as after a server restart) shows the same figures without
recomputing them."""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit.testing.v1 import AppTest

from core import config
from core.analysis import data_explorer as dx
from tests.support.data import make_tweets, write_official_csv

ROOT = Path(__file__).resolve().parents[2]


def _render() -> AppTest:
    at = AppTest.from_file(str(ROOT / "views/data.py"), default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _figures(at: AppTest) -> tuple:
    metrics = tuple((m.label, m.value) for m in at.metric)
    tables = tuple(d.value.to_json() for d in at.dataframe)
    return metrics, tables, len(at.get("plotly_chart"))


def test_the_data_page_reads_its_statistics_from_disk_after_a_restart(monkeypatch, tmp_path, no_cloud):
    source = write_official_csv(tmp_path / "official.csv", make_tweets(140))
    monkeypatch.setenv("BADBUZZ_DATA", str(source))
    first = _figures(_render())
    stats_files = list((config.data_dir() / "stats").glob("*/stats.json"))
    assert len(stats_files) == 1
    written = stats_files[0].stat().st_mtime_ns
    st.cache_resource.clear()  # what a server restart forgets
    st.cache_data.clear()
    assert dx.data_stats(source).computed is False  # the disk cache answers
    second = _figures(_render())
    assert second == first and first[0]  # the same figures, and there were some
    assert stats_files[0].stat().st_mtime_ns == written  # read, not rewritten
    assert ("users", "7") in first[0]
