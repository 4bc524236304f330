"""Small labelled, timed, grouped files for the gauge's tests, and a biased binary run to gauge."""

from __future__ import annotations

import numpy as np
import pandas as pd

WORDS = {
    0: ["awful delay", "lost my bag", "rude staff again", "cancelled flight angry"],
    1: ["flight to boston tomorrow", "which gate is it", "boarding at noon", "the plane has wifi"],
    2: ["great crew thanks", "lovely flight", "best service ever", "thank you so much"],
}


def make_gauge_csv(path, shares: dict[tuple[str, str], float], n: int = 60, seed: int = 0):
    """One window per (group, day) with `n` tweets whose negative share is exactly shares[(group, day)];
    the rest split between neutral (2/3) and positive. Day-first spreadsheet times ('24-02-2015 11.35')."""
    rng = np.random.default_rng(seed)
    rows = []
    for (group, day), negative in shares.items():
        counts = [round(n * negative), round(n * (1 - negative) * 2 / 3)]
        labels = [0] * counts[0] + [1] * counts[1] + [2] * (n - sum(counts))
        for i, label in enumerate(rng.permutation(labels)):
            text = f"@{group} {rng.choice(WORDS[label])} {i}"
            stamp = pd.Timestamp(day) + pd.Timedelta(minutes=int(10 * i))
            rows.append([text, ("negative", "neutral", "positive")[label], group, stamp.strftime("%d-%m-%Y %H.%M")])
    frame = pd.DataFrame(rows, columns=["text", "airline_sentiment", "airline", "tweet_created"])
    frame.to_csv(path, index=False)
    return path


class BiasedBinaryRun:
    """A Sentiment140-like binary run: no neutral class, neutral tweets leaning negative, complaints under-called."""

    name = "biased"

    def predict_class_proba(self, texts):
        p_negative = []
        for text in texts:
            label = next(c for c, words in WORDS.items() if any(w in text for w in words))
            p_negative.append({0: 0.55, 1: 0.5, 2: 0.2}[label])
        p = np.array(p_negative)
        return np.column_stack([p, 1 - p])


DAYS = [("a", "2015-02-17", 0.3), ("b", "2015-02-17", 0.35), ("a", "2015-02-18", 0.7), ("b", "2015-02-18", 0.5)]
SHARES = {(g, d): s for g, d, s in DAYS + [("a", "2015-02-19", 0.8), ("b", "2015-02-19", 0.45)]}


def settings(**changes):
    from core.evaluation import gauge

    return gauge.GaugeSettings(**{"group_column": "airline", "refits": 5, "c_grid": (30.0,), **changes})
