"""Compare's "Calibration" and "Behavioural tests" sections and the monitor's threshold note, rendered by AppTest
on a copy of the session's real tiny logreg run: the operator runs the suite from the page, a viewer cannot."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.config import runs_dir
from core.evaluation import behaviour as bh
from core.tracking.runs import list_runs
from tests.support.streamlit import render, serving_on, texts
from views.components.robustness import RUN_BUTTON, _mtime, background_suite


@pytest.fixture
def one_run(trained_logreg_run, no_cloud, monkeypatch) -> Path:
    monkeypatch.setenv("BADBUZZ_DATA_DIR", str(trained_logreg_run.parent / "data"))
    run = runs_dir() / "logreg-tiny"
    shutil.copytree(trained_logreg_run, run)
    return run


def run_button(at: AppTest):
    return next(b for b in at.button if b.label == RUN_BUTTON)


def test_compare_shows_calibration_and_runs_the_behavioural_tests(one_run):
    at = render("views/compare.py")
    assert {"Calibration", "Behavioural tests"} <= {s.value for s in at.subheader}
    ece = next(d.value for d in at.dataframe if "ECE (points)" in d.value.columns)
    assert len(ece) == 1 and 0 <= ece["ECE (points)"].iloc[0] <= 100
    # an operator's page starts the suite in the background at once (no button to press and wait for)
    assert "Running the behavioural tests on" in texts(at.info) and not run_button(at).disabled
    [run] = list_runs(runs_dir())
    background_suite(str(one_run), _mtime(one_run), (run.id, run.approach, run.kind)).result(timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    results = bh.read_results(one_run)
    assert results and results["max_cases"] == 100
    rates = next(d.value for d in at.dataframe if "capability" in d.value.columns)
    label = next(c for c in rates.columns if c.endswith("logreg-tiny"))
    assert len(rates) == len(results["tests"]) and rates[label].between(0, 100).all()
    picker = at.selectbox(key="behaviour-test")
    assert picker.options == [f"{t['type']} · {t['name']} — {t['expectation']}" for t in results["tests"]]
    worst = max(results["tests"], key=lambda t: t["failures"])
    picker.set_value(worst["name"]).run()
    expander = next(e for e in at.expander if e.label == "Failing examples (the worst first)")
    examples = expander.dataframe[0].value
    assert list(examples["text"]) == [e["text"] for e in worst["examples"]] and worst["failures"] > 0
    assert "No behavioural test results yet" not in texts(at.caption)


def test_a_viewer_sees_why_the_run_button_is_disabled(one_run):
    with serving_on("0.0.0.0"):
        at = render("views/compare.py")
    assert run_button(at).disabled and "Operators only" in texts(at.caption)
    assert "No behavioural test results yet" in texts(at.caption)  # and the command, for a terminal
    assert not (one_run / "behaviour").exists()  # a viewer's visit costs no machine time


def test_the_monitor_explains_its_threshold_with_the_models_calibration(one_run):
    at = render("views/monitor.py")
    at.text_area[0].set_value("love the crew great flight\nawful delayed lost bag hate").run()
    next(b for b in at.button if b.label == "Score").click().run()
    assert not at.exception, [e.value for e in at.exception]
    note = next(c.value for c in at.caption if "A negative share of" in c.value)
    assert "P(positive) < 0.5" in note and "(ECE)" in note and "on its test split" in note.lower()
