"""What every trainer shares: the common CLI options, the split, the run lifecycle, and how a trainer fails.

A trainer module defines `add_arguments(parser)` for its own options and a `train(args, split, run)` that
fits, saves its model files into `run.path`, and returns `(model, train_seconds, n_train_tweets, extra)`;
`main()` does the rest (split, run folder, evaluation on the shared test split, metrics.json).

Expected failures (bad data, a bad option, a run folder another training is writing, plus each trainer's own
known errors) end the process with one line, `error: <message>`, on stderr and exit status 2, and the run
folder, when there is one, is marked failed with that same line. Anything else is a bug: its traceback goes to
stderr (train.log when launched from the dashboard) and run.json names only its type and where it was raised.
"""
from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, NoReturn

from core import config
from core.data.loading import DataError, load_dataset
from core.data.split import Split, load_split
from core.evaluation.metrics import evaluate
from core.tracking.runs import RunCancelled, RunFolderInUse, one_line, start_run

EXIT_EXPECTED_ERROR = 2  # argparse's status for a bad command line


class OptionError(Exception):
    """A bad option value or combination, found before any run folder is touched."""


EXPECTED_ERRORS: tuple[type[BaseException], ...] = (DataError, OptionError, RunFolderInUse)


def fail(message: object) -> NoReturn:
    print(f"error: {one_line(message)}", file=sys.stderr, flush=True)
    raise SystemExit(EXIT_EXPECTED_ERROR)


class TrainerArgumentParser(argparse.ArgumentParser):
    """Reports a bad command line in one line (argparse prints its whole usage block otherwise)."""

    def error(self, message: str) -> NoReturn:
        fail(f"{message} (see --help)")


def base_parser(description: str) -> argparse.ArgumentParser:
    parser = TrainerArgumentParser(description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
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


@contextmanager
def expected_failures(*known: type[BaseException]):
    """The one place a trainer's expected failures become `error: <message>` and exit status 2 (no traceback);
    `known` adds the trainer's own error types to EXPECTED_ERRORS. A cancel exits with 'cancelled'."""
    try:
        yield
    except RunCancelled:
        sys.exit("cancelled")
    except (*EXPECTED_ERRORS, *known) as exc:
        fail(exc)


def run_trainer(kind: str, approach: Callable[[argparse.Namespace], str], parser: argparse.ArgumentParser,
                train: Callable, argv: list[str] | None = None,
                validate: Callable[[argparse.Namespace], None] | None = None,
                expected: tuple[type[BaseException], ...] = ()) -> Path:
    """Parse and `validate` the arguments, build the split, train inside a run, evaluate, and report.
    Returns the run folder; `expected` are the trainer's own known error types (see `expected_failures`)."""
    args = parser.parse_args(argv)
    with expected_failures(*expected):
        check_split_options(args)
        if validate:
            validate(args)
        with start_run(args.output, kind=kind, approach=approach(args), params=vars(args),
                       expected_errors=(*EXPECTED_ERRORS, *expected)) as run:
            split = load_run_split(args, run)
            model, train_seconds, n_train, extra = train(args, split, run)
            run.progress(phase="evaluate", message="scoring the shared test split")
            metrics = evaluate(model, split, run, train_seconds=train_seconds, n_train=n_train, extra=extra)
            run.finish(metrics)
            test = metrics["test"]
            print(f"done: accuracy {test['accuracy']:.4f}, macro F1 {test['f1_macro']:.4f}, "
                  f"ROC AUC {test.get('roc_auc', float('nan')):.4f}, training {train_seconds:.1f} s -> {run.path}",
                  flush=True)
            return run.path


# ---------------------------------------------------------------- the split, checked

def check_split_options(args: argparse.Namespace) -> None:
    if not 0 < args.test_size < 1 or not 0 <= args.val_size < 1:
        raise OptionError("--test-size must be between 0 and 1 (exclusive) and --val-size in [0, 1)")
    if args.sample is not None and args.sample < 1:
        raise OptionError("--sample must be a positive number of tweets")


def load_run_split(args: argparse.Namespace, run) -> Split:
    """The split for `args`, recorded in the run and summarised on stdout."""
    run.progress(phase="data", message=f"loading {args.data}")
    split = load_checked_split(args)
    run.set_data(split)
    print(f"data: {split.report.summary()}; split {split.split_id}: "
          f"{len(split.train):,} train / {len(split.val):,} val / {len(split.test):,} test", flush=True)
    return split


def load_checked_split(args: argparse.Namespace) -> Split:
    """`core.data.split.load_split` with the data that cannot train a model refused as DataError: a folder, a file
    that cannot be read, one class only, too few rows to split."""
    check_data_argument(args.data)
    try:
        split = load_split(args.data, sample=args.sample, seed=args.seed, test_size=args.test_size,
                           val_size=args.val_size)
    except OSError as exc:  # unreadable: say why, never what the file holds
        raise DataError(f"cannot read {args.data}: {exc.strerror or type(exc).__name__}") from None
    except ValueError:  # scikit-learn could not stratify: say why in terms of the data, if that is the reason
        unsplittable = why_unsplittable(args)
        if unsplittable is None:
            raise
        raise unsplittable from None
    labels = set(split.train["label"]) | set(split.test["label"])
    if len(labels) < 2:
        raise one_class_error(split.report.source, labels, split.report.rows_kept)
    return split


def check_data_argument(data: str) -> None:
    path = Path(data.split(".zip:", 1)[0] + ".zip") if ".zip:" in data else Path(data)
    if path.is_dir():
        raise DataError(f"--data {data} is a folder: pass a CSV or zip file (or 'sentiment140' for the official set)")


def why_unsplittable(args: argparse.Namespace) -> DataError | None:
    """After load_split failed with a ValueError: DataError when the data are too few (or of one class) for
    its stratified splits, None when that was not the reason."""
    loaded = load_dataset(args.data)
    labels = loaded.frame["label"].to_numpy()
    counts = loaded.frame["label"].value_counts()
    if len(counts) < 2:
        return one_class_error(loaded.report.source, set(counts.index), len(labels))
    if _labels_split(labels, args):
        return None
    rows = min(args.sample or len(labels), len(labels))
    return DataError(f"{loaded.report.source}: {rows:,} usable rows ({counts.get(0, 0):,} negative, "
                     f"{counts.get(1, 0):,} positive{' before --sample' if rows < len(labels) else ''}) are too few "
                     f"to split into train, validation and test (--test-size {args.test_size}, --val-size "
                     f"{args.val_size}): every part needs tweets of both classes; use more data")


def _labels_split(labels, args: argparse.Namespace) -> bool:
    """Whether load_split's stratified splits (sample, test, validation) work on these labels."""
    from sklearn.model_selection import train_test_split
    try:
        if args.sample and args.sample < len(labels):
            labels, _ = train_test_split(labels, train_size=args.sample, stratify=labels, random_state=args.seed)
        train, _ = train_test_split(labels, test_size=args.test_size, stratify=labels, random_state=args.seed)
        if args.val_size:
            train_test_split(train, test_size=args.val_size, stratify=train, random_state=args.seed)
    except ValueError:
        return False
    return True


def one_class_error(source: str, labels: set, rows: int) -> DataError:
    only = {0: "negative", 1: "positive"}.get(next(iter(labels), None), "no")
    return DataError(f"{source} has {only} tweets only ({rows:,} usable rows): a sentiment model needs both "
                     "negative and positive tweets")
