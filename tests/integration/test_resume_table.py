"""The résumé table is built from real runs' files and the pricing file, with the study's figures kept apart."""

from __future__ import annotations

import pandas as pd
import pytest

from core.analysis import resume_table
from core.pricing import load_pricing
from core.tracking.runs import RunInfo, list_runs, read_json, read_run
from tests.support.data import make_tweets_csv
from tests.support.runs import train_logreg
from views.components.figures import accuracy_cost_figure


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory):
    """Two real logistic-regression runs trained by the real trainer, plus one that failed."""
    root = tmp_path_factory.mktemp("resume")
    data = make_tweets_csv(root / "tweets.csv")
    for features in ("tfidf", "hashing"):
        train_logreg(root, features, data, "--features", features, "--hash-bits", "14")
    with pytest.raises(SystemExit):
        train_logreg(root, "broken", root / "missing.csv")
    return root / "runs"


def test_measured_rows_come_from_the_run_files(runs_root):
    pricing = load_pricing()
    runs = list_runs(runs_root)
    assert {r.status for r in runs} == {"succeeded", "failed"}
    table = resume_table.summary_table(runs, pricing=pricing)
    measured = table[table["source"] == resume_table.MEASURED]
    assert sorted(measured["run"]) == ["hashing", "tfidf"]
    assert measured["accuracy (%)"].is_monotonic_decreasing

    row = measured.set_index("run").loc["tfidf"]
    metrics = read_json(runs_root / "tfidf" / "metrics.json")
    assert row["accuracy (%)"] == pytest.approx(metrics["test"]["accuracy"] * 100)
    assert row["macro F1 (%)"] == pytest.approx(metrics["test"]["f1_macro"] * 100)
    assert row["single-tweet latency p50 (ms)"] == pytest.approx(metrics["latency"]["single_p50_ms"])
    assert row["training throughput (tweets/s)"] == pytest.approx(metrics["training"]["tweets_per_s"])
    assert row["device"].endswith("CPU cores") and row["approach"] == "TF-IDF + logistic regression"
    assert "training tweets" in row["notes"]

    local = pricing["azure_ml_instances"][pricing["defaults"]["local_machine_equivalent"]]["per_hour"]
    assert row["training cost (USD)"] == pytest.approx(metrics["training"]["seconds"] / 3600 * local)
    throughput = metrics["latency"]["batch_tweets_per_s"]
    assert row["inference cost per 1,000 tweets (USD)"] == pytest.approx(local / (throughput * 3600) * 1000)


def test_study_rows_are_marked_and_never_measured(runs_root):
    table = resume_table.summary_table(list_runs(runs_root))
    study = table[table["source"] == resume_table.STUDY_SOURCE]
    assert sorted(study["accuracy (%)"].round(1)) == [73.0, 75.0, 81.0]
    assert study["training cost (USD)"].isna().all() and study["run"].eq("").all()
    assert "500 tweets" in study.set_index("accuracy (%)").loc[73.0, "notes"]
    assert resume_table.STUDY_SOURCE == "study (not measured here)"
    assert not (resume_table.summary_table(list_runs(runs_root), include_study=False)["source"] != "measured").any()


def test_local_price_is_configurable_and_best_per_approach(runs_root):
    runs = list_runs(runs_root)
    base = resume_table.summary_table(runs, include_study=False).set_index("run")
    doubled_price = resume_table.CostSettings.from_pricing(local_usd_per_hour=2.0)
    doubled = resume_table.summary_table(runs, doubled_price, include_study=False).set_index("run")
    default_price = resume_table.CostSettings.from_pricing().local_usd_per_hour
    ratio = 2.0 / default_price
    assert doubled.loc["tfidf", "training cost (USD)"] == pytest.approx(
        base.loc["tfidf", "training cost (USD)"] * ratio
    )
    assert "custom price" in doubled.loc["tfidf", "cost basis"]

    twice = runs + [
        RunInfo(path=r.path, meta={**r.meta, "id": r.id + "-copy"}, status=r.status, metrics=r.metrics)
        for r in runs
        if r.status == "succeeded"
    ]
    best = resume_table.summary_table(twice, best_per_approach=True, include_study=False)
    assert len(best) == 2 and best["approach"].is_unique


