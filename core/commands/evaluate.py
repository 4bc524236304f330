"""`python -m core.commands.evaluate`: measure a run on a labelled file (an evaluation set), stored in the run folder.

    python -m core.commands.evaluate --run RUN --data LABELLED.csv [--name NAME]
    python -m core.commands.evaluate --run RUN --official       # the official hand-labelled test set (in the official zip)
    python -m core.commands.evaluate --all-runs --official      # every succeeded local run that lacks it (--cloud: services too)

The file is read as training data is (same reader, same labels: 0/4, 0/1, negative/positive; neutral rows are
reported apart). The result goes to RUN/evaluations/<name>/evaluation.json and predictions.csv, which the Compare
and Résumé pages show. Cloud runs (azure-language, azure-endpoint) ask their service through its spend guard and
cache. Expected failures end with one line, `error: …`, and exit status 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core import config
from core.cli.fields import option
from core.cli.parser import expected_failures, parse_options
from core.logs import configure_cli_logging


@dataclass(kw_only=True)
class EvaluateOptions:
    run: Path | None = option(None, "a run folder (any run kind)")
    all_runs: bool = option(False, "every succeeded run of the runs folder lacking the set (instead of --run)")
    data: str | None = option(None, "a labelled CSV (or file.zip:member.csv) with a text and a label column")
    official: bool = option(False, f"the official manual test set ({config.OFFICIAL_TEST_NAME}) (instead of --data)")
    name: str | None = option(None, "the set's name (default: the file's name; the official set's own name)")
    cloud: bool = option(False, "with --all-runs: evaluate cloud service runs too")

    def __post_init__(self) -> None:
        if (self.run is None) == (not self.all_runs):
            raise ValueError("give --run RUN_DIR or --all-runs, one of them")
        if (self.data is None) == (not self.official):
            raise ValueError("give --data CSV or --official, one of them")


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


def data_source(args: EvaluateOptions) -> str:
    from core.evaluation.eval_sets import EvalSetError, official_source

    if not args.official:
        if Path(args.data.split(".zip:", 1)[0]).is_dir():
            raise EvalSetError(f"--data {args.data} is a folder: pass a labelled CSV or zip file")
        return args.data
    source = official_source()
    if source is None:
        raise EvalSetError(
            f"the official zip ({config.OFFICIAL_ZIP_NAME}) is not in the data folder {config.data_dir()}: "
            "download it with `python -m core.commands.data --download`, or pass the test CSV with --data"
        )
    return source


def main(argv: list[str] | None = None) -> None:
    configure_cli_logging()
    args = parse_options(EvaluateOptions, argv, __doc__)
    from core.evaluation import eval_sets
    from core.models.base import load

    with expected_failures(*expected_errors()):
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
    print(eval_sets.describe(evaluation))
    folder = Path(args.run) / eval_sets.EVALUATIONS_DIR / eval_sets.slug(evaluation["name"])
    print(f"stored in {folder / eval_sets.EVALUATION_FILE} (predictions: {eval_sets.PREDICTIONS_FILE} beside it)")


if __name__ == "__main__":
    main()
