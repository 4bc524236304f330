"""The Keras approaches: every --arch, every --embedding kind, the study preset, save/load, clear errors.

Runs are real trainings on the tiny CSV of conftest with tiny dimensions, made once per module."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.models.base import load
from core.text.preprocess import STUDY_STEPS
from tests.support.data import make_three_way_tweets
from trainers import keras_nn

pytestmark = pytest.mark.slow  # trains real (tiny) neural models

TINY = ["--dim", "8", "--units", "8", "--epochs", "1", "--batch-size", "64", "--vector-epochs", "2"]
HISTORY_KEYS = {"epoch", "loss", "val_loss", "accuracy", "val_accuracy", "seconds", "tweets_per_s"}


@pytest.fixture(scope="module")
def km():
    """core.models.keras, imported by the tests that use it (TensorFlow takes seconds: not at collection)."""
    from core.models import keras

    return keras


def tiny_vectors(folder: Path, csv: Path):
    """8-d gensim KeyedVectors for part of the tiny corpus's words (so coverage is below 100 %)."""
    from gensim.models import KeyedVectors

    from core.text.preprocess import tweet_tokens

    words = sorted({w for text in pd.read_csv(csv)["text"] for w in tweet_tokens(text) if not w.isdigit()})
    kv = KeyedVectors(vector_size=8)
    kv.add_vectors(words[::2], np.random.default_rng(0).normal(size=(len(words[::2]), 8)).astype(np.float32))
    return kv


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_csv, three_way_csv):
    """One run per arch and embedding kind, trained in this process with tiny settings; `base-three-way` learns
    negative / neutral / positive from the three-way file."""
    root = tmp_path_factory.mktemp("keras-runs")
    glove = root / "glove.tiny.8d.txt"
    kv = tiny_vectors(root, tiny_csv)
    with open(glove, "w") as fh:
        for word in kv.index_to_key:
            fh.write(word + " " + " ".join(f"{v:.5f}" for v in kv[word]) + "\n")
    (root / "artifacts" / "embeddings" / "gensim-data").mkdir(parents=True)
    kv.save(str(root / "artifacts" / "embeddings" / "gensim-data" / "glove-twitter-25.kv"))
    env = {
        "BADBUZZ_ARTIFACTS": str(root / "artifacts"),
        "BADBUZZ_DATA_DIR": str(root / "data"),
        "BADBUZZ_NO_DOWNLOAD": "1",
    }
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    specs = {
        "base-fasttext": ["--arch", "base", "--embedding", "fasttext", "--epochs", "8"],
        "lstm-word2vec": ["--arch", "lstm", "--embedding", "word2vec"],
        "base-three-way": ["--arch", "base", "--embedding", "fasttext", "--epochs", "8"],
        "bilstm-glove": ["--arch", "bilstm", "--embedding", str(glove), "--no-trainable-embeddings"],
        "lstm-gensim-data": ["--arch", "lstm", "--embedding", "glove-twitter-25"],
        "study-word2vec": [
            "--preset",
            "study",
            "--embedding",
            "word2vec",
            "--dim",
            "8",
            "--epochs",
            "1",
            "--vector-epochs",
            "2",
        ],
    }
    try:
        for name, extra in specs.items():
            options = extra if name.startswith("study") else TINY + extra
            data = three_way_csv if name.endswith("three-way") else tiny_csv
            keras_nn.main(["--data", str(data), "--output", str(root / name), *options])
    finally:
        for k, v in old.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    return {name: root / name for name in specs}


def read(run: Path, name: str):
    return json.loads((run / name).read_text())


@pytest.mark.parametrize(
    "name", ["base-fasttext", "base-three-way", "lstm-word2vec", "bilstm-glove", "lstm-gensim-data", "study-word2vec"]
)
def test_every_run_is_complete(runs, name):
    run = runs[name]
    meta, metrics, history = read(run, "run.json"), read(run, "metrics.json"), read(run, "history.json")
    assert meta["status"] == "succeeded" and meta["kind"] == "keras"
    assert 0 <= metrics["test"]["accuracy"] <= 1 and metrics["latency"]["single_p50_ms"] > 0
    assert metrics["training"]["tweets_per_s"] > 0
    detail = metrics["keras"]
    assert detail["epochs_run"] == len(history) and detail["train_tweets_per_s"] > 0
    assert set(detail["phase_seconds"]) == {"preprocess", "embedding", "fit"}
    assert history and all(set(entry) == HISTORY_KEYS for entry in history)
    assert [e["epoch"] for e in history] == list(range(1, len(history) + 1))
    embedding = meta["embedding"]
    assert 0 < embedding["vocab_coverage"] <= 1 and 0 < embedding["token_coverage"] <= 1
    assert meta["device"]["type"] == "cpu" and meta["device"]["backend"] == "tensorflow"
    predictions = pd.read_csv(run / "test_predictions.csv")
    assert len(predictions) == meta["data"]["sizes"]["test"]


