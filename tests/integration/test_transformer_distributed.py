"""The transformer trainer under `torchrun --nproc_per_node 2` on CPU (gloo): one run folder, written by rank 0.

A tiny random BERT (2 layers, width 32) with the bundled MiniLM tokenizer, trained on a small CSV the test makes:
the two-process run must give the same kind of run folder as a one-process run (status, metrics, history, model
files), record its world size, and leave no second writer's trace; the one-process run that follows reuses the
tokenised cache the distributed run wrote.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.data import ROOT
from tests.support.runs import write_tiny_csv
from tests.support.tiny_bert import save_tiny_bert

pytestmark = pytest.mark.slow  # trains real (tiny) neural models

OPTIONS = ["--device", "cpu", "--epochs", "2", "--batch-size", "16", "--lr", "3e-3", "--no-onnx"]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory) -> Path:
    return save_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


def arguments(root: Path, output: Path, base: Path) -> list[str]:
    return ["--data", str(root / "tweets.csv"), "--output", str(output), "--base-model", str(base), *OPTIONS]


def train_with_torchrun(root: Path, output: Path, base: Path) -> subprocess.CompletedProcess[str]:
    """`torchrun --standalone --nproc_per_node 2 -m trainers.transformer ...`, as a user runs it."""
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    env = {**os.environ, "BADBUZZ_ARTIFACTS": str(root / "artifacts")}
    command = [*launch, "-m", "trainers.transformer", *arguments(root, output, base)]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)


def train_in_process(root: Path, output: Path, base: Path, monkeypatch) -> None:
    """The same command in one process (in this one, to share the imports)."""
    from trainers import transformer

    monkeypatch.setenv("BADBUZZ_ARTIFACTS", str(root / "artifacts"))
    transformer.main(arguments(root, output, base))


def test_torchrun_two_processes_write_one_run_like_a_single_process(tiny_bert, tmp_path, monkeypatch):
    write_tiny_csv(tmp_path / "tweets.csv", n=400)
    started = time.monotonic()
    two = train_with_torchrun(tmp_path, tmp_path / "runs" / "two", tiny_bert)
    seconds = time.monotonic() - started
    assert two.returncode == 0, two.stderr[-3000:]
    assert "Traceback" not in two.stderr and "rank 1 of 2: done" in two.stderr
    train_in_process(tmp_path, tmp_path / "runs" / "one", tiny_bert, monkeypatch)

    runs = {name: tmp_path / "runs" / name for name in ("one", "two")}
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["one", "two"]  # no second writer's folder
    files = {
        name: sorted(p.name for p in path.iterdir() if p.name not in ("heartbeat",)) for name, path in runs.items()
    }
    assert files["two"] == files["one"]
    assert {"run.json", "metrics.json", "history.json", "test_predictions.csv", "model"} <= set(files["two"])
    assert not (runs["two"] / "checkpoints").exists()  # removed once the best weights are in model/
    metas = {name: json.loads((path / "run.json").read_text()) for name, path in runs.items()}
    assert metas["two"]["status"] == metas["one"]["status"] == "succeeded"
    assert metas["two"]["device"]["world_size"] == metas["two"]["transformer"]["world_size"] == 2
    assert metas["one"]["device"]["world_size"] == 1
    # each of the 2 processes takes half the batches: half the optimisation steps of one process
    assert metas["two"]["transformer"]["steps"] < metas["one"]["transformer"]["steps"]
    assert metas["two"]["data"]["split_id"] == metas["one"]["data"]["split_id"]
    assert metas["one"]["transformer"]["tokenized_from_cache"]  # the distributed run cached the tokens

    metrics = json.loads((runs["two"] / "metrics.json").read_text())
    assert metrics["test"]["n"] == json.loads((runs["one"] / "metrics.json").read_text())["test"]["n"]
    assert metrics["transformer"]["world_size"] == 2 and metrics["transformer"]["tweets_seen"] > 0
    history = json.loads((runs["two"] / "history.json").read_text())
    assert [round(e["epoch"]) for e in history] == [1, 2] and all(e["val_loss"] > 0 for e in history)
    assert (runs["two"] / "model" / "model.safetensors").exists()
    print(f"torchrun 2 processes: {seconds:.1f} s")
