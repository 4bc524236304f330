"""Ensembles (trainers.ensemble, core.training.ensemble, core.models.ensemble): two real logreg runs on one split,
combined by their mean from the command line and by fitted weights, evaluated on their shared test split, loaded
like any run (also from a copied runs folder), offered by Live scoring, and refused in one line when they cannot be
combined."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.analysis import resume_table
from core.inference import live
from core.inference.scorers import scorer_for_run
from core.models.base import ModelLoadError, load
from core.models.ensemble import combine
from core.run_kinds import RUN_KINDS, local_kinds
from core.tracking.runs import list_runs, read_json, read_run, start_run
from tests.support.cli import run_module
from trainers import ensemble, logreg

TWEET = "flight delayed again and my bag is lost, worst airline"


def train_only_logreg(folder: Path, data: Path, features: str, classes: int = 2) -> None:
    """A logreg run fitted on the training split only (the trainer refits on train + validation), so that, like a
    Keras or transformer run's, its validation scores are out of sample and weights may be fitted on them."""
    import joblib

    from core.data.split import load_split
    from core.evaluation.metrics import evaluate
    from core.models.base import SklearnModel
    from core.training.logreg import build_pipeline

    split = load_split(data, classes=classes)
    with start_run(folder, kind="logreg", approach=f"{features} (train only)", params={"data": str(data)}) as run:
        run.set_data(split)
        if classes == 3:  # as the runner records a three-way run
            run.update(classes=list(split.classes))
        pipeline = build_pipeline(features, 2, 1.0, 42).fit(split.train["text"].tolist(), split.train["label"])
        joblib.dump(pipeline, run.path / "model.joblib")
        run.update(model={"fitted_on": "train"})
        run.finish(evaluate(SklearnModel(pipeline, run.meta["approach"]), split, run))


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_csv, trained_logreg_run) -> Path:
    """A runs folder: `tfidf` (the shared logreg run), `hashing` (trained here on the same split), `seed7` (another
    split), `mean` (the ensemble of the first two, from the command line), `tfidf-train` and `hashing-train` (fitted
    on the training split only) and `fitted` (their ensemble with fitted weights)."""
    root = tmp_path_factory.mktemp("ensembles") / "runs"
    env = {"BADBUZZ_RUNS_DIR": str(root), "BADBUZZ_DATA_DIR": str(root.parent / "data"), "BADBUZZ_NO_DOWNLOAD": "1"}
    shutil.copytree(trained_logreg_run, root / "tfidf")
    meta = read_json(root / "tfidf" / "run.json")
    (root / "tfidf" / "run.json").write_text(json.dumps({**meta, "id": "tfidf"}))
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        logreg.main(["--data", str(tiny_csv), "--output", str(root / "hashing"), "--features", "hashing"])
        logreg.main(["--data", str(tiny_csv), "--output", str(root / "seed7"), "--seed", "7"])
        done = run_module(
            "trainers.ensemble", "--members", "tfidf", "hashing", "--output", root / "mean", env={**os.environ, **env}
        )
        assert done.returncode == 0, done.stderr
        train_only_logreg(root / "tfidf-train", tiny_csv, "tfidf")
        train_only_logreg(root / "hashing-train", tiny_csv, "hashing")
        ensemble.main(
            ["--members", "tfidf-train", "hashing-train", "--method", "fitted", "--output", str(root / "fitted")]
        )
    return root


def predictions(run_dir: Path) -> pd.DataFrame:
    return pd.read_csv(run_dir / "test_predictions.csv")


def test_the_mean_ensemble_is_evaluated_on_its_members_test_split(runs):
    run = read_run(runs / "mean")
    assert run.status == "succeeded" and run.kind == "ensemble"
    assert run.approach == "Ensemble (mean of 2: tfidf, hashing)"
    assert run.metrics["test"]["accuracy"] > 0.9 and run.metrics["training"]["tweets_per_s"] is None
    assert run.meta["data"]["split_id"] == read_run(runs / "tfidf").meta["data"]["split_id"]
    recipe = run.meta["ensemble"]
    assert [m["run"] for m in recipe["members"]] == ["tfidf", "hashing"]  # relative to the runs folder
    assert recipe["weights"] == [0.5, 0.5] and recipe["method"] == "mean"
    mine, a, b = predictions(runs / "mean"), predictions(runs / "tfidf"), predictions(runs / "hashing")
    assert mine["row_id"].tolist() == a["row_id"].tolist() == b["row_id"].tolist()
    assert mine["p_pos"].to_numpy() == pytest.approx((a["p_pos"] + b["p_pos"]).to_numpy() / 2, abs=2e-6)
    [row] = resume_table.summary_table([run], include_study=False).to_dict("records")
    assert row["serving backend"] == "scikit-learn" and row["notes"].startswith("mean of 2 runs (tfidf, hashing)")


