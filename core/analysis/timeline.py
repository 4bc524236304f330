"""The negative share of a scored batch over time (or over its rows, without timestamps), in buckets, with the
buckets where it crossed an alert level: the monitor page's timeline. Pure pandas."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.models.base import is_positive

BUCKETS = [
    ("1min", "minute"),
    ("5min", "5 minutes"),
    ("15min", "15 minutes"),
    ("1h", "hour"),
    ("3h", "3 hours"),
    ("6h", "6 hours"),
    ("12h", "12 hours"),
    ("1D", "day"),
    ("7D", "week"),
    ("30D", "30 days"),
]
ALERT_SHARE = 0.6  # default alert level: a bucket whose share of negative tweets reaches it alerts


@dataclass
class Timeline:
    buckets: pd.DataFrame  # start, end (or first/last row), tweets, negative, share, alert
    by: str  # "time" or "position"
    bucket_label: str  # "hour", "500 tweets", ...
    crossings: pd.DataFrame  # the buckets where the share rose above the threshold
    freq: str | None = None  # the time buckets' length ("1h"), None when charted by position


def choose_bucket(span: pd.Timedelta, target: int = 40) -> tuple[str, str]:
    """The smallest standard bucket that cuts the span into at most ~target buckets."""
    for freq, label in BUCKETS:
        if span / pd.Timedelta(freq) <= target:
            return freq, label
    return BUCKETS[-1]


def negative_timeline(
    scored: pd.DataFrame, threshold: float = ALERT_SHARE, min_tweets: int = 5, target_buckets: int = 40
) -> Timeline:
    """Negative share per bucket (time buckets when timestamps exist, else position) and the alert crossings.

    A bucket alerts when its negative share reaches `threshold` (an alert level on the share of negative tweets,
    not the P(positive) decision threshold) and it holds at least min_tweets tweets
    (one angry tweet in an empty hour is not a bad buzz).
    """
    rated = scored[scored["p_pos"].notna()].copy()
    # the label decides (a three-way run's neutral tweet is not negative); without labels, P(positive) does
    rated["negative"] = rated["label"].eq("negative") if "label" in rated else ~is_positive(rated["p_pos"])
    timed = rated[rated["timestamp"].notna()]
    if len(timed):
        span = timed["timestamp"].max() - timed["timestamp"].min()
        freq, label = choose_bucket(max(span, pd.Timedelta("1min")), target_buckets)
        grouped = timed.groupby(timed["timestamp"].dt.floor(freq))
        buckets = pd.DataFrame({"tweets": grouped.size(), "negative": grouped["negative"].sum()})
        full = pd.date_range(buckets.index.min(), buckets.index.max(), freq=freq)
        buckets = buckets.reindex(full, fill_value=0).rename_axis("start").reset_index()
        buckets["end"] = buckets["start"] + pd.Timedelta(freq)
        by = "time"
    else:
        freq = None
        size = max(1, math.ceil(len(rated) / target_buckets))
        position = np.arange(len(rated)) // size
        grouped = rated.groupby(position)
        buckets = pd.DataFrame(
            {
                "start": grouped["row"].min(),
                "end": grouped["row"].max(),
                "tweets": grouped.size(),
                "negative": grouped["negative"].sum(),
            }
        )
        buckets = buckets.reset_index(drop=True)
        label, by = (f"{size:,} tweets" if size > 1 else "tweet"), "position"
    buckets["negative"] = buckets["negative"].astype(int)
    buckets["share"] = np.where(buckets["tweets"] > 0, buckets["negative"] / buckets["tweets"].clip(lower=1), np.nan)
    buckets["alert"] = (buckets["share"] >= threshold) & (buckets["tweets"] >= min_tweets)
    rising = buckets["alert"] & ~buckets["alert"].shift(1, fill_value=False)
    return Timeline(buckets, by, label, buckets[rising].reset_index(drop=True), freq)


def most_negative(scored: pd.DataFrame, n: int = 20) -> pd.DataFrame:
    rated = scored[scored["p_pos"].notna()]
    return rated.nsmallest(n, "p_pos")[["row", "timestamp", "text", "p_pos"]].reset_index(drop=True)