def test_cloud_and_azure_ml_rows_use_their_own_prices(tmp_path):
    pricing = load_pricing()
    test = {"accuracy": 0.7, "f1_macro": 0.69, "n": 500}
    language = RunInfo(
        tmp_path / "lang",
        {"id": "lang", "kind": "azure-language", "approach": "Azure AI Language"},
        "succeeded",
        metrics={"test": test, "latency": {"single_p50_ms": 120.0, "batch_tweets_per_s": 40.0}},
    )
    endpoint = RunInfo(
        tmp_path / "ep",
        {"id": "ep", "kind": "azure-endpoint", "approach": "DistilBERT endpoint"},
        "succeeded",
        metrics={"test": test, "latency": {"batch_tweets_per_s": 50.0}},
    )
    on_azure = RunInfo(
        tmp_path / "aml",
        {
            "id": "aml",
            "kind": "transformer",
            "approach": "DistilBERT",
            "azureml": {"instance_type": "Standard_NC4as_T4_v3"},
            "device": {"type": "cuda", "name": "Tesla T4", "precision": "fp16"},
        },
        "succeeded",
        metrics={
            "test": test,
            "training": {"seconds": 1800.0, "tweets_per_s": 100.0},
            "latency": {"batch_tweets_per_s": 500.0},
        },
    )
    table = resume_table.summary_table([language, endpoint, on_azure], pricing=pricing, include_study=False).set_index(
        "run"
    )
    assert (
        table.loc["lang", "inference cost per 1,000 tweets (USD)"] == pricing["azure_language"]["per_1000_text_records"]
    )
    assert pd.isna(table.loc["lang", "training cost (USD)"])
    assert "free per month" in table.loc["lang", "cost basis"]
    endpoint_price = pricing["azure_ml_instances"][pricing["defaults"]["endpoint_instance"]]["per_hour"]
    assert table.loc["ep", "inference cost per 1,000 tweets (USD)"] == pytest.approx(endpoint_price / 50 / 3.6)
    t4 = pricing["azure_ml_instances"]["Standard_NC4as_T4_v3"]["per_hour"]
    assert table.loc["aml", "training cost (USD)"] == pytest.approx(0.5 * t4)
    assert table.loc["aml", "device"] == "Tesla T4 (fp16)"


def test_pricing_sources_and_chart(runs_root):
    sources = resume_table.pricing_sources()
    assert sources[0]["source"].startswith("https://") and sources[0]["as of"]
    assert any("Standard_NC4as_T4_v3" in s["price"] for s in sources)
    table = resume_table.summary_table(list_runs(runs_root))
    figure = accuracy_cost_figure(table)
    points = sum(len(trace.x) for trace in figure.data)
    assert points == 2
    assert len(figure.layout.shapes) == 3  # the study's three reference lines


def test_runs_on_another_test_split_are_named_and_counted(runs_root, tmp_path):
    """A run measured on another split (a fine-tune on a small labelled file) is not silently ranked with the rest."""
    table = resume_table.summary_table(list_runs(runs_root), include_study=False)
    assert table["test split"].str.startswith("tweets.csv · ").all()
    assert len(resume_table.test_splits(table)) == 1

    other = train_logreg(tmp_path, "other-data", make_tweets_csv(tmp_path / "labelled.csv", n=300, seed=3))
    table = resume_table.summary_table([*list_runs(runs_root), read_run(other)], include_study=False)
    splits = resume_table.test_splits(table)
    assert splits.tolist() == [2, 1]
    assert table.set_index("run").loc["other-data", "test split"].startswith("labelled.csv · ")
    assert "/" not in "".join(table["test split"])  # a file name, never a server path
