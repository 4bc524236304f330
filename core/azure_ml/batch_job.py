"""Score a large CSV with any run folder on an Azure ML cluster, in parallel: an Azure ML parallel job (the
command: core.commands.azure_batch_job).

    python -m core.commands.azure_batch_job --run RUN_DIR --data CSV --compute NAME [--instance-count N]
        [--processes-per-node P] [--mini-batch-size FILES] [--part-rows R] [--text-column NAME] [--dry-run]
        [--stream] [--download DIR]

Mini-batches of files, not of rows: a local CSV is first cut here into parts of `--part-rows` records
(`parts/part-00000.csv`, ...) by core.data.csv_reader, the reader core.score uses, so each part is a clean UTF-8
CSV with the file's header and its records unchanged, and the records the reader cannot use are counted with
their line in the original file (`manifest.json`). The parts folder is uploaded as a uri_folder input; the
parallel job hands `--mini-batch-size` parts at a time to core/azure_ml/batch_score_script.py, which scores each with
core.inference.batch.score_csv into the output folder `scored` (the run folder is the uri_folder input `run`).
Tabular mini-batches (an MLTable input) would parse the CSV with another reader: quoted line breaks, malformed
records and encodings would not be counted the way core.score counts them, and the rows could come back in
another order. A folder or an azureml:// URI is taken as parts already made (each file scored as it is).

Every record is accounted for: a part that cannot be scored fails the job (error_threshold 0, after retries)
rather than leaving rows out. `--download DIR` waits for the job, downloads `scored` and the summary, and joins the
parts into `DIR/scored.csv`: the rows and columns `python -m core.score` writes for the same file, with the same
accounting line. `--dry-run` cuts the parts, prints the job spec and submits nothing.
"""

from __future__ import annotations

import csv
import json
import logging
import shlex
from collections import Counter
from datetime import UTC
from pathlib import Path

from core.azure.workspace import environment
from core.azure_ml.deploy import check_run
from core.azure_ml.jobs import REMOTE_URI
from core.config import PROJECT_ROOT, artifacts_dir
from core.data.csv_reader import open_csv
from core.inference.batch import LINE_END, accounting_line
from core.training.registry import local_kinds

ENTRY_SCRIPT = "core/azure_ml/batch_score_script.py"
MANIFEST = "manifest.json"
SUMMARY_FILE = "parallel_run_step.txt"  # where the parallel job appends run()'s lines (append_row_to)
PART_ROWS = 100_000
RETRIES = 2  # a mini-batch that fails is tried again twice, then the job fails (error_threshold 0)
MINI_BATCH_TIMEOUT_S = 3600  # one run() call: a 100,000-row part with a transformer on a CPU takes minutes

log = logging.getLogger(__name__)


# ---------------------------------------------------------------- the parts


def split_into_parts(source: Path, staging: Path, part_rows: int = PART_ROWS, text_column: str | None = None) -> dict:
    """Cut `source` into `staging/parts/part-NNNNN.csv` (header + `part_rows` records each, UTF-8, CRLF) and write
    `staging/manifest.json`: what was read, the malformed records (line in `source`), and each part's lines."""
    parts_dir = staging / "parts"
    parts_dir.mkdir(parents=True, exist_ok=True)
    parts = []
    with open_csv(source) as table:
        table.column(text_column)  # no text column: refused now, not on the cluster
        for number, frame in enumerate(table.frames(part_rows)):
            name = f"part-{number:05d}.csv"
            with open(parts_dir / name, "w", encoding="utf-8", newline="") as out:
                csv.writer(out, lineterminator=LINE_END).writerow(table.layout.columns)
                frame.to_csv(out, header=False, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator=LINE_END)
            parts.append({"file": name, "rows": len(frame), "lines": [int(frame.index[0]), int(frame.index[-1])]})
        report = table.report
    manifest = {
        "source": Path(source).name,
        "encoding": report.encoding,
        "layout": table.layout.kind,
        "records": report.records,
        "rows": report.rows,
        "malformed": report.malformed,
        "malformed_examples": report.malformed_examples,
        "malformed_where": report.malformed_lines_text(),
        "blank_lines": report.blank_lines,
        "parts": parts,
    }
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return manifest


