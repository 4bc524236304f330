"""Run a trainer from its options dataclass: the split, the run lifecycle, evaluation, and how a trainer fails.

`main(key, argv)` parses the command line of the registered trainer `key` (core.training.registry) into its
options dataclass and calls `run_trainer`, which imports the trainer's fit module (core.training.<name>) and uses:

- `approach(options) -> str`, the run's display name ("…, continued from PARENT" is added for a fine-tune);
- `validate(options)` (optional): bad values or combinations, refused before any run folder is touched;
- `train(options, split, run) -> (model, train_seconds, n_train_tweets, extra)`: fit, save the model files into
  `run.path`; the runner evaluates on the shared test split and writes metrics.json. A module with nothing to
  fit defines `run_in(options, run)` instead (core.training.azure_language scores a sample with a service);
- `EXPECTED_ERRORS` (optional): its own known error types.

What the run kind says (core.run_kinds) the runner applies itself: `--extra-data` is refused for a kind that trains
nothing, and with `--init-from` the parent run is checked and its model options (`from_parent=True`) replace
those left to their defaults (core.training.parent_run), before `validate`, so run.json's params say what was
trained.

Expected failures (bad data, a bad option, a run folder another training is writing, plus each trainer's own
known errors) end the process with one line, `error: <message>`, on stderr and exit status 2, and the run
folder, when there is one, is marked failed with that same line. Anything else is a bug: its traceback goes to
stderr (train.log when launched from the dashboard) and run.json names only its type and where it was raised.
Messages for the person at the terminal are logged (`core.logs.configure_cli_logging`: plain lines on stderr).
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import sys
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from core.cli.parser import EXIT_EXPECTED_ERROR, fail, parse_options  # noqa: F401 (EXIT_EXPECTED_ERROR: API)
from core.data.labels import BINARY_CLASSES, MIN_NEUTRAL_FOR_AUTO, run_classes
from core.data.loading import DataError, load_dataset, source_file
from core.data.split import Split, load_split
from core.evaluation.eval_sets import evaluate_official_set
from core.evaluation.metrics import evaluate
from core.logs import configure_cli_logging
from core.text.language import language_shares
from core.tracking import mlflow_log
from core.tracking.runs import RunCancelled, RunFolderInUse, read_run, start_run
from core.training.extra_data import check_extra_options, lineage_record, mix_extra_data
from core.training.options import DataOptions
from core.training.parent_run import ParentRun, ParentRunError, inherited, locate, parent_of, parent_record
from core.training.registry import TrainerSpec, trainer

log = logging.getLogger(__name__)


class OptionError(Exception):
    """A bad option value or combination, found before any run folder is touched."""


def check_C(value: str) -> None:
    """--C is 'auto' or a positive number (the regularisation of a logistic-regression fit or head)."""
    if value == "auto":
        return
    try:
        positive = float(value) > 0
    except ValueError:
        positive = False
    if not positive:
        raise OptionError(f"--C must be a positive number or 'auto', not {value!r}")


EXPECTED_ERRORS: tuple[type[BaseException], ...] = (DataError, OptionError, RunFolderInUse, ParentRunError)


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


def main(key: str, argv: list[str] | None = None, description: str | None = None) -> Path:
    """`python -m trainers.<name>`: parse the registered trainer's options (sys.argv when None) and run it."""
    configure_cli_logging()
    spec = trainer(key)
    return run_trainer(spec, parse_options(spec.options, argv, description))


def run_trainer(spec: TrainerSpec, options: DataOptions) -> Path:
    """Validate, then train inside a run and evaluate (or the module's own `run_in`). Returns the run folder."""
    fit = importlib.import_module(spec.fit_module)
    expected = getattr(fit, "EXPECTED_ERRORS", ())
    with expected_failures(*expected):
        options, parent = checked_options(spec, fit, options)
        approach = fit.approach(options)
        with start_run(
            options.output,
            kind=spec.kind,
            approach=parent.continued_name(approach, options) if parent else approach,
            params=dataclasses.asdict(options),
            expected_errors=(*EXPECTED_ERRORS, *expected),
        ) as run:
            if hasattr(fit, "run_in"):
                fit.run_in(options, run)
            else:
                fit_and_evaluate(fit, options, run)
        mlflow_log.log_finished_run(run.path)  # a copy for MLflow when MLFLOW_TRACKING_URI is set; never fails
        return run.path


