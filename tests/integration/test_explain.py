"""core/inference/explain.py on real tiny models: occlusion (logreg run, tiny transformer run) and the exact
logistic-regression contributions (TF-IDF run, and a feature-hashing pipeline fitted here)."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from sklearn.pipeline import Pipeline

from core.inference import explain as ex
from core.models.base import SentimentModel, SklearnModel, load
from core.training.logreg import build_pipeline
from tests.support.data import make_tweets
from tests.support.transformer_runs import shared_transformer_run

TWEET = "@united love the crew but my bag is lost again"


@pytest.fixture(scope="module")
def logreg(trained_logreg_run) -> SklearnModel:
    return load(trained_logreg_run)


@pytest.fixture(scope="module")
def hashing() -> SklearnModel:
    rows = make_tweets(300, seed=1)
    pipeline = build_pipeline("hashing", 2, 1.0, 0, hash_bits=16)
    pipeline.fit([text for _, text in rows], [int(target == 4) for target, _ in rows])
    return SklearnModel(pipeline, "hashing")


def by_word(explanation: ex.Explanation) -> dict[str, float]:
    return {w.text: w.effect for w in explanation.words}


def assert_consistent_with_rescoring(model: SentimentModel, explanation: ex.Explanation, tol: float) -> None:
    """Each word's effect is P(whole text) - P(text without that word), each variant scored on its own."""
    text = explanation.text
    assert explanation.base_score == pytest.approx(model.predict_proba([text])[0], abs=tol)
    for word in explanation.words:
        assert text[word.start : word.end] == word.text
        without = f"{text[: word.start].rstrip()} {text[word.end :].lstrip()}".strip()
        assert word.effect == pytest.approx(explanation.base_score - model.predict_proba([without])[0], abs=tol)


def test_occlusion_on_a_logreg_run_finds_the_sentiment_words(logreg):
    explanation = ex.occlusion(logreg, TWEET)
    effects = by_word(explanation)
    assert list(effects) == TWEET.split() and not explanation.truncated and not explanation.left_out
    assert effects["love"] > 0.02 and effects["lost"] < -0.02  # the tiny data's positive and negative words
    assert {w.text: w.direction for w in explanation.words}["love"] == "positive"
    assert explanation.top(2)[0].text in {"love", "lost"}
    assert_consistent_with_rescoring(logreg, explanation, tol=1e-6)


@pytest.mark.parametrize("model_name", ["logreg", "hashing"])
def test_exact_contributions_add_up_to_the_logit(model_name, request):
    model = request.getfixturevalue(model_name)
    explanation = ex.logreg_contributions(model, TWEET)
    pipeline, logreg = model.pipeline, model.pipeline.steps[-1][1]
    logit = float(pipeline.decision_function([TWEET])[0])
    assert explanation.intercept == pytest.approx(float(logreg.intercept_[0]))
    assert math.fsum(n.contribution for n in explanation.ngrams) == pytest.approx(
        logit - explanation.intercept, abs=1e-5
    )
    assert explanation.logit == pytest.approx(logit, abs=1e-5)
    assert explanation.base_score == pytest.approx(1 / (1 + math.exp(-logit)), abs=1e-6)
    # every feature column that fired is mapped back to the n-grams of the tweet, and nothing else
    features = Pipeline(pipeline.steps[:-1]).transform([TWEET])
    assert {n.column for n in explanation.ngrams} == set(features.nonzero()[1].tolist())
    grams = {n.ngram: n for n in explanation.ngrams}
    assert grams["love"].contribution > 0 and grams["lost"].contribution < 0
    assert any(" " in g for g in grams)  # bigrams have their own rows
    # the words' shares (highlighting) add up to the same total: every n-gram found its words here
    words = by_word(explanation)
    assert math.fsum(words.values()) == pytest.approx(logit - explanation.intercept, abs=1e-5)
    assert words["love"] > 0 and words["lost"] < 0


def test_a_bigram_is_split_between_its_two_words(logreg):
    explanation = ex.logreg_contributions(logreg, "the crew")
    grams = {n.ngram: n.contribution for n in explanation.ngrams}
    words = by_word(explanation)
    assert "the crew" in grams  # in the tiny data's vocabulary (min_df=2)
    assert words["the"] == pytest.approx(grams.get("the", 0.0) + grams["the crew"] / 2, abs=1e-6)
    assert words["crew"] == pytest.approx(grams.get("crew", 0.0) + grams["the crew"] / 2, abs=1e-6)


def test_explain_gives_both_methods_for_logreg_only_occlusion_otherwise(logreg):
    assert [e.method for e in ex.explain(logreg, TWEET)] == [ex.OCCLUSION, ex.LOGREG]
    assert ex.explainable(logreg) and ex.has_exact(logreg)


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_an_empty_tweet_has_nothing_to_explain(logreg, text):
    for explanation in ex.explain(logreg, text):
        assert explanation.words == () and explanation.base_score is None and explanation.note == "empty text"


