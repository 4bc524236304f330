import copy
import json
import shutil
import socket

import numpy as np
import pandas as pd
import pytest

from core.evaluation.metrics import classification_report
from core.models import base as models
from core.tracking.runs import read_run
from tests.support.cli import score_cli
from trainers import logreg


def test_logreg_run_folder_is_complete(trained_logreg_run):
    info = read_run(trained_logreg_run)
    assert info.status == "succeeded" and info.kind == "logreg"
    assert info.meta["data"]["split_id"] and info.meta["data"]["sizes"]["test"] == 120
    assert info.metrics["test"]["accuracy"] > 0.9
    assert info.metrics["latency"]["single_p50_ms"] > 0 and info.metrics["training"]["tweets_per_s"] > 0
    preds = pd.read_csv(trained_logreg_run / "test_predictions.csv")
    assert list(preds.columns) == ["row_id", "label", "p_pos"] and len(preds) == 120
    search = info.meta["model"]
    assert (
        set(search["val_accuracy_by_C"]) == set(search["fit_seconds_by_C"])
        and str(search["C"]) in search["fit_seconds_by_C"]
    )
    assert search["solver"].startswith("saga")


def test_many_texts_are_tokenised_in_workers_with_the_same_scores(trained_logreg_run, tiny_csv):
    texts = pd.read_csv(tiny_csv)["text"].tolist() + ["", "a\x1fb", "@fan1 :-)", "awful 😡", "great ❤️"]
    serial = models.load(trained_logreg_run)
    parallel = models.SklearnModel(serial.pipeline, serial.name, parallel_from=10)
    assert np.allclose(parallel.predict_proba(texts), serial.predict_proba(texts), atol=1e-6)
    vectorizer = serial.pipeline.steps[0][1]
    assert vectorizer.tokenizer.__name__ == "emoji_tweet_tokens"  # the saved model reads raw texts, emoji as words
    grams = vectorizer.build_analyzer()("so late 😞")
    assert {"disappointed", "face", "late disappointed"} <= set(grams) and "😞" not in grams
    assert read_run(trained_logreg_run).meta["model"]["tokens"] == "tweet tokens, emoji as words"


def test_a_run_made_before_emoji_were_read_keeps_its_tokeniser(trained_logreg_run, tiny_csv):
    from core.text.preprocess import tweet_tokens

    serial = models.load(trained_logreg_run)
    old = copy.deepcopy(serial.pipeline)
    old.steps[0][1].set_params(tokenizer=tweet_tokens)  # what an older run's model.joblib names
    texts = pd.read_csv(tiny_csv)["text"].tolist()[:40] + ["awful 😡"]
    before, many = models.SklearnModel(old, "old"), models.SklearnModel(old, "old", parallel_from=10)
    assert "😞" in old.steps[0][1].build_analyzer()("so late 😞")
    assert np.allclose(before.predict_proba(texts), many.predict_proba(texts), atol=1e-6)


def test_hashing_features(tmp_path, tiny_csv):
    logreg.main(
        [
            "--data",
            str(tiny_csv),
            "--output",
            str(tmp_path / "h"),
            "--features",
            "hashing",
            "--hash-bits",
            "12",
            "--C",
            "1",
        ]
    )
    info = read_run(tmp_path / "h")
    assert info.meta["approach"].startswith("Feature hashing") and info.metrics["test"]["accuracy"] > 0.9


def test_copied_run_still_loads_and_scores(tmp_path, trained_logreg_run):
    copy = shutil.copytree(trained_logreg_run, tmp_path / "elsewhere")
    model = models.load(copy)
    p = model.predict_proba(["I love this crew, amazing", "worst delay ever, rude and awful", ""])
    assert p[0] > 0.5 > p[1] and 0 <= p[2] <= 1


def test_load_refuses_unfinished_or_unknown_runs(tmp_path, trained_logreg_run):
    copy = shutil.copytree(trained_logreg_run, tmp_path / "r")
    text = (copy / "run.json").read_text()
    (copy / "run.json").write_text(text.replace('"succeeded"', '"failed"'))
    with pytest.raises(models.ModelLoadError, match="failed"):
        models.load(copy)
    (copy / "run.json").write_text(text.replace('"logreg"', '"mystery"'))
    with pytest.raises(models.ModelLoadError, match="unknown kind"):
        models.load(copy)


def test_score_cli_streams_keeps_every_row_and_reports_bad_lines(tmp_path, trained_logreg_run):
    src = tmp_path / "in.csv"
    src.write_text(
        'id,text\n1,"I love this flight, amazing crew"\n2,\n3,"worst delay, rude and awful"\n'
        '4,"too,many",fields,here\n5,"   "\n6,"' + "great " * 5000 + '"\n'
    )
    out = tmp_path / "out.csv"
    result = score_cli(trained_logreg_run, src, out, "--chunk-size", "2")
    assert result.returncode == 0, result.stderr
    assert (
        "6 records in: 3 scored (1 on a truncated text), 2 kept without a score (empty text: 2), "
        "1 malformed (line 5); 3 + 2 + 1 = 6"
    ) in result.stdout
    assert "malformed line 5: 4 fields instead of 2" in result.stdout and "many" not in result.stdout
    scored = pd.read_csv(out, dtype={"reason": str}, keep_default_na=False)
    assert scored["id"].tolist() == [1, 2, 3, 5, 6]
    assert scored["label"].tolist() == ["positive", "", "negative", "", "positive"]
    assert scored.loc[scored["id"] == 2, "reason"].item() == "empty text"
    assert scored.loc[scored["id"] == 6, "reason"].item().startswith("text truncated")
    assert len(scored.loc[scored["id"] == 6, "text"].item()) == len("great " * 5000)  # the output keeps it whole
    assert scored["score"].replace("", np.nan).astype(float).between(0, 1).sum() == 3


