"""Small labelled tweet files the tests make: learnable, in the shared sample's and the official layouts."""

from __future__ import annotations

import csv
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the project


POSITIVE = ["love", "great", "awesome", "happy", "thanks", "amazing", "best", "smooth", "friendly", "on time"]


NEGATIVE = ["hate", "awful", "worst", "delayed", "lost", "rude", "cancelled", "terrible", "never again", "stuck"]


FILLER = [
    "the flight",
    "my bag",
    "the crew",
    "@united",
    "today",
    "this morning",
    "the airport",
    "lol",
    "omg",
    "http://t.co/abc",
    "seat 12A",
    "the app",
    "again",
    "#travel",
    "so",
    "really",
]


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


NEUTRAL = [
    "flight number",
    "gate change",
    "boarding at",
    "question about",
    "what time",
    "is there wifi",
    "which terminal",
]


def make_three_way_tweets(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """n (label, text) pairs, labels the words negative / neutral / positive in turn, learnable from their words."""
    rng = random.Random(seed)
    words_of = {"negative": NEGATIVE, "neutral": NEUTRAL, "positive": POSITIVE}
    rows = []
    for i in range(n):
        label = ("negative", "neutral", "positive")[i % 3]
        words = rng.sample(FILLER, 3) + rng.sample(words_of[label], 2)
        rng.shuffle(words)
        rows.append((label, f"{' '.join(words)} {i}"))
    return rows


def make_three_way_csv(path: Path, n: int = 300, seed: int = 0) -> Path:
    """A small CSV (target negative/neutral/positive, text) a linear model learns three ways."""
    return write_headered_csv(path, make_three_way_tweets(n, seed))


def write_headered_csv(path: Path, rows: list[tuple[int | str, str]]) -> Path:
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
            writer.writerow([target, 1467810369 + i, "Mon Apr 06 22:19:45 PDT 2009", "NO_QUERY", f"user{i % 7}", text])
    return path
