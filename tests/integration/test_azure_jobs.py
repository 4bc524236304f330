"""Azure ML job and deployment specs, built offline with azure-ai-ml (nothing is submitted)."""

from __future__ import annotations

import json

import pytest

from core.azure_ml.deploy import build_deployment, traffic_split
from core.azure_ml.jobs import build_job, split_trainer_args
from core.commands import azure_deploy, azure_job
from core.config import PROJECT_ROOT
from tests.support.cli import run_module

JOB_CLI = (
    "core.commands.azure_job",
    "--trainer",
    "logreg",
    "--compute",
    "gpu-1",
)  # a logreg job on gpu-1, then its options


@pytest.fixture
def data_csv(tmp_path):
    path = tmp_path / "tweets.csv"
    path.write_text("target,text\n0,bad\n4,good\n")
    return path


@pytest.fixture
def run_folder(tmp_path):
    run = tmp_path / "runs" / "lr-1"
    run.mkdir(parents=True)
    (run / "run.json").write_text(
        json.dumps({"id": "lr-1", "kind": "logreg", "status": "succeeded", "approach": "TF-IDF + logistic regression"})
    )
    return run


def test_job_runs_the_trainer_cli_on_the_named_cluster(data_csv):
    job = build_job("logreg", ["--features", "hashing", "--sample", "5000"], "gpu-cluster", data=str(data_csv))
    assert job.command == (
        "python -m trainers.logreg --data ${{inputs.data}} --output ${{outputs.run}} --features hashing --sample 5000"
    )
    assert job.compute == "gpu-cluster" and job.code == str(PROJECT_ROOT)
    assert job.inputs["data"].type == "uri_file" and job.inputs["data"].path == str(data_csv)
    assert job.outputs["run"].type == "uri_folder"
    assert "cuda" in job.environment.image
    pins = job.environment.conda_file["dependencies"][-1]["pip"]
    assert "azure-ai-ml==1.35.2" in pins and "tensorflow==2.21.0" in pins
    assert job.experiment_name == "bad-buzz"


def test_data_and_output_after_the_separator_become_the_job_input_and_output(data_csv):
    # the dashboard's launcher passes them this way
    job = build_job("logreg", ["--data", str(data_csv), "--output", "outputs/run", "--C", "1.0"], "cpu-cluster")
    assert job.inputs["data"].path == str(data_csv)
    assert "outputs/run" not in job.command and job.command.endswith("--output ${{outputs.run}} --C 1.0")
    assert split_trainer_args(["--data=x.csv", "--output=o", "--n", "3"]) == ("x.csv", ["--n", "3"])


def test_remote_data_and_the_download_keyword_are_passed_through():
    job = build_job("logreg", [], "c", data="azureml://datastores/workspaceblobstore/paths/tweets.csv")
    assert job.inputs["data"].path.startswith("azureml://")
    job = build_job("logreg", [], "c", data="sentiment140")
    assert "--data sentiment140" in job.command and not job.inputs


def test_bad_job_requests_are_refused_with_reasons(data_csv, tmp_path):
    with pytest.raises(ValueError, match="unknown trainer 'nope'"):
        build_job("nope", [], "c", data=str(data_csv))
    with pytest.raises(FileNotFoundError, match="data not found"):
        build_job("logreg", [], "c", data=str(tmp_path / "missing.csv"))
    with pytest.raises(ValueError, match="no data"):
        build_job("logreg", [], "c")


