"""Run any trainer on an Azure ML compute cluster, as an azure-ai-ml `command` job (the command:
core.commands.azure_job).

    python -m core.commands.azure_job --trainer keras_nn --compute gpu-cluster --data CSV [--dry-run] -- <trainer args>

The job's code is this repository (Azure ML skips what .gitignore lists: .venv, artifacts), its command is the
trainer's own CLI, the data is a job input (a local file is uploaded; azureml:/https:/abfss: URIs are used as
they are), the run folder is the job output `run`, and the environment is an Azure ML base image plus
requirements.txt. `--data`/`--output` may also come after `--` (that is how the dashboard calls it): --data
becomes the input, --output is replaced by the job output. `--dry-run` prints the job spec and submits nothing.

Beyond one machine: `--instance-count N --gpus-per-node G` runs the transformer trainer with Azure ML's PyTorch
distribution: G processes on each of N nodes, each given RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and
MASTER_PORT (what torchrun sets), so the trainer's own command runs unchanged in every process. Inside the job
MLFLOW_TRACKING_URI points at the workspace: the trainers log to MLflow too (core.tracking.mlflow_log), so the
run shows in Azure ML studio; the environment adds azureml-mlflow for that.
"""

from __future__ import annotations

import logging
import re
import shlex
from pathlib import Path

from core.azure.workspace import environment
from core.config import PROJECT_ROOT
from core.training.registry import trainer as trainer_spec
from core.training.registry import trainer_names, trainers

# the `azureml://` MLflow tracking store: only the job environment needs it (pinned: mlflow-skinny stays 3.1.4)
JOB_ONLY_PINS = ("azureml-mlflow==1.62.0.post6",)
REMOTE_URI = re.compile(r"^(azureml|https?|abfss?|wasbs?|adl)://|^azureml:", re.I)
DOWNLOADED_DATA = "sentiment140"  # the trainers download the official set themselves

log = logging.getLogger(__name__)


def distributed_trainers() -> tuple[str, ...]:
    """The trainers that run distributed (one process per GPU, rank from the environment); the others train in
    one process and would only repeat the same work on every node."""
    return tuple(spec.module_name for spec in trainers().values() if spec.distributed)


def available_trainers() -> list[str]:
    """The names --trainer takes: each registered trainer's key or module name (keras, keras_nn)."""
    return trainer_names()


def split_trainer_args(trainer_args: list[str]) -> tuple[str | None, list[str]]:
    """Take --data out of the trainer's arguments (it becomes the job input) and drop --output."""
    data, rest, i = None, [], 0
    while i < len(trainer_args):
        arg = trainer_args[i]
        name, eq, value = arg.partition("=")
        if name in ("--data", "--output"):
            if not eq:
                if i + 1 >= len(trainer_args):
                    raise ValueError(f"{name} needs a value")
                value, i = trainer_args[i + 1], i + 1
            if name == "--data":
                data = value
        else:
            rest.append(arg)
        i += 1
    return data, rest


def data_input(data: str):
    from azure.ai.ml import Input

    if REMOTE_URI.match(data):
        return Input(type="uri_folder" if data.endswith("/") else "uri_file", path=data)
    path = Path(data).expanduser().resolve()
    if not path.exists():
        raise FileNotFoundError(f"data not found: {data} (give a local file, or an azureml:// or https:// URI)")
    return Input(type="uri_folder" if path.is_dir() else "uri_file", path=str(path))


def job_data(data: str | None) -> tuple[dict, str]:
    """(the job's inputs, what the trainer's --data says): a file or URI becomes the input `data`; the
    'sentiment140' keyword stays a word (the trainer downloads the official set)."""
    if not data:
        raise ValueError("no data: pass --data (a CSV/zip, or an azureml:// URI)")
    if data == DOWNLOADED_DATA:
        return {}, data
    return {"data": data_input(data)}, "${{inputs.data}}"


