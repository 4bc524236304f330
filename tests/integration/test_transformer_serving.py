"""What a transformer run serves: the rule (accuracy and label agreement with PyTorch fp32, not |delta P|),
its record in run.json, the loader following it, and an operator's override from the command line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from core.commands import export_onnx
from core.models import base as models
from core.models import serving
from core.models.transformer import TorchBackend
from tests.support.transformer_runs import shared_transformer_run

pytestmark = pytest.mark.slow  # fits and exports a (tiny) neural model


@pytest.fixture(scope="module")
def exported_run(tmp_path_factory) -> Path:
    return shared_transformer_run(tmp_path_factory)


@pytest.fixture
def run_copy(exported_run, tmp_path) -> Path:
    return Path(shutil.copytree(exported_run, tmp_path / exported_run.name))


def meta_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "run.json").read_text())


def figures(accuracy: float, agreement: float, tweets_per_s: float, max_delta: float = 0.2) -> dict:
    return {
        "accuracy": accuracy,
        "label_agreement": agreement,
        "max_abs_delta": max_delta,
        "tweets_per_s": tweets_per_s,
        "single_p50_ms": 2.0,
    }


# ---------------------------------------------------------------- the rule


def test_int8_is_accepted_within_the_rule_even_with_a_large_delta_p():
    variants = {
        "torch": {"accuracy": 0.849, "tweets_per_s": 150.0, "single_p50_ms": 10.0},
        "onnx-fp32": figures(0.849, 1.0, 360.0, max_delta=1e-6),
        "onnx-int8": figures(0.845, 0.985, 820.0, max_delta=0.15),  # 0.4 point lower, 98.5 % agreement
    }
    assert serving.decide(variants) == "onnx-int8"
    assert variants["onnx-int8"]["accepted"] and variants["onnx-int8"]["reason"].startswith("accepted")


@pytest.mark.parametrize(
    ("accuracy", "agreement", "why"),
    [
        (0.843, 0.99, "accuracy 0.60 points below PyTorch"),  # agreement fine, accuracy 0.6 point lower
        (0.849, 0.975, "label agreement under 98%"),  # same accuracy, too many labels flipped
    ],
)
def test_int8_is_refused_outside_the_rule_and_the_fastest_accepted_backend_serves(accuracy, agreement, why):
    variants = {
        "torch": {"accuracy": 0.849, "tweets_per_s": 150.0, "single_p50_ms": 10.0},
        "onnx-fp32": figures(0.849, 1.0, 360.0, max_delta=1e-6),
        "onnx-int8": figures(accuracy, agreement, 820.0, max_delta=0.01),  # small |dP| does not save it
    }
    assert serving.decide(variants) == "onnx-fp32"
    assert not variants["onnx-int8"]["accepted"] and why in variants["onnx-int8"]["reason"]
    variants["onnx-fp32"]["label_agreement"] = 0.9
    assert serving.decide(variants) == "torch"  # nothing accepted: PyTorch
    assert serving.judge({"label_agreement": 1.0}, None)[0] is False  # no accuracy measured: never accepted


def test_pytorch_serves_only_when_faster_on_both_counts():
    fp32 = figures(0.85, 1.0, 380.0) | {"single_p50_ms": 3.0}
    slow_single = {"accuracy": 0.85, "tweets_per_s": 900.0, "single_p50_ms": 12.0}
    assert serving.decide({"torch": slow_single, "onnx-fp32": dict(fp32)}) == "onnx-fp32"
    fast = {"accuracy": 0.85, "tweets_per_s": 900.0, "single_p50_ms": 1.0}
    assert serving.decide({"torch": fast, "onnx-fp32": dict(fp32)}) == "torch"


# ---------------------------------------------------------------- a real tiny run


def test_the_export_records_the_decision_and_its_figures_in_run_json(exported_run):
    meta = meta_of(exported_run)
    onnx, served = meta["onnx"], meta["serving"]
    assert onnx["thresholds"] == {"max_accuracy_drop": 0.005, "min_label_agreement": 0.98, "torch_margin": 1.1}
    assert "98%" in onnx["rule"] and onnx["check_source"] == "validation split" and onnx["check_texts"] == 150
    torch, int8 = onnx["variants"]["torch"], onnx["variants"]["onnx-int8"]
    assert {"accuracy", "tweets_per_s", "single_p50_ms"} <= set(torch)
    for key in ("accuracy", "label_agreement", "max_abs_delta", "mean_abs_delta", "tweets_per_s", "accepted"):
        assert key in int8, key
    # The tiny model is confident on its validation tweets: quantisation changes no label, int8 is accepted.
    assert int8["label_agreement"] >= serving.MIN_LABEL_AGREEMENT and int8["accepted"], int8["reason"]
    recomputed = {k: dict(v) for k, v in onnx["variants"].items()}
    assert serving.decide(recomputed) == onnx["preferred"] == served["backend"]
    assert served["decided_by"] == "rule"
    assert models.load(exported_run).backend_name == onnx["preferred"]


def test_the_loader_serves_what_run_json_says_and_falls_back_to_pytorch(run_copy):
    meta = meta_of(run_copy)
    meta["onnx"]["preferred"] = "onnx-int8"
    (run_copy / "run.json").write_text(json.dumps(meta))
    assert models.load(run_copy).backend_label == "ONNX int8"
    (run_copy / "onnx" / "model.int8.onnx").write_bytes(b"not an onnx file")
    with pytest.warns(UserWarning, match="using PyTorch"):
        fallback = models.load(run_copy)
    assert isinstance(fallback.backend, TorchBackend) and fallback.backend_label == "PyTorch"
    assert "onnx-int8 unavailable" in fallback.note


def export_onnx_command(capsys, *args) -> tuple[int, str, str]:
    """`python -m core.commands.export_onnx ARGS` in this process: (exit status, stdout, stderr)."""
    try:
        export_onnx.main([str(a) for a in args])
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def test_operator_override_from_the_command_line_changes_what_is_served(run_copy, capsys):
    rule_choice = meta_of(run_copy)["onnx"]["preferred"]
    scores = models.load(run_copy).predict_proba(["love the crew", "worst delay"])
    for choice, backend in (("pytorch", "torch"), ("int8", "onnx-int8"), ("fp32", "onnx-fp32")):
        code, out, err = export_onnx_command(capsys, "--run", run_copy, "--serve", choice, "--why", "load test")
        assert code == 0, err
        assert f"serving backend: {serving.backend_label(backend)} (operator override" in out
        served = meta_of(run_copy)["serving"]
        assert served["backend"] == backend and served["decided_by"] == "operator override"
        assert served["why"] == "load test" and "(command line)" in served["by"] and served["at"]
        assert served["rule_choice"] == rule_choice
        model = models.load(run_copy)
        assert model.backend_name == backend and model.decided_by == "operator override"
        assert np.abs(model.predict_proba(["love the crew", "worst delay"]) - scores).max() < 0.05
    code, _, err = export_onnx_command(capsys, "--run", run_copy, "--serve", "auto")
    assert code == 0, err
    meta = meta_of(run_copy)
    assert meta["serving"]["backend"] == rule_choice and meta["serving"]["decided_by"] == "rule"
    assert [h["backend"] for h in meta["serving_history"][-3:]] == ["torch", "onnx-int8", "onnx-fp32"]
    assert models.load(run_copy).backend_name == rule_choice


def test_override_refusals_are_one_line(run_copy, trained_logreg_run, capsys):
    (run_copy / "onnx" / "model.int8.onnx").unlink()
    before = (run_copy / "run.json").read_text()
    for run_dir, choice, expected in (
        (run_copy, "int8", "has no ONNX int8 model"),
        (trained_logreg_run, "fp32", "is not a transformer run folder"),
        (run_copy, "int9", "invalid choice: 'int9'"),
    ):
        code, _, err = export_onnx_command(capsys, "--run", run_dir, "--serve", choice)
        assert code == 2
        assert err.strip().startswith("error: ") and expected in err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert (run_copy / "run.json").read_text() == before
