"""The endpoint scoring script served by the real azureml-inference-server-http, called through the client."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest
import requests

from core.azure.endpoint import EndpointClient
from core.azure.services import ServiceError, get_service
from core.azure_ml import local_endpoint
from core.azure_ml.score_script import MAX_CHARS, find_run_dir
from core.data.csv_reader import MAX_TEXT_CHARS
from tests.support.cli import run_module


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A tiny logistic-regression run, trained by the real trainer on data made here."""
    root = tmp_path_factory.mktemp("endpoint")
    words = {
        0: ["awful delay", "lost my bag", "rude staff", "cancelled again"],
        4: ["great crew", "lovely flight", "on time and comfy", "thanks for the upgrade"],
    }
    rows = [(target, f"{words[target][i % 4]} number {i}") for i in range(200) for target in (0, 4)]
    pd.DataFrame(rows, columns=["target", "text"]).to_csv(root / "data.csv", index=False)
    env = {**os.environ, "BADBUZZ_ARTIFACTS": str(root / "artifacts")}
    run_module(
        "trainers.logreg", "--data", root / "data.csv", "--output", root / "run", "--C", "1.0", env=env, check=True
    )
    return root / "run"


@pytest.fixture(scope="module")
def endpoint_url(run_dir):
    port = free_port()
    proc = local_endpoint.start(run_dir, port, log_path=run_dir.parent / "azmlinfsrv.log")
    try:
        yield f"http://127.0.0.1:{port}/score"
    finally:
        local_endpoint.stop(proc)


def test_client_scores_through_azmlinfsrv_like_the_local_model(run_dir, endpoint_url):
    from core.models.base import load

    texts = ["great crew, lovely flight", "rude staff and a cancelled flight", "on time"]
    result = EndpointClient(url=endpoint_url).score(texts)
    expected = load(run_dir).predict_proba(texts)
    assert result.p_pos == pytest.approx(list(expected), abs=1e-5)
    assert result.labels[:2] == ["positive", "negative"] and result.errors == [None] * 3
    assert result.requests == 1 and result.cost_usd == 0.0


def test_server_binds_loopback_only(endpoint_url):
    port = int(endpoint_url.split(":")[2].split("/")[0])
    listening = subprocess.run(["ss", "-ltn", f"sport = :{port}"], capture_output=True, text=True).stdout
    assert f"127.0.0.1:{port}" in listening and f"0.0.0.0:{port}" not in listening


def test_bad_input_gets_clear_4xx_answers(endpoint_url):
    cases = [
        (b"not json", 400, "not JSON"),
        (b'{"text": "x"}', 400, '"texts"'),
        (b'{"texts": []}', 400, "non-empty"),
        (b'{"texts": ["ok", 3]}', 400, '"texts"[1] is int'),
        (json.dumps({"texts": ["x"] * 1001}).encode(), 413, "at most 1000"),
    ]
    for body, status, message in cases:
        response = requests.post(endpoint_url, data=body, headers={"Content-Type": "application/json"}, timeout=30)
        assert response.status_code == status, body[:30]
        assert message in response.json()["error"]


def test_empty_and_oversized_texts_are_not_sent_and_batches_are_split(endpoint_url):
    texts = ["", "great crew", "x" * (MAX_CHARS + 1)] + ["lovely flight"] * 5
    result = EndpointClient(url=endpoint_url, batch_size=2).score(texts)
    assert result.errors[0] == "empty text" and "not sent" in result.errors[2]
    assert result.p_pos[0] is None and result.p_pos[2] is None
    assert all(p is not None for p in result.p_pos[3:]) and result.requests == 3


def test_the_served_script_answers_empty_and_long_texts_like_core_score(run_dir, endpoint_url):
    """Issue 11: an empty tweet used to get P(positive) 0.568 and "positive" here, and "empty text" in core.inference.batch."""
    from core.models.base import load

    long_text = "awful delay " * 1000  # 12,000 characters: scored on its first MAX_TEXT_CHARS
    body = {"texts": ["", "   ", long_text, "great crew"]}
    answer = requests.post(endpoint_url, json=body, timeout=30).json()
    assert answer["p_pos"][:2] == [None, None] and answer["labels"][:2] == [None, None]
    assert answer["reasons"][:2] == ["empty text", "empty text"] and answer["reasons"][3] == ""
    assert answer["reasons"][2].startswith(f"text truncated: the first {MAX_TEXT_CHARS:,} of its")
    expected = load(run_dir).predict_proba([long_text.strip()[:MAX_TEXT_CHARS]])[0]
    assert answer["p_pos"][2] == pytest.approx(expected, abs=1e-5) and answer["labels"][2] == "negative"


def test_core_score_cli_with_the_endpoint(endpoint_url, tmp_path):
    pd.DataFrame({"id": [1, 2, 3], "text": ["great crew", "", "awful delay"]}).to_csv(tmp_path / "in.csv", index=False)
    env = {**os.environ, "AZURE_ML_ENDPOINT_URL": endpoint_url, "BADBUZZ_SECRETS_FILE": str(tmp_path / "x.toml")}
    env.pop("AZURE_KEYVAULT_URL", None)
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    run_module("core.score", "--service", "azure-endpoint", "--input", src, "--output", dst, env=env, check=True)
    out = pd.read_csv(tmp_path / "out.csv", keep_default_na=False)
    assert list(out["label"]) == ["positive", "", "negative"] and out["reason"][1]


