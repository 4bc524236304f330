"""Deploy a run as an Azure ML managed online endpoint (azure-ai-ml v2), and print its scoring URI (the command:
core.commands.azure_deploy).

    python -m core.commands.azure_deploy --run artifacts/runs/distilbert --endpoint badbuzz-sentiment \
        [--deployment blue] [--instance-type Standard_DS3_v2] [--instance-count 1] [--traffic 100] [--dry-run]

Creates (or updates) a key-authenticated ManagedOnlineEndpoint, registers the run folder as a custom model,
creates a ManagedOnlineDeployment running core/azure_ml/score_script.py in an environment built from
requirements.txt, then routes --traffic percent of the endpoint's traffic to it. The key is never printed: read
it with `az ml online-endpoint get-credentials` and store it as AZURE_ML_ENDPOINT_KEY (environment, secrets.toml
or Key Vault). An endpoint is billed per instance hour for as long as it exists.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from core.azure.workspace import environment
from core.config import PROJECT_ROOT
from core.pricing import instance_hourly_usd, load_pricing
from core.run_kinds import is_cloud
from core.tracking.runs import read_json

ENDPOINT_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{1,30}[a-zA-Z0-9]$")
SCORING_SCRIPT = "core/azure_ml/score_script.py"
HOURS_PER_MONTH = 730

log = logging.getLogger(__name__)


def check_run(run_dir: Path) -> dict:
    meta = read_json(run_dir / "run.json")
    if not isinstance(meta, dict):
        raise ValueError(f"{run_dir} is not a run folder (no readable run.json)")
    if meta.get("status") != "succeeded":
        raise ValueError(f"run {run_dir.name} is {meta.get('status')}, not succeeded")
    if is_cloud(meta.get("kind")):
        raise ValueError(f"run {run_dir.name} is an {meta['kind']} evaluation: deploy a locally trained run")
    return meta


def model_name(run_id: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_-]+", "-", f"badbuzz-{run_id}")[:250]


def build_deployment(
    run_dir: Path,
    endpoint: str,
    deployment: str = "blue",
    instance_type: str | None = None,
    instance_count: int = 1,
    gpu: bool = False,
    requirements: Path | None = None,
):
    """(endpoint, deployment) entities for this run; no network call."""
    from azure.ai.ml.constants import AssetTypes
    from azure.ai.ml.entities import (
        CodeConfiguration,
        ManagedOnlineDeployment,
        ManagedOnlineEndpoint,
        Model,
        OnlineRequestSettings,
    )

    run_dir = Path(run_dir).resolve()
    meta = check_run(run_dir)
    if not ENDPOINT_NAME.match(endpoint):
        raise ValueError(f"endpoint name {endpoint!r}: 3-32 letters, digits or '-', starting with a letter")
    if not ENDPOINT_NAME.match(deployment):
        raise ValueError(f"deployment name {deployment!r}: 3-32 letters, digits or '-', starting with a letter")
    if instance_count < 1:
        raise ValueError("--instance-count must be at least 1")
    instance_type = instance_type or load_pricing()["defaults"]["endpoint_instance"]
    online_endpoint = ManagedOnlineEndpoint(
        name=endpoint, auth_mode="key", description="Bad Buzz tweet sentiment", tags={"project": "bad-buzz"}
    )
    model = Model(
        path=str(run_dir),
        type=AssetTypes.CUSTOM_MODEL,
        name=model_name(meta.get("id", run_dir.name)),
        description=f"{meta.get('approach', meta.get('kind'))} (Bad Buzz run {meta.get('id')})",
        tags={"kind": str(meta.get("kind")), "run": str(meta.get("id"))},
    )
    online_deployment = ManagedOnlineDeployment(
        name=deployment,
        endpoint_name=endpoint,
        model=model,
        environment=environment(gpu=gpu, requirements=requirements),
        code_configuration=CodeConfiguration(code=str(PROJECT_ROOT), scoring_script=SCORING_SCRIPT),
        instance_type=instance_type,
        instance_count=instance_count,
        request_settings=OnlineRequestSettings(request_timeout_ms=60_000),
        environment_variables={"TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    return online_endpoint, online_deployment


def traffic_split(current: dict | None, deployment: str, percent: int) -> dict:
    """`percent` to this deployment; the rest keeps the other deployments' proportions (sums to 100)."""
    if not 0 <= percent <= 100:
        raise ValueError("--traffic is a percentage, 0 to 100")
    others = {name: share for name, share in (current or {}).items() if name != deployment}
    total = sum(others.values())
    if percent == 100 or total == 0:
        if 0 < percent < 100:
            raise ValueError(f"no other deployment carries traffic to take the other {100 - percent}%")
        return {deployment: percent, **{name: 0 for name in others}}
    split = {name: share * (100 - percent) // total for name, share in others.items()}
    split[max(others, key=others.get)] += 100 - percent - sum(split.values())
    return {deployment: percent, **split}


def hourly_cost_line(instance_type: str, count: int) -> str:
    hourly = instance_hourly_usd(instance_type)
    if hourly is None:
        return f"{instance_type} is not in core/pricing.json: cost unknown"
    pricing = load_pricing()
    return (
        f"{count} x {instance_type} ≈ ${hourly * count:.3f}/hour ≈ ${hourly * count * HOURS_PER_MONTH:,.0f}/month "
        f"while the deployment exists ({pricing.get('azure_ml_source', '')}, {pricing.get('azure_ml_as_of', '')})"
    )


def deploy(client, online_endpoint, online_deployment, traffic: int) -> str:
    log.info("creating endpoint %s (key auth)...", online_endpoint.name)
    client.online_endpoints.begin_create_or_update(online_endpoint).result()
    log.info(
        "creating deployment %s on %s (image build + start: often 10-20 minutes)...",
        online_deployment.name,
        online_deployment.instance_type,
    )
    client.online_deployments.begin_create_or_update(online_deployment).result()
    current = client.online_endpoints.get(online_endpoint.name)
    current.traffic = traffic_split(current.traffic, online_deployment.name, traffic)
    client.online_endpoints.begin_create_or_update(current).result()
    final = client.online_endpoints.get(online_endpoint.name)
    log.info("traffic: %s", final.traffic)
    return final.scoring_uri
