"""Three-way runs (issue 22, item 2): a run learns neutral when its training data hold neutral tweets, and every
path (training, metrics, scoring, Live, the monitor, evaluation sets, the endpoint script, ensembles) follows;
binary runs keep their outputs."""

from __future__ import annotations

import json

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