def test_embedding_kinds_are_recorded(runs, km):
    trained = read(runs["lstm-word2vec"], "run.json")["embedding"]
    assert trained["origin"] == "trained" and trained["source"] == "word2vec" and trained["vocab_coverage"] == 1.0
    assert read(runs["base-fasttext"], "run.json")["embedding"]["subword"] is True
    glove = read(runs["bilstm-glove"], "run.json")["embedding"]
    assert glove["origin"] == "file" and glove["trainable"] is False
    assert 0.3 < glove["vocab_coverage"] < 0.7  # tiny_vectors holds every other word
    named = read(runs["lstm-gensim-data"], "run.json")["embedding"]
    assert named["origin"] == "gensim-data" and named["source"] == "glove-twitter-25"
    frozen = km.parameter_counts(load(runs["bilstm-glove"]).model)
    assert frozen["layers"]["embedding"] == frozen["non_trainable"]


def test_base_model_learns_the_tiny_corpus(runs):
    assert read(runs["base-fasttext"], "metrics.json")["test"]["accuracy"] >= 0.9


def test_a_run_on_neutral_data_learns_three_classes(runs):
    run = runs["base-three-way"]
    assert read(run, "run.json")["classes"] == ["negative", "neutral", "positive"]
    test = read(run, "metrics.json")["test"]
    assert np.array(test["confusion_matrix"]).shape == (3, 3) and test["accuracy"] > 0.5  # chance: 1/3
    predictions = pd.read_csv(run / "test_predictions.csv")
    assert list(predictions.columns) == ["row_id", "label", "p_pos", "p_negative", "p_neutral", "p_positive"]
    model = load(run)
    proba = model.predict_class_proba([text for _, text in make_three_way_tweets(6, seed=5)])
    assert model.classes == ("negative", "neutral", "positive") and proba.shape == (6, 3)
    assert np.allclose(proba.sum(axis=1), 1, atol=1e-5)


def test_progress_lines_and_history_follow_epochs_and_steps(tmp_path, capsys, km):
    from core.tracking.runs import read_json, start_run

    rng = np.random.default_rng(0)
    x, y = rng.integers(1, 10, size=(40, 5)).astype("int32"), rng.integers(0, 2, size=40)
    with start_run(tmp_path / "run", kind="keras", approach="progress test") as run:
        network = km.build_model("lstm", 10, 4, 5, units=3)
        network.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        history = km.EpochHistory(run, n_train=40, batch_size=8, epochs=2, every_s=0)
        network.fit(x, y, validation_data=(x[:8], y[:8]), epochs=2, batch_size=8, callbacks=[history], verbose=0)
        run.finish({})
    lines = [
        json.loads(line.removeprefix("[progress] "))
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("[progress] ")
    ]
    steps = [line for line in lines if "done" not in line["message"]]
    assert [(p["epoch"], p["step"]) for p in steps] == [(e, s) for e in (1, 2) for s in range(1, 6)]
    assert all(p["epochs"] == 2 and p["steps"] == 5 and p["loss"] > 0 and p["tweets_per_s"] > 0 for p in steps)
    assert steps[-1]["eta_s"] == 0 and steps[0]["eta_s"] > 0
    saved = read_json(tmp_path / "run" / "history.json")
    assert [e["epoch"] for e in saved] == [1, 2] and all(set(e) == HISTORY_KEYS for e in saved)
    assert history.best("val_loss") in (1, 2)


@pytest.mark.parametrize("name", ["lstm-word2vec", "study-word2vec"])
def test_loaded_run_scores_raw_tweets_like_the_trained_model(runs, name):
    model = load(runs[name])
    saved = pd.read_csv(runs[name] / "test_predictions.csv")
    from core.data.split import split_for_run

    test = split_for_run(read(runs[name], "run.json")).test
    assert list(test["row_id"]) == list(saved["row_id"])
    np.testing.assert_allclose(model.predict_proba(test["text"].tolist()), saved["p_pos"], atol=2e-6)
    assert model.predict_proba([]).shape == (0,)
    empty = model.predict_proba(["", None, "!!!"])  # nothing left after cleaning still gets a score
    assert empty.shape == (3,) and np.all((empty >= 0) & (empty <= 1))