def in_process(capsys, command, *args) -> tuple[int, str, str]:
    """A command's main() in this process: (exit status, stdout, stderr)."""
    try:
        command.main([str(a) for a in args])
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_dry_run_cli_prints_the_spec_and_submits_nothing(data_csv):
    """As a user runs it (a child process): the SDK's experimental-class notices stay out of the output."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(data_csv.parent)}
    done = run_module(*JOB_CLI, "--dry-run", "--", "--data", data_csv, "--sample", "100", env=env)
    assert done.returncode == 0, done.stderr
    assert "nothing submitted" in done.stdout and "compute: azureml:gpu-1" in done.stdout
    assert "--sample 100" in done.stdout and "experimental class" not in done.stdout + done.stderr


def test_deployment_spec_uses_key_auth_the_scoring_script_and_the_run(run_folder):
    endpoint, deployment = build_deployment(run_folder, "badbuzz-test", "blue", "Standard_F4s_v2", 2)
    assert endpoint.auth_mode == "key" and endpoint.name == "badbuzz-test"
    assert deployment.code_configuration.scoring_script == "core/azure_ml/score_script.py"
    assert deployment.code_configuration.code == str(PROJECT_ROOT)
    assert deployment.model.path == str(run_folder.resolve()) and deployment.model.type == "custom_model"
    assert deployment.instance_type == "Standard_F4s_v2" and deployment.instance_count == 2
    assert "cuda" not in deployment.environment.image


def test_deployment_refuses_bad_runs_and_names(run_folder, tmp_path):
    with pytest.raises(ValueError, match="endpoint name"):
        build_deployment(run_folder, "1-bad_name")
    (run_folder / "run.json").write_text(json.dumps({"id": "a", "kind": "azure-language", "status": "succeeded"}))
    with pytest.raises(ValueError, match="evaluation"):
        build_deployment(run_folder, "badbuzz-test")
    with pytest.raises(ValueError, match="not a run folder"):
        build_deployment(tmp_path, "badbuzz-test")


def test_traffic_split():
    assert traffic_split({}, "blue", 100) == {"blue": 100}
    assert traffic_split({"blue": 100}, "green", 100) == {"green": 100, "blue": 0}
    assert traffic_split({"blue": 100}, "green", 10) == {"green": 10, "blue": 90}
    assert traffic_split({"blue": 60, "green": 40}, "red", 25) == {"red": 25, "blue": 45, "green": 30}
    with pytest.raises(ValueError, match="no other deployment"):
        traffic_split({}, "blue", 50)


def test_deploy_dry_run_cli_prints_both_specs_and_the_hourly_cost(run_folder, capsys):
    code, out, err = in_process(capsys, azure_deploy, "--run", run_folder, "--endpoint", "badbuzz-test", "--dry-run")
    assert code == 0, err
    assert "auth_mode: key" in out and "scoring_script: core/azure_ml/score_script.py" in out
    assert "Standard_DS3_v2" in out and "/hour" in out


def test_submitting_without_a_workspace_says_what_to_set(data_csv, capsys, monkeypatch):
    for name in ("AZURE_SUBSCRIPTION_ID", "AZURE_RESOURCE_GROUP", "AZUREML_WORKSPACE_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(data_csv.parent))
    monkeypatch.chdir(data_csv.parent)  # no config.json here or above
    code, _, err = in_process(capsys, azure_job, *JOB_CLI[1:], "--", "--data", data_csv)
    assert code == 2 and "no Azure ML workspace given" in err and "AZURE_SUBSCRIPTION_ID" in err


def test_the_trainer_is_named_by_its_registry_key_or_its_module(data_csv):
    for name in ("keras", "keras_nn"):
        job = build_job(name, ["--arch", "bilstm"], "gpu-cluster", data=str(data_csv))
        assert job.command.startswith("python -m trainers.keras_nn --data ") and job.command.endswith("--arch bilstm")
        assert job.tags["trainer"] == "keras_nn"


# ---------------------------------------------------------------- beyond one machine: PyTorch distribution


def test_transformer_job_runs_distributed_with_pytorch_on_n_nodes(data_csv):
    job = build_job(
        "transformer", ["--base-model", "minilm"], "gpu-cluster", data=str(data_csv), instance_count=2, gpus_per_node=4
    )
    spec = job._to_dict()  # the SDK's own serialisation: what is sent to Azure ML
    assert spec["distribution"] == {"type": "pytorch", "process_count_per_instance": 4}
    assert spec["resources"]["instance_count"] == 2
    assert spec["component"]["command"] == (
        "python -m trainers.transformer --data ${{inputs.data}} --output ${{outputs.run}} --base-model minilm"
    )
    assert spec["inputs"]["data"]["type"] == "uri_file" and spec["inputs"]["data"]["path"].endswith("tweets.csv")
    assert spec["outputs"]["run"] == {"type": "uri_folder"} and spec["compute"] == "azureml:gpu-cluster"
    assert "cuda" in spec["environment"]["image"]
    pins = spec["environment"]["conda_file"]["dependencies"][-1]["pip"]
    assert "mlflow-skinny==3.1.4" in pins and "azureml-mlflow==1.62.0.post6" in pins  # MLflow to the workspace
    assert job.display_name == "transformer on gpu-cluster (2 x 4 GPUs)"


def test_one_process_on_one_node_has_no_distribution(data_csv):
    spec = build_job("transformer", [], "gpu-cluster", data=str(data_csv))._to_dict()
    assert "distribution" not in spec and spec["resources"]["instance_count"] == 1


def test_nonsense_distribution_requests_are_refused(data_csv):
    with pytest.raises(ValueError, match="logreg trainer runs in one process"):
        build_job("logreg", [], "c", data=str(data_csv), instance_count=2)
    with pytest.raises(ValueError, match="keras trainer runs in one process"):
        build_job("keras_nn", [], "c", data=str(data_csv), gpus_per_node=2)
    with pytest.raises(ValueError, match="at least 1"):
        build_job("transformer", [], "c", data=str(data_csv), instance_count=0)
    with pytest.raises(ValueError, match="drop --cpu"):
        build_job("transformer", [], "c", data=str(data_csv), gpus_per_node=2, gpu=False)


def test_distributed_dry_run_prints_the_distribution_and_refuses_in_one_line(data_csv, capsys):
    cli = ("--trainer", "transformer", "--compute", "gpu-4x", "--data", data_csv)
    code, out, err = in_process(capsys, azure_job, *cli, "--instance-count", "3", "--gpus-per-node", "2", "--dry-run")
    assert code == 0, err
    assert "\ndistribution:\n  process_count_per_instance: 2\n  type: pytorch\n" in out
    assert "\nresources:\n  instance_count: 3\n" in out
    code, out, err = in_process(
        capsys, azure_job, *JOB_CLI[1:], "--data", data_csv, "--instance-count", "2", "--dry-run"
    )
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        "error: the logreg trainer runs in one process: --instance-count and --gpus-per-node above 1 are for "
        "transformer"
    ]