def build_job(
    trainer: str,
    trainer_args: list[str],
    compute: str,
    data: str | None = None,
    experiment: str = "bad-buzz",
    gpu: bool = True,
    image: str | None = None,
    requirements: Path | None = None,
    display_name: str | None = None,
    instance_count: int = 1,
    gpus_per_node: int = 1,
):
    """The azure-ai-ml command job for `python -m trainers.<trainer> ...` on `compute` (no network call);
    distributed over `instance_count` nodes x `gpus_per_node` processes when either is above 1."""
    from azure.ai.ml import Output, command

    try:
        spec = trainer_spec(trainer)
    except KeyError as exc:
        raise ValueError(exc.args[0]) from None
    if not compute:
        raise ValueError("--compute is required: the name of an Azure ML compute cluster")
    distribution = pytorch_distribution(spec.key, instance_count, gpus_per_node, gpu)
    data_in_args, rest = split_trainer_args(list(trainer_args))
    inputs, data_ref = job_data(data or data_in_args)
    cmd = " ".join(
        [f"python -m {spec.module} --data {data_ref} --output ${{{{outputs.run}}}}", *(shlex.quote(a) for a in rest)]
    )
    return command(
        code=str(PROJECT_ROOT),
        command=cmd,
        inputs=inputs,
        outputs={"run": Output(type="uri_folder")},
        environment=job_environment(gpu=gpu, requirements=requirements, image=image),
        compute=compute,
        instance_count=instance_count,
        distribution=distribution,
        experiment_name=experiment,
        display_name=display_name or f"{trainer} on {compute}{scale_name(instance_count, gpus_per_node)}",
        environment_variables={"PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2"},
        tags={"project": "bad-buzz", "trainer": spec.module_name},
    )


def pytorch_distribution(trainer_key: str, instance_count: int, gpus_per_node: int, gpu: bool = True):
    """PyTorchDistribution(process_count_per_instance=gpus_per_node) for a distributed request, None for one
    process on one node; ValueError for a request that makes no sense."""
    from azure.ai.ml import PyTorchDistribution

    if instance_count < 1 or gpus_per_node < 1:
        raise ValueError("--instance-count and --gpus-per-node must be at least 1")
    if instance_count == 1 and gpus_per_node == 1:
        return None
    distributed = distributed_trainers()
    if trainer_key not in distributed:
        raise ValueError(
            f"the {trainer_key} trainer runs in one process: --instance-count and --gpus-per-node above 1 are for "
            f"{', '.join(distributed)}"
        )
    if not gpu and gpus_per_node > 1:
        raise ValueError("--gpus-per-node above 1 needs GPU nodes and the CUDA image: drop --cpu")
    return PyTorchDistribution(process_count_per_instance=gpus_per_node)


def scale_name(instance_count: int, gpus_per_node: int) -> str:
    return f" ({instance_count} x {gpus_per_node} GPUs)" if instance_count * gpus_per_node > 1 else ""


def job_environment(gpu: bool, requirements: Path | None = None, image: str | None = None):
    """The project's environment (core.azure.workspace) plus what only a job needs (JOB_ONLY_PINS)."""
    env = environment(gpu=gpu, requirements=requirements, image=image)
    pins = env.conda_file["dependencies"][-1]["pip"]
    taken = {pin.split("==")[0].lower() for pin in pins}
    pins += [pin for pin in JOB_ONLY_PINS if pin.split("==")[0].lower() not in taken]
    return env


def submit(job, client, stream: bool = False, download: Path | None = None):
    """Submit the job; optionally follow its logs and download the run folder when it ends."""
    created = client.jobs.create_or_update(job)
    # the dashboard's launcher looks for "submitted job" in the log (core.training.launcher._submitted)
    log.info("submitted job %s (experiment %s); status %s", created.name, created.experiment_name, created.status)
    log.info("studio: %s", created.studio_url)
    if stream or download:
        client.jobs.stream(created.name)
    if download:
        client.jobs.download(created.name, download_path=str(download), output_name="run")
        log.info("run folder downloaded under %s/named-outputs/run", download)
    return created
