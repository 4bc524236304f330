"""The transformer approach, end to end on a tiny random-initialised DistilBERT (no download).

The base model is built from a config with a 40-word tokenizer; the data are templated tweets whose
sentiment words the tiny model can learn in a few steps.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.models import base as models
from core.models.transformer import MINILM_ALIAS, BaseModelError, TorchBackend, load_run, resolve_base_model
from tests.support.cli import module_argv, run_module, score_cli

pytestmark = pytest.mark.slow  # trains real (tiny) neural models

ROOT = Path(__file__).resolve().parents[2]
POSITIVE = ["love", "great", "thanks", "awesome", "happy", "best"]
NEGATIVE = ["hate", "awful", "worst", "delay", "lost", "angry"]
FILLER = ["the", "flight", "crew", "seat", "food", "bag", "today", "my", "was", "again", "air", "paradis"]
FRESH = [
    "love love the crew",
    "worst delay ever",
    "my bag was lost again",
    "happy happy flight today",
    "the seat",
    "unknownword zzz",
    "",
    "angry " * 60,
    "thanks air paradis, best crew",
    "hate the food",
]


def make_tweets(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        positive = i % 2 == 0
        words = list(rng.choice(FILLER, size=rng.integers(2, 12)))
        words.insert(int(rng.integers(0, len(words) + 1)), rng.choice(POSITIVE if positive else NEGATIVE))
        rows.append((4 if positive else 0, " ".join(words) + f" #{i}"))
    return pd.DataFrame(rows, columns=["target", "text"])


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory) -> Path:
    """A random-initialised DistilBERT (2 layers, dim 32) and a word-level tokenizer, saved like a hub model."""
    from transformers import DistilBertConfig, DistilBertForSequenceClassification, DistilBertTokenizer

    folder = tmp_path_factory.mktemp("tiny-distilbert")
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    words = special + POSITIVE + NEGATIVE + FILLER + list("!?.,#") + [str(d) for d in range(10)]
    tokenizer = DistilBertTokenizer(vocab={w: i for i, w in enumerate(words)})
    config = DistilBertConfig(
        vocab_size=len(words),
        dim=32,
        n_layers=2,
        n_heads=2,
        hidden_dim=64,
        max_position_embeddings=128,
        pad_token_id=0,
        seed=0,
    )
    import torch

    torch.manual_seed(0)
    DistilBertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("transformer")
    make_tweets(600, seed=1).to_csv(root / "tweets.csv", index=False)
    return root


def trainer_args(workspace: Path, output: Path, base_model: Path | str, *extra: str) -> list[str]:
    """`trainers.transformer` arguments: the workspace's tweets, the output folder, the base model, then `extra`."""
    return ["--data", str(workspace / "tweets.csv"), "--output", str(output), "--base-model", str(base_model), *extra]


@pytest.fixture(scope="module")
def trained_run(tiny_base, workspace) -> Path:
    """One real training run through the CLI entry point (in-process, to share the imports)."""
    from trainers import transformer

    env = {"BADBUZZ_ARTIFACTS": str(workspace / "artifacts")}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        run_dir = workspace / "artifacts" / "runs" / "tiny"
        # one thread: a model this small only waits for a second one (OpenMP spins), the more so on a busy machine
        options = ["--epochs", "3", "--lr", "3e-3", "--batch-size", "16", "--eval-every", "10", "--threads", "1"]
        options += ["--max-train-samples", "300", "--onnx-check-texts", "60"]
        transformer.main(trainer_args(workspace, run_dir, tiny_base, *options))
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    return run_dir


@pytest.fixture(scope="module")
def three_way_run(tiny_base, workspace) -> Path:
    """A short three-way training (neutral tweets: filler words only), with its ONNX export checked."""
    from trainers import transformer

    rng = np.random.default_rng(3)
    rows = []
    for i in range(300):
        label = ("negative", "neutral", "positive")[i % 3]
        words = list(rng.choice(FILLER, size=rng.integers(2, 12)))
        if label != "neutral":
            words.insert(
                int(rng.integers(0, len(words) + 1)), rng.choice(POSITIVE if label == "positive" else NEGATIVE)
            )
        rows.append((label, " ".join(words) + f" {i % 10}"))
    pd.DataFrame(rows, columns=["target", "text"]).to_csv(workspace / "three.csv", index=False)
    run_dir = workspace / "three-way"
    options = ["--epochs", "1", "--batch-size", "16", "--max-train-samples", "120", "--onnx-check-texts", "30"]
    args = trainer_args(workspace, run_dir, tiny_base, *options)
    transformer.main([*args[:1], str(workspace / "three.csv"), *args[2:]])
    return run_dir