def test_score_cli_errors_are_clear(tmp_path, trained_logreg_run):
    src = tmp_path / "in.csv"
    src.write_text("when,secret_words\n2024,hello\n")
    result = score_cli(trained_logreg_run, src, tmp_path / "o.csv")
    assert result.returncode != 0 and "no text column: line 1 has 2 columns (utf-8)" in result.stderr
    assert "secret_words" not in result.stderr and "Traceback" not in result.stderr  # names the accepted ones
    assert "text, tweet" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o.csv").exists()
    result = score_cli(trained_logreg_run, src, tmp_path / "o.csv", "--text-column", "body")
    assert result.returncode != 0 and "no column named 'body'" in result.stderr


def test_score_cli_accepts_every_text_column_name_of_the_reader(tmp_path, trained_logreg_run):
    src = tmp_path / "in.csv"
    src.write_text("Tweet\nhello lovely crew\n")
    result = score_cli(trained_logreg_run, src, tmp_path / "o.csv")
    assert result.returncode == 0, result.stderr
    assert pd.read_csv(tmp_path / "o.csv")["label"].tolist() == ["positive"]


def test_load_names_a_corrupt_model_file_and_a_killed_run(tmp_path, trained_logreg_run):
    copy = shutil.copytree(trained_logreg_run, tmp_path / "r")
    model_file = copy / "model.joblib"
    model_file.write_bytes(model_file.read_bytes()[:200])  # truncated
    with pytest.raises(models.ModelLoadError, match=r"model\.joblib cannot be read: the file is truncated"):
        models.load(copy)
    (tmp_path / "in.csv").write_text("text\nhi\n")
    result = score_cli(copy, tmp_path / "in.csv", tmp_path / "o.csv")
    assert result.returncode == 2 and result.stderr.startswith("error: ") and "model.joblib" in result.stderr
    assert "Traceback" not in result.stderr

    killed = shutil.copytree(trained_logreg_run, tmp_path / "killed")
    meta = json.loads((killed / "run.json").read_text())
    meta.update(status="running", pid=2**22 + 12345, host=socket.gethostname())  # a process that is gone
    (killed / "run.json").write_text(json.dumps(meta))
    with pytest.raises(models.ModelLoadError, match="failed: the training process died"):
        models.load(killed)


def test_classification_report_values():
    r = classification_report([0, 0, 1, 1], [0.1, 0.6, 0.7, 0.9])
    assert r["accuracy"] == 0.75 and r["confusion_matrix"] == [[1, 1], [0, 2]]
    assert r["per_class"]["positive"]["precision"] == pytest.approx(2 / 3)
    assert r["roc_auc"] == 1.0 and r["roc_curve"]["fpr"][0] == 0.0


def test_score_cli_keeps_empty_rows_of_a_one_column_csv(tmp_path, trained_logreg_run):
    src = tmp_path / "in.csv"
    src.write_text('text\nlove the flight\n""\nworst crew\n')
    out = tmp_path / "out.csv"
    result = score_cli(trained_logreg_run, src, out)
    assert result.returncode == 0, result.stderr
    scored = pd.read_csv(out, keep_default_na=False)
    assert scored["reason"].tolist() == ["", "empty text", ""]


def test_the_C_search_fits_a_subsample_of_a_large_training_split(tmp_path, tiny_csv, monkeypatch):
    from core.training import logreg as fit

    monkeypatch.setattr(fit, "SEARCH_ROWS", 100)
    logreg.main(["--data", str(tiny_csv), "--output", str(tmp_path / "sub")])
    model = read_run(tmp_path / "sub").meta["model"]
    assert model["C_search_rows"] == 100 and len(model["val_accuracy_by_C"]) == 4
    assert read_run(tmp_path / "sub").metrics["test"]["accuracy"] > 0.9  # the final fit still sees every tweet


def test_a_tweet_in_a_language_the_run_was_not_trained_on_keeps_its_score_and_says_so(tmp_path, trained_logreg_run):
    assert read_run(trained_logreg_run).meta["languages"]["en"] > 0.9  # the tiny English training tweets
    source = tmp_path / "in.csv"
    source.write_text(
        "text\nmon vol est encore annulé et personne au guichet\nlove the crew great flight\n", encoding="utf-8"
    )
    done = score_cli(trained_logreg_run, source, tmp_path / "out.csv")
    assert done.returncode == 0, done.stderr
    out = pd.read_csv(tmp_path / "out.csv", keep_default_na=False)
    assert out["language"].tolist() == ["fr", "en"] and out["score"].astype(str).str.len().min() > 0
    assert out["reason"].tolist() == ["language fr: the model was trained on en tweets only", ""]
