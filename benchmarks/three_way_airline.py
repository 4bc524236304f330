"""A three-way logistic regression trained on the earliest labelled airline tweets, measured on the later ones,
beside a binary Sentiment140 run on the same tweets (issue 22, item 2).

    python -m benchmarks.three_way_airline --airline /work/datasets/airline/Tweets.csv \
        --s140-run RUN_DIR | --s140 sentiment140_sample_90k.csv  [--labels 1500] [--out DIR]

The airline file (Twitter US Airline Sentiment: airline_sentiment, text, tweet_created) is split by time: its
`--labels` earliest tweets (tweet_created, day-first as a spreadsheet saves it, `24-02-2015 11.35`, or ISO) go to
`trainers.logreg --classes 3` (5 % of them held out as the run's own test split), every later tweet is scored.
Printed: the three-way run's accuracy, macro-F1 and 3x3 confusion matrix on the later tweets; for both runs, the
negative class against the rest (what the monitor's share counts: a binary run calls every neutral tweet negative
or positive), accuracy on the polar tweets, the negative share called and the mean P(negative) (the monitor's
estimate) against the true share. The data stay outside the repository: the split files are written to `--out`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.measure import ROOT, timed

CLASSES = ("negative", "neutral", "positive")
TIME_FORMATS = ("%d-%m-%Y %H.%M", "%Y-%m-%d %H:%M:%S %z")


def parse_times(raw: pd.Series) -> pd.Series:
    """tweet_created as a spreadsheet saved it (day-month-year, minutes) or as the original export (ISO)."""
    for fmt in TIME_FORMATS:
        parsed = pd.to_datetime(raw, format=fmt, errors="coerce", utc=True)
        if parsed.notna().mean() > 0.99:
            return parsed
    raise SystemExit(f"error: tweet_created is in none of the formats {TIME_FORMATS}")


def time_split(airline: Path, labels: int, out: Path) -> tuple[Path, pd.DataFrame]:
    """(the training CSV of the `labels` earliest tweets, the later tweets with their labels)."""
    frame = pd.read_csv(airline, usecols=["airline_sentiment", "text", "tweet_created"], dtype=str)
    frame = frame.assign(time=parse_times(frame["tweet_created"]), line=np.arange(len(frame)))
    frame = frame.sort_values(["time", "line"], kind="stable").reset_index(drop=True)
    early, later = frame.iloc[:labels], frame.iloc[labels:]
    train = out / f"airline_earliest_{labels}.csv"
    early.rename(columns={"airline_sentiment": "target"})[["target", "text"]].to_csv(train, index=False)
    print(
        f"time split: {len(early):,} earliest tweets for training ({early['time'].min():%Y-%m-%d %H:%M} to "
        f"{early['time'].max():%Y-%m-%d %H:%M}), {len(later):,} later tweets to measure on (to "
        f"{later['time'].max():%Y-%m-%d %H:%M}); later labels: "
        + ", ".join(f"{c} {n:,}" for c, n in later["airline_sentiment"].value_counts().items())
    )
    return train, later.reset_index(drop=True)


def train(data: Path, run: Path, *options: str) -> None:
    wall, _, _ = timed([sys.executable, "-m", "trainers.logreg", "--data", str(data), "--output", str(run), *options])
    print(f"trained {run.name} in {wall:.1f} s (command wall time)")


def negative_figures(truth: np.ndarray, called: np.ndarray, p_negative: np.ndarray) -> str:
    """The negative class against the rest, and the negative share called (and mean P(negative), the monitor's
    estimate) against the true one."""
    tp = int(((called == "negative") & (truth == "negative")).sum())
    precision = tp / max(int((called == "negative").sum()), 1)
    recall = tp / max(int((truth == "negative").sum()), 1)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    polar = truth != "neutral"
    neutral = truth == "neutral"
    return (
        f"negative vs rest: precision {precision:.3f}, recall {recall:.3f}, F1 {f1:.3f}; "
        f"accuracy on polar tweets {np.mean(called[polar] == truth[polar]):.3f}; "
        f"neutral tweets called negative {np.mean(called[neutral] == 'negative'):.1%}; "
        f"negative share called {np.mean(called == 'negative'):.1%}, mean P(negative) {np.mean(p_negative):.1%} "
        f"(true {np.mean(truth == 'negative'):.1%})"
    )


def three_way_figures(truth: np.ndarray, called: np.ndarray) -> str:
    from sklearn.metrics import confusion_matrix, f1_score

    matrix = confusion_matrix(truth, called, labels=list(CLASSES))
    rows = "\n".join(f"  true {c:8s} " + " ".join(f"{v:6d}" for v in row) for c, row in zip(CLASSES, matrix))
    return (
        f"accuracy {np.mean(truth == called):.4f}, macro-F1 {f1_score(truth, called, average='macro'):.4f}\n"
        f"  {'':13s} " + " ".join(f"{c[:6]:>6s}" for c in CLASSES) + " (predicted)\n" + rows
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--airline", required=True, help="Twitter US Airline Sentiment Tweets.csv")
    parser.add_argument("--labels", type=int, default=1500, help="earliest tweets given to training")
    parser.add_argument("--s140-run", help="a binary Sentiment140 run folder (else one is trained from --s140)")
    parser.add_argument("--s140", default=str(ROOT.parent / "shared/data/sentiment140_sample_90k.csv"))
    parser.add_argument("--out", default=str(ROOT / "artifacts" / "benchmarks" / "three_way_airline"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train_csv, later = time_split(Path(args.airline), args.labels, out)
    three_way = out / "airline-lr3"
    train(train_csv, three_way, "--classes", "3", "--test-size", "0.05")
    binary = Path(args.s140_run) if args.s140_run else out / "s140-lr"
    if not args.s140_run:
        train(Path(args.s140), binary, "--classes", "2")

    from core.models.base import labels_from_proba, load

    truth = later["airline_sentiment"].to_numpy()
    texts = later["text"].fillna("").tolist()
    model = load(three_way)
    fitted_on = json.loads((three_way / "run.json").read_text())["data"]["sizes"]
    proba = model.predict_class_proba(texts)
    called = labels_from_proba(proba, model.classes)
    print(f"\nthree-way logreg ({three_way}, trained on {fitted_on}) on the {len(texts):,} later tweets:")
    print(three_way_figures(truth, called))
    print("  " + negative_figures(truth, called, proba[:, 0]))
    binary_model = load(binary)
    binary_proba = binary_model.predict_class_proba(texts)
    print(f"\nbinary Sentiment140 logreg ({binary}) on the same tweets (it never answers neutral):")
    print("  " + negative_figures(truth, labels_from_proba(binary_proba, binary_model.classes), binary_proba[:, 0]))


if __name__ == "__main__":
    main()
