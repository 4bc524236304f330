"""Foundation acceptance figures: logreg training time and accuracy, then batch scoring of 100,000 tweets.

    python -m benchmarks.logreg_baseline [--data ../shared/data/sentiment140_sample_90k.csv] [--rows 100000]

Prints wall time and peak memory of each step, measured on child processes (as a user would run them).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import pandas as pd

from benchmarks.measure import ROOT, timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(ROOT.parent / "shared/data/sentiment140_sample_90k.csv"))
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for features in ("tfidf", "hashing"):
            run = tmp / f"lr-{features}"
            wall, rss, _ = timed(
                [
                    sys.executable,
                    "-m",
                    "trainers.logreg",
                    "--data",
                    args.data,
                    "--output",
                    str(run),
                    "--features",
                    features,
                ]
            )
            acc = json.loads((run / "metrics.json").read_text())["test"]["accuracy"]
            print(f"logreg {features:8s}: accuracy {acc:.4f}, command wall time {wall:.1f} s, peak RSS {rss:.0f} MiB")
        tweets = pd.read_csv(args.data)
        tweets = pd.concat([tweets] * (args.rows // len(tweets) + 1)).head(args.rows)
        tweets.to_csv(tmp / "in.csv", index=False)
        wall, rss, _ = timed(
            [
                sys.executable,
                "-m",
                "core.score",
                "--run",
                str(tmp / "lr-tfidf"),
                "--input",
                str(tmp / "in.csv"),
                "--output",
                str(tmp / "out.csv"),
            ]
        )
        print(
            f"core.inference.batch {args.rows:,} tweets: {wall:.1f} s ({args.rows / wall:,.0f} tweets/s), peak RSS {rss:.0f} MiB"
        )


if __name__ == "__main__":
    main()
