"""`python -m core.commands.evaluate`: measure a run on a labelled file (an evaluation set), stored in the run folder.

    python -m core.commands.evaluate --run RUN --data LABELLED.csv [--name NAME]
    python -m core.commands.evaluate --run RUN --official       # the official hand-labelled test set (in the official zip)
    python -m core.commands.evaluate --all-runs --official      # every succeeded local run that lacks it (--cloud: services too)
    python -m core.evaluate --run RUN --data LABELLED.csv --gauge [--group-column airline] [--time-column C]
        [--window 1D] [--time-split N | --random-split N]    # the negative-share gauge against the truth

The file is read as training data is (same reader, same labels: 0/4, 0/1, negative/positive; neutral rows are
reported apart). The result goes to RUN/evaluations/<name>/evaluation.json and predictions.csv, which the Compare
and Résumé pages show. Cloud runs (azure-language, azure-endpoint) ask their service through its spend guard and
cache. Expected failures end with one line, `error: …`, and exit status 2.

`--gauge` measures the run as the monitor uses it (core.evaluation.gauge): a file with three-way labels and a time
column, optionally a group column; per group and window the true negative share against the estimate and its 90 %
interval; MAE, bias, worst error, coverage, alert recall and precision at the monitor's threshold. With
`--time-split N` the N earliest labelled tweets train the in-domain mapping (sentence embedding + the run's
log-odds) and the later tweets are evaluated on. Stored as RUN/evaluations/<name>/gauge.json + gauge_windows.csv.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core import config
from core.cli.fields import option
from core.cli.parser import expected_failures, parse_options
from core.logs import configure_cli_logging

GAUGE = "gauge (--gauge)"


@dataclass(kw_only=True)
class EvaluateOptions:
    run: Path | None = option(None, "a run folder (any run kind)")
    all_runs: bool = option(False, "every succeeded run of the runs folder lacking the set (instead of --run)")
    data: str | None = option(None, "a labelled CSV (or file.zip:member.csv) with a text and a label column")
    official: bool = option(False, f"the official manual test set ({config.OFFICIAL_TEST_NAME}) (instead of --data)")
    name: str | None = option(None, "the set's name (default: the file's name; the official set's own name)")
    cloud: bool = option(False, "with --all-runs: evaluate cloud service runs too")
    gauge: bool = option(False, "measure the negative-share gauge (three-way labels and a time column)", group=GAUGE)
    group_column: str | None = option(None, "the column of the groups (airline, brand)", group=GAUGE)
    time_column: str | None = option(None, "the time column (default: found from the values)", group=GAUGE)
    label_column: str | None = option(None, "the label column (default: label, sentiment, *sentiment)", group=GAUGE)
    text_column: str | None = option(None, "the text column (default: text, tweet, …)", group=GAUGE)
    window: str = option("1D", "the window of the share (a pandas frequency: 1D, 6h, 15min)", group=GAUGE)
    min_tweets: int = option(50, "windows with fewer tweets are left out of the figures", group=GAUGE)
    time_split: int = option(0, "the N earliest labelled tweets train the in-domain mapping", group=GAUGE)
    random_split: int = option(0, "N labelled tweets drawn at random train the in-domain mapping", group=GAUGE)
    pool: int = option(0, "tweets set aside for labelling, never evaluated on (≥ the split's N)", group=GAUGE)
    encoder: str = option(
        "multilingual-e5-small", "the mapping's sentence encoder (none: the run's log-odds only)", group=GAUGE
    )
    threshold: float = option(0.6, "the alert threshold on the negative share (the monitor's default)", group=GAUGE)
    seed: int = option(0, "the random split's and the refits' seed", group=GAUGE)

    def __post_init__(self) -> None:
        if (self.run is None) == (not self.all_runs):
            raise ValueError("give --run RUN_DIR or --all-runs, one of them")
        if (self.data is None) == (not self.official):
            raise ValueError("give --data CSV or --official, one of them")
        if self.gauge and (self.run is None or self.data is None):
            raise ValueError("--gauge needs --run RUN_DIR and --data LABELLED.csv")
        if self.time_split and self.random_split:
            raise ValueError("give --time-split N or --random-split N, not both")
        if min(self.time_split, self.random_split, self.pool) < 0 or not 0 < self.threshold < 1:
            raise ValueError("--time-split, --random-split and --pool count tweets (≥ 0); --threshold is in (0, 1)")

    def gauge_settings(self):
        from core.evaluation.gauge import GaugeSettings

        labels = self.time_split or self.random_split
        return GaugeSettings(
            window=self.window,
            min_tweets=self.min_tweets,
            threshold=self.threshold,
            labels=labels,
            protocol="random" if self.random_split else "time",
            pool=self.pool,
            seed=self.seed,
            encoder=None if self.encoder.lower() == "none" else self.encoder,
            text_column=self.text_column,
            label_column=self.label_column,
            time_column=self.time_column,
            group_column=self.group_column,
        )


def expected_errors() -> tuple[type[BaseException], ...]:
    from core.azure.errors import ServiceError
    from core.data.loading import DataError
    from core.embedding.encoders import EncoderError
    from core.evaluation.eval_sets import EvalSetError
    from core.evaluation.gauge import GaugeError
    from core.models.base import ModelLoadError

    return (DataError, EvalSetError, GaugeError, EncoderError, ModelLoadError, ServiceError, OSError)


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

    if args.gauge:
        return main_gauge(args)
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


def main_gauge(args: EvaluateOptions) -> None:
    from core.evaluation import gauge
    from core.models.base import load

    with expected_failures(*expected_errors()):
        settings = args.gauge_settings()
        check_run_folder(args.run)
        data = gauge.read_gauge_file(args.data, settings, args.name)
        result = gauge.evaluate_gauge(load(args.run), args.run, data, settings)
    print(gauge.describe(result))
    folder = gauge.folder_of(Path(args.run), result["name"])
    print(f"stored in {folder / gauge.GAUGE_FILE} (windows: {gauge.WINDOWS_FILE} beside it)")


if __name__ == "__main__":
    main()
