"""Azure AI Language through the real azure-ai-textanalytics SDK, against a local server speaking its REST contract."""

from __future__ import annotations

import json
import os
import time

import pandas as pd
import pytest
import requests

from core.azure.cache import AnswerCache
from core.azure.language import MAX_DOCUMENT_CHARS, LanguageClient, evaluate_three_class, p_positive
from core.azure.services import ServiceError, get_service
from core.azure.spend import BudgetExceeded, LanguagePrice, SpendGuard
from core.commands import azure_spend
from tests.support.azure_language_server import API_VERSION, LanguageServer
from tests.support.cli import run_module

PRICE = LanguagePrice(usd_per_1000_records=2.0, free_records_per_month=10, source="test", as_of="today")


def tweets(n: int) -> list[str]:
    return [
        f"I love this airline, great crew #{i}" if i % 2 else f"flight delayed again, worst trip #{i}" for i in range(n)
    ]


@pytest.fixture
def client_for(tmp_path):
    def make(server: LanguageServer, api_key: str = "test-key", budget: int = 100_000, **kwargs):
        spend = SpendGuard(tmp_path / "usage.json", price=PRICE)
        spend.set_budget(budget)
        return LanguageClient(
            endpoint=server.endpoint,
            api_key=api_key,
            cache=AnswerCache(tmp_path / "cache.db"),
            spend=spend,
            backoff_factor=0.01,
            **kwargs,
        )

    return make


def test_the_test_server_keeps_the_rest_contract():
    with LanguageServer() as server:
        url = f"{server.endpoint}language/:analyze-text?api-version={API_VERSION}"
        docs = [{"id": str(i), "text": "good", "language": "en"} for i in range(11)]
        body = {"kind": "SentimentAnalysis", "analysisInput": {"documents": docs}}
        assert requests.post(url, json=body, headers={"Ocp-Apim-Subscription-Key": "test-key"}).status_code == 400
        assert requests.post(url, json=body, headers={"Ocp-Apim-Subscription-Key": "nope"}).status_code == 401
        body["analysisInput"]["documents"] = [{"id": "0", "text": "x" * 5121}, {"id": "1", "text": "bad day"}]
        reply = requests.post(url, json=body, headers={"Ocp-Apim-Subscription-Key": "test-key"}).json()
        assert [d["id"] for d in reply["results"]["errors"]] == ["0"]
        assert reply["results"]["documents"][0]["sentiment"] == "negative"


def test_each_text_is_sent_with_its_detected_language(client_for):
    texts = ["vol annulé encore une fois, personne pour nous aider", "flight cancelled again, nobody to help", "😡😡"]
    with LanguageServer() as server:
        client_for(server).score(texts)
        assert server.languages == ["fr", "en", "en"]  # emoji alone: no language told, the service's default
    with LanguageServer() as server:
        client_for(server, language="es").score(texts[:1])
        assert server.languages == ["es"]


@pytest.mark.parametrize("retry_after", [None, "0.3"])
def test_scores_in_batches_of_ten_through_429s(client_for, retry_after):
    with LanguageServer(throttle_every=3, retry_after=retry_after) as server:
        started = time.perf_counter()
        result = client_for(server).score(tweets(45))
        if retry_after:  # two throttled requests, each waited for as long as the server asked
            assert time.perf_counter() - started >= 0.6
        assert all(p is not None for p in result.p_pos) and not any(result.errors)
        assert server.max_documents_seen == 10
        statuses = [r.status for r in server.requests]
        assert statuses.count(200) == 5 and statuses.count(429) == 2
        assert result.requests == len(server.requests) == 7
        assert result.labels[0] == "negative" and result.labels[1] == "positive"
        assert result.p_pos[0] < 0.5 < result.p_pos[1]


def test_5xx_is_retried_and_a_dead_service_is_a_clear_error(client_for):
    with LanguageServer(fail_every=2, fail_status=503) as server:
        result = client_for(server).score(tweets(30))
        assert all(p is not None for p in result.p_pos)
        assert 503 in [r.status for r in server.requests]
    with LanguageServer(fail_every=1, fail_status=500) as server:
        with pytest.raises(ServiceError, match="kept failing \\(500\\)"):
            client_for(server, max_retries=2).score(["a different text"])
        assert len(server.requests) == 3


