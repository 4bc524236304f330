"""`python -m core.commands.behaviour --run RUN`: the behavioural tests (CheckList-style, core/evaluation/behaviour.py) on
one run, written to `<run>/behaviour/results.json`, with a table of failure rates per test.

    python -m core.commands.behaviour --run artifacts/runs/logreg-tfidf                  # any local run, seconds
    python -m core.commands.behaviour --run artifacts/runs/logreg-tfidf --max-cases 50   # fewer cases per test
    python -m core.commands.behaviour --run artifacts/runs/azure-language --max-cases 20 --yes

An `azure-language` or `azure-endpoint` run answers through its paid service (the existing client: spend guard,
answer cache): the command says how many texts and text records the suite would send and sends nothing unless
`--yes` is given or they fit in `--max-records`; the whole suite's budget is then reserved before the first
request. Expected failures end with one line `error: ...` and exit status 2.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from core.cli.fields import option
from core.cli.parser import fail, parse_options
from core.evaluation.behaviour import DEFAULT_MAX_CASES
from core.logs import configure_cli_logging
from core.pricing import text_records
from core.run_kinds import is_cloud
from core.tracking.runs import read_json


class Refused(Exception):
    """The command will not spend without the user's consent, or over their budget."""


@dataclass(kw_only=True)
class BehaviourOptions:
    run: Path = option(help="a run folder (any kind)")
    max_cases: int = option(DEFAULT_MAX_CASES, "cases per test at most (seeded sample)")
    yes: bool = option(False, "cloud runs: send the texts (billed per text record)")
    max_records: int | None = option(None, "cloud runs: send only if they fit")

    def __post_init__(self) -> None:
        if self.max_cases < 1:
            raise ValueError("--max-cases must be at least 1")


def check_consent(kind: str, texts: list[str], args: BehaviourOptions) -> None:
    """Refuse to send the texts of a cloud run without --yes or over --max-records."""
    if not is_cloud(kind):
        return
    records = sum(text_records(t) for t in texts)
    need = f"the suite sends {len(texts):,} texts ({records:,} text records) to {kind}"
    if args.max_records is not None and records > args.max_records:
        raise Refused(f"{need}, over --max-records {args.max_records:,}; lower --max-cases")
    if not args.yes and args.max_records is None:
        raise Refused(f"{need} (cached answers are not sent again); add --yes or --max-records {records}")


def run(args: BehaviourOptions) -> tuple[dict, Path]:
    """Load the run's model, run the suite (within the service's budget for a cloud run), write results.json."""
    from core.evaluation import behaviour as bh
    from core.models.base import ModelLoadError, load

    meta = read_json(args.run / "run.json")
    if not isinstance(meta, dict):
        raise ModelLoadError(f"{args.run} is not a run folder (no readable run.json)")
    suite = bh.load_suite()
    texts = bh.unique_texts(bh.expand_suite(suite, args.max_cases))
    check_consent(meta.get("kind", ""), texts, args)
    model = load(args.run)
    budget = nullcontext()
    if is_cloud(meta.get("kind")):
        from core.azure.services import reserve_budget

        budget = reserve_budget(model.service, texts)
    with budget:
        results = bh.run_suite(model, suite, args.max_cases)
    results["run"] = {"id": meta.get("id", args.run.name), "approach": meta.get("approach"), "kind": meta.get("kind")}
    return results, bh.write_results(args.run, results)


def expected_errors() -> tuple[type[BaseException], ...]:
    from core.azure.errors import ServiceError
    from core.evaluation.behaviour import SuiteError
    from core.models.base import ModelLoadError

    return (Refused, SuiteError, ModelLoadError, ServiceError, OSError)


def main(argv: list[str] | None = None) -> None:
    from core.evaluation.behaviour import summary_table

    args = parse_options(BehaviourOptions, argv, __doc__)
    configure_cli_logging()
    try:
        results, path = run(args)
    except Exception as exc:  # noqa: BLE001 - every failure is one line; the unexpected ones name only their type
        fail(exc if isinstance(exc, expected_errors()) else f"unexpected {type(exc).__name__}; please report it")
    table = summary_table(results)
    print(table.to_string(index=False, na_rep="–"))
    failing = int((table["failures"] > 0).sum())
    print(
        f"{len(table)} tests ({failing} with failures), {results['texts_scored']:,} texts scored in "
        f"{results['seconds']:.1f} s by {results['model']}; suite v{results['suite']['version']} "
        f"({results['suite']['fingerprint']}); written to {path}"
    )


if __name__ == "__main__":
    main()
