"""core/analysis/compare.py on two real tiny logistic-regression runs (TF-IDF and hashing) trained on a CSV made here."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from core.analysis import compare as cmp
from core.data.split import split_for_run
from core.tracking.runs import RunInfo, list_runs, read_run
from tests.support.runs import train_tiny_runs
from views.components.formatting import split_warning

POSITIVE = ["love", "great", "thanks", "awesome", "happy", "smooth", "friendly", "perfect", "upgrade", "glad"]
NEGATIVE = ["delayed", "lost", "rude", "worst", "hate", "cancelled", "broken", "sad", "stuck", "awful"]
FILLER = ["flight", "crew", "gate", "seat", "bag", "today", "again", "the", "my", "plane", "airport", "check-in"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    return train_tiny_runs(tmp_path_factory.mktemp("compare"))


@pytest.fixture
def runs(workspace, monkeypatch):
    monkeypatch.setenv("BADBUZZ_DATA_DIR", str(workspace / "data"))
    monkeypatch.setenv("BADBUZZ_RUNS_DIR", str(workspace / "runs"))
    found = {run.id: run for run in list_runs(workspace / "runs")}
    return [found["logreg-tfidf"], found["logreg-hashing"]]


def test_overview_and_metrics_tables_show_each_runs_numbers(runs):
    overview = cmp.overview_table(runs).set_index("run")
    metrics = cmp.metrics_table(runs).set_index("run")
    for run in runs:
        accuracy = 100 * run.metrics["test"]["accuracy"]
        assert overview.loc[run.id, "accuracy (%)"] == pytest.approx(accuracy, abs=0.01)
        assert overview.loc[run.id, "macro F1 (%)"] == pytest.approx(100 * run.metrics["test"]["f1_macro"], abs=0.01)
        assert overview.loc[run.id, "device"].startswith("cpu · ") and "CPU cores" in overview.loc[run.id, "device"]
        assert overview.loc[run.id, "training time (s)"] >= 0
        row = metrics.loc[cmp.run_label(run)]
        assert row["accuracy (%)"] == pytest.approx(accuracy, abs=0.01)
        assert row["ROC AUC"] == pytest.approx(run.metrics["test"]["roc_auc"], abs=1e-4)
        assert row["test tweets"] == run.meta["data"]["sizes"]["test"]
        assert row["latency p50 (ms)"] > 0
    assert "cost (USD)" not in metrics.columns  # local runs record no cloud cost
    cost = {"usd": 0.0123, "usd_per_1000_tweets_at_paid_rate": 1.5}
    cloud = replace(runs[0], metrics={**runs[0].metrics, "cost": cost})
    costs = cmp.metrics_table([cloud, runs[1]]).set_index("run")["cost (USD)"]
    assert costs[cmp.run_label(cloud)] == 0.0123 and pd.isna(costs[cmp.run_label(runs[1])])


def test_split_warning_only_when_split_ids_differ(runs):
    assert cmp.mixed_splits(runs) == {} and split_warning(cmp.mixed_splits(runs)) is None
    moved = replace(runs[1], meta={**runs[1].meta, "data": {**runs[1].meta["data"], "split_id": "other-split"}})
    mixed = cmp.mixed_splits([runs[0], moved])
    assert mixed[moved.id] == "other-split" and len(mixed) == 2
    warning = split_warning(mixed)
    assert "different test splits" in warning and "other-split" in warning


def test_confusion_matrix_counts_and_normalised(runs):
    run = runs[0]
    counts = cmp.confusion(run)
    assert counts.to_numpy().sum() == run.meta["data"]["sizes"]["test"]
    preds = cmp.load_predictions(run)
    true_neg_pred_pos = int(((preds["label"] == 0) & (preds["p_pos"] >= 0.5)).sum())
    assert counts.loc["true negative", "predicted positive"] == true_neg_pred_pos
    normalised = cmp.confusion(run, normalize=True)
    assert np.allclose(normalised.sum(axis=1), 100, atol=0.2)


def test_curve_points_cover_every_run(runs):
    roc = cmp.curve_points(runs, "roc")
    pr = cmp.curve_points(runs, "pr")
    assert roc["run"].nunique() == 2 and pr["run"].nunique() == 2
    assert roc["fpr"].between(0, 1).all() and roc["tpr"].between(0, 1).all()
    assert any("AUC" in name for name in roc["run"].unique())


def test_learning_curves_and_embedding_coverage_read_keras_style_runs(runs):
    assert cmp.learning_curves(runs).empty
    history = [
        {"epoch": 1, "loss": 0.7, "val_loss": 0.69, "accuracy": 0.55, "val_accuracy": 0.5},
        {"epoch": 2, "loss": 0.5, "val_loss": 0.6, "accuracy": 0.8, "val_accuracy": 0.7},
    ]
    keras_like = replace(
        runs[0],
        history=history,
        meta={
            **runs[0].meta,
            "kind": "keras",
            "approach": "Keras LSTM (word2vec)",
            "embedding": {"name": "word2vec", "coverage": {"vocabulary": 0.91, "tokens": 0.98}},
        },
    )
    curves = cmp.learning_curves([keras_like])
    assert len(curves) == 8  # 2 epochs x (loss, accuracy) x (train, validation)
    val_acc = curves[(curves.metric == "accuracy") & (curves.split == "validation")].sort_values("epoch")
    assert val_acc["value"].tolist() == [0.5, 0.7]
    coverage = cmp.embedding_coverage([keras_like, runs[1]])
    assert len(coverage) == 1
    assert coverage.iloc[0]["coverage vocabulary"] == 0.91 and coverage.iloc[0]["name"] == "word2vec"


def test_disagreements_match_the_predictions_files(runs):
    aligned = cmp.aligned_predictions(runs)
    a, b = (cmp.load_predictions(r) for r in runs)
    assert len(aligned) == len(a) == len(b)
    merged = a.merge(b, on=["row_id", "label"])
    expected = int(((merged["p_pos_x"] >= 0.5) != (merged["p_pos_y"] >= 0.5)).sum())
    assert expected > 0, "the tiny runs should disagree on some tweets"
    texts, problem = cmp.test_texts(runs)
    assert problem is None
    found, total = cmp.disagreements(aligned, texts)
    assert total == expected == len(found)
    test = split_for_run(runs[0].meta).test.set_index("row_id")
    assert found["text"].tolist() == test.loc[found["row_id"], "text"].tolist()
    assert found["spread"].is_monotonic_decreasing
    negatives, n_neg = cmp.disagreements(aligned, texts, "negative")
    assert set(negatives["true label"]) <= {"negative"} and 0 < n_neg <= total


def test_confident_mistakes_are_wrong_and_sorted(runs):
    texts, _ = cmp.test_texts(runs)
    mistakes = cmp.confident_mistakes(runs[0], texts, n=5)
    assert 0 < len(mistakes) <= 5
    assert (mistakes["predicted"] != mistakes["true label"]).all()
    assert mistakes["confidence"].is_monotonic_decreasing
    assert mistakes["text"].notna().all()


def test_default_selection_keeps_the_newest_run_per_approach(workspace, runs, tmp_path):
    root = tmp_path / "runs"
    for run in runs:
        shutil.copytree(run.path, root / run.id)
    older = root / "logreg-tfidf-old"
    shutil.copytree(runs[0].path, older)
    meta = json.loads((older / "run.json").read_text())
    meta["id"], meta["timings"]["started_unix"] = "logreg-tfidf-old", 1.0
    (older / "run.json").write_text(json.dumps(meta))
    picked = cmp.default_selection(list_runs(root))
    assert sorted(r.id for r in picked) == ["logreg-hashing", "logreg-tfidf"]
    assert read_run(older).status == "succeeded"


def test_same_data_groups_runs_by_fingerprint(runs):
    other = replace(runs[1], meta={**runs[1].meta, "data": {**runs[1].meta["data"], "fingerprint": "x"}})
    same, left_out = cmp.same_data([runs[0], runs[1], other])
    assert [r.id for r in same] == ["logreg-tfidf", "logreg-hashing"] and left_out == [other]


def test_train_commands_name_the_data_and_the_runs_folder(workspace, runs):
    commands = cmp.train_commands(workspace / "tweets.csv")
    assert commands["logreg-hashing"].startswith("python -m trainers.logreg --data ")
    assert str(workspace / "tweets.csv") in commands["logreg-tfidf"]
    assert f"--output {workspace / 'runs' / 'logreg-hashing'} --features hashing" in commands["logreg-hashing"]


def test_runs_on_the_common_split_rank_before_a_small_fine_tune_split(tmp_path):
    def run(name: str, split: str, accuracy: float) -> RunInfo:
        meta = {"id": name, "data": {"split_id": split}}
        return RunInfo(path=tmp_path / name, meta=meta, status="succeeded", metrics={"test": {"accuracy": accuracy}})

    runs = [run("fine-tune", "small", 0.91), run("lstm", "shared", 0.80), run("minilm", "shared", 0.83)]
    assert [r.id for r in cmp.ranked_by_accuracy(runs)] == ["minilm", "lstm", "fine-tune"]
