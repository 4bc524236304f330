"""The class contract (core.data.labels, core.models.base): binary and three-way label codes, class probabilities,
P(negative) for any run, and the loader's three-way reading (issue 22, item 2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data.labels import (
    BINARY_CLASSES,
    THREE_CLASSES,
    classes_for,
    label_names,
    predictions_p_negative,
    predictions_proba,
    probability_columns,
    run_classes,
)
from core.data.loading import DataError, load_dataset
from core.data.split import load_split, split_id_for
from core.models.base import SentimentModel, class_codes, labels_for, labels_from_proba, p_negative
from tests.support.data import make_three_way_tweets, make_tweets, write_headered_csv, write_official_csv


class Binary(SentimentModel):
    def _predict(self, texts):
        return np.array([0.5 if "even" in t else 0.9 if "good" in t else 0.2 for t in texts])


class ThreeWay(SentimentModel):
    classes = THREE_CLASSES

    def _predict_classes(self, texts):
        rows = {"bad": [0.7, 0.2, 0.1], "meh": [0.3, 0.4, 0.3], "good": [0.1, 0.2, 0.7]}
        return np.array([rows[t.split()[0]] for t in texts])


def test_classes_and_run_json():
    assert classes_for(2) == classes_for("2") == BINARY_CLASSES and classes_for(3) == THREE_CLASSES
    assert run_classes({}) == BINARY_CLASSES and run_classes({"classes": list(THREE_CLASSES)}) == THREE_CLASSES
    with pytest.raises(ValueError):
        classes_for(4)
    assert label_names([0, 1, 2, -1, np.nan], THREE_CLASSES, missing="?").tolist() == [
        "negative",
        "neutral",
        "positive",
        "?",
        "?",
    ]


def test_a_binary_model_keeps_its_scores_and_gains_class_probabilities():
    model = Binary("b")
    texts = ["good", "bad", "even", None]
    p_pos = model.predict_proba(texts)
    proba = model.predict_class_proba(texts)
    assert proba.shape == (4, 2) and np.allclose(proba[:, 1], p_pos) and np.allclose(proba.sum(axis=1), 1)
    assert np.allclose(p_negative(model, texts), 1 - p_pos)
    # the binary rule is unchanged, 0.5 included: labels from probabilities are labels_for(P(positive))
    assert model.predict_labels(texts).tolist() == labels_for(p_pos).tolist() == ["positive", "negative"] * 2
    assert model.predict(texts).tolist() == [1, 0, 1, 0]


def test_a_three_way_model_answers_every_contract_method():
    model = ThreeWay("t")
    texts = ["good day", "meh", "bad luck"]
    proba = model.predict_class_proba(texts)
    assert proba.shape == (3, 3)
    assert np.allclose(model.predict_proba(texts), [0.7, 0.3, 0.1])  # P(positive): the last column
    assert np.allclose(model.predict_negative(texts), [0.1, 0.3, 0.7])
    assert model.predict_labels(texts).tolist() == ["positive", "neutral", "negative"]
    assert model.predict(texts).tolist() == [2, 1, 0]
    assert model.predict_class_proba([]).shape == (0, 3) and model.predict_proba([]).shape == (0,)


def test_missing_scores_have_no_label():
    proba = np.array([[np.nan, np.nan, np.nan], [0.2, 0.5, 0.3]])
    assert class_codes(proba, THREE_CLASSES).tolist() == [-1, 1]
    assert labels_from_proba(proba, THREE_CLASSES).tolist() == ["", "neutral"]
    assert labels_from_proba(np.array([[np.nan, np.nan]]), BINARY_CLASSES, missing="-").tolist() == ["-"]


def test_prediction_files_give_p_negative_for_any_run():
    binary = pd.DataFrame({"row_id": [1, 2], "label": [0, 1], "p_pos": [0.2, 0.9]})
    assert np.allclose(predictions_p_negative(binary), [0.8, 0.1])
    assert np.allclose(predictions_proba(binary, BINARY_CLASSES), [[0.8, 0.2], [0.1, 0.9]])
    proba = np.array([[0.6, 0.3, 0.1], [0.1, 0.1, 0.8]])
    three = pd.DataFrame(
        {"row_id": [1, 2], "label": [0, 2], "p_pos": proba[:, 2], **probability_columns(proba, THREE_CLASSES)}
    )
    assert list(three.columns) == ["row_id", "label", "p_pos", "p_negative", "p_neutral", "p_positive"]
    assert np.allclose(predictions_p_negative(three), [0.6, 0.1])
    assert np.allclose(predictions_proba(three, THREE_CLASSES), proba)
    assert probability_columns(proba[:, :2], BINARY_CLASSES) == {}  # a binary file keeps its columns


@pytest.mark.parametrize("fast", [True, False])
def test_a_three_way_load_keeps_neutral_and_a_binary_load_drops_it(tmp_path, fast):
    rows = make_three_way_tweets(30) + [("neutral", "  "), ("neutral", make_three_way_tweets(30)[1][1])]
    path = write_headered_csv(tmp_path / "three.csv", rows)
    binary = load_dataset(path, fast=fast)
    assert binary.classes == BINARY_CLASSES and set(binary.frame["label"]) == {0, 1}
    assert binary.report.neutral_dropped == 12 and binary.report.rows_kept == 20
    three = load_dataset(path, fast=fast, classes=3)
    r = three.report
    assert three.classes == THREE_CLASSES and r.neutral_dropped == 0
    assert (r.empty_texts, r.duplicates_dropped, r.neutral_kept, r.rows_kept) == (1, 1, 10, 30)
    assert three.frame["label"].tolist()[:3] == [0, 1, 2]
    assert "(10 of them neutral)" in r.summary()


def test_sentiment140_codes_read_three_ways_and_ambiguous_codes_are_refused(tmp_path):
    rows = make_tweets(10) + [(2, "just a neutral tweet"), (2, "another neutral one")]
    official = write_official_csv(tmp_path / "testdata.csv", rows)
    assert load_dataset(official).report.neutral_dropped == 2  # a binary run reads it as it always did
    three = load_dataset(official, classes=3).frame
    assert sorted(three["label"].value_counts().items()) == [(0, 5), (1, 2), (2, 5)]  # 0 / 2 / 4
    xlmt = write_headered_csv(tmp_path / "xlmt.csv", [(0, "a"), (1, "b"), (2, "c"), (0, "d")])
    for fast in (True, False):
        for classes in (2, 3):
            with pytest.raises(DataError, match="both 1 and 2, which is ambiguous"):
                load_dataset(xlmt, fast=fast, classes=classes)


def test_a_three_way_split_has_its_own_id_and_a_binary_one_keeps_its_own(tmp_path):
    path = write_headered_csv(tmp_path / "three.csv", make_three_way_tweets(60))
    binary, three = load_split(path), load_split(path, classes=3)
    assert binary.split_id == split_id_for(binary.fingerprint, None, 42, 0.2, 0.1) != three.split_id
    assert "classes" not in binary.describe() and three.describe()["classes"] == 3
    assert three.classes == THREE_CLASSES and set(three.test["label"]) == {0, 1, 2}
    again = load_split(path, classes=3)  # read back from the cache
    assert again.classes == THREE_CLASSES and again.report.neutral_kept == 20
