"""Pages with a three-way run (issue 22, item 2): Live scoring shows its three class probabilities and its neutral
answer, Compare its 3x3 confusion matrix beside a binary run's 2x2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support.data import make_three_way_tweets
from tests.support.streamlit import render, texts


@pytest.fixture
def three_way_runs(tmp_path, monkeypatch, three_way_logreg_run, trained_logreg_run, three_way_csv, no_cloud) -> Path:
    root = tmp_path / "runs"
    for name, run in (("three-way", three_way_logreg_run), ("binary", trained_logreg_run)):
        shutil.copytree(run, root / name)
        meta = json.loads((root / name / "run.json").read_text())
        (root / name / "run.json").write_text(json.dumps({**meta, "id": name}))
    monkeypatch.setenv("BADBUZZ_RUNS_DIR", str(root))
    monkeypatch.setenv("BADBUZZ_DATA", str(three_way_csv))
    return root


def test_live_shows_a_three_way_answer_with_its_class_probabilities(three_way_runs):
    at = render("views/live.py")
    picked = [label for label in at.multiselect[0].options if "three-way" in label or "binary" in label]
    at.multiselect[0].set_value(picked).run()
    neutral = next(text for label, text in make_three_way_tweets(3, seed=5) if label == "neutral")
    at.text_area(key="live_text").input(neutral)
    next(b for b in at.button if b.label == "Score").click().run()
    assert not at.exception, [e.value for e in at.exception]
    bars = [str(bar.proto.text) for bar in at.get("progress")]
    # the three-way run: one bar per class; the binary one: P(positive) only
    assert sum(b.startswith("P(neutral)") for b in bars) == 1 and sum(b.startswith("P(positive)") for b in bars) == 2
    assert "neutral" in texts(at.markdown)
    history = at.dataframe[0].value
    assert "neutral" in set(history["label"])
    assert history["P(neutral)"].notna().sum() == 1


def test_compare_shows_a_three_by_three_matrix_beside_a_two_by_two(three_way_runs):
    at = render("views/compare.py")
    at.multiselect[0].set_value(list(at.multiselect[0].options)).run()
    assert not at.exception, [e.value for e in at.exception]
    charts = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    heatmaps = [trace for spec in charts for trace in spec["data"] if trace.get("type") == "heatmap"]
    shapes = sorted((len(trace["y"]), len(trace["x"])) for trace in heatmaps)
    assert shapes == [(2, 2), (3, 3)]
    assert any("predicted neutral" in trace["x"] for trace in heatmaps)


def test_resume_lists_a_three_way_run_beside_a_binary_one(three_way_runs):
    at = render("views/resume.py")
    shown = "\n".join(str(frame.value.to_csv()) for frame in at.dataframe)
    assert "three-way" in shown and "binary" in shown
