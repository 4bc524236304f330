"""The gauge on the Compare and Résumé pages (AppTest): the error table, the estimated against the true share over
time, and Résumé's "gauge error on <file>" column."""

from __future__ import annotations

import pandas as pd
import pytest

from core.analysis.compare import gauge_column
from core.evaluation import gauge
from core.models.base import load
from tests.support.eval_sets import copy_run
from tests.support.gauge_data import SHARES, make_gauge_csv, settings
from tests.support.streamlit import render, texts


@pytest.fixture
def gauged_run(trained_logreg_run, tmp_path, monkeypatch, no_cloud):
    root = tmp_path / "runs"
    run = copy_run(trained_logreg_run, root / "logreg-a")
    monkeypatch.setenv("BADBUZZ_RUNS_DIR", str(root))
    data = gauge.read_gauge_file(make_gauge_csv(tmp_path / "airline.csv", SHARES), settings())
    return gauge.evaluate_gauge(load(run), run, data, settings(encoder=None))


def test_compare_shows_the_gauge_table_and_the_shares_over_time(gauged_run):
    at = render("views/compare.py")
    assert not at.exception, [e.value for e in at.exception]
    table = next(d.value for d in at.dataframe if "MAE (points)" in d.value.columns)
    assert table["gauge file"].tolist() == ["airline"] and table["windows"].tolist() == [6]
    assert table["MAE (points)"].tolist() == [gauged_run["metrics"]["mae"]]
    assert "true negative share" in texts(at.caption)
    assert at.selectbox(key="compare_gauge").value.endswith("· airline")


def test_resume_has_a_gauge_error_column(gauged_run):
    at = render("views/resume.py")
    assert not at.exception, [e.value for e in at.exception]
    by_run = at.dataframe[0].value.set_index("run")[gauge_column("airline")]
    assert pd.notna(by_run["logreg-a"]) and by_run["logreg-a"] == pytest.approx(gauged_run["metrics"]["mae"])


def test_the_monitor_shows_the_gauge_of_the_run_that_scored(gauged_run, tmp_path):
    from streamlit.testing.v1 import AppTest

    from core.config import PROJECT_ROOT

    export = tmp_path / "tweets.csv"
    export.write_text("text\nmy bag is lost again\ngreat crew thanks\n")
    at = AppTest.from_file(str(PROJECT_ROOT / "views" / "monitor.py"), default_timeout=90).run()
    at.file_uploader[0].set_value((export.name, export.read_bytes(), "text/csv"))
    at.run()
    next(b for b in at.button if b.label == "Score").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "How far this run's share was from the truth" in [s.value for s in at.subheader]
    table = next(d.value for d in at.dataframe if "MAE (points)" in d.value.columns)
    assert table["MAE (points)"].tolist() == [gauged_run["metrics"]["mae"]]