def checked_options(spec: TrainerSpec, fit: ModuleType, options: DataOptions) -> tuple[DataOptions, ParentRun | None]:
    """The options the run records and trains with, and its --init-from parent: every refusal before a run folder
    is touched (the split options, --extra-data for a kind that trains nothing, the parent, the trainer's own)."""
    check_split_options(options)
    if options.extra_data and not spec.run_kind.trains:
        raise OptionError(f"--extra-data: {spec.label} trains nothing, so it has no training split to add to")
    parent = parent_of(options, spec.kind)
    if parent is not None:  # the parent's model options, recorded in params
        options = inherited(options, parent)
    if hasattr(fit, "validate"):
        fit.validate(options)
    return options, parent


def fit_and_evaluate(fit: ModuleType, options: DataOptions, run) -> None:
    split = load_run_split(options, run)
    model, train_seconds, n_train, extra = fit.train(options, split, run)
    run.progress(phase="evaluate", message="scoring the shared test split")
    metrics = evaluate(model, split, run, train_seconds=train_seconds, n_train=n_train, extra=extra)
    evaluate_official_set(model, run)  # when the official zip is there; a failure is a warning, not the run's
    run.finish(metrics)
    test = metrics["test"]
    log.info(
        f"done: accuracy {test['accuracy']:.4f}, macro F1 {test['f1_macro']:.4f}, "
        f"ROC AUC {test.get('roc_auc', float('nan')):.4f}, training {train_seconds:.1f} s -> {run.path}"
    )


# ---------------------------------------------------------------- the split, checked


def check_split_options(options: DataOptions) -> None:
    if not 0 < options.test_size < 1 or not 0 <= options.val_size < 1:
        raise OptionError("--test-size must be between 0 and 1 (exclusive) and --val-size in [0, 1)")
    if options.sample is not None and options.sample < 1:
        raise OptionError("--sample must be a positive number of tweets")
    check_extra_options(options)


def load_run_split(options: DataOptions, run) -> Split:
    """The split for `options` (with --extra-data in its training split), recorded in the run (`data`; `lineage`
    with extra data or a parent run) and summarised on stdout."""
    run.progress(phase="data", message=f"loading {options.data}")
    base = load_base_split(options)
    split, extras = mix_extra_data(base, options)
    check_training_classes(split)
    check_parent_classes(options, split)
    run.set_data(split)
    run.update(classes=list(split.classes), languages=language_shares(split.train["text"]))
    lineage = lineage_record(base, extras, parent_record(options))
    if lineage:
        run.update(lineage=lineage)
    log.info(
        f"data: {split.report.summary()}; split {split.split_id}: "
        f"{len(split.train):,} train{f' ({len(split.train) - len(base.train):,} extra)' if extras else ''} / "
        f"{len(split.val):,} val / {len(split.test):,} test"
    )
    return split


def load_checked_split(options: DataOptions) -> Split:
    """The split `load_run_split` gives, with nothing recorded (the other ranks of a distributed training)."""
    split = mix_extra_data(load_base_split(options), options)[0]
    check_training_classes(split)
    return split


def check_parent_classes(options: DataOptions, split: Split) -> None:
    """A fine-tune (--init-from) learns its parent's classes: its output layer is the parent's."""
    value = getattr(options, "init_from", None)
    info = read_run(locate(value)) if value else None
    if info is None:
        return
    theirs = run_classes(info.meta)
    if theirs != split.classes:
        raise ParentRunError(
            f"--init-from {value} learns {'/'.join(theirs)}, this training's data {'/'.join(split.classes)}: a "
            f"fine-tune keeps its parent's classes (give --classes {len(theirs)})"
        )


def check_training_classes(split: Split) -> None:
    """A three-way run learns from tweets of each of its classes (a binary one was checked by load_base_split)."""
    missing = [name for code, name in enumerate(split.classes) if not (split.train["label"] == code).any()]
    if missing and len(split.classes) == 3:
        raise DataError(
            f"a three-way run needs negative, neutral and positive tweets to train on; its training split has no "
            f"{' and no '.join(missing)} tweet (add labelled tweets with --extra-data, or --classes 2)"
        )


def load_base_split(options: DataOptions) -> Split:
    """`core.data.split.load_split` with the data that cannot train a model refused as DataError: a folder, a file
    that cannot be read, one class only, too few rows to split. Binary or three-way by `--classes`: `auto` is
    three-way when --data and --extra-data together hold at least MIN_NEUTRAL_FOR_AUTO neutral tweets."""
    check_data_argument(options.data)
    split = split_by_classes(options)
    labels = set(split.train["label"]) | set(split.test["label"])
    if len(labels) < 2:
        raise one_class_error(split.report.source, labels, split.report.rows_kept, split.classes)
    return split


