"""Live scoring and Résumé show what serves each model (ONNX int8 / ONNX fp32 / PyTorch, scikit-learn...), and
only an operator may change what a transformer run serves (checked again at the click)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.config import PROJECT_ROOT
from core.models import serving
from tests.support.streamlit import serving_on
from tests.support.transformer_runs import shared_transformer_run

pytestmark = pytest.mark.slow  # a (tiny) neural model
TIMEOUT = 120
APPLY = "Apply serving choice"


@pytest.fixture
def served_runs(tmp_path, monkeypatch, tmp_path_factory, trained_logreg_run, no_cloud) -> Path:
    """A runs folder with a tiny transformer run (exported, the rule decided) and a logreg run."""
    runs = tmp_path / "runs"
    transformer = Path(shutil.copytree(shared_transformer_run(tmp_path_factory), runs / "transformer-tiny"))
    shutil.copytree(trained_logreg_run, runs / "logreg-tiny")
    monkeypatch.setenv("BADBUZZ_RUNS_DIR", str(runs))
    return transformer


def page(name: str) -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / "views" / f"{name}.py"), default_timeout=TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def rule_label(run_dir: Path) -> str:
    return serving.backend_label(json.loads((run_dir / "run.json").read_text())["onnx"]["preferred"])


def backends(at: AppTest) -> dict[str, str]:
    table = at.dataframe[0].value
    measured = table[table["source"] == "measured"]
    return dict(zip(measured["run"], measured["serving backend"]))


def test_live_shows_the_backend_that_answers_in_each_column(served_runs):
    at = page("live")
    at.text_area(key="live_text").input("love the crew, great flight")
    next(b for b in at.button if b.label == "Score").click().run()
    assert not at.exception, [e.value for e in at.exception]
    captions = texts(at.caption)
    assert f"local model · served by {rule_label(served_runs)}" in captions
    assert "local model · served by scikit-learn" in captions


def test_resume_shows_the_backend_and_an_operator_overrides_it(served_runs):
    at = page("resume")
    assert backends(at) == {"transformer-tiny": rule_label(served_runs), "logreg-tiny": "scikit-learn"}
    assert f"**transformer-tiny** serves **{rule_label(served_runs)}**" in texts(at.markdown)
    assert "labels agree with PyTorch's on at least 98%" in texts(at.caption)
    decision = next(d.value for d in at.dataframe if "backend" in d.value.columns)  # one row per backend
    assert set(decision["backend"]) == {"PyTorch", "ONNX fp32", "ONNX int8"}
    assert decision["serves now"].sum() == 1 and "label agreement with PyTorch (%)" in decision
    at.selectbox(key="serving_choice").set_value("pytorch")
    at.text_input(key="serving_why").input("compare latency")
    next(b for b in at.button if b.label == APPLY).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "now serves PyTorch (operator override)" in texts(at.success)
    assert backends(at)["transformer-tiny"] == "PyTorch (operator override)"
    meta = json.loads((served_runs / "run.json").read_text())
    served = meta["serving"]
    assert served["backend"] == "torch" and served["why"] == "compare latency" and "dashboard" in served["by"]
    table = at.dataframe[0].value  # throughput and cost now follow PyTorch, from the export's check
    row = table[table["run"] == "transformer-tiny"].iloc[0]
    assert row["batched throughput (tweets/s)"] == pytest.approx(meta["onnx"]["variants"]["torch"]["tweets_per_s"])
    assert "PyTorch speed from the export check" in row["cost basis"]


def test_a_viewer_sees_the_backend_but_cannot_override(served_runs):
    before = (served_runs / "run.json").read_text()
    with serving_on("0.0.0.0"):  # an exposed server without authentication: the visitor is a viewer
        at = page("resume")
        assert backends(at)["transformer-tiny"] == rule_label(served_runs)
        apply = next(b for b in at.button if b.label == APPLY)
        assert apply.disabled and "Operators only" in texts(at.caption)
        at.selectbox(key="serving_choice").set_value("pytorch")
        apply = next(b for b in at.button if b.label == APPLY)
        apply.proto.disabled = False  # as a crafted message would (Streamlit drops it; the page checks again too)
        apply.click().run()
    assert not at.exception and "now serves" not in texts(at.success)
    assert (served_runs / "run.json").read_text() == before
    assert backends(at)["transformer-tiny"] == rule_label(served_runs)
