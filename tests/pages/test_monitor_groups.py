"""The batch monitor split by a column: an airline export uploaded, scored by a real tiny run, the negative share
per airline charted, each airline's crossings in a table, and a per-airline threshold edited."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core import config
from core.config import PROJECT_ROOT
from core.inference.stream_input import NO_GROUP_VALUE
from tests.support import airline
from tests.support.streamlit import plotly_array

TIMEOUT = 90


@pytest.fixture
def runs(trained_logreg_run, no_cloud) -> Path:
    shutil.copytree(trained_logreg_run, config.runs_dir() / "logreg-tiny")
    return config.runs_dir()


def checked(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def crossings(at: AppTest) -> pd.Series:
    """The per-group table's first crossing, by group."""
    table = next(d.value for d in at.dataframe if "first crossing" in d.value.columns)
    return table.set_index("group")["first crossing"].replace("—", None)  # a dash where a group never crossed


def chart_traces(at: AppTest) -> list[list[str]]:
    return [[t.get("name") for t in json.loads(c.proto.spec)["data"]] for c in at.get("plotly_chart")]


def charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_an_airline_export_is_split_by_airline_with_a_threshold_per_airline(runs, tmp_path):
    export = airline.write_airline_csv(tmp_path / "airline_tweets.csv")
    at = checked(AppTest.from_file(str(PROJECT_ROOT / "views" / "monitor.py"), default_timeout=TIMEOUT).run())
    at.file_uploader[0].set_value((export.name, export.read_bytes(), "text/csv"))
    checked(at.run())
    split = next(s for s in at.selectbox if s.label == "Split by")
    assert split.value == "(none)" and split.options[:2] == ["(none)", "airline"]
    split.set_value("airline")
    next(b for b in at.button if b.label == "Score").click()
    checked(at.run())

    assert "Negative share per airline" in [s.value for s in at.subheader]
    traces = chart_traces(at)
    assert any(set(airline.AIRLINES) <= set(names) for names in traces)  # one line (and one bar) per airline
    titles = [{a["text"] for a in c["layout"].get("annotations", ())} for c in charts(at)]
    assert any(t >= set(airline.AIRLINES) for t in titles)  # one small chart per airline
    for chart in charts(at):  # a window under the minimum tweets is never on a share line (no 0 % / 100 % spikes)
        for line in (t for t in chart["data"] if t.get("mode") == "lines+markers" and "customdata" in t):
            volumes = plotly_array(line["customdata"]).reshape(-1, 2)[:, 0]
            assert (volumes >= 5).all(), line.get("name")
    table = next(d.value for d in at.dataframe if "first crossing" in d.value.columns)
    alerts = next(m for m in at.metric if m.label == "Alerts (all groups)")
    assert int(alerts.value) == table["alerts (threshold crossings)"].sum() > 0  # the headline is the table's sum
    first = crossings(at)
    assert set(first.index) == {*airline.AIRLINES, NO_GROUP_VALUE}
    assert first.notna().to_dict() == {group: group == airline.BURSTING for group in first.index}

    editor = next(e for e in at.data_editor if e.key and e.key.startswith("monitor_group_rules"))
    assert editor.value["threshold (%)"].eq(60).all() and editor.value["min tweets"].eq(5).all()
    row = editor.value["group"].tolist().index(airline.BURSTING)
    at.session_state[editor.key] = {"edited_rows": {row: {"threshold (%)": 90}}, "added_rows": [], "deleted_rows": []}
    checked(at.run())
    assert crossings(at).isna().all()  # 80% in the burst: under United's own 90%
