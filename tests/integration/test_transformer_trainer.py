"""The transformer trainer's pieces around the Hugging Face Trainer: resuming from the run folder's checkpoints,
the padding collator, and the tokenised cache's key (a tiny random BERT with the MiniLM tokenizer; no download)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from tests.support.cli import module_argv
from tests.support.data import ROOT
from tests.support.runs import write_tiny_csv
from tests.support.tiny_bert import save_tiny_bert

pytestmark = pytest.mark.slow  # trains real (tiny) neural models

OPTIONS = ["--device", "cpu", "--epochs", "2", "--batch-size", "16", "--eval-every", "10", "--no-onnx"]
OPTIONS += ["--threads", "1"]  # a model this small only waits for a second thread (OpenMP spins)


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory) -> Path:
    return save_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


def interrupted_run(root: Path, output: Path, base: Path) -> None:
    """Start a training and SIGTERM it once its first checkpoint is written."""
    env = {**os.environ, "BADBUZZ_ARTIFACTS": str(root / "artifacts")}
    argv = ["--data", root / "tweets.csv", "--output", output, "--base-model", base, *OPTIONS]
    process = subprocess.Popen(module_argv("trainers.transformer", *argv), cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not list(output.glob("checkpoints/checkpoint-*/badbuzz_progress.json")):
            assert process.poll() is None and time.monotonic() < deadline, "no checkpoint before the run ended"
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()


def test_an_interrupted_run_resumes_from_its_last_checkpoint(tiny_bert, tmp_path, monkeypatch, capsys):
    from trainers import transformer

    write_tiny_csv(tmp_path / "tweets.csv", n=400)
    output = tmp_path / "run"
    interrupted_run(tmp_path, output, tiny_bert)
    assert json.loads((output / "run.json").read_text())["status"] == "cancelled"
    first = json.loads(next(output.glob("checkpoints/checkpoint-*/badbuzz_progress.json")).read_text())["history"]

    monkeypatch.setenv("BADBUZZ_ARTIFACTS", str(tmp_path / "artifacts"))
    argv = ["--data", str(tmp_path / "tweets.csv"), "--output", str(output), "--base-model", str(tiny_bert), *OPTIONS]
    with pytest.raises(SystemExit) as refused:  # neither --resume nor --no-resume: the choice is the user's
        transformer.main(argv)
    err = capsys.readouterr().err
    assert refused.value.code == 2 and err.count("\n") == 1 and "pass --resume" in err

    transformer.main([*argv, "--resume"])
    assert "resuming from checkpoint-" in capsys.readouterr().err
    meta = json.loads((output / "run.json").read_text())
    assert meta["status"] == "succeeded" and not (output / "checkpoints").exists()
    history = json.loads((output / "history.json").read_text())
    assert history[: len(first)] == first  # the interrupted run's validations are kept
    steps = [entry["step"] for entry in history]
    assert steps == sorted(set(steps)) and steps[-1] == meta["transformer"]["steps"]
    assert meta["transformer"]["best"]["val_loss"] == min(entry["val_loss"] for entry in history)
    assert meta["transformer"]["tokenized_from_cache"]  # the interrupted run tokenised and cached the split


def test_no_resume_starts_over_and_deletes_the_checkpoints(tmp_path):
    from core.training.options import TransformerOptions
    from core.training.transformer import checkpoint_to_resume, last_checkpoint, validate

    for step in (5, 10):
        (tmp_path / "checkpoints" / f"checkpoint-{step}").mkdir(parents=True)
    assert last_checkpoint(tmp_path).name == "checkpoint-10"
    options = TransformerOptions(output=str(tmp_path), base_model="minilm", resume=True)
    validate(options)
    assert checkpoint_to_resume(options, tmp_path).endswith("checkpoint-10")
    options.resume = False
    assert checkpoint_to_resume(options, tmp_path) is None and last_checkpoint(tmp_path) is None


def test_the_padding_collator_gives_what_tokenizer_pad_gives(tiny_bert):
    import torch
    from transformers import AutoTokenizer, DataCollatorWithPadding

    from core.training.transformer_loop import PaddingCollator

    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)
    rng = np.random.default_rng(0)
    features = [{"input_ids": rng.integers(1000, 9000, size=n).tolist(), "labels": n % 2} for n in (3, 17, 9, 30)]
    for multiple in (None, 8):
        expected = DataCollatorWithPadding(tokenizer, pad_to_multiple_of=multiple)(features)
        got = PaddingCollator(tokenizer, pad_to_multiple_of=multiple)(features)
        assert set(got) == set(expected)
        assert all(torch.equal(got[k], expected[k]) and got[k].dtype == expected[k].dtype for k in expected)


def test_the_cache_key_is_the_tokenizer_not_its_last_call(tiny_bert):
    from transformers import AutoTokenizer

    from core.training.transformer_data import tokenizer_fingerprint

    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)
    before = tokenizer_fingerprint(tokenizer)
    tokenizer(["a tweet to cut short"], truncation=True, max_length=4)  # leaves truncation set on the backend
    assert tokenizer_fingerprint(tokenizer) == before
    tokenizer.add_tokens(["brandnewword"])
    assert tokenizer_fingerprint(tokenizer) != before
