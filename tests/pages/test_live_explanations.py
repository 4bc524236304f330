"""Live scoring's "Why?": computed only when asked, shown right under the answers, the tweet highlighted with its
text escaped (it is user input), the top words and, for logistic regression, its exact contributions alone (the
full coefficient table folded)."""

from __future__ import annotations

import shutil

import pytest
from streamlit.testing.v1 import AppTest

from core.config import PROJECT_ROOT

TIMEOUT = 60


@pytest.fixture
def logreg_runs(tmp_path, monkeypatch, trained_logreg_run, tiny_csv, no_cloud):
    shutil.copytree(trained_logreg_run, tmp_path / "runs" / "logreg-tiny")
    monkeypatch.setenv("BADBUZZ_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("BADBUZZ_DATA", str(tiny_csv))


def ran(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def scored(text: str) -> AppTest:
    at = ran(AppTest.from_file(str(PROJECT_ROOT / "views" / "live.py"), default_timeout=TIMEOUT).run())
    at.text_area(key="live_text").input(text)
    return ran(next(b for b in at.button if b.label == "Score").click().run())


def html_bodies(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.proto.allow_html]


def test_explain_highlights_the_escaped_tweet_right_under_the_answers_with_one_method(logreg_runs):
    at = scored("<b>x</b> great :smile: **love**")
    assert not html_bodies(at) and len(at.dataframe) == 1  # nothing computed before the click (history only)
    at = ran(at.button(key="explain-logreg-tiny").click().run())
    [body] = html_bodies(at)  # logistic regression: its exact contributions only, not occlusion besides
    assert "<b>" not in body and "**" not in body and ":smile:" not in body
    assert "&#60;b&#62;x&#60;/b&#62;" in body and "&#42;&#42;love&#42;&#42;" in body
    assert "rgba(22, 163, 74" in body  # "great" pushed toward positive: green
    markdown = [m.value for m in at.markdown]
    why = next(i for i, m in enumerate(markdown) if m.startswith("**Why "))
    assert "exact contributions" in markdown[why]
    assert why < markdown.index("**True label**")  # under the answers, above the label control and the history
    words, coefficients, _history = (d.value for d in at.dataframe)
    assert words.iloc[0]["pushed toward"] == "positive" and "great" in set(words["word"])
    assert coefficients.iloc[-1]["n-gram"] == "(intercept)" and "great" in set(coefficients["n-gram"])
    assert [e.label for e in at.expander if e.label == "Every n-gram's coefficient"]  # folded
    assert "= P(positive)" in "\n".join(str(c.value) for c in at.caption)
    at = ran(next(b for b in at.button if b.label == "Score").click().run())  # the same tweet: kept
    assert len(html_bodies(at)) == 1
    at.text_area(key="live_text").input("lost my bag")
    at = ran(next(b for b in at.button if b.label == "Score").click().run())  # another tweet: asked again
    assert not html_bodies(at)


def test_an_operator_sees_the_cost_before_explaining_a_cloud_column(logreg_runs, monkeypatch):
    from tests.support.azure_language_server import LanguageServer

    with LanguageServer() as server:
        monkeypatch.setenv("AZURE_LANGUAGE_ENDPOINT", server.endpoint)
        monkeypatch.setenv("AZURE_LANGUAGE_KEY", server.key)
        at = scored("love the crew, <i>lost</i> my bag")  # on loopback without a login: an operator
        asked = sum(r.documents for r in server.requests)
        assert asked == 1  # the Live answer only
        assert "Occlusion sends up to 7 texts to the service, each billed" in "\n".join(c.value for c in at.caption)
        at = ran(next(b for b in at.button if b.label == "Explain (7 billed texts)").click().run())
        assert sum(r.documents for r in server.requests) == asked + 6  # the whole text was cached
    [body] = html_bodies(at)
    assert "&#60;i&#62;lost&#60;/i&#62;" in body and "<i>" not in body
    assert "rgba(220, 38, 38" in body  # "lost" pushed the service toward negative


def test_a_viewer_is_offered_no_cloud_explanation(logreg_runs, monkeypatch):
    from tests.support.azure_language_server import LanguageServer
    from tests.support.streamlit import serving_on

    with LanguageServer() as server, serving_on("0.0.0.0"):  # exposed, no authentication: a viewer
        monkeypatch.setenv("AZURE_LANGUAGE_ENDPOINT", server.endpoint)
        monkeypatch.setenv("AZURE_LANGUAGE_KEY", server.key)
        at = scored("love the crew, lost my bag")
        assert [b.key for b in at.button if b.key and b.key.startswith("explain-")] == ["explain-logreg-tiny"]
        assert server.requests == []
