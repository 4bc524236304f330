"""What the Azure ML commands share: the workspace client and the environment built from requirements.txt."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from core.azure.errors import ServiceError
from core.cli.fields import option
from core.config import PROJECT_ROOT

CPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"
GPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-cuda11.8-cudnn8-ubuntu22.04:latest"
PYTHON = "3.11"
WORKSPACE_SETTINGS = (
    ("subscription", "AZURE_SUBSCRIPTION_ID"),
    ("resource_group", "AZURE_RESOURCE_GROUP"),
    ("workspace", "AZUREML_WORKSPACE_NAME"),
)


def quiet_sdk_logs() -> None:
    """azure-ai-ml announces every experimental schema class it loads; keep command output readable."""
    import azure.ai.ml  # noqa: F401  (its modules give their loggers their own levels on import)

    for name in ["azure.ai.ml", *logging.root.manager.loggerDict]:
        if name.startswith("azure.ai.ml"):
            logging.getLogger(name).setLevel(logging.ERROR)


WORKSPACE_GROUP = (
    "Azure ML workspace (default: environment variables, then .azureml/config.json or config.json found upwards "
    "from here)"
)


@dataclass(kw_only=True)
class WorkspaceOptions:
    """The workspace options every Azure ML command takes (its options dataclass extends this one); one left out
    is read from its environment variable, then from config.json (ml_client)."""

    subscription: str | None = option(None, "(env AZURE_SUBSCRIPTION_ID)", group=WORKSPACE_GROUP)
    resource_group: str | None = option(None, "(env AZURE_RESOURCE_GROUP)", group=WORKSPACE_GROUP)
    workspace: str | None = option(None, "(env AZUREML_WORKSPACE_NAME)", group=WORKSPACE_GROUP)


def ml_client(args: WorkspaceOptions, credential=None):
    """An MLClient for the workspace named by the options / environment / config.json, signed in with
    DefaultAzureCredential (az login, managed identity, or AZURE_CLIENT_ID/SECRET/TENANT_ID)."""
    from azure.ai.ml import MLClient
    from azure.identity import DefaultAzureCredential

    credential = credential or DefaultAzureCredential()
    values = {dest: getattr(args, dest, None) or os.environ.get(env) for dest, env in WORKSPACE_SETTINGS}
    if all(values.values()):
        return MLClient(credential, values["subscription"], values["resource_group"], values["workspace"])
    try:
        return MLClient.from_config(credential=credential)
    except Exception as exc:  # the SDK raises its own ValidationException when no config.json is found
        missing = [env for dest, env in WORKSPACE_SETTINGS if not values[dest]]
        raise ServiceError(
            f"no Azure ML workspace given: set {', '.join(missing)} (or pass --subscription "
            f"--resource-group --workspace), or download the workspace's config.json "
            f"({type(exc).__name__})"
        ) from None


def requirement_pins(requirements: Path) -> list[str]:
    lines = []
    for raw in Path(requirements).read_text().splitlines():
        line = raw.split(" #")[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def environment(gpu: bool, requirements: Path | None = None, image: str | None = None):
    """An Azure ML environment: an Azure ML base image + a conda file with this project's pinned requirements."""
    from azure.ai.ml.entities import Environment

    requirements = Path(requirements or PROJECT_ROOT / "requirements.txt")
    conda = {
        "name": "bad-buzz",
        "channels": ["conda-forge"],
        "dependencies": [f"python={PYTHON}", "pip", {"pip": requirement_pins(requirements)}],
    }
    return Environment(
        name=f"bad-buzz-{'gpu' if gpu else 'cpu'}",
        image=image or (GPU_IMAGE if gpu else CPU_IMAGE),
        conda_file=conda,
        description=f"Bad Buzz, from {requirements.name}",
    )


def dump_yaml(entity) -> str:
    """The entity as Azure ML YAML (some entities write to the stream, endpoints only return a dict)."""
    import io

    import yaml

    buffer = io.StringIO()
    returned = entity.dump(buffer)
    return buffer.getvalue() or yaml.safe_dump(dict(returned or {}), sort_keys=False)
