"""An airline export as the monitor meets it (text, airline, tweet_created in Twitter's export format), with a
burst of negative tweets in one airline."""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

import pandas as pd

from tests.support.data import FILLER, NEGATIVE, POSITIVE

AIRLINES = ["United", "Delta", "Virgin America"]
BURSTING = "United"
BURST_HOURS = (5, 6)  # hours after the start when BURSTING's tweets turn negative
HOURS = 12
PER_HOUR = 10  # tweets per airline and hour
BURST_NEGATIVE = 8  # negative tweets an hour in the burst: a share of 80%
UNNAMED = 3  # tweets with an empty airline field


def airline_tweet(rng: random.Random, negative: bool) -> str:
    return " ".join(rng.sample(NEGATIVE if negative else POSITIVE, 2) + rng.sample(FILLER, 2))


def airline_rows(seed: int = 7) -> list[dict[str, str]]:
    """Every airline tweets PER_HOUR times an hour, one in ten negative, except BURSTING in BURST_HOURS (eight in
    ten negative); a few tweets name no airline."""
    rng = random.Random(seed)
    start = pd.Timestamp("2015-02-24 04:00:00")
    rows = []
    for hour in range(HOURS):
        for airline in AIRLINES:
            burst = airline == BURSTING and hour in BURST_HOURS
            for i in range(PER_HOUR):
                at = start + pd.Timedelta(hours=hour, minutes=6 * i, seconds=AIRLINES.index(airline))
                text = airline_tweet(rng, negative=i < BURST_NEGATIVE if burst else i == 0)
                rows.append({"tweet_id": str(len(rows)), "text": text, "airline": airline, "tweet_created": stamp(at)})
    for i in range(UNNAMED):
        at = start + pd.Timedelta(hours=1, minutes=i)
        rows.append(
            {"tweet_id": str(len(rows)), "text": airline_tweet(rng, False), "airline": "", "tweet_created": stamp(at)}
        )
    return rows


def stamp(at: pd.Timestamp) -> str:
    """The export's local time with its offset: "2015-02-24 11:35:52 -0800"."""
    return f"{at:%Y-%m-%d %H:%M:%S} -0800"


def airline_csv_bytes(seed: int = 7) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, ["tweet_id", "text", "airline", "tweet_created"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(airline_rows(seed))
    return out.getvalue().encode("utf-8")


def write_airline_csv(path: Path, seed: int = 7) -> Path:
    path.write_bytes(airline_csv_bytes(seed))
    return path