def test_a_run_on_neutral_data_gets_a_three_class_head(three_way_run):
    meta = json.loads((three_way_run / "run.json").read_text())
    assert meta["status"] == "succeeded" and meta["classes"] == ["negative", "neutral", "positive"]
    test = json.loads((three_way_run / "metrics.json").read_text())["test"]
    assert np.array(test["confusion_matrix"]).shape == (3, 3)
    config = json.loads((three_way_run / "model" / "config.json").read_text())
    assert list(config["id2label"].values()) == ["negative", "neutral", "positive"]
    predictions = pd.read_csv(three_way_run / "test_predictions.csv")
    assert list(predictions.columns) == ["row_id", "label", "p_pos", "p_negative", "p_neutral", "p_positive"]
    model = models.load(three_way_run)  # ONNX or PyTorch, whichever serves: both answer three ways
    proba = model.predict_class_proba(FRESH)
    assert model.classes == ("negative", "neutral", "positive") and proba.shape == (len(FRESH), 3)
    assert np.allclose(proba.sum(axis=1), 1, atol=1e-5)
    torch = load_run(three_way_run, backend="torch").predict_class_proba(FRESH)
    assert np.allclose(proba, torch, atol=1e-3)


def test_training_writes_a_complete_run(trained_run):
    meta = json.loads((trained_run / "run.json").read_text())
    assert meta["status"] == "succeeded" and meta["kind"] == "transformer"
    import torch

    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert meta["device"]["type"] == expected and meta["device"]["precision"] in ("bf16", "fp16", "fp32", "tf32")
    assert meta["transformer"]["train_tweets"] == 300
    assert (trained_run / "model" / "model.safetensors").exists()
    assert (trained_run / "model" / "tokenizer.json").exists()

    history = json.loads((trained_run / "history.json").read_text())
    keys = {"epoch", "step", "loss", "val_loss", "accuracy", "val_accuracy", "seconds", "tweets_per_s"}
    assert all(keys <= set(entry) for entry in history)
    steps = [entry["step"] for entry in history]
    assert steps == sorted(steps) and steps[-1] == meta["transformer"]["steps"] == 3 * 19
    assert any(e["epoch"] != int(e["epoch"]) for e in history)  # --eval-every gives fractional epochs
    best = meta["transformer"]["best"]
    assert best["val_loss"] == min(e["val_loss"] for e in history)

    metrics = json.loads((trained_run / "metrics.json").read_text())
    assert metrics["test"]["n"] == 120
    assert metrics["test"]["accuracy"] >= 0.9, metrics["test"]["accuracy"]  # the sentiment words are learnable
    predictions = pd.read_csv(trained_run / "test_predictions.csv")
    assert len(predictions) == 120 and predictions["p_pos"].between(0, 1).all()


def test_max_length_auto_is_the_95th_percentile_of_training_tokens(trained_run, tiny_base):
    from transformers import AutoTokenizer

    from core.data.split import split_for_run

    meta = json.loads((trained_run / "run.json").read_text())
    split = split_for_run(meta)
    from core.training.transformer import subsample

    train = subsample(split.train, 300, 42)
    lengths = [len(x) for x in AutoTokenizer.from_pretrained(tiny_base)(train["text"].tolist())["input_ids"]]
    assert meta["transformer"]["max_length"] == int(np.ceil(np.percentile(lengths, 95)))


def test_progress_lines_the_dashboard_follows(trained_run):
    progress = json.loads((trained_run / "progress.json").read_text())
    assert progress["phase"] in ("evaluate", "export", "train", "validate")


def test_onnx_matches_pytorch_on_fresh_inputs(trained_run):
    manifest = json.loads((trained_run / "onnx" / "manifest.json").read_text())
    assert manifest["variants"]["onnx-fp32"]["accepted"]
    reference = load_run(trained_run, backend="torch").predict_proba(FRESH)
    fp32 = load_run(trained_run, backend="onnx-fp32")
    int8 = load_run(trained_run, backend="onnx-int8")
    assert fp32.backend_name == "onnx-fp32" and int8.backend_name == "onnx-int8"
    assert np.abs(fp32.predict_proba(FRESH) - reference).max() < 1e-3
    assert np.abs(int8.predict_proba(FRESH) - reference).max() < 0.03
    # one tweet at a time (no padding) gives the same answers as a padded batch
    singles = np.array([fp32.predict_proba([t])[0] for t in FRESH])
    assert np.abs(singles - reference).max() < 1e-3


