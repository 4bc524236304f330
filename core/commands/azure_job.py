"""Run any trainer on an Azure ML compute cluster, as an azure-ai-ml `command` job (core.azure_ml.jobs).

    python -m core.commands.azure_job --trainer keras_nn --compute gpu-cluster --data CSV [--dry-run] -- <trainer args>

The job's code is this repository (Azure ML skips what .gitignore lists: .venv, artifacts), its command is the
trainer's own CLI, the data is a job input (a local file is uploaded; azureml:/https:/abfss: URIs are used as
they are), the run folder is the job output `run`. `--data`/`--output` may also come after `--` (that is how the
dashboard calls it): --data becomes the input, --output is replaced by the job output. `--dry-run` prints the job
spec and submits nothing. `--instance-count N --gpus-per-node G` runs the transformer trainer with Azure ML's
PyTorch distribution (docs/azure.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.azure.errors import ServiceError
from core.azure.workspace import WorkspaceOptions, dump_yaml, ml_client, quiet_sdk_logs
from core.azure_ml.jobs import REMOTE_URI, available_trainers, build_job, submit
from core.cli.fields import option
from core.cli.parser import expected_failures, fail, parse_options
from core.logs import configure_cli_logging


@dataclass(kw_only=True)
class AzureJobOptions(WorkspaceOptions):
    trainer: str = option(help=f"one of: {', '.join(available_trainers())}")
    compute: str = option(help="name of an Azure ML compute cluster (GPU or CPU)")
    data: str | None = option(None, "training data: local CSV/zip (uploaded), azureml:// or https:// URI")
    experiment: str = option("bad-buzz", "Azure ML experiment name")
    cpu: bool = option(False, "CPU base image instead of the CUDA one")
    image: str | None = option(None, "another base image")
    requirements: Path | None = option(None, "pip requirements for the environment (default: requirements.txt)")
    instance_count: int = option(1, "nodes (transformer: distributed with PyTorch)")
    gpus_per_node: int = option(1, "processes per node, one per GPU (transformer)")
    dry_run: bool = option(False, "print the job spec, submit nothing")
    stream: bool = option(False, "follow the job's logs until it ends")
    download: Path | None = option(None, "after the job, download its run folder into this folder")


def split_argv(argv: list[str]) -> tuple[list[str], list[str]]:
    """(this command's arguments, the trainer's: what follows `--`)."""
    if "--" not in argv:
        return argv, []
    at = argv.index("--")
    return argv[:at], argv[at + 1 :]


def main(argv: list[str] | None = None):
    import sys

    own, trainer_args = split_argv(sys.argv[1:] if argv is None else list(argv))
    options = parse_options(AzureJobOptions, own, __doc__)
    configure_cli_logging()
    quiet_sdk_logs()
    with expected_failures(ValueError, FileNotFoundError):
        job = build_job(
            options.trainer,
            trainer_args,
            options.compute,
            data=options.data,
            experiment=options.experiment,
            gpu=not options.cpu,
            image=options.image,
            requirements=options.requirements,
            instance_count=options.instance_count,
            gpus_per_node=options.gpus_per_node,
        )
    if options.dry_run:
        uploads = [f"code {job.code}"] + [
            f"input {name} {i.path}" for name, i in job.inputs.items() if not REMOTE_URI.match(str(i.path))
        ]
        print(f"# dry run: nothing submitted. Uploaded at submission: {'; '.join(uploads)}")
        print(f"# command: {job.command}")
        print(dump_yaml(job))
        return job
    try:
        return submit(job, ml_client(options), stream=options.stream, download=options.download)
    except ServiceError as exc:
        fail(exc)
    except Exception as exc:  # noqa: BLE001 - the SDK's auth / validation / HTTP errors: one clear line
        fail(f"Azure ML refused the job: {type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}")


if __name__ == "__main__":
    main()
