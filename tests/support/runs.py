"""Runs for tests: a slow stand-in trainer, waiting for a launched run, tiny real runs."""

from __future__ import annotations

import random
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from core.training import launcher
from tests.support.data import FILLER, NEGATIVE, POSITIVE


def tiny_tweets(n: int = 400, seed: int = 0) -> list[tuple[int, str]]:
    """(label 0/1, text) pairs: sentiment words plus filler, with some noise so the approaches can disagree."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = i % 2
        own, other = (POSITIVE, NEGATIVE) if label else (NEGATIVE, POSITIVE)
        words = rng.sample(FILLER, 4) + rng.sample(own, 2) + (rng.sample(other, 1) if rng.random() < 0.45 else [])
        rng.shuffle(words)
        rows.append((label, f"{' '.join(words)} #{i}"))
    return rows


def wait_until(path: Path, done, timeout: float = 90.0) -> launcher.LaunchedRun:
    deadline = time.time() + timeout
    while time.time() < deadline:
        run = launcher.follow(path)
        if done(run):
            return run
        time.sleep(0.2)
    raise AssertionError(f"timed out; last state {run.status} {run.reason}\n{run.log_tail}")


SLOW_RUN = textwrap.dedent("""
    import signal, sys, time
    from core.tracking.runs import start_run
    with start_run(sys.argv[1], kind="logreg", approach="slow stand-in") as run:
        if len(sys.argv) > 2:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)   # a trainer deaf to SIGTERM
        print("slow run started", flush=True)
        for step in range(10_000):
            run.progress(phase="train", epoch=1, epochs=2, step=step, steps=10_000, loss=0.5, tweets_per_s=100.0,
                         eta_s=100.0)
            time.sleep(0.1)
""")


def write_tiny_csv(path: Path, n: int = 400) -> Path:
    """Headered `target,text` CSV (0/4) with one exact duplicate and one text carrying both labels."""
    rows = [(4 if label else 0, text) for label, text in tiny_tweets(n)]
    rows += [rows[0], (0, "same words both ways"), (4, "same words both ways")]
    pd.DataFrame(rows, columns=["target", "text"]).to_csv(path, index=False)
    return path


def train_logreg(root: Path, name: str, data: Path, *extra: str) -> Path:
    """A real logreg run, trained by the trainer's CLI entry point into root/runs/<name>; its split is cached
    under root/data."""
    from trainers import logreg

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BADBUZZ_DATA_DIR", str(root / "data"))
        mp.setenv("BADBUZZ_RUNS_DIR", str(root / "runs"))
        return Path(logreg.main(["--data", str(data), "--output", str(root / "runs" / name), *extra]))


def train_tiny_runs(root: Path) -> Path:
    """root/tweets.csv (`write_tiny_csv`) and the two logreg runs trained on it, root/runs/logreg-tfidf and
    root/runs/logreg-hashing; returns root."""
    data = write_tiny_csv(root / "tweets.csv")
    train_logreg(root, "logreg-tfidf", data)
    train_logreg(root, "logreg-hashing", data, "--features", "hashing", "--hash-bits", "12")
    return root
