"""`python -m core.evaluate`: measure a run on a labelled file (an evaluation set), stored in the run folder.

    python -m core.evaluate --run RUN --data LABELLED.csv [--name NAME]
    python -m core.evaluate --run RUN --official       # the official hand-labelled test set (in the official zip)
    python -m core.evaluate --all-runs --official      # every succeeded local run that lacks it (--cloud: services too)

The file is read as training data is (same reader, same labels: 0/4, 0/1, negative/positive; neutral rows are
reported apart). The result goes to RUN/evaluations/<name>/evaluation.json and predictions.csv, which the Compare
and Résumé pages show. Cloud runs (azure-language, azure-endpoint) ask their service through its spend guard and
cache. Expected failures end with one line, `error: …`, and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core import config
from core.logs import configure_cli_logging

EXIT_EXPECTED_ERROR = 2


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--run", type=Path, help="a run folder (any run kind)")
    which.add_argument("--all-runs", action="store_true", help="every succeeded run of the runs folder lacking the set")
    data = parser.add_mutually_exclusive_group(required=True)
    data.add_argument("--data", help="a labelled CSV (or file.zip:member.csv) with a text and a label column")
    data.add_argument(
        "--official", action="store_true", help=f"the official manual test set ({config.OFFICIAL_TEST_NAME})"
    )
    parser.add_argument("--name", help="the set's name (default: the file's name; the official set's own name)")
    parser.add_argument("--cloud", action="store_true", help="with --all-runs: evaluate cloud service runs too")
    return parser.parse_args(argv)


def expected_errors() -> tuple[type[BaseException], ...]:
    from core.azure.errors import ServiceError
    from core.data.loading import DataError
    from core.evaluation.eval_sets import EvalSetError
    from core.models.base import ModelLoadError

    return (DataError, EvalSetError, ModelLoadError, ServiceError, OSError)


def check_run_folder(run: Path) -> None:
    """A cheap look before the data are read (core.models.base.load says more, later)."""
    from core.models.base import ModelLoadError
    from core.tracking.runs import read_json

    if not isinstance(read_json(run / "run.json"), dict):
        raise ModelLoadError(f"{run} is not a run folder (no readable run.json)")


def data_source(args: argparse.Namespace) -> str:
    from core.evaluation.eval_sets import EvalSetError, official_source

    if not args.official:
        if Path(args.data.split(".zip:", 1)[0]).is_dir():
            raise EvalSetError(f"--data {args.data} is a folder: pass a labelled CSV or zip file")
        return args.data
    source = official_source()
    if source is None:
        raise EvalSetError(
            f"the official zip ({config.OFFICIAL_ZIP_NAME}) is not in the data folder {config.data_dir()}: "
            "download it with `python -m core.data --download`, or pass the test CSV with --data"
        )
    return source


def main(argv: list[str] | None = None) -> None:
    configure_cli_logging()
    args = parse_args(argv)
    from core.evaluation import eval_sets
    from core.models.base import load
    from core.tracking.runs import one_line

    try:
        source = data_source(args)
        if args.all_runs:
            outcomes = eval_sets.evaluate_missing(source, args.name, cloud=args.cloud)
            for run_id, outcome in outcomes:
                print(f"{run_id}: {outcome}")
            print(f"{len(outcomes)} run(s) evaluated or skipped; the others already had this set")
            return
        check_run_folder(args.run)
        data = eval_sets.load_eval_set(source, args.name)  # the data before the model: refusing a file costs less
        evaluation = eval_sets.evaluate_set(load(args.run), args.run, data)
    except expected_errors() as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr, flush=True)
        raise SystemExit(EXIT_EXPECTED_ERROR) from None
    print(eval_sets.describe(evaluation))
    folder = Path(args.run) / eval_sets.EVALUATIONS_DIR / eval_sets.slug(evaluation["name"])
    print(f"stored in {folder / eval_sets.EVALUATION_FILE} (predictions: {eval_sets.PREDICTIONS_FILE} beside it)")


if __name__ == "__main__":
    main()
