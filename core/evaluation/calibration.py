"""Calibration: does a P(positive) of 0.8 mean that 80 % of such tweets are positive?

From (label, p_pos) pairs (a run's test_predictions.csv, or any evaluation set's predictions):

- `reliability_table(labels, p_pos)`: P(positive) cut into `BINS` = 10 equal-width bins ([0, 0.1), [0.1, 0.2),
  ..., [0.9, 1.0], 1.0 in the last one); per bin the tweets in it, their mean predicted P(positive) and the share
  of them that are truly positive. A calibrated model has the two equal in every bin (the diagonal of a
  reliability diagram).
- `expected_calibration_error(labels, p_pos)` (ECE): the bins' |mean predicted − observed positive rate|,
  weighted by their share of the tweets: sum_b n_b / N · |mean p_b − rate_b|, from 0 (calibrated) to 1. It is
  measured on P(positive) itself (not on the confidence of the predicted class, as in Guo et al., 2017),
  because P(positive) is what the pages, the monitor and its alert threshold read.
- `calibration_summary(predictions)` / `reliability_points(predictions)`: the same for several runs at once
  ({run label: DataFrame with label, p_pos}), the tables behind Compare's calibration section.

Rows without a score (NaN) or a label are left out and counted (`unscored`).

A three-way run's predictions (core.data.labels: label codes 0 / 1 / 2, p_negative, p_neutral, p_positive) are
read as positive against the rest for the reliability of P(positive), and their negative shares count the tweets
whose most probable class is negative (a neutral tweet is not negative). For every run, `negative_calibration`
measures P(negative) against "truly negative" (neutral tweets included when the set has them): the calibration the
monitor's share estimate (mean P(negative)) depends on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.data.labels import NEGATIVE, PROBABILITY_COLUMNS, THREE_CLASSES, predictions_p_negative, predictions_proba
from core.models.base import class_codes, is_positive

BINS = 10
RELIABILITY_COLUMNS = ["bin", "lower", "upper", "count", "mean predicted", "observed positive rate", "gap"]


def _clean(labels, p_pos) -> tuple[np.ndarray, np.ndarray]:
    """(labels 0/1, p_pos) of the rows that have both."""
    labels = np.asarray(labels, dtype=float).reshape(-1)
    p_pos = np.asarray(p_pos, dtype=float).reshape(-1)
    keep = ~(np.isnan(labels) | np.isnan(p_pos))
    return labels[keep], np.clip(p_pos[keep], 0.0, 1.0)


def bin_index(p_pos: np.ndarray, bins: int = BINS) -> np.ndarray:
    """The equal-width bin of each P(positive): 0 .. bins-1 (1.0 falls in the last bin)."""
    return np.minimum((np.asarray(p_pos, dtype=float) * bins).astype(int), bins - 1)


def reliability_table(labels, p_pos, bins: int = BINS) -> pd.DataFrame:
    """One row per non-empty bin: bin, lower, upper, count, mean predicted, observed positive rate, gap
    (observed − predicted: > 0 means the model is too pessimistic about positives there)."""
    labels, p_pos = _clean(labels, p_pos)
    frame = pd.DataFrame({"bin": bin_index(p_pos, bins), "p": p_pos, "y": labels})
    grouped = frame.groupby("bin").agg(count=("p", "size"), mean_p=("p", "mean"), rate=("y", "mean")).reset_index()
    table = pd.DataFrame(
        {
            "bin": grouped["bin"],
            "lower": grouped["bin"] / bins,
            "upper": (grouped["bin"] + 1) / bins,
            "count": grouped["count"].astype(int),
            "mean predicted": grouped["mean_p"],
            "observed positive rate": grouped["rate"],
        }
    )
    table["gap"] = table["observed positive rate"] - table["mean predicted"]
    return table[RELIABILITY_COLUMNS]


def expected_calibration_error(labels, p_pos, bins: int = BINS) -> float:
    """ECE on P(positive), equal-width bins (see the module docstring); NaN when no row has a score."""
    table = reliability_table(labels, p_pos, bins)
    total = table["count"].sum()
    if not total:
        return float("nan")
    return float((table["count"] * table["gap"].abs()).sum() / total)


def negative_shares(labels, p_pos) -> tuple[float, float]:
    """(share of tweets the model calls negative, share truly negative): what the monitor's alert reads."""
    labels, p_pos = _clean(labels, p_pos)
    if not len(labels):
        return float("nan"), float("nan")
    return float(1 - is_positive(p_pos).mean()), float(1 - labels.mean())


