"""Batch scoring: add `score` (P(positive)), `label` and `reason` to every row of a CSV (core.inference.batch).

    python -m core.score --run RUN_DIR --input CSV --output CSV|XLSX [--text-column NAME] [--chunk-size N]
        [--spreadsheet-safe]
    python -m core.score --service azure-language|azure-endpoint --input CSV --output CSV

`python -m core.score` is this command's documented name (core/score.py). Every record is accounted for: written
out scored, or with an empty score and a `reason`, or counted as malformed with its line in the summary. Every
failure ends with one line, `error: …`, and leaves no partial output file. Tweets are written by anyone: open the
.xlsx output (or a CSV written with --spreadsheet-safe) in a spreadsheet, never the plain CSV, whose `=…` cells a
spreadsheet would run (core.data.spreadsheet).
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from core.cli.fields import option
from core.cli.parser import fail, parse_options
from core.inference.batch import (
    ScoreReport,
    expected_errors,
    make_predictor,
    refuse_overwriting_input,
    scorable_texts,
    score_csv,
    unexpected,
)
from core.run_kinds import cloud_kinds


@dataclass(kw_only=True)
class ScoreOptions:
    run: str | None = option(None, "a run folder (any local run kind)")
    service: str | None = option(None, "a cloud service (instead of --run)", choices=cloud_kinds())
    input: Path = option(help="CSV with a text column")
    output: Path = option(
        help="CSV to write (input rows + score, label, reason); a name ending in .xlsx writes an Excel workbook"
    )
    spreadsheet_safe: bool = option(
        False, "prefix a ' to CSV cells starting with = + - @ (a spreadsheet would run them as formulas)"
    )
    text_column: str | None = option(
        None, "the column to score (default: the first of text, tweet, full_text, content, ...)"
    )
    chunk_size: int = option(10_000, "rows read and scored at a time")

    def __post_init__(self) -> None:
        if (self.run is None) == (self.service is None):
            raise ValueError("give --run RUN_DIR or --service NAME, one of them")


def score(options: ScoreOptions) -> ScoreReport:
    """Score the file: the whole budget of a cloud service is reserved before the first request."""
    report = ScoreReport()
    refuse_overwriting_input(options.input, options.output)  # before a model is loaded or a budget reserved
    predict = make_predictor(options.run, options.service, report)
    budget = nullcontext()
    if options.service:
        from core.azure.services import reserve_budget

        budget = reserve_budget(predict.service, scorable_texts(options.input, options.text_column, options.chunk_size))
    with budget:
        score_csv(
            options.input,
            options.output,
            predict,
            options.text_column,
            options.chunk_size,
            report,
            options.spreadsheet_safe,
        )
    return report


def main(argv: list[str] | None = None) -> None:
    options = parse_options(ScoreOptions, argv, __doc__)
    if not options.input.is_file():
        fail(f"input file not found: {options.input}")
    try:
        report = score(options)
    except Exception as exc:  # noqa: BLE001 - every failure ends with one line, and no partial output file
        fail(exc if isinstance(exc, expected_errors(options.service)) else unexpected(exc))
    print(report.summary())
    print(
        f"{report.rows:,} rows written to {options.output} ({report.scored:,} scored + {report.unscored:,} kept "
        f"without a score); {report.malformed_lines:,} malformed records left out"
    )
    for example in report.malformed_examples:
        print(f"  malformed {example}")


if __name__ == "__main__":
    main()