def test_scoring_tokenizer_matches_the_training_tokenizer(trained_run):
    from transformers import AutoTokenizer

    model = load_run(trained_run, backend="onnx-fp32")
    max_length = model.encoder.max_length
    expected = AutoTokenizer.from_pretrained(trained_run / "model")(FRESH, truncation=True, max_length=max_length)[
        "input_ids"
    ]
    assert model.encoder.ids(FRESH) == expected


def test_core_models_loads_the_preferred_backend_and_falls_back(trained_run, tmp_path):
    import shutil

    model = models.load(trained_run)
    preferred = json.loads((trained_run / "run.json").read_text())["onnx"]["preferred"]
    assert (
        model.backend_name == preferred == json.loads((trained_run / "onnx" / "manifest.json").read_text())["preferred"]
    )
    scores = model.predict_proba(["love the crew", "hate the delay"])
    assert scores[0] > 0.5 > scores[1]

    copy = tmp_path / "copied-run"
    shutil.copytree(trained_run, copy)  # a run folder still loads once moved elsewhere
    meta = json.loads((copy / "run.json").read_text())
    meta["onnx"]["preferred"] = "onnx-int8"  # what the loader follows (core.models.serving)
    (copy / "run.json").write_text(json.dumps(meta))
    (copy / "onnx" / "model.int8.onnx").write_bytes(b"not an onnx file")
    with pytest.warns(UserWarning, match="using PyTorch"):
        fallback = models.load(copy)
    assert isinstance(fallback.backend, TorchBackend)
    assert np.abs(fallback.predict_proba(["love the crew", "hate the delay"]) - scores).max() < 0.03


def test_score_cli_on_a_transformer_run(trained_run, tmp_path):
    pd.DataFrame({"id": [1, 2, 3], "text": ["love the flight", "the seat", "worst crew"]}).to_csv(
        tmp_path / "in.csv", index=False
    )
    result = score_cli(trained_run, tmp_path / "in.csv", tmp_path / "out.csv")
    assert result.returncode == 0, result.stderr
    out = pd.read_csv(tmp_path / "out.csv")
    assert out["id"].tolist() == [1, 2, 3] and out["score"].between(0, 1).all()
    assert out.loc[0, "label"] == "positive" and out.loc[2, "label"] == "negative"


def test_minilm_alias_resolves_to_the_bundled_bert():
    from transformers import AutoConfig

    folder = Path(resolve_base_model(MINILM_ALIAS))
    assert (folder / "model.safetensors").exists() and (folder / "tokenizer.json").exists()
    config = AutoConfig.from_pretrained(folder)
    assert config.model_type == "bert" and config.num_hidden_layers == 6 and config.hidden_size == 384


def test_bad_base_model_paths_are_refused(tmp_path):
    with pytest.raises(BaseModelError, match="not a Hugging Face model"):
        resolve_base_model(str(tmp_path))
    with pytest.raises(BaseModelError, match="neither a model folder nor a hub id"):
        resolve_base_model(str(tmp_path / "missing" / "folder"))


def test_hub_name_offline_fails_fast_with_the_alternatives(workspace, tmp_path):
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "hf"),
        "BADBUZZ_ARTIFACTS": str(workspace / "artifacts"),
    }
    started = time.monotonic()
    result = run_module(
        "trainers.transformer", *trainer_args(workspace, tmp_path / "run", "distilbert-base-uncased"), env=env
    )
    assert result.returncode != 0
    assert "distilbert-base-uncased" in result.stderr and "--base-model minilm" in result.stderr
    assert "local folder" in result.stderr
    assert not (tmp_path / "run").exists()  # nothing written, nothing lost
    assert time.monotonic() - started < 60


def test_sigterm_cancels_a_training_run(tiny_base, workspace, tmp_path):
    env = {**os.environ, "BADBUZZ_ARTIFACTS": str(workspace / "artifacts")}
    run_dir = tmp_path / "cancelled"
    process = subprocess.Popen(
        module_argv(
            "trainers.transformer", *trainer_args(workspace, run_dir, tiny_base, "--epochs", "500", "--batch-size", "8")
        ),
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for line in process.stdout:
            if line.startswith("[progress]") and '"phase": "train"' in line:
                break
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["status"] == "cancelled"
    assert not (run_dir / "metrics.json").exists()
