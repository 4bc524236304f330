"""Score a large CSV with any run folder on an Azure ML cluster, in parallel: an Azure ML parallel job
(core.azure_ml.batch_job).

    python -m core.commands.azure_batch_job --run RUN_DIR --data CSV --compute NAME [--instance-count N]
        [--processes-per-node P] [--mini-batch-size FILES] [--part-rows R] [--text-column NAME] [--dry-run]
        [--stream] [--download DIR]

A local CSV is cut here into parts of `--part-rows` records by the reader core.score uses; the parallel job scores
each part with core.inference.batch.score_csv. `--download DIR` waits for the job, downloads the scored parts and
joins them into `DIR/scored.csv`, with the accounting line core.score prints. `--dry-run` cuts the parts, prints
the job spec and submits nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.azure.errors import ServiceError
from core.azure.workspace import WorkspaceOptions, dump_yaml, ml_client, quiet_sdk_logs
from core.azure_ml.batch_job import PART_ROWS, collect, prepare, submit
from core.azure_ml.jobs import REMOTE_URI
from core.cli.fields import option
from core.cli.parser import expected_failures, fail, parse_options
from core.config import PROJECT_ROOT
from core.data.csv_reader import CsvFormatError
from core.logs import configure_cli_logging


@dataclass(kw_only=True)
class AzureBatchJobOptions(WorkspaceOptions):
    run: Path = option(help="a run folder (any local run kind)")
    data: str = option(help="a CSV (cut into parts here), a folder of parts, or a URI")
    compute: str = option(help="name of an Azure ML compute cluster")
    instance_count: int = option(1, "nodes")
    processes_per_node: int = option(1, "scoring processes per node")
    mini_batch_size: int = option(1, "part files per mini-batch")
    part_rows: int = option(PART_ROWS, "records per part")
    text_column: str | None = option(None, "the column to score (default: as core.score finds it)")
    staging: Path | None = option(None, "where the parts are written (default: under artifacts/)")
    experiment: str = option("bad-buzz", "Azure ML experiment name")
    cpu: bool = option(False, "the CPU image even for a transformer or Keras run")
    dry_run: bool = option(False, "cut the parts, print the job spec, submit nothing")
    stream: bool = option(False, "follow the job's logs until it ends")
    download: Path | None = option(None, "wait, download, join into DIR/scored.csv")


def main(argv: list[str] | None = None):
    options = parse_options(AzureBatchJobOptions, argv, __doc__)
    configure_cli_logging()
    quiet_sdk_logs()
    with expected_failures(ValueError, OSError, CsvFormatError):
        job = prepare(options)
    if options.dry_run:
        uploads = [
            f"{name} {i.path}"
            for name, i in job.jobs["score"].inputs.items()
            if i.path and not REMOTE_URI.match(str(i.path))
        ]
        print(f"# dry run: nothing submitted. Uploaded at submission: code {PROJECT_ROOT}; {'; '.join(uploads)}")
        print(dump_yaml(job))
        return job
    try:
        client = ml_client(options)
        created = submit(job, client, options.stream or bool(options.download))
        if options.download:
            client.jobs.download(created.name, download_path=str(options.download), all=True)
            collect(options.download)
        return created
    except ServiceError as exc:
        fail(exc)
    except Exception as exc:  # noqa: BLE001 - the SDK's auth / validation / HTTP errors: one clear line
        fail(f"Azure ML refused the job: {type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}")


if __name__ == "__main__":
    main()
