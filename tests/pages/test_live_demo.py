"""Live scoring made for a room full of people (issue 26): the presentation view, what cannot answer folded into one
line with no server path for viewers, the models warmed once per server, and no per-run clean-up that costs each
click (Streamlit's gc.collect and Keras clear_session)."""

from __future__ import annotations

import shutil
import sys
import tomllib
import types

import pytest
from streamlit.testing.v1 import AppTest

from core.config import PROJECT_ROOT
from tests.support.streamlit import PAGE_TIMEOUT, serving_on, texts


@pytest.fixture
def logreg_run(tmp_path, monkeypatch, trained_logreg_run, tiny_csv, no_cloud):
    run = tmp_path / "runs" / "logreg-tiny"
    shutil.copytree(trained_logreg_run, run)
    monkeypatch.setenv("BADBUZZ_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("BADBUZZ_DATA", str(tiny_csv))
    return run


def ran(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def live(view: str | None = None) -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / "views" / "live.py"), default_timeout=PAGE_TIMEOUT)
    if view:
        at.query_params["view"] = view
    return ran(at.run())


def score(at: AppTest, text: str) -> AppTest:
    at.text_area(key="live_text").input(text)
    return ran(next(b for b in at.button if b.label == "Score").click().run())


def page_text(at: AppTest) -> str:
    parts = [at.markdown, at.caption, at.info, at.warning, at.error, at.code]
    return "\n".join(texts(p) for p in parts) + "\n".join(e.label for e in at.expander)


def test_the_presentation_view_shows_big_answers_and_nothing_else(logreg_run):
    at = score(live("presentation"), "the crew was great, thanks, smooth flight")
    assert at.toggle(key="live_presentation").value
    assert [m.value for m in at.markdown if m.value.startswith("# ")]  # the label, as a big heading
    assert len(at.get("progress")) == 1
    assert not at.expander and not [b for b in at.button if (b.key or "").startswith("explain-")]
    captions = texts(at.caption)
    for clutter in ("latency", "served by", "Not answering here", "One tweet, every approach"):
        assert clutter not in captions
    at = ran(at.toggle(key="live_presentation").set_value(False).run())
    assert "view" not in at.query_params  # the link no longer says presentation
    assert "Which approaches answer" in [e.label for e in at.expander]
    assert [b for b in at.button if b.key == "explain-logreg-tiny"]


def test_a_viewer_sees_one_line_for_what_cannot_answer_and_no_server_path(logreg_run, tmp_path):
    with serving_on("0.0.0.0"):  # exposed, no authentication: a viewer
        at = score(live(), "lost my bag, awful crew")
    shown = page_text(at)
    for server_detail in (str(tmp_path), "--data", "--output", "python -m", "artifacts/"):
        assert server_detail not in shown
    [line] = [c.value for c in at.caption if c.value.startswith("Not answering here:")]
    assert "(not trained)" in line and "Azure AI Language (operators only)" in line
    assert not at.code and len(at.get("progress")) == 1


def test_an_operator_keeps_the_how_to_train_hint(logreg_run):
    at = score(live(), "lost my bag, awful crew")  # 127.0.0.1 without authentication: an operator
    [how_to] = [e for e in at.expander if e.label.startswith("Why, and how")]
    assert "python -m trainers.keras_nn" in texts(how_to.info)


def test_the_warm_up_loads_the_models_live_asks_for_once_per_server(logreg_run):
    from views.components.live_models import model_cache, warm_up

    loading = warm_up()
    assert loading is not None
    loading.join(60)
    assert model_cache().loaded(logreg_run) and "logreg-tiny" in model_cache().warm_seconds
    assert warm_up() is None  # nothing left to load
    at = score(live(), "lost my bag")
    assert "model loaded in" not in texts(at.caption)  # the click found it loaded


def test_no_clean_up_after_each_script_run_costs_a_click(logreg_run, monkeypatch):
    """Streamlit would call keras.backend.clear_session() after every run (a full gc.collect, and TensorFlow's
    kernel cache dropped) and gc.collect(2) besides; both are off for this app."""
    cleared = []
    fake_keras = types.ModuleType("keras")
    fake_keras.backend = types.SimpleNamespace(clear_session=lambda *args, **kwargs: cleared.append(1))
    monkeypatch.setitem(sys.modules, "keras", fake_keras)
    score(live(), "lost my bag")
    assert cleared == []
    config = tomllib.loads((PROJECT_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False