def test_second_run_is_answered_from_the_cache_and_not_billed(client_for, tmp_path):
    texts = tweets(25)
    with LanguageServer() as server:
        client = client_for(server)
        first = client.score(texts)
        requests_made = len(server.requests)
        usage = client.spend.usage()
        second = client.score(texts)
        assert len(server.requests) == requests_made == 3
        assert second.requests == 0 and second.cached == 25 and second.cost_usd == 0.0
        assert second.p_pos == first.p_pos and second.labels == first.labels
        assert client.spend.usage() == usage
        # a new client over the same cache file (another process, later) does not call either
        again = LanguageClient(
            endpoint=server.endpoint, api_key="test-key", cache=AnswerCache(tmp_path / "cache.db"), spend=client.spend
        )
        assert again.score(texts[:5]).requests == 0 and len(server.requests) == 3
    assert texts[0] not in (tmp_path / "cache.db").read_bytes().decode("latin-1")  # hashes, not tweets


def test_empty_texts_are_not_sent_and_long_ones_are_truncated_and_flagged(client_for):
    with LanguageServer() as server:
        long_text = "bad " * 2000
        result = client_for(server).score(["", "   ", long_text, "good flight"])
        assert result.errors[:2] == ["empty text"] * 2 and result.p_pos[:2] == [None, None]
        assert result.p_pos[2] is not None and result.details[2]["truncated"] is True
        assert result.details[3]["truncated"] is False
        assert sum(r.documents for r in server.requests) == 2
        assert server.requests[0].characters == MAX_DOCUMENT_CHARS + len("good flight")


def test_per_document_errors_are_reported_per_row(client_for):
    with LanguageServer(reject_marker="###") as server:
        result = client_for(server).score(["good", "### broken", "bad"])
        assert result.p_pos[0] is not None and result.p_pos[2] is not None
        assert result.p_pos[1] is None and "InvalidDocument" in result.errors[1]


def test_bad_key_and_exhausted_quota_stop_with_clear_messages(client_for):
    with LanguageServer() as server:
        with pytest.raises(ServiceError, match="rejected the key \\(401\\)") as info:
            client_for(server, api_key="wrong-key-123").score(["hello"])
        assert "wrong-key-123" not in str(info.value)
    with LanguageServer(quota_exceeded=True) as server:
        with pytest.raises(ServiceError, match="out of call volume quota"):
            client_for(server).score(tweets(30))
        assert len(server.requests) == 1  # the batch stopped at the first 403, no retry, no further batch


def test_budget_smaller_than_the_estimate_refuses_before_any_request(client_for):
    with LanguageServer() as server:
        client = client_for(server, budget=20)
        estimate = client.estimate(tweets(25))
        assert estimate.text_records == 25 and not estimate.fits
        with pytest.raises(BudgetExceeded, match="refused before any request"):
            client.score(tweets(25))
        assert server.requests == []
        assert client.spend.usage()["text_records"] == 0


def test_usage_and_cost_are_recorded_after_with_the_free_quota(client_for, tmp_path):
    with LanguageServer() as server:
        client = client_for(server, budget=1000)
        texts = tweets(12) + ["y" * 2500]  # 12 records + 3 records
        result = client.score(texts)
        usage = client.spend.usage()
        assert usage["text_records"] == 15 and usage["documents"] == 13 and usage["requests"] == 2
        # 10 free records this month, then 2 USD per 1,000
        assert result.cost_usd == pytest.approx(5 * 2.0 / 1000)
        assert json.loads((tmp_path / "usage.json").read_text())["budget_text_records"] == 1000
        assert SpendGuard(tmp_path / "usage.json", price=PRICE).budget() == 1000  # persisted


def test_three_class_and_folded_evaluations():
    assert p_positive({"positive": 0.2, "neutral": 0.7, "negative": 0.1}) == pytest.approx(2 / 3)
    assert p_positive({"positive": 0.0, "neutral": 1.0, "negative": 0.0}) == 0.5
    result = evaluate_three_class([1, 1, 0, 0], ["positive", "neutral", "negative", "mixed"])
    assert result["accuracy"] == 0.5
    assert result["confusion"]["positive"]["neutral"] == 1 and result["predicted"]["mixed"] == 1


def test_status_says_what_is_missing_without_network(tmp_path, monkeypatch):
    for name in ("AZURE_LANGUAGE_ENDPOINT", "AZURE_LANGUAGE_KEY", "AZURE_KEYVAULT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BADBUZZ_SECRETS_FILE", str(tmp_path / "missing.toml"))
    configured, why = get_service("azure-language").status()
    assert not configured and "AZURE_LANGUAGE_ENDPOINT" in why and "AZURE_LANGUAGE_KEY" in why
    monkeypatch.setenv("AZURE_LANGUAGE_ENDPOINT", "https://example.invalid/")
    monkeypatch.setenv("AZURE_LANGUAGE_KEY", "k")
    assert get_service("azure-language").status() == (True, "")


def _cli_env(tmp_path, server) -> dict:
    return {
        **os.environ,
        "AZURE_LANGUAGE_ENDPOINT": server.endpoint,
        "AZURE_LANGUAGE_KEY": server.key,
        "BADBUZZ_ARTIFACTS": str(tmp_path / "artifacts"),
        "BADBUZZ_SECRETS_FILE": str(tmp_path / "none.toml"),
    }


