"""core/inference/live.py: a real logreg run and the real Azure AI Language client against local servers."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from core.inference import live
from core.models.base import label_for, load
from core.tracking.runs import list_runs, read_run
from tests.support.azure_language_server import LanguageServer
from views.components.formatting import history_rows, truncation_notice

TWEET = "flight delayed again and my bag is lost, worst airline"


@pytest.fixture
def run(trained_logreg_run):
    return read_run(trained_logreg_run)


def language_client(endpoint: str, api_key: str, tmp_path: Path):
    from core.azure.cache import AnswerCache
    from core.azure.credentials import Credentials
    from core.azure.language import LanguageClient

    return LanguageClient(
        endpoint=endpoint,
        api_key=api_key,
        max_retries=0,
        backoff_factor=0.01,
        credentials=Credentials(environ={}, secrets_file=tmp_path / "none.toml"),
        cache=AnswerCache(tmp_path / "cache.sqlite"),
    )


def test_prepare_text_refuses_empty_and_truncates_huge_text():
    for empty in ("", "   \n\t ", None):
        with pytest.raises(live.EmptyText, match="empty"):
            live.prepare_text(empty)
    plain = live.prepare_text("  great crew  ")
    assert plain.text == "great crew" and not plain.truncated and truncation_notice(plain) == ""
    huge = live.prepare_text("x" * 5000, max_chars=1000)
    assert len(huge.text) == 1000 and huge.truncated
    notice = truncation_notice(huge)
    assert "5,000" in notice and "1,000" in notice


def test_model_cache_loads_once_and_reloads_when_the_run_changes(run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run.path, copy)
    cache = live.ModelCache()
    model, load_ms = cache.get(copy)
    assert load_ms > 0
    again, second = cache.get(copy)
    assert again is model and second is None
    stamp = (copy / "run.json").stat().st_mtime + 5
    os.utime(copy / "run.json", (stamp, stamp))
    reloaded, third = cache.get(copy)
    assert reloaded is not model and third > 0


def test_local_column_answers_what_the_model_says(run):
    [answer] = live.score_columns([live.run_column(run, live.ModelCache())], TWEET)
    expected = float(load(run.path).predict_proba([TWEET])[0])
    assert answer.ok and answer.p_pos == pytest.approx(expected)
    assert answer.label == label_for(expected)
    assert answer.cost_usd == 0.0 and answer.latency_ms > 0 and answer.source == "local"


def test_a_failing_service_does_not_block_the_others(run, tmp_path):
    with LanguageServer(key="right-key") as server:
        columns = [
            live.run_column(run, live.ModelCache()),
            live.service_column(language_client(server.endpoint, "wrong-key", tmp_path / "a")),
            live.service_column(language_client(server.endpoint, "right-key", tmp_path / "b")),
        ]
        local, refused, answered = live.score_columns(columns, TWEET, timeout_s=20)
    assert local.ok and local.p_pos is not None
    assert refused.status == "error" and "rejected the key" in refused.reason and refused.p_pos is None
    assert answered.ok and answered.source == "cloud"
    assert answered.label == "negative" and answered.p_pos < 0.5  # the server's word count: delayed, lost, worst
    assert answered.service_label == "negative"
    assert answered.cost_usd >= 0 and answered.latency_ms > 0


def test_an_unreachable_service_is_reported_offline(run, tmp_path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = language_client(f"http://127.0.0.1:{port}/", "any-key", tmp_path)
    local, cloud = live.score_columns(
        [live.run_column(run, live.ModelCache()), live.service_column(client)], TWEET, timeout_s=30
    )
    assert local.ok
    assert cloud.status == "offline" and "not reachable" in cloud.reason


def test_a_hanging_service_times_out_while_the_others_answer(run, tmp_path):
    hanging = socket.socket()  # accepts connections, never answers
    hanging.bind(("127.0.0.1", 0))
    hanging.listen(8)
    threading.Timer(10, hanging.close).start()  # so a broken implementation fails instead of hanging the suite
    try:
        client = language_client(f"http://127.0.0.1:{hanging.getsockname()[1]}/", "any-key", tmp_path)
        models = live.ModelCache()
        models.get(run.path)  # loaded beforehand: this test times the column, not the model load
        started = time.perf_counter()
        local, cloud = live.score_columns(
            [live.run_column(run, models), live.service_column(client)], TWEET, timeout_s=1.5
        )
        elapsed = time.perf_counter() - started
    finally:
        hanging.close()
    assert local.ok
    assert cloud.status == "timeout" and "1.5 s" in cloud.reason
    assert elapsed < 9  # answered by the 1.5 s timeout, not by the hanging socket closing at 10 s


def test_an_unconfigured_service_says_what_is_missing(tmp_path):
    from core.azure.credentials import Credentials
    from core.azure.language import LanguageClient

    client = LanguageClient(credentials=Credentials(environ={}, secrets_file=tmp_path / "none.toml"))
    [answer] = live.score_columns([live.service_column(client)], TWEET)
    assert answer.status == "not configured" and "AZURE_LANGUAGE_ENDPOINT" in answer.reason


def test_cloud_columns_cover_every_service():
    from core.azure.services import SERVICE_KEYS

    columns = live.cloud_columns()
    assert [c.key for c in columns] == list(SERVICE_KEYS)
    assert all(c.source == "cloud" for c in columns)


def test_untrained_families_and_latest_run_per_approach(run, tmp_path):
    root = tmp_path / "runs"
    shutil.copytree(run.path, root / "new")
    shutil.copytree(run.path, root / "old")
    meta = read_run(root / "old").meta
    meta["timings"]["started_unix"] = 1.0
    (root / "old" / "run.json").write_text(__import__("json").dumps(meta))
    runs = list_runs(root)
    assert [r.path.name for r in live.latest_per_approach(runs)] == ["new"]
    untrained = {c.key: c for c in live.untrained_columns(runs)}
    assert set(untrained) == {"untrained-keras", "untrained-transformer", "untrained-sentence", "untrained-ensemble"}
    [answer] = live.score_columns([untrained["untrained-keras"]], TWEET)
    assert answer.status == "not trained" and "python -m trainers.keras_nn" in answer.reason


def test_history_rows_keep_one_row_per_answer(run):
    answers = live.score_columns([live.run_column(run, live.ModelCache())], "x" * 100)
    [row] = history_rows("x" * 100, answers, when=0)
    assert row["text"].endswith("...") and len(row["text"]) == 80
    assert row["P(positive)"] == pytest.approx(answers[0].p_pos, abs=1e-4) and row["cost (USD)"] is None


def test_one_threshold_labels_every_scoring_path(run):
    """label_for / labels_for (core.models.base) decide for live scoring, batch scoring, the monitor and the
    endpoint's score script alike: P(positive) at THRESHOLD reads positive, just below reads negative."""
    import numpy as np
    import pandas as pd

    from core.azure_ml import score_script
    from core.inference.batch import score_frame
    from core.models.base import THRESHOLD, SentimentModel, labels_for

    edge = [THRESHOLD - 1e-9, THRESHOLD]  # labelled before any rounding of the score
    assert [label_for(p) for p in edge] == ["negative", "positive"]
    assert labels_for([*edge, np.nan]).tolist() == ["negative", "positive", ""]
    frame = score_frame(pd.DataFrame({"text": ["a", "b", " "]}), "text", lambda texts: (np.array(edge), None))
    assert frame["label"].tolist() == ["negative", "positive", ""]
    (answer,) = live.score_columns([live.run_column(run, live.ModelCache())], TWEET)
    assert answer.label == label_for(answer.p_pos)
    edge_model = type("Edge", (SentimentModel,), {"_predict": lambda self, texts: np.array(edge[: len(texts)])})
    score_script.model = edge_model("edge")
    try:
        assert score_script.score_texts(["a", "b", ""])[1] == ["negative", "positive", None]
    finally:
        score_script.model = None


def test_a_click_during_the_warm_up_answers_loading_at_once_and_the_next_finds_the_model(run, monkeypatch):
    from core.models import base

    real_load, gate = base.load, threading.Event()

    def slow_load(run_dir):
        gate.wait(30)  # the warm-up is still loading while the first click comes
        return real_load(run_dir)

    monkeypatch.setattr(base, "load", slow_load)
    models = live.ModelCache()
    loading = models.warm([run.path])
    assert loading is not None and models.warm([run.path]) is None  # one warm-up at a time
    [first] = live.score_columns([live.run_column(run, models, wait_s=0.2)], TWEET)
    assert first.status == live.LOADING and "still loading" in first.reason
    assert loading.is_alive()  # answered while the warm-up still waits: the click did not wait for the load
    gate.set()
    loading.join(30)
    [second] = live.score_columns([live.run_column(run, models)], TWEET)
    assert second.ok and second.load_ms is None  # loaded by the warm-up, not by this click
    assert run.path.name in models.warm_seconds and models.warm([run.path]) is None