def test_a_1000_character_tweet_is_bounded_and_says_what_was_left_out(logreg):
    text = ("delayed flight lost bag " * 50)[:1000]
    explanation = ex.occlusion(logreg, text)
    assert len(explanation.words) == ex.MAX_WORDS and explanation.truncated
    assert len(explanation.words) + len(explanation.left_out) == len(text.split())
    assert explanation.left_out[0].start > explanation.words[-1].start
    assert "left out (at most 64 words)" in explanation.note
    longer = ex.occlusion(logreg, "lost " * 300)  # 1,500 characters: only what the page scores is explained
    assert len(longer.text) == ex.MAX_CHARS and "first 1,000 characters" in longer.note
    exact = ex.logreg_contributions(logreg, text)
    assert exact.logit == pytest.approx(float(logreg.pipeline.decision_function([text])[0]), abs=1e-5)


class Slow(SentimentModel):
    """A real model that takes `delay` seconds per call (a CPU much slower than this one)."""

    kind = "logreg"

    def __init__(self, model: SentimentModel, delay: float):
        super().__init__("slow")
        self.model, self.delay, self.calls = model, delay, []

    def _predict(self, texts):
        self.calls.append(len(texts))
        time.sleep(self.delay)
        return self.model.predict_proba(texts)


def test_the_time_budget_leaves_words_out_and_scores_the_rest_in_one_call(logreg):
    slow = Slow(logreg, delay=0.05)
    explanation = ex.occlusion(slow, TWEET, budget_s=0.4)  # room for about 7 single calls after the first
    assert 1 <= len(explanation.words) <= 7 and explanation.truncated
    assert "time budget" in explanation.note
    assert slow.calls == [1, len(explanation.words)]  # the whole tweet, then every variant in one batch


class CloudLike(SentimentModel):
    kind = "azure-language"

    def _predict(self, texts):
        raise AssertionError("a cloud model must not be called")


def test_cloud_models_are_not_explainable():
    assert not ex.explainable(CloudLike("cloud")) and not ex.has_exact(CloudLike("cloud"))


@pytest.mark.slow
def test_a_transformer_run_is_explained_within_bounds(tmp_path_factory):
    model = load(shared_transformer_run(tmp_path_factory))
    model.predict_proba(["warm up"])
    explanation = ex.occlusion(model, "great flight , love the crew but my bag is lost")
    assert ex.explainable(model) and not ex.has_exact(model)
    assert len(explanation.words) == 11 and explanation.seconds < ex.BUDGET_S
    assert_consistent_with_rescoring(model, explanation, tol=2e-3)  # batched vs single: padding differs
    assert np.isfinite([w.effect for w in explanation.words]).all()


# ------------------------------------------------------------------ cloud: operators only, through the spend guard


def language_client(server, tmp_path):
    from core.azure.cache import AnswerCache
    from core.azure.credentials import Credentials
    from core.azure.language import LanguageClient
    from core.azure.spend import SpendGuard

    return LanguageClient(
        endpoint=server.endpoint,
        api_key=server.key,
        max_retries=0,
        credentials=Credentials(environ={}, secrets_file=tmp_path / "none.toml"),
        cache=AnswerCache(tmp_path / "cache.sqlite"),
        spend=SpendGuard(tmp_path / "usage.json"),
    )


def test_a_cloud_explanation_goes_through_the_client_and_its_spend_guard(tmp_path):
    from tests.support.azure_language_server import LanguageServer

    text = "love the crew but my bag is lost"
    with LanguageServer() as server:
        client = language_client(server, tmp_path)
        cost = ex.cloud_cost(client, text)
        assert cost.texts == 9 and cost.fits and "9 documents = 9 text records" in cost.sentence
        assert server.requests == []  # the cost comes from the spend guard, not from the service
        explanation = ex.explain_cloud(client, text)
        sent = sum(r.documents for r in server.requests)
    effects = by_word(explanation)
    # Azure AI Language answers three ways: explained on P(negative) (the fake service's "mixed": 0.45)
    assert explanation.target == "negative" and explanation.base_score == pytest.approx(0.45)
    assert effects["lost"] > 0.3 and effects["love"] < -0.3 and effects["crew"] == pytest.approx(0.0)
    assert sent == 9 and client.spend.usage()["text_records"] == 9
    assert ex.cloud_cost(client, text).sentence.startswith("not cached yet: 0 documents")  # all cached now


def test_a_cloud_explanation_over_budget_is_refused_before_any_request(tmp_path):
    from core.azure.errors import ServiceError
    from tests.support.azure_language_server import LanguageServer

    with LanguageServer() as server:
        client = language_client(server, tmp_path)
        client.spend.set_budget(5)
        assert not ex.cloud_cost(client, "love the crew but my bag is lost").fits
        with pytest.raises(ServiceError, match="refused before any request"):
            ex.explain_cloud(client, "love the crew but my bag is lost")
        assert server.requests == [] and client.spend.usage()["text_records"] == 0
