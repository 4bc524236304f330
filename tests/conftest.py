"""Shared fixtures: every test runs against temporary artifacts and small data made here.

Tests live in folders by kind, and the folder is the marker: `pytest -m unit` (pure functions, seconds),
`-m integration` (real processes, local servers, tiny trainings), `-m pages` (AppTest), `-m browser` (Chromium
against `streamlit run`). `slow` marks the modules that train neural models.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from tests.support.data import make_three_way_csv, make_tweets, write_headered_csv
from tests.support.streamlit import serving_on

KINDS = ("unit", "integration", "pages", "browser")

# Property tests draw a fresh random sample on every run (no example database), so successive CI runs explore
# different examples; "ci" (the default) sizes that sample for the suite's time budget, and
# `HYPOTHESIS_PROFILE=thorough` (or `pytest --hypothesis-profile thorough`) explores ten times as far.
# A test that sets its own max_examples keeps it under every profile.
settings.register_profile("ci", max_examples=30, deadline=None, database=None)
settings.register_profile("thorough", max_examples=300, deadline=None, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_collection_modifyitems(items):
    for item in items:
        kind = Path(item.fspath).parent.name
        if kind in KINDS:
            item.add_marker(getattr(pytest.mark, kind))


@pytest.fixture(autouse=True)
def isolated_artifacts(tmp_path_factory, monkeypatch):
    """Runs, splits and caches go to a per-test temporary folder; nothing is downloaded."""
    root = tmp_path_factory.mktemp("artifacts")
    monkeypatch.setenv("BADBUZZ_ARTIFACTS", str(root))
    monkeypatch.setenv("BADBUZZ_RUNS_DIR", str(root / "runs"))
    monkeypatch.setenv("BADBUZZ_DATA_DIR", str(root / "data"))
    monkeypatch.setenv("BADBUZZ_NO_DOWNLOAD", "1")
    monkeypatch.setenv("BADBUZZ_SENTIMENT140_URL", "http://127.0.0.1:9/trainingandtestdata.zip")  # refused at once
    monkeypatch.delenv("BADBUZZ_DATA", raising=False)
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_NAME"):  # never log to a real server
        monkeypatch.delenv(name, raising=False)
    return root


@pytest.fixture(autouse=True)
def local_operator(monkeypatch):
    """Pages run as on scripts/start.sh's default server (127.0.0.1, no authentication): the visitor is an
    operator. tests/pages/test_access.py sets other addresses and settings."""
    from core import access

    for name in ("BADBUZZ_OPERATOR_PASSWORD", "BADBUZZ_OPERATOR_PASSWORD_SECRET_NAME", "BADBUZZ_OPERATOR_EMAILS"):
        monkeypatch.delenv(name, raising=False)
    for limiter in (access.SESSION_TRIES, access.SERVER_TRIES):
        limiter.reset()
    with serving_on("127.0.0.1"):
        yield


@pytest.fixture
def fake_encoder(monkeypatch):
    """Every sentence encoder name builds tests/support/encoders.FakeEncoder (no model); returns the e5 one."""
    from core.embedding.encoders import E5, forget_loaded_encoders
    from tests.support.encoders import install_fake_encoder

    fakes = install_fake_encoder(monkeypatch)
    yield fakes[E5]
    forget_loaded_encoders()


@pytest.fixture
def no_cloud(monkeypatch, tmp_path):
    """No Azure settings, whatever the developer's machine has (environment or secrets file): cloud columns say
    'not configured' and no client is built. Operator settings are cleared by `local_operator`."""
    for name in (
        "AZURE_LANGUAGE_ENDPOINT",
        "AZURE_LANGUAGE_KEY",
        "AZURE_ML_ENDPOINT_URL",
        "AZURE_ML_ENDPOINT_KEY",
        "AZURE_KEYVAULT_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BADBUZZ_SECRETS_FILE", str(tmp_path / "no-secrets.toml"))


@pytest.fixture(scope="session")
def tiny_csv(tmp_path_factory) -> Path:
    """600 learnable tweets in the headered layout of the shared sample."""
    return write_headered_csv(tmp_path_factory.mktemp("data") / "tiny.csv", make_tweets(600))


@pytest.fixture(scope="session")
def three_way_csv(tmp_path_factory) -> Path:
    """300 learnable tweets labelled negative / neutral / positive (words), 100 of each."""
    return make_three_way_csv(tmp_path_factory.mktemp("data") / "three.csv", 300)


@pytest.fixture(scope="session")
def three_way_logreg_run(tmp_path_factory, three_way_csv) -> Path:
    """A real three-way logreg run (--classes auto on neutral data), trained once per test session (copy it
    before modifying it)."""
    return _train_shared_logreg(tmp_path_factory, three_way_csv, "logreg-three-way")


@pytest.fixture(scope="session")
def trained_logreg_run(tmp_path_factory, tiny_csv) -> Path:
    """A real logreg run trained once per test session on the tiny CSV (copy it before modifying it)."""
    return _train_shared_logreg(tmp_path_factory, tiny_csv, "logreg-tiny")


def _train_shared_logreg(tmp_path_factory, data: Path, name: str) -> Path:
    from trainers import logreg

    out = tmp_path_factory.mktemp("shared-runs") / name
    env = {"BADBUZZ_DATA_DIR": str(out.parent / "data"), "BADBUZZ_NO_DOWNLOAD": "1"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        logreg.main(["--data", str(data), "--output", str(out)])
    finally:
        for k, v in old.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    return out
