"""The evaluation sets on the Compare and Résumé pages (AppTest): the "Evaluation set" selector, runs missing a set
listed as such, and the operators' "Evaluate the selected runs on …" action (viewers see why it is disabled)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.analysis.compare import set_column
from core.evaluation import eval_sets
from core.evaluation.eval_sets import OFFICIAL_SET, TEST_SPLIT
from core.models.base import load
from tests.support.eval_sets import copy_run, write_labelled_csv, write_official_zip
from tests.support.streamlit import render, serving_on, texts

OFFICIAL_LABEL = "Sentiment140, official hand-labelled test set"


@pytest.fixture
def runs(trained_logreg_run, tmp_path, monkeypatch, no_cloud) -> dict[str, Path]:
    """Two copies of the shared logreg run; logreg-a evaluated on the official set (a small fake zip), a labelled
    CSV as the configured data."""
    root = tmp_path / "runs"
    found = {name: copy_run(trained_logreg_run, root / name) for name in ("logreg-a", "logreg-b")}
    monkeypatch.setenv("BADBUZZ_RUNS_DIR", str(root))
    monkeypatch.setenv("BADBUZZ_DATA", str(write_labelled_csv(tmp_path / "in_domain.csv")))
    write_official_zip(tmp_path)
    eval_sets.evaluate_set(load(found["logreg-a"]), found["logreg-a"], eval_sets.official_source())
    return found


def evaluate_button(at: AppTest):
    return next(b for b in at.button if b.label == "Evaluate")


def test_compare_shows_any_set_and_operators_evaluate_the_picked_runs(runs):
    at = render("views/compare.py")
    picker = at.multiselect[0]
    picker.set_value(picker.options).run()  # both copies (one approach: the default picks one)
    assert set_column(OFFICIAL_SET) in at.dataframe[0].value.columns
    chooser = at.selectbox(key="compare_evaluation_set")
    assert chooser.options == [TEST_SPLIT, OFFICIAL_SET] and chooser.value == TEST_SPLIT
    chooser.set_value(OFFICIAL_SET).run()
    assert not at.exception, [e.value for e in at.exception]
    assert f"Not evaluated on {OFFICIAL_SET}" in texts(at.warning) and "logreg-b" in texts(at.warning)
    table = next(d.value for d in at.dataframe if "neutral tweets" in d.value.columns)
    assert table["neutral tweets"].tolist() == [7] and table["tweets"].tolist() == [30]
    mistakes = [d.value for d in at.dataframe if "confidence" in d.value.columns]
    assert len(mistakes) == 1 and mistakes[0]["text"].notna().all()

    source = at.selectbox(key="compare_evaluate_source")
    assert f"{OFFICIAL_LABEL} (at most" in " ".join(source.options)  # each choice says its size before the click
    assert "Configured data (in_domain.csv) (at most 26 tweets)" in source.options  # its lines: 24 kept, 2 not
    source.set_value("Configured data (in_domain.csv)").run()
    evaluate_button(at).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert texts(at.success).count("in_domain (in_domain.csv, 24 tweets): accuracy") == 2
    assert all("in_domain" in eval_sets.list_evaluations(path) for path in runs.values())
    chooser = at.selectbox(key="compare_evaluation_set")
    assert chooser.options == [TEST_SPLIT, OFFICIAL_SET, "in_domain"]
    chooser.set_value("in_domain").run()
    assert "Not evaluated on" not in texts(at.warning)
    assert "of 24 tweets" in texts(at.markdown)  # the disagreements, on the set's tweets


def test_a_set_too_big_for_the_page_is_named_not_offered(runs, tmp_path, monkeypatch):
    big = tmp_path / "big.csv"
    big.write_text("text,label\n" + "".join(f"tweet number {i},{i % 2}\n" for i in range(10_050)))
    monkeypatch.setenv("BADBUZZ_DATA", str(big))
    at = render("views/compare.py")
    assert not any("big.csv" in option for option in at.selectbox(key="compare_evaluate_source").options)
    assert "not offered here: Configured data (big.csv)" in texts(at.caption)


def test_viewers_see_why_they_cannot_evaluate(runs):
    with serving_on("0.0.0.0"):
        at = render("views/compare.py")
    assert evaluate_button(at).disabled
    assert "operator" in texts(at.caption).lower()


def test_resume_has_a_column_and_a_selector_per_set(runs):
    at = render("views/resume.py")
    table = at.dataframe[0].value
    column = set_column(OFFICIAL_SET)
    by_run = table.set_index("run")[column]
    assert pd.notna(by_run["logreg-a"]) and pd.isna(by_run["logreg-b"])
    chooser = at.selectbox(key="resume_evaluation_set")
    assert chooser.options == [TEST_SPLIT, OFFICIAL_SET]
    chooser.set_value(OFFICIAL_SET).run()
    assert not at.exception, [e.value for e in at.exception]
    assert f"Not evaluated on {OFFICIAL_SET}, so not in the chart: logreg-b" in texts(at.warning)
    assert at.dataframe[0].value["run"].tolist()[0] == "logreg-a"