def summary(labels, p_pos, bins: int = BINS) -> dict:
    """ECE (in points), Brier score, mean P(positive), positive rate and negative shares of one set."""
    clean_labels, clean_p = _clean(labels, p_pos)
    predicted_negative, negative = negative_shares(clean_labels, clean_p)
    n = len(clean_labels)
    return {
        "tweets": n,
        "unscored": int(np.asarray(labels).reshape(-1).size - n),
        "ECE (points)": 100 * expected_calibration_error(clean_labels, clean_p, bins),
        "Brier score": float(np.mean((clean_p - clean_labels) ** 2)) if n else float("nan"),
        "mean P(positive) (%)": 100 * float(clean_p.mean()) if n else float("nan"),
        "positive rate (%)": 100 * float(clean_labels.mean()) if n else float("nan"),
        "called negative (%)": 100 * predicted_negative,
        "truly negative (%)": 100 * negative,
    }


def is_three_way_frame(frame: pd.DataFrame) -> bool:
    return PROBABILITY_COLUMNS["neutral"] in frame


def positive_truth(frame: pd.DataFrame) -> pd.Series:
    """1 where the tweet is truly positive (a three-way frame: code 2, positive against the rest), NaN unknown."""
    if not is_three_way_frame(frame):
        return frame["label"]
    labels = pd.to_numeric(frame["label"], errors="coerce")
    return (labels == THREE_CLASSES.index("positive")).astype(float).where(labels.notna())


def negative_calibration(frame: pd.DataFrame, bins: int = BINS) -> dict:
    """ECE of P(negative) (negative against the rest, neutral included) and mean P(negative), for any run: what the
    monitor's share estimate averages (a binary run's P(negative) is 1 − P(positive))."""
    labels = pd.to_numeric(frame["label"], errors="coerce")
    truth = (labels == NEGATIVE).astype(float).where(labels.notna())
    clean_truth, p_negative = _clean(truth, predictions_p_negative(frame))
    n = len(clean_truth)
    return {
        "ECE of P(negative) (points)": 100 * expected_calibration_error(clean_truth, p_negative, bins),
        "mean P(negative) (%)": 100 * float(p_negative.mean()) if n else float("nan"),
    }


def frame_summary(frame: pd.DataFrame, bins: int = BINS) -> dict:
    """`summary` of one run's predictions, with `negative_calibration`; a three-way run's negative shares by its
    most probable class."""
    figures = summary(positive_truth(frame), frame["p_pos"], bins) | negative_calibration(frame, bins)
    if is_three_way_frame(frame):
        proba = predictions_proba(frame, THREE_CLASSES)
        scored = ~np.isnan(proba).any(axis=1) & frame["label"].notna().to_numpy()
        codes = class_codes(proba[scored], THREE_CLASSES)
        figures["called negative (%)"] = 100 * float((codes == 0).mean()) if scored.any() else float("nan")
        figures["truly negative (%)"] = 100 * float((frame["label"][scored] == 0).mean()) if scored.any() else np.nan
    return figures


def calibration_summary(predictions: dict[str, pd.DataFrame], bins: int = BINS) -> pd.DataFrame:
    """One row per run ({run label: DataFrame with label, p_pos}): run, then `summary`'s columns."""
    rows = [{"run": label, **frame_summary(frame, bins)} for label, frame in predictions.items()]
    return pd.DataFrame(rows)


def reliability_points(predictions: dict[str, pd.DataFrame], bins: int = BINS) -> pd.DataFrame:
    """Every run's reliability table, stacked, with a `run` column (the reliability diagram's points)."""
    tables = [
        reliability_table(positive_truth(frame), frame["p_pos"], bins).assign(run=label)
        for label, frame in predictions.items()
    ]
    if not tables:
        return pd.DataFrame(columns=["run", *RELIABILITY_COLUMNS])
    return pd.concat(tables, ignore_index=True)[["run", *RELIABILITY_COLUMNS]]
