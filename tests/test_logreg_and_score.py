import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from core import models
from core.metrics import classification_report
from core.runs import read_run
from tests.conftest import ROOT
from trainers import logreg


def test_logreg_run_folder_is_complete(trained_logreg_run):
    info = read_run(trained_logreg_run)
    assert info.status == "succeeded" and info.kind == "logreg"
    assert info.meta["data"]["split_id"] and info.meta["data"]["sizes"]["test"] == 120
    assert info.metrics["test"]["accuracy"] > 0.9
    assert info.metrics["latency"]["single_p50_ms"] > 0 and info.metrics["training"]["tweets_per_s"] > 0
    preds = pd.read_csv(trained_logreg_run / "test_predictions.csv")
    assert list(preds.columns) == ["row_id", "label", "p_pos"] and len(preds) == 120


def test_hashing_features(tmp_path, tiny_csv):
    logreg.main(["--data", str(tiny_csv), "--output", str(tmp_path / "h"), "--features", "hashing",
                 "--hash-bits", "12", "--C", "1"])
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
    src.write_text('id,text\n1,"I love this flight, amazing crew"\n2,\n3,"worst delay, rude and awful"\n'
                   '4,"too,many",fields,here\n5,"   "\n6,"' + "great " * 5000 + '"\n')
    out = tmp_path / "out.csv"
    result = subprocess.run([sys.executable, "-m", "core.score", "--run", str(trained_logreg_run),
                             "--input", str(src), "--output", str(out), "--chunk-size", "2"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "1 malformed lines skipped" in result.stdout
    scored = pd.read_csv(out, dtype={"reason": str}, keep_default_na=False)
    assert scored["id"].tolist() == [1, 2, 3, 5, 6]
    assert scored["label"].tolist() == ["positive", "", "negative", "", "positive"]
    assert scored.loc[scored["id"] == 2, "reason"].item() == "empty text"
    assert scored["score"].replace("", np.nan).astype(float).between(0, 1).sum() == 3


def test_score_cli_errors_are_clear(tmp_path, trained_logreg_run):
    src = tmp_path / "in.csv"
    src.write_text("tweet\nhello\n")
    result = subprocess.run([sys.executable, "-m", "core.score", "--run", str(trained_logreg_run),
                             "--input", str(src), "--output", str(tmp_path / "o.csv")],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode != 0 and "no 'text' column" in result.stderr
    assert not (tmp_path / "o.csv").exists()


def test_classification_report_values():
    r = classification_report([0, 0, 1, 1], [0.1, 0.6, 0.7, 0.9])
    assert r["accuracy"] == 0.75 and r["confusion_matrix"] == [[1, 1], [0, 2]]
    assert r["per_class"]["positive"]["precision"] == pytest.approx(2 / 3)
    assert r["roc_auc"] == 1.0 and r["roc_curve"]["fpr"][0] == 0.0


def test_score_cli_keeps_empty_rows_of_a_one_column_csv(tmp_path, trained_logreg_run):
    src = tmp_path / "in.csv"
    src.write_text('text\nlove the flight\n""\nworst crew\n')
    out = tmp_path / "out.csv"
    result = subprocess.run([sys.executable, "-m", "core.score", "--run", str(trained_logreg_run),
                             "--input", str(src), "--output", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    scored = pd.read_csv(out, keep_default_na=False)
    assert scored["reason"].tolist() == ["", "empty text", ""]
