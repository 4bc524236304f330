"""Extra labelled data in the training split (--extra-data, --extra-repeat), fine-tuning a run (--init-from), and
the lineage run.json keeps and the pages show. Real tiny trainings on data made here."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.analysis import lineage
from core.analysis.resume_table import summary_table
from core.data.split import load_split
from core.tracking.runs import read_run
from core.training.extra_data import mix_extra_data, normalised_texts
from core.training.options import LogregOptions
from tests.support.data import make_tweets, write_headered_csv
from tests.support.transformer_runs import shared_transformer_run
from trainers import logreg
from trainers import transformer as transformer_trainer

NEW_TWEETS = 40


def extra_csv(folder: Path, tiny_csv: Path) -> Path:
    """40 new tweets, 30 of the base file's (some land in its test or validation split), one neutral."""
    base = pd.read_csv(tiny_csv)
    rows = [(t, f"{text} extra") for t, text in make_tweets(NEW_TWEETS, seed=9)]
    rows += list(base.head(30).itertuples(index=False, name=None)) + [(2, "just a neutral tweet")]
    return write_headered_csv(folder / "corrections.csv", rows)


def expected_leaks(split, extra: Path) -> dict:
    texts = normalised_texts(pd.read_csv(extra)["text"])
    in_test = texts.isin(normalised_texts(split.test["text"]))
    in_val = texts.isin(normalised_texts(split.val["text"])) & ~in_test
    return {"test": int(in_test.sum()), "validation": int(in_val.sum())}


def read(run: Path, name: str):
    return json.loads((run / name).read_text())


def test_extra_data_goes_into_the_training_split_only_without_leaks(tmp_path, tiny_csv, trained_logreg_run):
    extra = extra_csv(tmp_path, tiny_csv)
    argv = ["--data", str(tiny_csv), "--output", str(tmp_path / "child"), "--extra-data", str(extra)]
    child = logreg.main([*argv, "--extra-repeat", "3"])
    split = load_split(tiny_csv)
    leaks = expected_leaks(split, extra)
    assert leaks["test"] and leaks["validation"]  # the data make both cases happen
    meta = read(child, "run.json")
    data, added = meta["lineage"]["datasets"]
    assert data == {
        "role": "data", "file": tiny_csv.name, "fingerprint": split.fingerprint, "split_id": split.split_id,
        "rows_used": len(split.train), "repeat": 1,
    }  # fmt: skip
    used = NEW_TWEETS + 30 - sum(leaks.values())
    assert added["file"] == "corrections.csv" and added["neutral_dropped"] == 1 and added["rows_read"] == 71
    assert added["leaks_dropped"] == leaks and added["rows_used"] == used and added["tweets_added"] == 3 * used
    assert meta["lineage"]["parent"] is None and meta["data"]["split_id"] == split.split_id
    # the shared test split is the base run's, tweet for tweet; the training saw 3 x the kept extra tweets more
    ours, base = pd.read_csv(child / "test_predictions.csv"), pd.read_csv(trained_logreg_run / "test_predictions.csv")
    assert ours["row_id"].tolist() == base["row_id"].tolist() and ours["label"].tolist() == base["label"].tolist()
    n_train = read(child, "metrics.json")["training"]["tweets"]
    assert n_train == read(trained_logreg_run, "metrics.json")["training"]["tweets"] + 3 * used
    assert lineage.describe(meta) == (
        f"trained on {tiny_csv.name} + corrections.csv (+{used} tweets ×3, {sum(leaks.values())} dropped as "
        "test/validation leaks)"
    )
    table = summary_table([read_run(child), read_run(trained_logreg_run)], include_study=False).set_index("run")
    assert table.loc["child", "lineage"] == lineage.describe(meta) and table.loc["logreg-tiny", "lineage"] == ""


def test_mixing_repeats_extra_tweets_and_keeps_validation_and_test(tmp_path, tiny_csv):
    extra = extra_csv(tmp_path, tiny_csv)
    split = load_split(tiny_csv)
    once, (report,) = mix_extra_data(split, LogregOptions(data=str(tiny_csv), output="o", extra_data=[str(extra)]))
    options = LogregOptions(data=str(tiny_csv), output="o", extra_data=[str(extra)], extra_repeat=3)
    thrice, _ = mix_extra_data(split, options)
    assert len(once.train) == len(split.train) + report.rows_used
    assert len(thrice.train) == len(split.train) + 3 * report.rows_used
    assert once.val is split.val and once.test is split.test and once.split_id == split.split_id
    extra_ids = thrice.train["row_id"][thrice.train["row_id"] < 0]
    assert (extra_ids.value_counts() == 3).all() and not set(extra_ids) & set(split.train["row_id"])
    held = normalised_texts(pd.concat([split.val["text"], split.test["text"]]))
    assert not normalised_texts(thrice.train["text"][thrice.train["row_id"] < 0]).isin(held).any()


def failed_transformer_run(root: Path) -> Path:
    run = root / "broken"
    run.mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"id": "broken", "kind": "transformer", "status": "failed"}))
    return run