def test_predictions_identical_after_save_and_load(tmp_path, km):
    from core.text.preprocess import Preprocessor

    texts = ["I love this airline", "worst flight ever, lost my bag", "not bad at all", "@united thanks!!!"]
    encoder = km.TextEncoder.fit(Preprocessor(), [Preprocessor().tokens(t) for t in texts * 3], min_count=1)
    for arch in km.ARCHS:
        network = km.build_model(arch, len(encoder.vocabulary), 6, encoder.max_len, units=5, dropout=0.2)
        network.compile("adam", "sparse_categorical_crossentropy")
        network.fit(encoder.encode(texts), np.array([1, 0, 1, 1]), epochs=1, verbose=0)
        before = km.KerasSentimentModel(network, encoder, arch).predict_proba(texts)
        folder = tmp_path / arch
        folder.mkdir()
        network.save(folder / km.MODEL_FILE)
        encoder.save(folder)
        after = km.load(folder).predict_proba(texts)
        np.testing.assert_array_equal(before, after)


def test_study_preset_reproduces_the_study_pipeline(runs, km):
    meta = read(runs["study-word2vec"], "run.json")
    model = meta["model"]
    assert model["max_len"] == 25 and model["units"] == 8 == model["dim"] and model["trainable"] is False
    assert model["dropout"] == 0 and model["options"]["patience"] == 5
    assert meta["embedding"]["trainable"] is False
    assert model["preprocessing"]["steps"] == STUDY_STEPS
    prep = read(runs["study-word2vec"], km.PREPROCESSING_FILE)
    assert prep["padding"] == "pre" and prep["max_len"] == 25
    parameters = model["parameters"]
    rows = prep["vocabulary_size"]
    assert parameters["total"] == km.study_parameter_count(rows, 8)
    assert parameters["non_trainable"] == rows * 8  # the frozen embedding
    assert parameters["layers"] == {"embedding": rows * 8, "lstm": 4 * (2 * 8 * 8 + 8), "sentiment": 18}


def test_study_parameter_counts_match_the_study_summary(km):
    """The study's first model: Embedding(33,450 x 50, frozen) -> LSTM(50) -> Dense(2)."""
    network = km.build_model("lstm", 33_450, 50, 25, trainable=False, units=50, dropout=0.0, mask=False)
    counts = km.parameter_counts(network)
    assert counts["layers"] == {"embedding": 1_672_500, "lstm": 20_200, "sentiment": 102}
    assert counts["total"] == 1_692_802 == km.study_parameter_count(33_450, 50)
    assert counts["trainable"] == 20_302


def test_missing_vectors_file_is_a_clear_error_before_any_run(tmp_path, tiny_csv, capsys):
    out = tmp_path / "never"
    with pytest.raises(SystemExit) as exit_:
        keras_nn.main(["--data", str(tiny_csv), "--output", str(out), "--embedding", str(tmp_path / "nope.vec")])
    assert exit_.value.code == 2
    assert "vectors file not found" in capsys.readouterr().err
    assert not out.exists()


def test_offline_gensim_data_name_fails_the_run_with_what_to_pass(tmp_path, tiny_csv, capsys):
    out = tmp_path / "offline"
    with pytest.raises(SystemExit) as exit_:
        keras_nn.main(["--data", str(tiny_csv), "--output", str(out), "--embedding", "glove-wiki-gigaword-50", *TINY])
    assert exit_.value.code == 2 and "glove.6B.50d.txt" in capsys.readouterr().err
    meta = read(out, "run.json")
    assert meta["status"] == "failed" and "glove.6B.50d.txt" in meta["error"]


def test_text_encoder_vocabulary_and_padding(km):
    from core.text.preprocess import Preprocessor

    tokens = [["a", "b", "a"], ["a", "c"], ["b", "a", "d", "e"]]
    encoder = km.TextEncoder.fit(Preprocessor(), tokens, max_words=4, min_count=1, max_len=3)
    assert encoder.vocabulary == ["<pad>", "<oov>", "a", "b"]
    np.testing.assert_array_equal(encoder.encode_tokens([["a", "zzz"], []]), [[2, 1, 0], [1, 0, 0]])
    pre = km.TextEncoder(encoder.preprocessor, encoder.vocabulary, 3, padding="pre")
    np.testing.assert_array_equal(pre.encode_tokens([["b", "a", "b", "a"]]), [[3, 2, 3]])
    assert km.TextEncoder.fit(Preprocessor(), tokens, min_count=2).vocabulary == ["<pad>", "<oov>", "a", "b"]


def test_score_cli_scores_a_csv_with_a_keras_run(runs, tmp_path):
    source = tmp_path / "in.csv"
    pd.DataFrame({"text": ["love the crew, great flight", "worst delay ever", ""]}).to_csv(source, index=False)
    target = tmp_path / "out.csv"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "core.score",
            "--run",
            str(runs["base-fasttext"]),
            "--input",
            str(source),
            "--output",
            str(target),
        ],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[2],
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    scored = pd.read_csv(target)
    assert scored.loc[0, "label"] == "positive" and scored.loc[1, "label"] == "negative"
    assert scored.loc[0, "score"] > scored.loc[1, "score"]
