"""Shared fixtures: every test runs against temporary artifacts and small data made here."""
from __future__ import annotations

import csv
import os
import random
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

POSITIVE = ["love", "great", "awesome", "happy", "thanks", "amazing", "best", "smooth", "friendly", "on time"]
NEGATIVE = ["hate", "awful", "worst", "delayed", "lost", "rude", "cancelled", "terrible", "never again", "stuck"]
FILLER = ["the flight", "my bag", "the crew", "@united", "today", "this morning", "the airport", "lol", "omg",
          "http://t.co/abc", "seat 12A", "the app", "again", "#travel", "so", "really"]


def make_tweets(n: int, seed: int = 0) -> list[tuple[int, str]]:
    """n balanced (target, text) pairs with target 0/4, learnable from their sentiment words."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        positive = i % 2 == 0
        words = rng.sample(FILLER, 3) + rng.sample(POSITIVE if positive else NEGATIVE, 2)
        rng.shuffle(words)
        rows.append((4 if positive else 0, f"{' '.join(words)} {i}"))
    return rows


def write_headered_csv(path: Path, rows: list[tuple[int, str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["target", "text"])
        writer.writerows(rows)
    return path


def make_tweets_csv(path: Path, n: int = 400, seed: int = 0) -> Path:
    """A small labelled CSV (target 0/4, text) whose sentiment a linear model can learn."""
    return write_headered_csv(path, make_tweets(n, seed))


def write_official_csv(path: Path, rows: list[tuple[int, str]], encoding: str = "latin-1") -> Path:
    """The official Sentiment140 layout: no header, 6 quoted columns, latin-1."""
    with open(path, "w", newline="", encoding=encoding) as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL)
        for i, (target, text) in enumerate(rows):
            writer.writerow([target, 1467810369 + i, "Mon Apr 06 22:19:45 PDT 2009", "NO_QUERY", f"user{i % 7}",
                             text])
    return path


@pytest.fixture(autouse=True)
def isolated_artifacts(tmp_path_factory, monkeypatch):
    """Runs, splits and caches go to a per-test temporary folder; nothing is downloaded."""
    root = tmp_path_factory.mktemp("artifacts")
    monkeypatch.setenv("BADBUZZ_ARTIFACTS", str(root))
    monkeypatch.setenv("BADBUZZ_RUNS_DIR", str(root / "runs"))
    monkeypatch.setenv("BADBUZZ_DATA_DIR", str(root / "data"))
    monkeypatch.setenv("BADBUZZ_NO_DOWNLOAD", "1")
    monkeypatch.setenv("BADBUZZ_SENTIMENT140_URL", "http://127.0.0.1:9/trainingandtestdata.zip")  # refused at once
    monkeypatch.delenv("BADBUZZ_DATA", raising=False)
    return root


@contextmanager
def serving_on(address: str | None):
    """Streamlit's `server.address` (what st.get_option reads) set for the block, then restored."""
    from streamlit import config as st_config
    previous = st_config.get_option("server.address")
    st_config.set_option("server.address", address)
    try:
        yield
    finally:
        st_config.set_option("server.address", previous)


@pytest.fixture(autouse=True)
def local_operator(monkeypatch):
    """Pages run as on scripts/start.sh's default server (127.0.0.1, no authentication): the visitor is an
    operator. tests/test_access.py sets other addresses and settings."""
    from core import access
    for name in ("BADBUZZ_OPERATOR_PASSWORD", "BADBUZZ_OPERATOR_PASSWORD_SECRET_NAME", "BADBUZZ_OPERATOR_EMAILS"):
        monkeypatch.delenv(name, raising=False)
    for limiter in (access.SESSION_TRIES, access.SERVER_TRIES):
        limiter.reset()
    with serving_on("127.0.0.1"):
        yield


@pytest.fixture(scope="session")
def tiny_csv(tmp_path_factory) -> Path:
    """600 learnable tweets in the headered layout of the shared sample."""
    return write_headered_csv(tmp_path_factory.mktemp("data") / "tiny.csv", make_tweets(600))


@pytest.fixture(scope="session")
def trained_logreg_run(tmp_path_factory, tiny_csv) -> Path:
    """A real logreg run trained once per test session on the tiny CSV (copy it before modifying it)."""
    from trainers import logreg
    out = tmp_path_factory.mktemp("shared-runs") / "logreg-tiny"
    env = {"BADBUZZ_DATA_DIR": str(out.parent / "data"), "BADBUZZ_NO_DOWNLOAD": "1"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        logreg.main(["--data", str(tiny_csv), "--output", str(out)])
    finally:
        for k, v in old.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    return out
