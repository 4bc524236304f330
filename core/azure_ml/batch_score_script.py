"""Azure ML parallel job entry script: `init()` loads a Bad Buzz run, `run(mini_batch)` scores CSV files.

Azure ML's parallel runner (see core.azure_ml.batch_job) loads this file by path, calls `init()` once per worker
process and `run(mini_batch)` for each mini-batch of input files (a list of paths). Each file is scored by
`core.inference.batch.score_csv`, the code behind `python -m core.score`, into `<scored>/<file name>`: the same rows,
columns and line ends as core.score writes, and every record accounted for (malformed ones counted, with their
line, in the file's summary). `run` returns one JSON line per file (the parallel job appends them to its summary
file, and counts a file without one as failed).

Arguments (the job's program_arguments; the runner adds its own, which are ignored):
    --run RUN_DIR --data INPUT_FOLDER --scored OUTPUT_FOLDER [--manifest JSON] [--text-column NAME] [--chunk-size N]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the code folder that holds `core/`
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# after ROOT is on sys.path
from core.azure_ml.score_script import find_run_dir  # noqa: E402
from core.inference.batch import ScoreReport, make_predictor, score_csv  # noqa: E402

logger = logging.getLogger("badbuzz.batch_score_script")
MANIFEST = "manifest.json"  # what core.azure_ml.batch_job's split wrote: the records it left out, by line
options: argparse.Namespace | None = None
predict = None


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(allow_abbrev=False)
    parser.add_argument("--run", required=True, type=Path)
    parser.add_argument("--data", type=Path, help="the input folder (names the output files by their path in it)")
    parser.add_argument("--scored", required=True, type=Path)
    parser.add_argument("--manifest", type=Path)
    parser.add_argument("--text-column")
    parser.add_argument("--chunk-size", type=int, default=10_000)
    known, _ = parser.parse_known_args(argv)  # the parallel runner passes its own arguments too
    return known


def init(argv: list[str] | None = None) -> None:
    global options, predict
    options = parse_arguments(argv)
    run_dir = find_run_dir(options.run)
    predict = make_predictor(str(run_dir), None, ScoreReport())
    options.scored.mkdir(parents=True, exist_ok=True)
    if options.manifest:  # every worker copies the same file: written aside, then renamed
        tmp = options.scored / f".{MANIFEST}.{os.getpid()}"
        shutil.copyfile(options.manifest, tmp)
        os.replace(tmp, options.scored / MANIFEST)
    logger.info("loaded run %s; scoring into %s", run_dir, options.scored)


def run(mini_batch) -> list[str]:
    """Score each file of the mini-batch; one JSON summary line per file scored."""
    if options is None or predict is None:
        raise RuntimeError("init() has not run")
    lines = []
    for path in map(Path, mini_batch):
        name = output_name(path)
        report = score_csv(path, options.scored / name, predict, options.text_column, options.chunk_size)
        lines.append(json.dumps(part_summary(name, report), sort_keys=True))
        logger.info("%s: %s", name, report.summary())
    return lines


def output_name(path: Path) -> str:
    """The scored file's name: the input's path inside the input folder, `/` as `__` (sub-folders may repeat a
    name); its own name when the folder is unknown."""
    if options is not None and options.data:
        try:
            return "__".join(path.resolve().relative_to(options.data.resolve()).parts)
        except ValueError:
            pass
    return path.name


def part_summary(name: str, report: ScoreReport) -> dict:
    """One file's accounting: records = scored + unscored + malformed."""
    return {
        "file": name,
        "records": report.records,
        "scored": report.scored,
        "unscored": report.unscored,
        "truncated": report.truncated,
        "reasons": dict(report.reasons),
        "malformed": report.malformed_lines,
        "malformed_examples": report.malformed_examples,
        "blank_lines": report.blank_lines,
    }
