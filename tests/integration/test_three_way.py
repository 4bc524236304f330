"""Three-way runs (issue 22, item 2): a run learns neutral when its training data hold neutral tweets, and every
path (training, metrics, scoring, Live, the monitor, evaluation sets, the endpoint script, ensembles) follows;
binary runs keep their outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data.labels import THREE_CLASSES
from core.models import base as models
from core.tracking.runs import read_run
from tests.support.data import make_three_way_tweets, make_tweets, write_headered_csv
from trainers import logreg


def test_a_run_on_neutral_data_learns_three_classes(three_way_logreg_run):
    info = read_run(three_way_logreg_run)
    assert info.status == "succeeded" and info.meta["classes"] == list(THREE_CLASSES)
    assert info.meta["data"]["classes"] == 3 and info.meta["data"]["report"]["neutral_kept"] == 100
    test = info.metrics["test"]
    assert test["labels"] == list(THREE_CLASSES) and np.array(test["confusion_matrix"]).shape == (3, 3)
    assert test["f1_macro"] > 0.9 and set(test["per_class"]) == set(THREE_CLASSES) and test["negative_roc_auc"] > 0.9
    preds = pd.read_csv(three_way_logreg_run / "test_predictions.csv")
    assert list(preds.columns) == ["row_id", "label", "p_pos", "p_negative", "p_neutral", "p_positive"]
    assert np.allclose(preds[["p_negative", "p_neutral", "p_positive"]].sum(axis=1), 1, atol=1e-5)
    model = models.load(three_way_logreg_run)
    assert model.classes == THREE_CLASSES
    texts = [text for _, text in make_three_way_tweets(6, seed=5)]
    assert model.predict_labels(texts).tolist() == ["negative", "neutral", "positive"] * 2
    assert np.allclose(model.predict_negative(texts), model.predict_class_proba(texts)[:, 0])


def test_classes_option_forces_or_refuses(tmp_path, three_way_csv, capsys):
    logreg.main(["--data", str(three_way_csv), "--output", str(tmp_path / "two"), "--classes", "2", "--C", "1"])
    info = read_run(tmp_path / "two")
    assert info.meta["classes"] == ["negative", "positive"] and "classes" not in info.meta["data"]
    assert info.meta["data"]["report"]["neutral_dropped"] == 100
    assert list(pd.read_csv(tmp_path / "two" / "test_predictions.csv").columns) == ["row_id", "label", "p_pos"]
    binary = write_headered_csv(tmp_path / "binary.csv", make_tweets(100))
    with pytest.raises(SystemExit) as exit_info:
        logreg.main(["--data", str(binary), "--output", str(tmp_path / "three"), "--classes", "3", "--C", "1"])
    assert exit_info.value.code == 2 and "--classes 3: the training data" in capsys.readouterr().err


def test_neutral_extra_data_makes_a_binary_file_three_way(tmp_path):
    binary = write_headered_csv(tmp_path / "binary.csv", make_tweets(200))
    neutral = write_headered_csv(tmp_path / "neutral.csv", make_three_way_tweets(90, seed=3))
    logreg.main(["--data", str(binary), "--output", str(tmp_path / "r"), "--extra-data", str(neutral), "--C", "1"])
    info = read_run(tmp_path / "r")
    assert info.meta["classes"] == list(THREE_CLASSES)
    extra = info.meta["lineage"]["datasets"][1]
    assert extra["neutral_kept"] == 30 and extra["neutral_dropped"] == 0
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["test"]["per_class"]["neutral"]["support"] == 0


@pytest.fixture(scope="module")
def three_way_runs(tmp_path_factory, three_way_csv, three_way_logreg_run, trained_logreg_run) -> Path:
    """A runs folder: `tfidf` (the shared three-way logreg run), `hashing` (three-way, same split), `binary` (the
    shared binary run), `mean` (their ensemble), `tfidf-train` and `hashing-train` (fitted on the training split
    only) and `fitted` (their ensemble with fitted weights)."""
    import shutil

    from tests.integration.test_ensemble import train_only_logreg
    from trainers import ensemble

    root = tmp_path_factory.mktemp("three-way") / "runs"
    for name, run in (("tfidf", three_way_logreg_run), ("binary", trained_logreg_run)):
        shutil.copytree(run, root / name)
        meta = json.loads((root / name / "run.json").read_text())
        (root / name / "run.json").write_text(json.dumps({**meta, "id": name}))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BADBUZZ_RUNS_DIR", str(root))
        patch.setenv("BADBUZZ_DATA_DIR", str(root.parent / "data"))
        logreg.main(["--data", str(three_way_csv), "--output", str(root / "hashing"), "--features", "hashing"])
        ensemble.main(["--members", "tfidf", "hashing", "--output", str(root / "mean")])
        for features in ("tfidf", "hashing"):
            train_only_logreg(root / f"{features}-train", three_way_csv, features, classes=3)
        ensemble.main(
            ["--members", "tfidf-train", "hashing-train", "--method", "fitted", "--output", str(root / "fitted")]
        )
    return root


@pytest.mark.parametrize("method", ["mean", "fitted"])
def test_an_ensemble_of_three_way_runs_answers_three_ways(three_way_runs, method):
    run = three_way_runs / method
    info = read_run(run)
    assert info.status == "succeeded" and info.meta["classes"] == list(THREE_CLASSES)
    assert np.array(info.metrics["test"]["confusion_matrix"]).shape == (3, 3) and info.metrics["test"]["f1_macro"] > 0.9
    preds = pd.read_csv(run / "test_predictions.csv")
    assert list(preds.columns) == ["row_id", "label", "p_pos", "p_negative", "p_neutral", "p_positive"]
    model = models.load(run)
    texts = [text for _, text in make_three_way_tweets(6, seed=5)]
    proba = model.predict_class_proba(texts)
    assert model.classes == THREE_CLASSES and np.allclose(proba.sum(axis=1), 1)
    assert model.predict_labels(texts).tolist() == ["negative", "neutral", "positive"] * 2
    if method == "fitted":
        assert len(json.loads((run / "run.json").read_text())["ensemble"]["intercept"]) == 3


def test_an_ensemble_refuses_members_of_other_classes(three_way_runs, tmp_path, capsys, monkeypatch):
    from trainers import ensemble

    monkeypatch.setenv("BADBUZZ_RUNS_DIR", str(three_way_runs))
    with pytest.raises(SystemExit) as exit_info:
        ensemble.main(["--members", "tfidf", "binary", "--output", str(tmp_path / "mixed")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "same --classes" in err and len(err.strip().splitlines()) == 1


def stored_tweets(store, texts: list[str], first: int) -> None:
    from core.monitor.records import finish, tweet_row

    when = "2015-02-24 08:{:02d}:00 +0000"
    store.add_tweets(
        finish(
            [tweet_row("test", f"k{first + i}", text, when.format(i), {"airline": "A"}) for i, text in enumerate(texts)]
        )
    )


def test_the_monitor_store_keeps_class_probabilities_and_an_older_store_gains_the_columns(
    tmp_path, three_way_logreg_run, trained_logreg_run
):
    import sqlite3

    from core.inference.scorers import ModelScorer
    from core.monitor.alerts import stored_windows
    from core.monitor.feed import alert_table
    from core.monitor.rules import GroupRule, Rules
    from core.monitor.scoring import score_pending
    from core.monitor.store import Store

    path = tmp_path / "old.sqlite"
    store = Store(path)  # a binary run's tweets, in a store made before the probability columns existed
    stored_tweets(store, ["love the crew great", "awful delayed lost"], 0)
    score_pending(store, ModelScorer(models.load(trained_logreg_run), "binary"), "binary")
    store.close()
    with sqlite3.connect(path) as conn:
        for name in ("p_negative", "p_neutral", "p_positive"):
            conn.execute(f"ALTER TABLE tweets DROP COLUMN {name}")
        for name in ("share_low", "share_high", "p_over"):  # and an alerts table from before the gauge
            conn.execute(f"ALTER TABLE alerts DROP COLUMN {name}")
    reader = Store(path, readonly=True)  # the page: nothing added, P(negative) read as 1 - P(positive)
    old = reader.scored_tweets("airline", 0, 2e9)
    assert len(reader.lacking) == 6 and np.allclose(old["p_negative"], 1 - old["score"])
    assert alert_table(reader).empty and "share_low" in alert_table(reader).columns  # the live feed's alert list
    reader.close()

    store = Store(path)  # the watcher: the columns are added, the rows kept
    assert store.lacking == set()
    texts = [text for _, text in make_three_way_tweets(6, seed=5)]
    stored_tweets(store, texts, 2)
    score_pending(store, ModelScorer(models.load(three_way_logreg_run), "three"), "three")
    rows = store.frame("SELECT label, score, p_negative, p_neutral, p_positive FROM tweets ORDER BY id")
    assert rows[["p_negative", "p_neutral", "p_positive"]].iloc[:2].isna().all().all()  # the binary run's rows
    three = rows.iloc[2:]
    assert three["label"].tolist() == ["negative", "neutral", "positive"] * 2
    assert np.allclose(three[["p_negative", "p_neutral", "p_positive"]].sum(axis=1), 1)
    assert np.allclose(three["score"], three["p_positive"])
    p_negative = store.scored_tweets("airline", 0, 2e9).sort_values("id")["p_negative"].to_numpy()
    assert np.allclose(p_negative, [*(1 - rows["score"].iloc[:2]), *three["p_negative"]])
    # every scored tweet is in the window, the neutral ones included: 3 of 8 called negative, and the share
    # (the gauge's estimate) is the mean P(negative) of all 8
    windows = stored_windows(store, Rules(window="1h", default=GroupRule(0.6, 1, spike_factor=0)), "airline", 0, 2e9)
    assert windows[["volume", "negative"]].values.tolist() == [[8, 3]]
    assert windows["share"].iloc[0] == pytest.approx(p_negative.mean())
    store.close()


def test_every_scoring_path_answers_three_ways(tmp_path, three_way_logreg_run, monkeypatch):
    import io

    from core.azure_ml import score_script
    from core.inference import batch
    from core.inference.scorers import ModelScorer
    from core.inference.stream import score_stream, scored_csv
    from core.inference.stream_input import inspect_csv

    texts = ["", *(text for _, text in make_three_way_tweets(3, seed=5))]
    expected = models.load(three_way_logreg_run).predict_class_proba(texts[1:])
    pd.DataFrame({"text": texts}).to_csv(tmp_path / "in.csv", index=False)

    # core.score: score (P(positive)), label, the three probabilities, reason
    predict = batch.make_predictor(str(three_way_logreg_run), None, batch.ScoreReport())
    batch.score_csv(tmp_path / "in.csv", tmp_path / "out.csv", predict)
    written = pd.read_csv(tmp_path / "out.csv", keep_default_na=False)
    assert list(written.columns) == [
        "text",
        "score",
        "label",
        "p_negative",
        "p_neutral",
        "p_positive",
        "reason",
        "language",
    ]
    assert written["label"].tolist() == ["", "negative", "neutral", "positive"]
    assert written.loc[0, "p_neutral"] == "" and written.loc[0, "reason"] == "empty text"
    got = written[["p_negative", "p_neutral", "p_positive"]].iloc[1:].astype(float).to_numpy()
    assert np.allclose(got, expected, atol=1e-6) and np.allclose(written["score"].iloc[1:].astype(float), got[:, 2])

    # the monitor's uploads: the same probabilities in its download
    data = (tmp_path / "in.csv").read_bytes()
    result = score_stream(
        io.BytesIO(data), inspect_csv(io.BytesIO(data)), ModelScorer(models.load(three_way_logreg_run), "m")
    )
    download = pd.read_csv(io.BytesIO(scored_csv(result.scored)), keep_default_na=False)
    assert {"p_negative", "p_neutral", "p_positive"} <= set(download.columns)
    assert download["label"].tolist() == ["", "negative", "neutral", "positive"]

    # the endpoint's scoring script: its classes and each text's class probabilities
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(three_way_logreg_run))
    score_script.init()
    answer = score_script.run(json.dumps({"texts": texts}))
    assert answer["classes"] == list(THREE_CLASSES) and answer["labels"] == [None, "negative", "neutral", "positive"]
    assert answer["proba"][0] is None and np.allclose(answer["proba"][1:], expected, atol=1e-6)
    assert answer["p_pos"][1:] == pytest.approx(expected[:, 2].tolist(), abs=1e-6)


def test_an_evaluation_set_of_a_three_way_run_has_a_three_by_three_matrix(tmp_path, three_way_logreg_run, capsys):
    import shutil

    from core.commands import evaluate
    from tests.support.data import make_three_way_csv

    run = tmp_path / "run"
    shutil.copytree(three_way_logreg_run, run)
    labelled = make_three_way_csv(tmp_path / "later.csv", 60, seed=9)
    evaluate.main(["--run", str(run), "--data", str(labelled)])
    assert "macro F1" in capsys.readouterr().out
    result = json.loads((run / "evaluations" / "later" / "evaluation.json").read_text())
    assert result["classes"] == list(THREE_CLASSES) and result["neutral"]["as_class"] is True
    matrix = np.array(result["metrics"]["confusion_matrix"])
    assert matrix.shape == (3, 3) and matrix.sum() == 60 and result["metrics"]["f1_macro"] > 0.9
    predictions = pd.read_csv(run / "evaluations" / "later" / "predictions.csv")
    assert {"p_negative", "p_neutral", "p_positive"} <= set(predictions.columns)