def split_by_classes(options: DataOptions) -> Split:
    """The binary or three-way split `--classes` asks for (`auto`: by the neutral tweets of the training data)."""
    wanted = getattr(options, "classes", "auto")
    if wanted == "3":
        split = split_of(options, 3)
        if split.report.neutral_kept == 0 and extra_neutral(options) == 0:
            raise DataError("--classes 3: the training data (--data and --extra-data) hold no neutral tweet")
        return split
    binary = split_of(options, 2)
    if wanted == "2" or not binary.report.neutral_dropped and not options.extra_data:
        return binary
    neutral = binary.report.neutral_dropped + extra_neutral(options)
    if neutral >= MIN_NEUTRAL_FOR_AUTO:
        return split_of(options, 3)
    if neutral:
        log.info(
            f"--classes auto: the training data hold {neutral:,} neutral tweets, fewer than {MIN_NEUTRAL_FOR_AUTO}: "
            "the run is binary and they are dropped (--classes 3 keeps them)"
        )
    return binary


def split_of(options: DataOptions, classes: int) -> Split:
    try:
        return load_split(
            options.data,
            sample=options.sample,
            seed=options.seed,
            test_size=options.test_size,
            val_size=options.val_size,
            classes=classes,
        )
    except OSError as exc:  # unreadable: say why, never what the file holds
        raise DataError(f"cannot read {options.data}: {exc.strerror or type(exc).__name__}") from None
    except ValueError:  # scikit-learn could not stratify: say why in terms of the data, if that is the reason
        unsplittable = why_unsplittable(options, classes)
        if unsplittable is None:
            raise
        raise unsplittable from None


def extra_neutral(options: DataOptions) -> int:
    """Neutral tweets in the --extra-data files (each read once more, three ways, to count them: a file of
    neutral tweets only has no row for a binary reading)."""
    return sum(load_dataset(extra, classes=3).report.neutral_kept for extra in options.extra_data)


def check_data_argument(data: str) -> None:
    if source_file(data).is_dir():
        raise DataError(f"--data {data} is a folder: pass a CSV or zip file (or 'sentiment140' for the official set)")


def why_unsplittable(options: DataOptions, classes: int = 2) -> DataError | None:
    """After load_split failed with a ValueError: DataError when the data are too few (or of one class) for
    its stratified splits, None when that was not the reason."""
    loaded = load_dataset(options.data, classes=classes)
    labels = loaded.frame["label"].to_numpy()
    counts = loaded.frame["label"].value_counts()
    if len(counts) < 2:
        return one_class_error(loaded.report.source, set(counts.index), len(labels), loaded.classes)
    if _labels_split(labels, options):
        return None
    rows = min(options.sample or len(labels), len(labels))
    per_class = ", ".join(f"{counts.get(code, 0):,} {name}" for code, name in enumerate(loaded.classes))
    return DataError(
        f"{loaded.report.source}: {rows:,} usable rows ({per_class}"
        f"{' before --sample' if rows < len(labels) else ''}) are too few "
        f"to split into train, validation and test (--test-size {options.test_size}, --val-size "
        f"{options.val_size}): every part needs tweets of {'both' if len(loaded.classes) == 2 else 'every'} "
        f"class{'es' if len(loaded.classes) == 2 else ''}; use more data"
    )


def _labels_split(labels, options: DataOptions) -> bool:
    """Whether load_split's stratified splits (sample, test, validation) work on these labels."""
    from sklearn.model_selection import train_test_split

    try:
        if options.sample and options.sample < len(labels):
            labels, _ = train_test_split(labels, train_size=options.sample, stratify=labels, random_state=options.seed)
        train, _ = train_test_split(labels, test_size=options.test_size, stratify=labels, random_state=options.seed)
        if options.val_size:
            train_test_split(train, test_size=options.val_size, stratify=train, random_state=options.seed)
    except ValueError:
        return False
    return True


def one_class_error(source: str, labels: set, rows: int, classes=BINARY_CLASSES) -> DataError:
    only = dict(enumerate(classes)).get(next(iter(labels), None), "no")
    return DataError(
        f"{source} has {only} tweets only ({rows:,} usable rows): a sentiment model needs both "
        "negative and positive tweets"
    )