def set_budget(monkeypatch, env: dict, records: int) -> None:
    """`python -m core.commands.azure_spend --set-budget N` in this process, on the artifacts folder of `env`."""
    monkeypatch.setenv("BADBUZZ_ARTIFACTS", env["BADBUZZ_ARTIFACTS"])
    azure_spend.main(["--set-budget", str(records)])


def _score_cli(tmp_path, env, *extra):
    """`python -m core.score --service azure-language` from tmp_path/in.csv to tmp_path/out.csv."""
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    return run_module("core.score", "--service", "azure-language", "--input", src, "--output", out, *extra, env=env)


def _evaluation_cli(tmp_path, run_dir, env):
    """`python -m trainers.azure_language` on 20 tweets of tmp_path/data.csv, into run_dir."""
    return run_module(
        "trainers.azure_language", "--data", tmp_path / "data.csv", "--output", run_dir, "--n", "20", env=env
    )


def test_core_score_cli_with_the_language_service(tmp_path):
    frame = pd.DataFrame({"id": range(23), "text": tweets(22) + [""]})
    frame.to_csv(tmp_path / "in.csv", index=False)
    with LanguageServer() as server:
        done = _score_cli(tmp_path, _cli_env(tmp_path, server))
        assert done.returncode == 0, done.stderr
        out = pd.read_csv(tmp_path / "out.csv", keep_default_na=False)
        assert list(out["id"]) == list(range(23)) and out["score"].iloc[:22].ne("").all()
        assert out["reason"].iloc[22] and out["label"].iloc[1] == "positive"
        assert max(r.documents for r in server.requests) == 10


def test_evaluation_run_is_a_normal_run_folder(tmp_path, monkeypatch):
    rows = pd.DataFrame(
        {
            "target": [0, 4] * 60,
            "text": [f"so sad and tired today {i}" if i % 2 == 0 else f"love it, great day {i}" for i in range(120)],
        }
    )
    rows.to_csv(tmp_path / "data.csv", index=False)
    run_dir = tmp_path / "artifacts" / "runs" / "azure-lang"
    with LanguageServer(throttle_every=3) as server:
        done = _evaluation_cli(tmp_path, run_dir, _cli_env(tmp_path, server))
        assert done.returncode == 0, done.stderr
        meta = json.loads((run_dir / "run.json").read_text())
        metrics = json.loads((run_dir / "metrics.json").read_text())
        assert meta["kind"] == "azure-language" and meta["status"] == "succeeded" and "cost" in meta
        assert metrics["test"]["n"] == 20 and metrics["test"]["accuracy"] == 1.0
        assert metrics["three_class"]["neutral_as_class"]["n"] == 20
        assert metrics["cost"]["text_records"] == 20 and metrics["cost"]["requests"] == len(server.requests)
        predictions = pd.read_csv(run_dir / "test_predictions.csv")
        assert list(predictions.columns) == ["row_id", "label", "p_pos"] and len(predictions) == 20
        assert sorted(predictions["label"].value_counts().tolist()) == [10, 10]
        assert server.key not in (run_dir / "run.json").read_text()

        # core.models.base.load gives a model that asks the service
        for name, value in _cli_env(tmp_path, server).items():
            if name.startswith(("AZURE_", "BADBUZZ_")):
                monkeypatch.setenv(name, value)
        from core.models.base import load

        p = load(run_dir).predict_proba(["great day", "so sad"])
        assert p[0] > 0.5 > p[1]


def test_budget_refusal_in_the_evaluation_run_makes_no_request(tmp_path, monkeypatch):
    rows = pd.DataFrame({"target": [0, 4] * 50, "text": [f"tweet number {i}" for i in range(100)]})
    rows.to_csv(tmp_path / "data.csv", index=False)
    with LanguageServer() as server:
        env = _cli_env(tmp_path, server)
        set_budget(monkeypatch, env, 5)
        done = _evaluation_cli(tmp_path, tmp_path / "run", env)
        assert done.returncode != 0 and "refused before any request" in done.stderr
        assert server.requests == []
        assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "failed"


def test_core_score_cli_refuses_a_file_over_budget_before_its_first_chunk(tmp_path, monkeypatch):
    pd.DataFrame({"text": tweets(25)}).to_csv(tmp_path / "in.csv", index=False)
    with LanguageServer() as server:
        env = _cli_env(tmp_path, server)
        set_budget(monkeypatch, env, 20)
        done = _score_cli(tmp_path, env, "--chunk-size", "10")
        assert done.returncode != 0 and "refused before any request" in done.stderr
        assert server.requests == [] and not (tmp_path / "out.csv").exists()
