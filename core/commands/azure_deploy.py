"""Deploy a run as an Azure ML managed online endpoint (azure-ai-ml v2), and print its scoring URI
(core.azure_ml.deploy).

    python -m core.commands.azure_deploy --run artifacts/runs/distilbert --endpoint badbuzz-sentiment \
        [--deployment blue] [--instance-type Standard_DS3_v2] [--instance-count 1] [--traffic 100] [--dry-run]

Creates (or updates) a key-authenticated ManagedOnlineEndpoint, registers the run folder as a custom model,
creates a ManagedOnlineDeployment running core/azure_ml/score_script.py in an environment built from
requirements.txt, then routes --traffic percent of the endpoint's traffic to it. The key is never printed: read
it with `az ml online-endpoint get-credentials` and store it as AZURE_ML_ENDPOINT_KEY (environment, secrets.toml
or Key Vault). An endpoint is billed per instance hour for as long as it exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.azure.errors import ServiceError
from core.azure.workspace import WorkspaceOptions, dump_yaml, ml_client, quiet_sdk_logs
from core.azure_ml.deploy import build_deployment, deploy, hourly_cost_line
from core.cli.fields import option
from core.cli.parser import expected_failures, fail, parse_options
from core.logs import configure_cli_logging


@dataclass(kw_only=True)
class AzureDeployOptions(WorkspaceOptions):
    run: Path = option(help="run folder to deploy (any local run kind)")
    endpoint: str = option(help="endpoint name, unique in the Azure region")
    deployment: str = option("blue", "deployment name")
    instance_type: str | None = option(None, "VM size (default: pricing.json defaults.endpoint_instance)")
    instance_count: int = option(1, "instances behind the endpoint")
    traffic: int = option(100, "percent of the endpoint's traffic to send here")
    gpu: bool = option(False, "CUDA base image (for GPU instance types)")
    requirements: Path | None = option(None, "pip requirements (default: requirements.txt)")
    dry_run: bool = option(False, "print the endpoint and deployment specs only")

    def __post_init__(self) -> None:
        if not 0 <= self.traffic <= 100:
            raise ValueError("--traffic is a percentage, 0 to 100")


def main(argv: list[str] | None = None):
    options = parse_options(AzureDeployOptions, argv, __doc__)
    configure_cli_logging()
    quiet_sdk_logs()
    with expected_failures(ValueError):
        online_endpoint, online_deployment = build_deployment(
            options.run,
            options.endpoint,
            options.deployment,
            options.instance_type,
            options.instance_count,
            options.gpu,
            options.requirements,
        )
    print(f"cost: {hourly_cost_line(online_deployment.instance_type, online_deployment.instance_count)}")
    if options.dry_run:
        print("# dry run: nothing created")
        print(dump_yaml(online_endpoint))
        print("---")
        print(dump_yaml(online_deployment))
        return online_endpoint, online_deployment
    try:
        scoring_uri = deploy(ml_client(options), online_endpoint, online_deployment, options.traffic)
    except ServiceError as exc:
        fail(exc)
    except Exception as exc:  # noqa: BLE001 - the SDK's auth / quota / validation errors: one clear line
        fail(f"Azure ML deployment failed: {type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}")
    print(f"scoring URI: {scoring_uri}")
    print(
        f"next: AZURE_ML_ENDPOINT_URL={scoring_uri} and AZURE_ML_ENDPOINT_KEY from "
        f"`az ml online-endpoint get-credentials --name {options.endpoint}` (environment, .streamlit/secrets.toml "
        f"or Key Vault secret 'azure-ml-endpoint-key'). Delete it when done: "
        f"`az ml online-endpoint delete --name {options.endpoint}`."
    )
    return scoring_uri


if __name__ == "__main__":
    main()