def test_live_page_endpoint_column_answers_and_fails_alone_when_down(run_dir, endpoint_url):
    from core.inference.live import ModelCache, run_column, score_columns, service_column
    from core.tracking.runs import read_run

    local = run_column(read_run(run_dir), ModelCache())
    up = service_column(get_service("azure-endpoint", url=endpoint_url))
    down = service_column(get_service("azure-endpoint", url=f"http://127.0.0.1:{free_port()}/score"))
    answers = {a.key: a for a in score_columns([local, up], "thanks for the upgrade")}
    assert answers["azure-endpoint"].ok and answers["azure-endpoint"].label == "positive"
    answers = score_columns([local, down], "thanks for the upgrade", timeout_s=30)
    assert answers[0].ok
    assert answers[1].status == "offline" and "not reachable" in answers[1].reason
    assert "local_endpoint" in answers[1].reason


def test_retries_429_with_retry_after_and_sends_the_bearer_key():
    seen: list[tuple[int, str | None]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            texts = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["texts"]
            first = not seen
            seen.append((len(texts), self.headers.get("Authorization")))
            body = json.dumps(
                {"error": "busy"} if first else {"p_pos": [0.9] * len(texts), "labels": ["positive"] * len(texts)}
            ).encode()
            self.send_response(429 if first else 200)
            if first:
                self.send_header("Retry-After", "0")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/score"
        result = EndpointClient(url=url, api_key="endpoint-key", backoff_factor=0).score(["a", "b"])
        assert result.p_pos == [0.9, 0.9] and result.requests == 2
        assert seen == [(2, "Bearer endpoint-key")] * 2
        with pytest.raises(ServiceError, match="HTTP 429") as info:
            seen.clear()
            EndpointClient(url=url, api_key="endpoint-key", max_retries=0).score(["a"])
        assert "endpoint-key" not in str(info.value)
    finally:
        server.shutdown()
        server.server_close()


def test_remote_endpoint_without_key_is_not_configured(tmp_path):
    from core.azure.credentials import Credentials

    creds = Credentials(
        environ={"AZURE_ML_ENDPOINT_URL": "https://x.westeurope.inference.ml.azure.com/score"},
        secrets_file=tmp_path / "none.toml",
    )
    configured, why = EndpointClient(credentials=creds).status()
    assert not configured and "AZURE_ML_ENDPOINT_KEY" in why
    local = Credentials(
        environ={"AZURE_ML_ENDPOINT_URL": "http://127.0.0.1:5001/score"}, secrets_file=tmp_path / "none.toml"
    )
    assert EndpointClient(credentials=local).status() == (True, "")


def test_score_script_finds_the_run_in_the_azure_model_layout(run_dir, tmp_path):
    nested = tmp_path / "model_root" / "run"
    nested.parent.mkdir()
    nested.symlink_to(run_dir, target_is_directory=True)
    assert find_run_dir(tmp_path / "model_root") == nested
    assert find_run_dir(run_dir) == run_dir
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError):
        find_run_dir(tmp_path / "empty")


def test_a_transformer_run_is_served_the_same_way(tmp_path):
    """The study deployed DistilBERT: a tiny random-initialised one (no download) goes through the same path; trained
    on data with neutral tweets, it is a three-way run, whose answers carry their classes and class probabilities."""
    import torch
    from transformers import DistilBertConfig, DistilBertForSequenceClassification, DistilBertTokenizer

    from core.models.base import load

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "great", "love", "awful", "lost", "the", "crew", "bag"]
    DistilBertTokenizer(vocab={w: i for i, w in enumerate(words)}).save_pretrained(tmp_path / "base")
    torch.manual_seed(0)
    config = DistilBertConfig(
        vocab_size=len(words), dim=16, n_layers=1, n_heads=2, hidden_dim=32, max_position_embeddings=64, pad_token_id=0
    )
    DistilBertForSequenceClassification(config).save_pretrained(tmp_path / "base")
    texts_of = {"positive": "great crew love", "negative": "awful lost bag", "neutral": "the crew the bag"}
    rows = [(label, f"{texts_of[label]} {i}") for i in range(120) for label in [list(texts_of)[i % 3]]]
    pd.DataFrame(rows, columns=["target", "text"]).to_csv(tmp_path / "data.csv", index=False)
    data, run, base = tmp_path / "data.csv", tmp_path / "run", tmp_path / "base"
    args = ["--data", data, "--output", run, "--base-model", base, "--epochs", "1", "--batch-size", "16", "--no-onnx"]
    env = {**os.environ, "BADBUZZ_ARTIFACTS": str(tmp_path / "artifacts")}
    run_module("trainers.transformer", *args, env=env, check=True, timeout=300)
    port = free_port()
    proc = local_endpoint.start(tmp_path / "run", port, log_path=tmp_path / "azmlinfsrv.log")
    try:
        texts = ["great crew", "awful lost bag", "the"]
        result = EndpointClient(url=f"http://127.0.0.1:{port}/score").score(texts)
    finally:
        local_endpoint.stop(proc)
    assert json.loads((tmp_path / "run" / "run.json").read_text())["kind"] == "transformer"
    model = load(tmp_path / "run")
    assert model.classes == ("negative", "neutral", "positive") and result.classes == model.classes
    assert result.p_pos == pytest.approx(list(model.predict_proba(texts)), abs=1e-5)
    assert result.class_proba() == pytest.approx(model.predict_class_proba(texts), abs=1e-5)