def test_the_fitted_ensemble_records_weights_fitted_on_validation(runs):
    run = read_run(runs / "fitted")
    recipe = run.meta["ensemble"]
    assert run.status == "succeeded" and run.approach == "Ensemble (fitted weights of 2: tfidf-train, hashing-train)"
    assert recipe["method"] == "fitted" and len(recipe["weights"]) == 2 and recipe["weights"] != [0.5, 0.5]
    assert min(recipe["weights"]) >= 0 and run.meta["model"]["fitted_on"] == "train+val"
    assert recipe["validation"]["tweets"] == run.meta["data"]["sizes"]["val"] > 0
    assert recipe["validation"]["fitted"]["log_loss"] < recipe["validation"]["mean"]["log_loss"]
    members = np.column_stack([predictions(runs / m)["p_pos"] for m in ("tfidf-train", "hashing-train")])
    expected = combine(members, "fitted", recipe["weights"], recipe["intercept"])
    assert predictions(runs / "fitted")["p_pos"].to_numpy() == pytest.approx(expected, abs=1e-3)
    assert predictions(runs / "fitted")["row_id"].tolist() == predictions(runs / "tfidf")["row_id"].tolist()


def test_an_ensemble_loads_like_any_run_even_from_a_copied_runs_folder(runs, tmp_path):
    copied = tmp_path / "elsewhere"
    shutil.copytree(runs, copied)  # the configured runs folder (this test's) is another one
    model = load(copied / "mean")
    members = [load(copied / m).predict_proba([TWEET])[0] for m in ("tfidf", "hashing")]
    assert model.kind == "ensemble" and model.predict_proba([TWEET])[0] == pytest.approx(np.mean(members))
    assert model.backend_label == "scikit-learn"

    meta = read_json(copied / "tfidf" / "run.json")
    (copied / "tfidf" / "run.json").write_text(json.dumps({**meta, "timings": {"started_unix": 1.0}}))
    with pytest.raises(ModelLoadError, match="member tfidf was trained again"):
        load(copied / "mean")
    (copied / "tfidf" / "run.json").write_text(json.dumps(meta))
    shutil.rmtree(copied / "hashing")
    with pytest.raises(ModelLoadError) as missing:
        load(copied / "mean")
    assert "member hashing is missing" in str(missing.value) and "\n" not in str(missing.value)


@pytest.mark.parametrize(
    "members, why",
    [
        (["tfidf"], "needs at least 2 runs"),
        (["tfidf", "seed7"], "different splits"),
        (["tfidf", "failed"], "is failed"),
        (["tfidf", "cloud"], "cloud service"),
        (["tfidf", "hashing", "--seed", "7"], "--seed 7: the members were split with 42"),
        (
            ["tfidf", "hashing-train", "--method", "fitted"],
            "tfidf (TF-IDF + logistic regression) was fitted on the val",
        ),
    ],
    ids=["one member", "two splits", "failed member", "cloud member", "another seed", "fitted on validation"],
)
def test_members_that_cannot_be_combined_are_refused_in_one_line(runs, members, why, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("BADBUZZ_RUNS_DIR", str(runs))
    for name, changes in {"failed": {"status": "failed", "error": "boom"}, "cloud": {"kind": "azure-language"}}.items():
        if not (runs / name).exists():
            shutil.copytree(runs / "hashing", runs / name)
            meta = read_json(runs / name / "run.json")
            (runs / name / "run.json").write_text(json.dumps({**meta, "id": name, **changes}))
    with pytest.raises(SystemExit) as exit_:
        ensemble.main(["--members", *members, "--output", str(tmp_path / "ens")])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert why in err and not (tmp_path / "ens").exists()


def test_live_scoring_and_the_monitor_offer_the_ensemble(runs):
    assert "ensemble" in local_kinds() and RUN_KINDS["ensemble"].name == "Ensemble"
    succeeded = [r for r in list_runs(runs) if r.path.name in ("tfidf", "hashing", "mean")]
    columns = {r.path.name: live.run_column(r, live.ModelCache()) for r in live.latest_per_approach(succeeded)}
    answers = {a.key: a for a in live.score_columns(list(columns.values()), TWEET)}
    assert set(answers) == {"tfidf", "hashing", "mean"} and all(a.ok for a in answers.values())
    assert answers["mean"].p_pos == pytest.approx((answers["tfidf"].p_pos + answers["hashing"].p_pos) / 2)
    assert answers["mean"].backend == "scikit-learn"
    scorer = scorer_for_run(runs / "fitted")
    assert scorer.name.startswith("Ensemble (fitted weights")


def test_the_train_page_offers_succeeded_runs_as_members(runs, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from core.config import PROJECT_ROOT

    monkeypatch.setenv("BADBUZZ_RUNS_DIR", str(runs))
    at = AppTest.from_file(str(PROJECT_ROOT / "views" / "train.py"), default_timeout=90).run()
    at.selectbox[0].set_value("ensemble").run()
    members = next(w for w in at.multiselect if w.label == "Ensemble members")
    offered = {label.split(" — ")[1].split(",")[0] for label in members.options}
    assert {"tfidf", "hashing", "seed7", "mean", "fitted"} <= offered and not offered & {"failed", "cloud"}
    assert [r.options for r in at.radio] == [["This machine"]]  # the members are here, not on Azure ML
    members.set_value([str(runs / "tfidf"), str(runs / "seed7")]).run()
    assert "different splits" in at.error[0].value and at.button[0].disabled
    next(w for w in at.multiselect if w.label == "Ensemble members").set_value(
        [str(runs / "tfidf"), str(runs / "hashing")]
    )
    at.run()
    assert not at.error and not at.button[0].disabled
    command = at.code[0].value
    assert f"--members {runs / 'tfidf'} {runs / 'hashing'}" in command and "--data " in command
