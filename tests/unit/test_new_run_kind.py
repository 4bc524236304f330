"""A new approach is its options dataclass, its fit module, its model adapter and one RunKind (core/run_kinds.py).

This file is all four for a dummy approach, "word counts" (P(positive) from how often each word was seen in
positive and negative training tweets), plus the three-line entry point `main`. Registered with one RUN_KINDS entry
and nothing else, it trains through the runner, loads, scores a CSV, shows in Résumé and Live scoring, gets the
Train page's form (tests/pages/test_train_page.py renders it with this entry) and --init-from's file check: every
table keyed by kind follows from the entry.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from core.analysis.resume_table import summary_table
from core.cli.fields import option
from core.commands import score as score_command
from core.inference import live
from core.models.base import ModelLoadError, SentimentModel, load
from core.run_kinds import RUN_KINDS, Example, RunKind, Trainer
from core.tracking.runs import read_run
from core.training import registry, runner
from core.training.options import DataOptions
from core.training.parent_run import ParentRunError, load_parent
from tests.support.data import make_tweets_csv

KEY = "word-counts"
WORDS_FILE = "words.json"


# ---------------------------------------------------------------- 1. its options (core/training/options.py)


@dataclass(kw_only=True)
class WordCountOptions(DataOptions):
    smoothing: float = option(1.0, "add-k smoothing of the word counts")


# ---------------------------------------------------------------- 2. its model adapter (core/models/<x>.py)


def words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


class WordCountModel(SentimentModel):
    kind = KEY

    def __init__(self, log_odds: dict[str, float], prior: float, name: str):
        super().__init__(name)
        self.log_odds, self.prior = log_odds, prior

    def _predict(self, texts: list[str]) -> np.ndarray:
        logits = [self.prior + sum(self.log_odds.get(w, 0.0) for w in words(t)) for t in texts]
        return 1 / (1 + np.exp(-np.clip(logits, -30, 30)))


def load_run(run_dir: Path, meta: dict) -> WordCountModel:
    saved = json.loads((run_dir / WORDS_FILE).read_text())
    return WordCountModel(saved["log_odds"], saved["prior"], meta.get("approach", KEY))


# ---------------------------------------------------------------- 3. its fit module (core/training/<x>.py)


def approach(options: WordCountOptions) -> str:
    return f"Word counts (k={options.smoothing:g})"


def validate(options: WordCountOptions) -> None:
    if options.smoothing <= 0:
        raise runner.OptionError("--smoothing must be positive")


def train(options: WordCountOptions, split, run):
    started = time.perf_counter()
    seen = {
        label: Counter(w for t in split.train.loc[split.train["label"] == label, "text"] for w in words(t))
        for label in (0, 1)
    }
    totals = {label: sum(seen[label].values()) + options.smoothing * len(seen[0] | seen[1]) for label in (0, 1)}
    log_odds = {
        w: math.log((seen[1][w] + options.smoothing) / totals[1])
        - math.log((seen[0][w] + options.smoothing) / totals[0])
        for w in seen[0] | seen[1]
    }
    prior = math.log(split.train["label"].mean() / (1 - split.train["label"].mean()))
    (run.path / WORDS_FILE).write_text(json.dumps({"log_odds": log_odds, "prior": prior}))
    run.update(model={"words": len(log_odds)})
    model = WordCountModel(log_odds, prior, approach(options))
    return model, time.perf_counter() - started, len(split.train), {}


# ---------------------------------------------------------------- 4. its one registry entry (core/run_kinds.py)

ENTRY = RunKind(
    KEY,
    "Word counts",
    loader=f"{__name__}:load_run",
    backend="Python dicts",
    model_files=(WORDS_FILE,),
    notes=lambda run: [f"{(run.meta.get('model') or {}).get('words', 0):,} words"],
    trainer=Trainer(
        module=__name__,  # trainers/word_counts.py in the project: the three lines below
        fit_module=__name__,
        options=f"{__name__}:WordCountOptions",
        label="Word counts (a dummy approach)",
        description="P(positive) from the words of the positive and negative training tweets.",
        run_name_options=("smoothing",),
        examples=(Example("word-counts", "word-counts", {"smoothing": 0.5}),),
    ),
)


def main(argv: list[str] | None = None) -> Path:  # the entry point: `python -m trainers.word_counts`
    return runner.main(KEY, argv, __doc__)


# ---------------------------------------------------------------- the tables that follow from the entry


@pytest.fixture
def registered(monkeypatch) -> RunKind:
    monkeypatch.setitem(RUN_KINDS, KEY, ENTRY)
    return ENTRY


@pytest.fixture
def trained(registered, tmp_path) -> tuple[Path, Path]:
    data = make_tweets_csv(tmp_path / "tweets.csv", n=300)
    return main(["--data", str(data), "--output", str(tmp_path / "runs" / "words"), "--smoothing", "0.5"]), data


def test_the_trainer_registry_and_the_live_page_list_it(registered):
    spec = registry.trainer(KEY)
    assert spec.options is WordCountOptions and spec.label == ENTRY.trainer.label
    assert KEY in registry.local_kinds() and spec.live_label == "Word counts"
    assert registry.kind_train_commands()[KEY].endswith("word-counts --smoothing 0.5")
    column = next(c for c in live.untrained_columns([]) if c.key == f"untrained-{KEY}")
    assert column.name == "Word counts" and "train one on the Train page" in column.unavailable_reason


def test_it_trains_loads_and_scores_like_any_local_run(trained, tmp_path):
    run_dir, data = trained
    info = read_run(run_dir)
    assert info.status == "succeeded" and info.kind == KEY and info.approach == "Word counts (k=0.5)"
    assert info.metrics["test"]["accuracy"] > 0.9  # its words are learnable
    model = load(run_dir)  # the loader named by the entry
    assert isinstance(model, WordCountModel) and model.backend_label == "Python dicts"
    assert model.predict(["love the crew, great flight", "worst delay, rude staff"]).tolist() == [1, 0]
    score_command.main(["--run", str(run_dir), "--input", str(data), "--output", str(tmp_path / "scored.csv")])
    assert (tmp_path / "scored.csv").read_text(encoding="utf-8").count("\n") == 301
    assert live.latest_per_approach([info]) == [info]


def test_resume_describes_and_prices_it_from_the_entry(trained):
    row = summary_table([read_run(trained[0])], include_study=False).iloc[0]
    assert row["serving backend"] == "Python dicts"
    assert re.fullmatch(r"[\d,]+ words, [\d,]+ training tweets", row["notes"]), row["notes"]
    assert row["inference cost per 1,000 tweets (USD)"] > 0 and "serving on" in row["cost basis"]


def test_its_model_files_are_checked_before_it_loads_or_is_continued(trained):
    run_dir = trained[0]
    assert load_parent(str(run_dir), KEY).name == run_dir.name
    (run_dir / WORDS_FILE).unlink()
    with pytest.raises(ModelLoadError, match=f"{WORDS_FILE} missing, the run folder is incomplete"):
        load(run_dir)
    with pytest.raises(ParentRunError, match=f"{WORDS_FILE} missing"):
        load_parent(str(run_dir), KEY)


def test_a_kind_that_trains_nothing_is_refused_extra_data_by_the_runner(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(RUN_KINDS, KEY, dataclasses.replace(ENTRY, trains=False))
    with pytest.raises(SystemExit) as exit_:
        main(["--output", str(tmp_path / "run"), "--extra-data", str(make_tweets_csv(tmp_path / "more.csv", n=20))])
    assert exit_.value.code == 2 and "trains nothing" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
