"""What every trainer shares: the common CLI options, the split, and the run lifecycle.

A trainer module defines `add_arguments(parser)` for its own options and a `train(args, split, run)` that
fits, saves its model files into `run.path`, and returns `(model, train_seconds, n_train_tweets, extra)`;
`main()` does the rest (split, run folder, evaluation on the shared test split, metrics.json).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

from core import config
from core.data import DataError, load_split
from core.metrics import evaluate
from core.runs import RunCancelled, start_run


def base_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    data = parser.add_argument_group("data and run")
    data.add_argument("--data", default=str(config.default_data_path() or "sentiment140"),
                      help="Sentiment140 CSV or zip, any CSV with text and label columns, or 'sentiment140' "
                           "to download the official set")
    data.add_argument("--output", required=True, help="run folder to create, e.g. artifacts/runs/my-run")
    data.add_argument("--sample", type=int, default=None, help="stratified subset of N tweets (default: all)")
    data.add_argument("--seed", type=int, default=42, help="seed for the split and the model")
    data.add_argument("--test-size", type=float, default=0.2, help="test fraction (the study used 0.2)")
    data.add_argument("--val-size", type=float, default=0.1, help="validation fraction, carved out of train")
    return parser


def run_trainer(kind: str, approach: Callable[[argparse.Namespace], str], parser: argparse.ArgumentParser,
                train: Callable, argv: list[str] | None = None) -> Path:
    """Parse arguments, build the split, train inside a run, evaluate, and report. Returns the run folder."""
    args = parser.parse_args(argv)
    try:
        with start_run(args.output, kind=kind, approach=approach(args), params=vars(args)) as run:
            run.progress(phase="data", message=f"loading {args.data}")
            split = load_split(args.data, sample=args.sample, seed=args.seed, test_size=args.test_size,
                               val_size=args.val_size)
            run.set_data(split)
            print(f"data: {split.report.summary()}; split {split.split_id}: "
                  f"{len(split.train):,} train / {len(split.val):,} val / {len(split.test):,} test", flush=True)
            model, train_seconds, n_train, extra = train(args, split, run)
            run.progress(phase="evaluate", message="scoring the shared test split")
            metrics = evaluate(model, split, run, train_seconds=train_seconds, n_train=n_train, extra=extra)
            run.finish(metrics)
            test = metrics["test"]
            print(f"done: accuracy {test['accuracy']:.4f}, macro F1 {test['f1_macro']:.4f}, "
                  f"ROC AUC {test.get('roc_auc', float('nan')):.4f}, training {train_seconds:.1f} s -> {run.path}",
                  flush=True)
            return run.path
    except DataError as exc:
        sys.exit(f"data error: {exc}")
    except RunCancelled:
        sys.exit("cancelled")
