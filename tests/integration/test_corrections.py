"""Analyst corrections (core.data.corrections) and the labelling suggestions (core.analysis.labelling)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from core.analysis import labelling
from core.config import PROJECT_ROOT
from core.data import corrections, sources
from core.data.loading import load_dataset

A = corrections.ModelAnswer


def test_marks_of_one_text_are_one_correction_the_latest_label_winning():
    first = corrections.add_correction(
        "@airline thanks   for nothing",
        "positive",
        who="ann@example.com",
        answers=[A("logreg-1", "LogReg · logreg-1", 0.81, "positive"), A("lstm-1", "LSTM · lstm-1", 0.2, "negative")],
        when=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
    )
    assert [a.run_id for a in first.answers] == ["lstm-1"]  # the answer that agreed is not "wrong"
    corrections.add_correction(
        "  @airline thanks for\nnothing ",
        "negative",
        who="bob",
        origin="live",
        answers=[A("minilm-1", "MiniLM · minilm-1", 0.91, "positive")],
    )
    corrections.add_correction("great crew", "positive")
    frame = corrections.corrections_frame()
    assert list(frame.columns) == corrections.EXPORT_COLUMNS
    assert frame["text"].tolist() == ["  @airline thanks for\nnothing ", "great crew"]  # the latest mark, exactly
    row = frame.iloc[0]
    assert (row["label"], row["who"], row["origin"], row["times_corrected"]) == ("negative", "bob", "live", 2)
    assert row["first_corrected_at"] == "2024-05-01T12:00:00+00:00"
    # the wrong answers of every mark that still disagree with the latest label: LSTM said negative, so it is right
    assert (row["run_id"], row["score"], row["predicted_label"]) == ("minilm-1", "0.9100", "positive")
    assert frame.iloc[1]["run_id"] == "" and frame.iloc[1]["who"] == "local"
    assert len(corrections.correction_history()) == 3
    assert corrections.latest_label("@airline  thanks for nothing") == "negative"
    assert corrections.corrected_keys() == {"@airline thanks for nothing", "great crew"}


@pytest.mark.parametrize(
    ("text", "label", "origin", "why"),
    [
        (" \n\t", "negative", "monitor", "some text"),
        ("ok", "mixed", "monitor", "label"),
        ("ok", "neutral", "x", "origin"),
    ],
)
def test_a_bad_correction_is_refused_and_nothing_is_written(text, label, origin, why):
    with pytest.raises(corrections.CorrectionError, match=why):
        corrections.add_correction(text, label, origin=origin)
    assert not corrections.database_path().exists() and corrections.corrections_frame().empty


def test_a_corrupt_store_is_one_sentence_not_a_traceback():
    corrections.add_correction("lost my bag", "negative")
    corrections.database_path().write_bytes(b"this is not a database" * 100)
    with pytest.raises(corrections.CorrectionError, match=r"corrections store corrections.sqlite3 could not be used"):
        corrections.add_correction("lost my bag", "positive")
    with pytest.raises(corrections.CorrectionError):
        corrections.corrections_frame()


def test_corrections_survive_a_restart_and_another_process_adds_to_them():
    corrections.add_correction("lost my bag again", "negative")
    script = (
        "from core.data import corrections as c\n"
        "assert c.corrections_frame()['text'].tolist() == ['lost my bag again']\n"
        "c.add_correction('smooth flight', 'positive', who='other process')\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, env=os.environ.copy(), check=True, timeout=60)
    frame = corrections.corrections_frame()
    assert frame[["text", "label", "who"]].values.tolist() == [
        ["lost my bag again", "negative", "local"],
        ["smooth flight", "positive", "other process"],
    ]
    assert load_dataset(corrections.corrections_csv_path()).frame["text"].tolist() == frame["text"].tolist()


def test_concurrent_marks_are_all_kept_and_the_export_has_them_all():
    def mark(worker: int) -> None:
        for i in range(8):
            corrections.add_correction(f"tweet {worker}-{i}", ("negative", "positive")[i % 2], who=f"w{worker}")

    threads = [threading.Thread(target=mark, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(corrections.corrections_frame()) == 32
    assert len(load_dataset(corrections.export_path()).frame) == 32  # written by the marks themselves


def test_the_export_is_a_labelled_set_with_neutral_counted_apart(tmp_path):
    tricky = ['she said "never again", twice', "line one\nline two", "ünïcödé ✈️ délai", "=1+1 looks like a formula"]
    for text, label in zip(tricky, ["negative", "negative", "positive", "positive"]):
        corrections.add_correction(text, label, answers=[A("run-1", "Run, one", 0.5, "positive")])
    corrections.add_correction("flight 1234 delayed, any update?", "neutral")
    content = corrections.export_csv(tmp_path / "mine.csv")
    assert (tmp_path / "mine.csv").read_bytes() == content == corrections.corrections_csv_path().read_bytes()
    assert content.startswith(b"text,label,who,corrected_at,origin,run_id,run_label,score,predicted_label,")
    for fast in (True, False):  # pyarrow's reader and the pure-Python one agree on it
        loaded = load_dataset(tmp_path / "mine.csv", fast=fast)
        assert loaded.frame["text"].tolist() == tricky
        assert loaded.frame["label"].tolist() == [0, 0, 1, 1]
        assert loaded.report.neutral_dropped == 1 and loaded.report.malformed_rows == 0
        assert loaded.report.rows_read == 5


def test_the_stable_export_exists_only_with_usable_rows_and_is_rewritten_only_on_change():
    assert corrections.corrections_csv_path() is None
    corrections.add_correction("meh, a flight", "neutral")
    assert corrections.corrections_csv_path() is None and not corrections.export_path().exists()
    corrections.add_correction("worst airline ever", "negative")
    path = corrections.corrections_csv_path()
    before = path.stat().st_mtime_ns
    assert corrections.corrections_csv_path() == path and path.stat().st_mtime_ns == before


def test_the_export_becomes_a_page_source_once_it_has_a_usable_row():
    assert not [s for s in sources.page_sources() if s.origin == "corrections"]
    corrections.add_correction("nothing to say", "neutral")
    assert not [s for s in sources.page_sources() if s.origin == "corrections"]
    corrections.add_correction("the crew was lovely", "positive")
    (source,) = [s for s in sources.page_sources() if s.origin == "corrections"]
    assert sources.resolve_page_source(source.key) == source
    assert source.path == corrections.export_path() and "corrections" in source.label.lower()


# ------------------------------------------------------------------ suggestions


def scored_frame(p_pos: list[float | None]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row": np.arange(len(p_pos)),
            "text": [f"tweet number {i}" for i in range(len(p_pos))],
            "p_pos": np.array([np.nan if p is None else p for p in p_pos], dtype=float),
        }
    )


def test_suggestions_rank_the_least_sure_first_and_leave_out_the_corrected():
    scored = scored_frame([0.98, 0.52, None, 0.1, 0.45, 0.7])
    ranked = labelling.suggestions(scored, n=4)
    assert ranked["row"].tolist() == [1, 4, 5, 3]
    assert ranked["doubt"].iloc[0] == pytest.approx(0.96) and ranked["disagreement"].isna().all()
    assert set(ranked["reason"]) == {labelling.UNSURE}
    corrections.add_correction("tweet  number 1", "negative")
    assert labelling.suggestions(scored, corrections.corrected_keys(), n=2)["row"].tolist() == [4, 5]


def test_suggestions_put_where_runs_disagree_with_the_least_sure():
    scored = scored_frame([0.95, 0.6, 0.3, 0.05])
    others = pd.DataFrame({"other run": [0.05, 0.6, 0.35]}, index=pd.Index([0, 1, 2], name="row"))
    ranked = labelling.suggestions(scored, others=others, n=4)
    assert ranked["row"].tolist() == [0, 1, 2, 3]  # 0: spread 0.9; 1: doubt 0.8; 2: doubt 0.6; 3: nobody else asked
    assert ranked["reason"].tolist() == [labelling.DISAGREE, labelling.UNSURE, labelling.UNSURE, labelling.UNSURE]
    assert ranked["disagreement"].iloc[0] == pytest.approx(0.9) and np.isnan(ranked["disagreement"].iloc[3])


def test_candidates_are_the_least_sure_plus_a_random_draw():
    rng = np.random.default_rng(0)
    scored = scored_frame(rng.uniform(0, 1, 200).tolist())
    picked = labelling.candidates(scored, n_unsure=10, n_random=15, seed=1)
    assert len(picked) == 25 and picked["row"].is_unique
    least_sure = scored.assign(d=labelling.doubt(scored["p_pos"])).nlargest(10, "d")["row"]
    assert picked["row"].head(10).tolist() == least_sure.tolist()
    assert len(labelling.candidates(scored_frame([0.5, 0.6]), n_unsure=10, n_random=10)) == 2


@pytest.fixture
def flipped_logreg_run(tmp_path, trained_logreg_run):
    """A copy of the tiny logreg run with its coefficients negated (P becomes 1 - P): it disagrees with the other."""
    import joblib

    out = shutil.copytree(trained_logreg_run, tmp_path / "logreg-flipped")
    pipeline = joblib.load(out / "model.joblib")
    classifier = pipeline.steps[-1][1]
    classifier.coef_, classifier.intercept_ = -classifier.coef_, -classifier.intercept_
    joblib.dump(pipeline, out / "model.joblib")
    return out


def test_other_runs_score_the_candidates_within_a_budget(trained_logreg_run, flipped_logreg_run):
    from core.models.base import load

    texts = ["love great happy thanks amazing best", "awful delayed lost bag hate", "the flight today"]
    scored = scored_frame([0.0, 0.0, 0.0]).assign(text=texts)
    scored["p_pos"] = load(trained_logreg_run).predict_proba(texts)
    runs = [("flipped", flipped_logreg_run), ("broken", trained_logreg_run.parent / "missing")]
    others = labelling.score_candidates(labelling.candidates(scored), runs)
    assert list(others.scores.columns) == ["flipped"] and "broken" in others.skipped
    assert others.scores.index[0] == 2 and sorted(others.scores.index) == [0, 1, 2]  # the least sure first
    ranked = labelling.suggestions(scored, others=others.scores, n=3).set_index("row")
    # the two clear tweets: the runs call them confidently and oppositely; the vague one: nobody is sure
    assert ranked.loc[[0, 1], "reason"].eq(labelling.DISAGREE).all() and ranked.loc[2, "reason"] == labelling.UNSURE
    assert ranked.loc[[0, 1], "disagreement"].min() > 0.5 and ranked.loc[2, "disagreement"] < 0.2

    ticks = iter(range(100))  # every clock reading is a second later: the second run starts at the 3 s budget
    late = labelling.score_candidates(
        labelling.candidates(scored),
        [("a", flipped_logreg_run), ("b", flipped_logreg_run)],
        3.0,
        clock=lambda: next(ticks),
    )
    assert list(late.scores.columns) == ["a"] and late.skipped == {"b": "over the 3 s budget"}


def test_a_negative_mark_keeps_its_complaint_reason_and_an_older_store_gains_the_column():
    import sqlite3

    path = corrections.database_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as conn:  # a store made before reasons existed
        conn.execute(
            "CREATE TABLE corrections (id INTEGER PRIMARY KEY AUTOINCREMENT, text_key TEXT NOT NULL, text TEXT NOT "
            "NULL, label TEXT NOT NULL, who TEXT NOT NULL, corrected_at TEXT NOT NULL, origin TEXT NOT NULL, "
            "answers TEXT NOT NULL)"
        )
        conn.execute("INSERT INTO corrections VALUES (1, 'old one', 'old one', 'negative', 'a', 't', 'live', '[]')")
    saved = corrections.add_correction("my bag  is lost", "negative", reason=" Lost   Luggage ")
    assert saved.reason == "Lost Luggage"
    corrections.add_correction("fine flight", "positive")
    assert corrections.reason_tags().to_dict("records") == [{"text": "my bag  is lost", "reason": "Lost Luggage"}]
    assert corrections.corrections_frame()["reason"].tolist() == ["", "Lost Luggage", ""]
    corrections.add_correction("my bag is lost", "neutral")  # the latest mark wins: no longer a reason tag
    assert corrections.reason_tags().empty and corrections.latest_reason("my bag is lost") == ""
    with pytest.raises(corrections.CorrectionError, match="negative label only"):
        corrections.add_correction("great", "positive", reason="Late Flight")