@pytest.mark.parametrize(
    "case, expected",
    [
        ("repeat", "--extra-repeat must be at least 1"),
        ("missing", "no such file"),
        ("itself", "is the --data file itself"),
        ("kind", "is a logreg run; this trainer continues transformer runs only"),
        ("status", "has not succeeded (status failed)"),
        ("conflict", "--base-model minilm conflicts with the parent run"),
        ("nowhere", "no such run folder"),
    ],
)
def test_refusals_are_one_line_before_any_run_folder(
    case, expected, tmp_path, tiny_csv, trained_logreg_run, tmp_path_factory, capsys
):
    argv = {
        "repeat": lambda: ["--extra-data", str(tiny_csv), "--extra-repeat", "0"],
        "missing": lambda: ["--extra-data", str(tmp_path / "nothing.csv")],
        "itself": lambda: ["--extra-data", str(tiny_csv)],
        "kind": lambda: ["--init-from", str(trained_logreg_run)],
        "status": lambda: ["--init-from", str(failed_transformer_run(tmp_path))],
        "conflict": lambda: ["--init-from", str(shared_transformer_run(tmp_path_factory)), "--base-model", "minilm"],
        "nowhere": lambda: ["--init-from", "no-such-run"],
    }[case]()
    capsys.readouterr()  # what building the shared transformer run printed
    with pytest.raises(SystemExit) as exit_:
        transformer_trainer.main(["--data", str(tiny_csv), "--output", str(tmp_path / "run"), *argv])
    err = capsys.readouterr().err.strip()
    assert exit_.value.code == 2 and len(err.splitlines()) == 1 and err.startswith("error: ") and expected in err
    assert not (tmp_path / "run").exists()


def model_weights(run: Path) -> dict:
    from safetensors.numpy import load_file

    return load_file(str(run / "model" / "model.safetensors"))


@pytest.mark.slow
def test_a_transformer_fine_tune_starts_from_its_parent(tmp_path, tmp_path_factory, monkeypatch):
    parent = tmp_path / "runs" / "tiny-parent"  # found by its name under the runs folder
    shutil.copytree(shared_transformer_run(tmp_path_factory), parent)
    monkeypatch.setenv("BADBUZZ_RUNS_DIR", str(tmp_path / "runs"))
    data = write_headered_csv(tmp_path / "corrections.csv", make_tweets(120, seed=4))
    tiny = ["--device", "cpu", "--epochs", "1", "--batch-size", "32", "--no-onnx", "--warmup-ratio", "0"]
    tiny += ["--threads", "1"]  # a model this small only waits for a second thread (OpenMP spins)
    # a learning rate of 1e-9: after its few steps the weights are still the parent's, to float precision
    child = transformer_trainer.main(
        ["--init-from", "tiny-parent", "--data", str(data), "--output", str(tmp_path / "child"), *tiny, "--lr", "1e-9"]
    )
    meta = read(child, "run.json")
    assert meta["lineage"]["parent"]["run"] == "tiny-parent" and meta["lineage"]["parent"]["kind"] == "transformer"
    assert meta["lineage"]["parent"]["test_accuracy"] == read(parent, "metrics.json")["test"]["accuracy"]
    assert meta["transformer"]["init_from"] == "tiny-parent" and meta["transformer"]["max_length"] == 24
    assert meta["approach"] == "Fine-tuned tiny, continued from tiny-parent on corrections.csv"
    assert lineage.describe(meta) == "fine-tuned from tiny-parent on corrections.csv"
    ours, theirs = model_weights(child), model_weights(parent)
    assert ours.keys() == theirs.keys()
    assert max(float(np.abs(ours[k] - theirs[k]).max()) for k in ours) < 1e-5
    vocabulary = [read(run, "model/tokenizer.json")["model"]["vocab"] for run in (child, parent)]
    assert vocabulary[0] == vocabulary[1]  # the parent's tokenizer: same token ids


@pytest.mark.slow
def test_a_keras_fine_tune_reuses_its_parents_vocabulary_and_weights(tmp_path, tiny_csv, capsys):
    from core.models import keras as km
    from trainers import keras_nn

    tiny = ["--dim", "8", "--units", "8", "--epochs", "1", "--batch-size", "64", "--vector-epochs", "2"]
    parent = keras_nn.main(["--data", str(tiny_csv), "--output", str(tmp_path / "parent"), *tiny])
    data = write_headered_csv(tmp_path / "corrections.csv", make_tweets(120, seed=4))
    argv = ["--init-from", str(parent), "--data", str(data), "--output", str(tmp_path / "child"), "--epochs", "1"]
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:  # the network is the parent's: another one is refused
        keras_nn.main([*argv, "--arch", "bilstm"])
    assert (
        exit_.value.code == 2 and "--arch bilstm conflicts with the parent run parent (lstm)" in capsys.readouterr().err
    )
    child = keras_nn.main([*argv, "--learning-rate", "1e-9"])
    meta = read(child, "run.json")
    assert meta["lineage"]["parent"]["run"] == "parent" and meta["model"]["init_from"] == "parent"
    assert meta["params"]["arch"] == "lstm" and meta["params"]["dim"] == 8  # the parent's, not the defaults
    assert read(child, "preprocessing.json") == read(parent, "preprocessing.json")
    ours, theirs = (km.load(run).model.get_weights() for run in (child, parent))
    assert max(float(np.abs(a - b).max()) for a, b in zip(ours, theirs, strict=True)) < 1e-5
