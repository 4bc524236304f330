"""Batch scoring throughput: `python -m core.score` on 100,000 tweets, as a user runs it.

    python -m benchmarks.score_throughput [--data ../shared/data/sentiment140_sample_90k.csv] [--rows 100000]
                                          [--run RUN_DIR]

Builds a CSV of `--rows` tweets from the sample in a temporary folder, trains a TF-IDF logistic regression
there with `python -m trainers.logreg` (or takes `--run`), then runs core.inference.batch in a child process and prints
its rows/s, wall seconds and peak RSS (the child's own). Issue 11's target: under 30 s and under 2 GB.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import pandas as pd

from benchmarks.measure import ROOT, timed

TARGET_SECONDS, TARGET_RSS_MIB = 30.0, 2048.0


def build_input(data: str, rows: int, path: Path) -> None:
    tweets = pd.read_csv(data, dtype=str, keep_default_na=False)
    pd.concat([tweets] * (rows // len(tweets) + 1)).head(rows).to_csv(path, index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(ROOT.parent / "shared/data/sentiment140_sample_90k.csv"))
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--run", help="an existing logreg run folder (default: train one in the temp folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "BADBUZZ_ARTIFACTS": str(tmp / "artifacts")}
        run = Path(args.run) if args.run else tmp / "logreg"
        if not args.run:
            wall, rss, _ = timed(
                [sys.executable, "-m", "trainers.logreg", "--data", args.data, "--output", str(run)], env
            )
            print(f"trained {run.name} in {wall:.1f} s (peak RSS {rss:.0f} MiB)")
        build_input(args.data, args.rows, tmp / "in.csv")
        wall, rss, out = timed(
            [
                sys.executable,
                "-m",
                "core.score",
                "--run",
                str(run),
                "--input",
                str(tmp / "in.csv"),
                "--output",
                str(tmp / "out.csv"),
            ],
            env,
        )
        print(out.strip().splitlines()[0])
        verdict = "ok" if wall < TARGET_SECONDS and rss < TARGET_RSS_MIB else "OVER TARGET"
        print(
            f"core.inference.batch {args.rows:,} tweets: {args.rows / wall:,.0f} rows/s, {wall:.1f} s, "
            f"peak RSS {rss:.0f} MiB (target < {TARGET_SECONDS:.0f} s, < {TARGET_RSS_MIB:.0f} MiB: {verdict})"
        )


if __name__ == "__main__":
    main()
