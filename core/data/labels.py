"""The classes a run learns, and what a label code means: the one vocabulary of binary and three-way runs.

A run learns `BINARY_CLASSES` (negative, positive: Sentiment140) or `THREE_CLASSES` (negative, neutral,
positive: a labelled file with neutral tweets). A label code is the index of its class in the run's classes, so
negative is always 0 and positive always the last one (1 binary, 2 three-way); neutral is 1 in a three-way run
only. Class probabilities come in the same order (columns of an (n, k) array), so P(negative) is always column 0
and P(positive) the last column. run.json records `classes`; a run without it (older runs) is binary.

Prediction files (test_predictions.csv, an evaluation set's predictions.csv) keep `row_id, label, p_pos` for every
run (p_pos = P(positive)); a three-way run adds `p_negative, p_neutral, p_positive` and its `label` is a
three-way code. Standard library, numpy and pandas only: every layer may read it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

BINARY_CLASSES = ("negative", "positive")
THREE_CLASSES = ("negative", "neutral", "positive")
NEGATIVE = 0  # the code of negative in both
# `--classes auto` makes a run three-way when its training data (--data and --extra-data together) hold at least
# this many neutral tweets: a class seen a handful of times is noise, and the run stays binary, saying why.
MIN_NEUTRAL_FOR_AUTO = 10
PROBABILITY_COLUMNS = {"negative": "p_negative", "neutral": "p_neutral", "positive": "p_positive"}


def classes_for(count: int | str | Sequence[str]) -> tuple[str, ...]:
    """The classes of a run from their number (2, 3, "2", "3") or their names (checked)."""
    if isinstance(count, (list, tuple)):
        names = tuple(count)
        if names not in (BINARY_CLASSES, THREE_CLASSES):
            raise ValueError(f"unknown classes {names}: expected {BINARY_CLASSES} or {THREE_CLASSES}")
        return names
    number = int(count)
    if number not in (2, 3):
        raise ValueError(f"a run learns 2 or 3 classes, not {count!r}")
    return BINARY_CLASSES if number == 2 else THREE_CLASSES


def run_classes(meta: Mapping | None) -> tuple[str, ...]:
    """The classes a run records in run.json (`classes`); binary for a run that records none (older runs)."""
    recorded = (meta or {}).get("classes")
    return classes_for(recorded) if recorded else BINARY_CLASSES


def is_three_way(classes: Sequence[str]) -> bool:
    return tuple(classes) == THREE_CLASSES


def positive_index(classes: Sequence[str]) -> int:
    return len(classes) - 1


def label_names(codes, classes: Sequence[str], missing: str = "") -> np.ndarray:
    """The class name of each label code (`missing` for a negative or NaN code)."""
    codes = pd.to_numeric(pd.Series(np.asarray(codes).reshape(-1)), errors="coerce").to_numpy(dtype=float)
    names = np.array(list(classes) + [missing], dtype=object)
    index = np.where(np.isnan(codes) | (codes < 0) | (codes >= len(classes)), len(classes), codes).astype(int)
    return names[index].astype(str)


def binary_proba(p_pos) -> np.ndarray:
    """(n, 2) class probabilities [1 - p, p] of a binary run's P(positive) (NaN rows stay NaN)."""
    p_pos = np.asarray(p_pos, dtype=float).reshape(-1)
    return np.column_stack([1.0 - p_pos, p_pos])


def predictions_proba(frame: pd.DataFrame, classes: Sequence[str]) -> np.ndarray:
    """(n, k) class probabilities of a prediction file (test_predictions.csv, predictions.csv) of a run with
    these classes: its p_negative/p_neutral/p_positive columns, or [1 - p_pos, p_pos] for a binary run."""
    if is_three_way(classes):
        return frame[[PROBABILITY_COLUMNS[c] for c in classes]].to_numpy(dtype=float)
    return binary_proba(frame["p_pos"])


def predictions_p_negative(frame: pd.DataFrame) -> np.ndarray:
    """P(negative) per row of any run's prediction file: p_negative when the run is three-way, else 1 - p_pos."""
    if PROBABILITY_COLUMNS["negative"] in frame:
        return frame[PROBABILITY_COLUMNS["negative"]].to_numpy(dtype=float)
    return 1.0 - frame["p_pos"].to_numpy(dtype=float)


def probability_columns(proba, classes: Sequence[str], decimals: int | None = 6) -> dict[str, np.ndarray]:
    """The p_negative/p_neutral/p_positive columns a three-way run adds to a prediction or scoring file (none
    for a binary run, whose files keep their columns)."""
    if not is_three_way(classes):
        return {}
    proba = np.asarray(proba, dtype=float)
    return {
        PROBABILITY_COLUMNS[name]: proba[:, i] if decimals is None else np.round(proba[:, i], decimals)
        for i, name in enumerate(classes)
    }
