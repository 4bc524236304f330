"""Calibration (core/evaluation/calibration.py): the reliability table and the expected calibration error on
synthetic sets whose calibration is known, and on a real tiny run's test predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.evaluation import calibration as cal


def calibrated_set(n: int = 200_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn with exactly P(positive): calibrated by construction."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0, 1, n)
    return (rng.uniform(0, 1, n) < p).astype(int), p


def test_a_calibrated_set_has_an_ece_near_zero_and_an_overconfident_one_a_large_ece():
    labels, p = calibrated_set()
    assert cal.expected_calibration_error(labels, p) < 0.005
    overconfident = np.where(p >= 0.5, 0.99, 0.01)  # the same ranking, pushed to the ends
    ece = cal.expected_calibration_error(labels, overconfident)
    assert ece == pytest.approx(0.24, abs=0.01)  # each half is 75 % right where it claims 99 %


def test_the_reliability_table_counts_bins_by_hand():
    labels = [0, 1, 1, 1, 0, np.nan, 1]
    p = [0.05, 0.05, 0.95, 1.0, 0.55, 0.3, np.nan]  # 1.0 falls in the last bin; rows missing a value are left out
    table = cal.reliability_table(labels, p)
    assert list(table["bin"]) == [0, 5, 9] and list(table["count"]) == [2, 1, 2]
    assert list(table["observed positive rate"]) == [0.5, 0.0, 1.0]
    assert table["mean predicted"].tolist() == pytest.approx([0.05, 0.55, 0.975])
    ece = cal.expected_calibration_error(labels, p)
    assert ece == pytest.approx((2 * 0.45 + 1 * 0.55 + 2 * 0.025) / 5)
    summary = cal.summary(labels, p)
    assert summary["tweets"] == 5 and summary["unscored"] == 2
    assert summary["called negative (%)"] == pytest.approx(40.0) and summary["truly negative (%)"] == pytest.approx(
        40.0
    )


def test_several_runs_at_once_and_a_real_runs_test_predictions(trained_logreg_run):
    real = pd.read_csv(trained_logreg_run / "test_predictions.csv")
    labels, p = calibrated_set(2_000)
    frames = {"real": real, "synthetic": pd.DataFrame({"label": labels, "p_pos": p})}
    summary = cal.calibration_summary(frames).set_index("run")
    assert summary.loc["real", "tweets"] == len(real) and 0 <= summary.loc["real", "ECE (points)"] <= 100
    points = cal.reliability_points(frames)
    assert set(points["run"]) == {"real", "synthetic"}
    assert points.groupby("run")["count"].sum().to_dict() == {"real": len(real), "synthetic": 2_000}
    assert cal.reliability_points({}).empty and np.isnan(cal.expected_calibration_error([], []))


def test_p_negative_is_calibrated_against_every_tweet_neutral_included(three_way_logreg_run):
    three = pd.read_csv(three_way_logreg_run / "test_predictions.csv")
    row = cal.calibration_summary({"three": three}).iloc[0]
    assert row["mean P(negative) (%)"] == pytest.approx(100 * three["p_negative"].mean())
    assert 0 <= row["ECE of P(negative) (points)"] <= 100
    # a binary set: P(negative) = 1 - P(positive), against label 0
    binary = pd.DataFrame({"label": [0, 0, 1, 1], "p_pos": [0.0, 0.0, 1.0, 1.0]})
    perfect = cal.calibration_summary({"b": binary}).iloc[0]
    assert perfect["ECE of P(negative) (points)"] == 0 and perfect["mean P(negative) (%)"] == 50
