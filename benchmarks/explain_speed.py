"""Explanation time per tweet (core/inference/explain.py), per run and method, on real tweets.

    python -m benchmarks.explain_speed --run RUN [--run RUN ...] [--tweets 200]
                                       [--data ../shared/data/sentiment140_sample_90k.csv]

Loads each run's model once (warmed up, as the Live page's model cache does), then explains `--tweets` tweets
drawn from the data (seed 0) one by one, as the page does on a click: occlusion for every run, and the exact
contributions for logistic regression. Prints p50 / p95 / max seconds per tweet, the mean number of words, and
how many tweets had words left out (the `MAX_WORDS` cap or the time budget). CPU only unless the model's own
loader picks a GPU.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.measure import ROOT
from core.inference import explain as ex
from core.models.base import load


def sample_tweets(data: str, n: int) -> list[str]:
    texts = pd.read_csv(data, dtype=str, keep_default_na=False)["text"]
    return texts.sample(n=min(n, len(texts)), random_state=0).tolist()


def timed(explainer, model, texts: list[str]) -> tuple[np.ndarray, list[ex.Explanation]]:
    seconds, explanations = [], []
    for text in texts:
        started = time.perf_counter()
        explanations.append(explainer(model, text))
        seconds.append(time.perf_counter() - started)
    return np.array(seconds), explanations


def rows_for(run: Path, texts: list[str]) -> list[dict]:
    model = load(run)
    model.predict_proba(["warm up"])
    methods = {ex.OCCLUSION: ex.occlusion}
    if ex.has_exact(model):
        methods[ex.LOGREG] = ex.logreg_contributions
    rows = []
    for method, explainer in methods.items():
        seconds, explanations = timed(explainer, model, texts)
        rows.append(
            {
                "run": run.name,
                "kind": model.kind,
                "method": method,
                "tweets": len(texts),
                "words/tweet": np.mean([len(e.words) for e in explanations]),
                "p50 ms": 1000 * np.percentile(seconds, 50),
                "p95 ms": 1000 * np.percentile(seconds, 95),
                "max ms": 1000 * seconds.max(),
                "with words left out": sum(bool(e.left_out) for e in explanations),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", action="append", required=True, help="a run folder (repeat for several)")
    parser.add_argument("--tweets", type=int, default=200)
    parser.add_argument("--data", default=str(ROOT.parent / "shared/data/sentiment140_sample_90k.csv"))
    args = parser.parse_args()
    texts = sample_tweets(args.data, args.tweets)
    rows = [row for run in args.run for row in rows_for(Path(run), texts)]
    print(f"explanation time per tweet ({len(texts)} tweets from {Path(args.data).name}, one at a time)")
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda x: f"{x:.1f}"))


if __name__ == "__main__":
    main()
