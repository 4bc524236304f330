"""Time the Keras trainer on an official-format Sentiment140 file: a bounded number of steps, projected to an epoch.

    python -m benchmarks.gpu_keras_epoch --data /tmp/s140_1600k.csv --steps 300      # on a GPU: the full set
    python -m benchmarks.gpu_keras_epoch --rows 20000 --steps 10 --vector-epochs 1     # CPU smoke check, ~1 min

It runs the trainer's own code (core.training.keras.train: streaming tokenising, the vocabulary, word2vec, the
embedding matrix, the model, the input pipeline, mixed precision on a GPU, the float32 save) on the persisted
split of the file, with every epoch ended after `--steps` batches (and its validation after as many). `--data`
takes an official-format file; `--rows N` writes one (benchmarks.official_format) into a temporary folder.
Options it does not know go to the trainer (default: `--preset study --embedding word2vec --epochs 1`, the
study's LSTM), e.g. `--preset default --arch bilstm --batch-size 1024 --no-mixed-precision`.

Prints the device, the phases (split, preprocessing, vectors), the steady training and validation speed (the
first `--warmup` batches, graph building, excluded) and the projected epoch, then a `RESULT {json}` line.

On the lent GPU machines (PyTorch, no TensorFlow) set KERAS_BACKEND=torch: the trainer feeds the same batches
from a keras PyDataset there (core.training.keras_data); docs/keras.md says which wheels to carry.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("BADBUZZ_NO_DOWNLOAD", "1")  # NLTK corpora: what is installed, or the offline fallbacks

import keras  # noqa: E402

STUDY = ["--preset", "study", "--embedding", "word2vec", "--epochs", "1"]


class StepTimer(keras.callbacks.Callback):
    """When each training and validation batch ended."""

    def __init__(self):
        super().__init__()
        self.train: list[float] = []
        self.test: list[float] = []

    def on_train_batch_begin(self, batch, logs=None):
        if not self.train:
            self.train.append(time.perf_counter())

    def on_train_batch_end(self, batch, logs=None):
        self.train.append(time.perf_counter())

    def on_test_batch_begin(self, batch, logs=None):
        if not self.test:
            self.test.append(time.perf_counter())

    def on_test_batch_end(self, batch, logs=None):
        self.test.append(time.perf_counter())


def steady_rate(ends: list[float], batch_size: int, warmup: int) -> float | None:
    """Tweets/s over the batches after the first `warmup` (graph building); all of them when there are too few."""
    batches = len(ends) - 1
    skip = warmup if batches > warmup else 0
    if batches - skip < 1:
        return None
    return (batches - skip) * batch_size / (ends[-1] - ends[skip])


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = p.add_mutually_exclusive_group()
    source.add_argument("--data", help="an official-format (or any trainer-readable) CSV")
    source.add_argument("--rows", type=int, default=1_600_000, help="write an official-format file of N rows")
    p.add_argument("--sample", help="the tweets --rows copies (default: the shared 90k sample; target,text CSV)")
    p.add_argument("--steps", type=int, default=300, help="training (and validation) batches per epoch")
    p.add_argument("--warmup", type=int, default=5, help="first batches left out of the speed (graph building)")
    p.add_argument("--output", help="run folder (default: a temporary one)")
    return p


def trainer_options(data: str, output: str, extra: list[str]):
    from core.cli.parser import parse_options
    from core.training.registry import trainer

    return parse_options(trainer("keras").options, ["--data", data, "--output", output, *STUDY, *extra])


def run_trainer(options, steps: int, timer: StepTimer) -> dict:
    """The runner's split, then the trainer's fit, bounded, in a run folder; the phases' seconds."""
    from core.tracking.runs import start_run
    from core.training import keras as fit
    from core.training.runner import load_checked_split

    start = time.perf_counter()
    split = load_checked_split(options)
    split_s = time.perf_counter() - start
    with start_run(
        options.output, kind="keras", approach=fit.approach(options), params=dataclasses.asdict(options)
    ) as run:
        run.set_data(split)
        _, seconds, _, extra = fit.train(options, split, run, steps=steps, callbacks=[timer])
        run.finish({"benchmark": {"steps": steps}})
        meta = run.meta
    return {
        "split_s": split_s,
        "sizes": {"train": len(split.train), "val": len(split.val)},
        "train_s": seconds,
        "phases": extra["keras"]["phase_seconds"],
        "device": meta.get("device"),
        "model": {k: meta["model"][k] for k in ("arch", "vocab_rows", "dim", "units", "max_len", "mask")},
        "batch_size": meta["model"]["options"]["batch_size"],
        "padding": meta["model"]["options"]["padding"],
    }


def projected(found: dict, timer: StepTimer, warmup: int) -> dict:
    """Steady speeds and the epoch they project: every training batch plus a validation pass."""
    from core.training.keras import VALIDATION_BATCH

    train_rate = steady_rate(timer.train, found["batch_size"], warmup)
    val_rate = steady_rate(timer.test, max(found["batch_size"], VALIDATION_BATCH), 1)
    sizes = found["sizes"]
    epoch_s = sizes["train"] / train_rate + (sizes["val"] / val_rate if val_rate and sizes["val"] else 0)
    before = found["phases"].get("preprocess", 0) + found["phases"].get("embedding", 0)
    return {
        "train_tweets_per_s": round(train_rate, 1),
        "val_tweets_per_s": round(val_rate, 1) if val_rate else None,
        "projected_epoch_s": round(epoch_s, 1),
        "projected_first_epoch_total_s": round(found["split_s"] + before + epoch_s, 1),
    }


def main(argv: list[str] | None = None) -> dict:
    args, extra = build_parser().parse_known_args(argv)
    with tempfile.TemporaryDirectory(prefix="keras-epoch-") as tmp:
        data = args.data
        if data is None:
            from benchmarks.official_format import SAMPLE, write_official

            data = str(write_official(args.rows, Path(tmp) / f"s140_{args.rows}.csv", sample=args.sample or SAMPLE))
        options = trainer_options(data, args.output or str(Path(tmp) / "run"), extra)
        timer = StepTimer()
        found = run_trainer(options, args.steps, timer)
    result = {**found, "data": data, "steps": args.steps, **projected(found, timer, args.warmup)}
    result["split_s"] = round(result["split_s"], 2)
    result["train_s"] = round(result["train_s"], 2)
    print(f"device: {result['device']}", flush=True)
    print(
        f"{result['sizes']['train']:,} training tweets; split {result['split_s']} s, phases {result['phases']} s; "
        f"{result['train_tweets_per_s']:,.0f} tweets/s training, {result['val_tweets_per_s'] or 0:,.0f} validating; "
        f"projected epoch {result['projected_epoch_s']:,.1f} s",
        flush=True,
    )
    print("RESULT " + json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