def merge_scored(scored: Path, output: Path) -> int:
    """Join the scored parts (in name order) into one CSV with one header: core.score's output for the whole file.
    Returns the number of parts."""
    parts = sorted(p for p in Path(scored).glob("*.csv") if not p.name.startswith("."))
    if not parts:
        raise FileNotFoundError(f"no scored CSV parts in {scored}")
    tmp = output.with_name(f".{output.name}.part")
    with open(tmp, "wb") as out:
        for i, part in enumerate(parts):
            data = part.read_bytes()
            header, _, body = data.partition(LINE_END.encode())
            if i == 0:
                out.write(header + LINE_END.encode())
            out.write(body)
    tmp.replace(output)
    return len(parts)


def job_accounting(summaries: list[dict], manifest: dict | None = None) -> str:
    """core.score's accounting line for the whole input: the split's malformed records plus each part's counts."""
    reasons: Counter = Counter()
    for summary in summaries:
        reasons.update(summary.get("reasons") or {})
    scored = sum(s["scored"] for s in summaries)
    malformed = sum(s["malformed"] for s in summaries)
    records = sum(s["records"] for s in summaries)
    where = ", ".join(e.split(":", 1)[0] for s in summaries for e in s.get("malformed_examples", []))
    if manifest:
        records += manifest["malformed"]
        malformed += manifest["malformed"]
        where = manifest["malformed_where"] if manifest["malformed"] else where
    truncated = sum(s.get("truncated", 0) for s in summaries)
    return accounting_line(records, scored, reasons, malformed, where, truncated)


def read_summaries(path: Path) -> list[dict]:
    """The JSON lines run() returned, as the parallel job appended them (any order)."""
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


# ---------------------------------------------------------------- the job


def build_batch_job(
    run_dir: Path,
    data: str,
    compute: str,
    manifest: Path | None = None,
    instance_count: int = 1,
    processes_per_node: int = 1,
    mini_batch_size: int = 1,
    text_column: str | None = None,
    gpu: bool = False,
    experiment: str = "bad-buzz",
    requirements: Path | None = None,
):
    """A pipeline job with one parallel step, `score` (no network call)."""
    from azure.ai.ml import Input, dsl

    check_scale(instance_count, processes_per_node, mini_batch_size)
    if not compute:
        raise ValueError("--compute is required: the name of an Azure ML compute cluster")
    step = scoring_step(manifest is not None, text_column, gpu, requirements)
    # parallelism: nodes x processes per node, each process scoring `mini_batch_size` part files at a time
    step.resources = {"instance_count": instance_count}
    step.max_concurrency_per_instance = processes_per_node
    step.mini_batch_size = str(mini_batch_size)
    inputs = {
        "data": Input(type="uri_folder", path=str(data), mode="ro_mount"),
        "run": Input(type="uri_folder", path=str(run_dir)),
    }
    if manifest is not None:
        inputs["manifest"] = Input(type="uri_file", path=str(manifest))

    @dsl.pipeline(
        name="badbuzz_batch_scoring",
        compute=compute,
        experiment_name=experiment,
        display_name=f"score {Path(str(data)).name} with {Path(run_dir).name} on {compute}",
        tags={"project": "bad-buzz", "run": Path(run_dir).name},
    )
    def batch_scoring():
        score = step(**inputs)
        score.name = "score"
        return {"scored": score.outputs.scored, "summary": score.outputs.summary}

    return batch_scoring()


def check_scale(instance_count: int, processes_per_node: int, mini_batch_size: int, part_rows: int = 1) -> None:
    if min(instance_count, processes_per_node, mini_batch_size, part_rows) < 1:
        raise ValueError("--instance-count, --processes-per-node, --mini-batch-size and --part-rows must be at least 1")


def scoring_step(with_manifest: bool, text_column: str | None, gpu: bool, requirements: Path | None):
    """The parallel component: the entry script on each part file, one JSON summary line per file."""
    from azure.ai.ml import Input, Output
    from azure.ai.ml.entities._job.parallel.retry_settings import RetrySettings
    from azure.ai.ml.parallel import RunFunction, parallel_run_function

    arguments = "--run ${{inputs.run}} --data ${{inputs.data}} --scored ${{outputs.scored}}"
    arguments += " --manifest ${{inputs.manifest}}" if with_manifest else ""
    arguments += f" --text-column {shlex.quote(text_column)}" if text_column else ""
    inputs = {"data": Input(type="uri_folder", mode="ro_mount"), "run": Input(type="uri_folder")}
    if with_manifest:
        inputs["manifest"] = Input(type="uri_file")
    return parallel_run_function(
        name="badbuzz_batch_score",
        display_name="Bad Buzz batch scoring",
        inputs=inputs,
        outputs={"scored": Output(type="uri_folder", mode="rw_mount"), "summary": Output(type="uri_folder")},
        input_data="${{inputs.data}}",
        error_threshold=0,  # a part that cannot be scored fails the job: no row is left out silently
        mini_batch_error_threshold=0,
        retry_settings=RetrySettings(max_retries=RETRIES, timeout=MINI_BATCH_TIMEOUT_S),
        logging_level="INFO",
        environment_variables={"PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2"},
        task=RunFunction(
            code=str(PROJECT_ROOT),
            entry_script=ENTRY_SCRIPT,
            program_arguments=arguments,
            environment=environment(gpu=gpu, requirements=requirements),
            append_row_to="${{outputs.summary}}",
        ),
    )


def stage_data(data: str, staging: Path, part_rows: int, text_column: str | None) -> tuple[str, Path | None]:
    """(the job's data folder, its manifest or None): a local CSV is cut into parts under `staging`; a local
    folder or a remote URI is taken as parts already made."""
    if REMOTE_URI.match(data):
        return data, None
    path = Path(data).expanduser()
    if path.is_dir():
        return str(path.resolve()), None
    if not path.is_file():
        raise FileNotFoundError(f"data not found: {data} (give a CSV file, a folder of CSV parts or an azureml:// URI)")
    manifest = split_into_parts(path, staging, part_rows, text_column)
    log.info(
        "%s: %d part(s) of up to %s records in %s (%s records, %s malformed left out: %s)",
        path.name,
        len(manifest["parts"]),
        f"{part_rows:,}",
        staging / "parts",
        f"{manifest['records']:,}",
        f"{manifest['malformed']:,}",
        manifest["malformed_where"] or "none",
    )
    return str((staging / "parts").resolve()), (staging / MANIFEST).resolve()


def default_staging(data: str) -> Path:
    from datetime import datetime

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return artifacts_dir() / "azure-batch" / f"{Path(data).stem}-{stamp}"


def collect(download: Path) -> None:
    """After --download: join the scored parts into DIR/scored.csv and print core.score's accounting line."""
    outputs = download / "named-outputs"
    scored = outputs / "scored"
    manifest_path = scored / MANIFEST
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.is_file() else None
    parts = merge_scored(scored, download / "scored.csv")
    # the runner names its append_row file (SUMMARY_FILE by default): read whatever it wrote there
    summaries = [row for path in sorted((outputs / "summary").glob("*")) for row in read_summaries(path)]
    print(job_accounting(summaries, manifest))
    print(f"{parts} scored parts joined into {download / 'scored.csv'}")


def prepare(args):
    """The job for the command line (the parts cut first); ValueError and the like for a bad request."""
    check_scale(args.instance_count, args.processes_per_node, args.mini_batch_size, args.part_rows)
    meta = check_run(args.run.resolve())
    spec = local_kinds().get(meta.get("kind"))
    data, manifest = stage_data(args.data, args.staging or default_staging(args.data), args.part_rows, args.text_column)
    return build_batch_job(
        args.run.resolve(),
        data,
        args.compute,
        manifest=manifest,
        instance_count=args.instance_count,
        processes_per_node=args.processes_per_node,
        mini_batch_size=args.mini_batch_size,
        text_column=args.text_column,
        gpu=bool(spec and spec.gpu) and not args.cpu,
        experiment=args.experiment,
    )


def submit(job, client, stream: bool):
    created = client.jobs.create_or_update(job)
    log.info("submitted job %s (experiment %s); status %s", created.name, created.experiment_name, created.status)
    log.info("studio: %s", created.studio_url)
    if stream:
        client.jobs.stream(created.name)
    return created
