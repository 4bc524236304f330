"""Why a model says what it says about one tweet: the words that pushed P(positive) up or down.

Two methods:

* **Occlusion (leave one word out)**, the same for every approach, since a `SentimentModel` only offers
  `predict_proba(texts) -> P(positive)`. The tweet is cut into whitespace-separated words whose character spans
  are kept (so a page can highlight them in the original text). For each word, the tweet without it is scored;
  the word's effect is `P(positive | tweet) - P(positive | tweet without the word)`: above 0 the word pushed the
  score toward positive, below 0 toward negative. The word is removed (not replaced by a mask token), because
  a mask means something different to each approach (an unknown word for the LSTM, [MASK] for a transformer,
  nothing for TF-IDF). The whole tweet is scored once (timed), then every variant in ONE batched
  `predict_proba` call. Bounded on a CPU: at most `MAX_WORDS` words are occluded, and fewer when the timed
  single-tweet call says the batch would not fit in `BUDGET_S` (a batch costs at most one single call per text,
  usually far less); the words left out are listed and `truncated` is set. Effects of single words do not add
  up to the score (words interact); they say what removing each word alone would change.

  Why not SHAP's text explainer: `shap` is not a dependency of the project and would bring numba and llvmlite
  (compiled, large) for one feature; its Partition explainer scores hundreds of masked variants per tweet by
  default (max_evals 500) against occlusion's one per word, which on a CPU with a transformer is seconds
  rather than a fraction of one; and its text masker needs a tokenizer per approach, where occlusion needs none.

* **Exact contributions for logistic regression** (`SklearnModel` pipelines: TF-IDF, or feature hashing + TF-IDF
  weighting, then `LogisticRegression`). The decision function is `intercept + sum_j x_j * w_j` over the tweet's
  features, so each n-gram that fired contributes `x_j * w_j` in logit units, and the contributions plus the
  intercept give the logit exactly (`sigmoid(logit)` = P(positive)). Columns are mapped back to the n-grams
  that fired by the vectoriser's own analyser: through the vocabulary for TF-IDF, by hashing the tweet's own
  n-grams (scikit-learn's hashing, through a HashingVectorizer fed the n-grams themselves) for feature hashing.
  Rule for highlighting: an n-gram's contribution is split equally between its occurrences, and each occurrence
  equally between its tokens; a token's share goes to the whitespace word it came from (a bigram "not good"
  gives half to "not", half to "good"; a bigram inside one word, such as "don't" -> "do" "n't", stays whole).
  Hashing collisions (two n-grams of the tweet in one column) share the column's contribution by their counts.
  An n-gram the analyser built on the whole tweet but not word by word (rare: a token spanning a space) keeps
  its row in the table but is not highlighted.

A three-way model (core.data.labels) is explained on P(negative), the score the monitor's bad-buzz share reads:
each word's effect is `P(negative | tweet) - P(negative | tweet without the word)`, above 0 toward negative,
below 0 away from it (toward neutral or positive); `Explanation.target` says which class's probability is
explained ("positive" for a binary model, "negative" for a three-way one).

Cloud services (Azure AI Language, the Azure ML endpoint) are never explained on their own: occlusion sends one
text per word, each a billed text record for Language. `explainable` says no to them, and the page offers them
to operators only, behind a button that shows `cloud_cost` (the texts and text records not cached yet, from the
spend guard, no network call). `explain_cloud` then goes through the service's own client (cache, retries, spend
guard): the budget for every text is reserved before the first request, so a batch that does not fit is refused
(`BudgetExceeded`) before anything is sent.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from core.inference.live import MAX_CHARS  # what the page scores is what is explained
from core.models.base import SentimentModel, SklearnModel
from core.run_kinds import local_kinds

log = logging.getLogger(__name__)

MAX_WORDS = 64  # words occluded at most: a tweet is ~20 words; a pasted text beyond this is cut
BUDGET_S = 5.0  # the occlusion batch's time bound (CPU), estimated from the timed single-tweet call
CLOUD_BUDGET_S = 60.0  # a cloud call's latency says little about its batch (10 texts a request): words cap it
OCCLUSION = "occlusion"
LOGREG = "logistic-regression contributions"
UNITS = {OCCLUSION: "ΔP(positive)", LOGREG: "logit"}
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class WordEffect:
    """One word of the tweet (its characters `text[start:end]`) and how much it moved the score."""

    text: str
    start: int
    end: int
    effect: float  # occlusion: ΔP(target); logistic regression: logit
    target: str = "positive"  # the class whose probability the effect moves (a three-way model: negative)

    @property
    def direction(self) -> str:
        if self.target == "negative":
            return "negative" if self.effect > 0 else "not negative" if self.effect < 0 else "none"
        return "positive" if self.effect > 0 else "negative" if self.effect < 0 else "none"


@dataclass(frozen=True)
class NgramContribution:
    """One feature column of a logistic regression that fired on the tweet."""

    ngram: str
    column: int
    count: int  # occurrences in the tweet
    value: float  # the feature value the model saw (TF-IDF weight)
    coefficient: float
    contribution: float  # value * coefficient (logit units; a shared hashing column is split by counts)


@dataclass(frozen=True)
class Explanation:
    method: str  # OCCLUSION or LOGREG
    text: str  # the explained text (stripped, cut to MAX_CHARS): spans index into it
    base_score: float | None  # P(positive) of the whole text; None for an empty text
    words: tuple[WordEffect, ...]
    seconds: float
    truncated: bool = False  # words (or characters) were left out
    left_out: tuple[WordEffect, ...] = ()  # words not explained (effect 0), in text order
    note: str = ""
    intercept: float | None = None  # logistic regression only
    ngrams: tuple[NgramContribution, ...] = field(default_factory=tuple)
    target: str = "positive"  # base_score and the effects are P(target): "negative" for a three-way model

    @property
    def unit(self) -> str:
        return f"ΔP({self.target})" if self.method == OCCLUSION else UNITS[self.method]

    @property
    def logit(self) -> float | None:
        """Logistic regression: intercept + the contributions (sigmoid of it is `base_score`)."""
        if self.intercept is None:
            return None
        return self.intercept + math.fsum(n.contribution for n in self.ngrams)

    def top(self, n: int = 10) -> list[WordEffect]:
        """The n words that moved the score most, largest first."""
        return sorted((w for w in self.words if w.effect), key=lambda w: abs(w.effect), reverse=True)[:n]


def word_spans(text: str) -> list[tuple[str, int, int]]:
    """The whitespace-separated words of `text` with their character spans."""
    return [(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]


def explainable(model: SentimentModel) -> bool:
    """Local models only (the trainer registry's local kinds): a cloud model would bill each variant."""
    return getattr(model, "kind", "") in local_kinds()


def explain(model: SentimentModel, text: str, max_words: int = MAX_WORDS, budget_s: float = BUDGET_S):
    """Every explanation that applies: occlusion, plus the exact contributions for logistic regression."""
    explanations = [occlusion(model, text, max_words=max_words, budget_s=budget_s)]
    if has_exact(model):
        explanations.append(logreg_contributions(model, text))
    return explanations


def explain_best(model: SentimentModel, text: str, max_words: int = MAX_WORDS, budget_s: float = BUDGET_S):
    """The one explanation a page shows: the exact contributions when the model has them (logistic regression),
    else occlusion."""
    if has_exact(model):
        return logreg_contributions(model, text)
    return occlusion(model, text, max_words=max_words, budget_s=budget_s)


# ------------------------------------------------------------------------------------------------ occlusion


def occlusion(model: SentimentModel, text: str, max_words: int = MAX_WORDS, budget_s: float = BUDGET_S) -> Explanation:
    """Leave-one-word-out effects on P(positive), or P(negative) for a three-way model (see the module
    docstring)."""
    started = time.perf_counter()
    text, cut = _prepared(text)
    spans = word_spans(text)
    target = "negative" if getattr(model, "three_way", False) else "positive"
    score = model.predict_negative if target == "negative" else model.predict_proba
    if not spans:
        return Explanation(OCCLUSION, text, None, (), time.perf_counter() - started, note="empty text", target=target)
    base = float(score([text])[0])
    single_s = time.perf_counter() - started
    if math.isnan(base):  # a cloud service that could not answer
        return Explanation(OCCLUSION, text, None, (), single_s, cut, note="no score for the whole text", target=target)
    allowed = _affordable(len(spans), max_words, budget_s - single_s, single_s)
    scored = spans[:allowed]
    variants = [_without(text, start, end) for _, start, end in scored]
    p_without = np.asarray(score(variants), dtype=float) if variants else np.zeros(0)
    words = tuple(
        WordEffect(w, s, e, base - float(p), target) for (w, s, e), p in zip(scored, p_without) if not np.isnan(p)
    )
    unanswered = tuple(WordEffect(w, s, e, 0.0, target) for (w, s, e), p in zip(scored, p_without) if np.isnan(p))
    rest = tuple(WordEffect(w, s, e, 0.0, target) for w, s, e in spans[allowed:])
    left_out = tuple(sorted(unanswered + rest, key=_start))
    note = _left_out_note(len(spans), allowed, max_words, budget_s, cut)
    if unanswered:
        note = "; ".join(filter(None, [note, f"{len(unanswered)} word(s) left out (no score without them)"]))
    seconds = time.perf_counter() - started
    log.debug("occlusion of %d words in %.3f s", len(words), seconds)
    return Explanation(OCCLUSION, text, base, words, seconds, bool(left_out) or cut, left_out, note, target=target)


def _start(word: WordEffect) -> int:
    return word.start


def occlusion_texts(text: str, max_words: int = MAX_WORDS) -> list[str]:
    """Every text occlusion may send to the model: the whole text, then the text without each word."""
    text, _ = _prepared(text)
    spans = word_spans(text)[:max_words]
    return [text, *(_without(text, start, end) for _, start, end in spans)] if spans else []


def _prepared(text: str | None) -> tuple[str, bool]:
    stripped = (text or "").strip()
    return stripped[:MAX_CHARS], len(stripped) > MAX_CHARS


def _affordable(n_words: int, max_words: int, budget_left_s: float, single_s: float) -> int:
    """How many variants fit: at most max_words, and at most the budget left over one single-text call."""
    by_time = int(budget_left_s / single_s) if single_s > 0 else n_words
    return max(0, min(n_words, max_words, by_time))


def _without(text: str, start: int, end: int) -> str:
    """The text with text[start:end] removed and the space around it kept single."""
    return f"{text[:start].rstrip()} {text[end:].lstrip()}".strip()


def _left_out_note(n_words: int, allowed: int, max_words: int, budget_s: float, cut: bool) -> str:
    parts = []
    if cut:
        parts.append(f"only the first {MAX_CHARS:,} characters are explained")
    if allowed < n_words:
        why = f"at most {max_words} words" if allowed == max_words else f"the {budget_s:g} s time budget"
        parts.append(f"{n_words - allowed} of {n_words} words left out ({why})")
    return "; ".join(parts)


# ------------------------------------------------------------------------------ exact (logistic regression)


def has_exact(model: SentimentModel) -> bool:
    """A scikit-learn pipeline of a text vectoriser (+ TF-IDF weighting) and a binary LogisticRegression."""
    from sklearn.linear_model import LogisticRegression

    if not isinstance(model, SklearnModel):
        return False
    steps = [step for _, step in model.pipeline.steps]
    final = steps[-1]
    return (
        isinstance(final, LogisticRegression)
        and getattr(final, "coef_", np.zeros((2, 0))).shape[0] == 1
        and hasattr(steps[0], "build_analyzer")
        and getattr(steps[0], "analyzer", None) == "word"
    )


def logreg_contributions(model: SklearnModel, text: str) -> Explanation:
    """Exact per-n-gram contributions to the logit, and their shares per word (see the module docstring)."""
    started = time.perf_counter()
    text, cut = _prepared(text)
    steps = [step for _, step in model.pipeline.steps]
    vectorizer, logreg = steps[0], steps[-1]
    intercept = float(logreg.intercept_[0])
    if not word_spans(text):
        return Explanation(
            LOGREG, text, None, (), time.perf_counter() - started, note="empty text", intercept=intercept
        )
    features = _features(model, text)
    ngrams = _ngram_rows(vectorizer, features, logreg.coef_[0], text)
    words, unplaced = _word_shares(vectorizer, text, ngrams)
    base = float(model.predict_proba([text])[0])
    note = "only the first 1,000 characters are explained" if cut else ""
    if unplaced:
        note = "; ".join(filter(None, [note, f"{unplaced} n-gram(s) not highlighted (a token spanning a space)"]))
    seconds = time.perf_counter() - started
    return Explanation(LOGREG, text, base, words, seconds, cut, (), note, intercept, tuple(ngrams))


def _features(model: SklearnModel, text: str):
    """The 1 x F sparse feature row the LogisticRegression sees."""
    from sklearn.pipeline import Pipeline

    return Pipeline(model.pipeline.steps[:-1]).transform([text]).tocsr()


def _ngram_rows(vectorizer, features, coef: np.ndarray, text: str) -> list[NgramContribution]:
    counts = Counter(vectorizer.build_analyzer()(text))
    columns = _columns(vectorizer, list(counts))
    by_column: dict[int, list[str]] = defaultdict(list)
    for ngram, column in columns.items():
        by_column[column].append(ngram)
    row = dict(zip(features.indices.tolist(), features.data.tolist()))
    rows = []
    for column, grams in by_column.items():
        value = float(row.get(column, 0.0))
        shared = sum(counts[g] for g in grams)
        for g in grams:
            share = counts[g] / shared
            rows.append(
                NgramContribution(g, column, counts[g], value, float(coef[column]), float(value * coef[column] * share))
            )
    return sorted(rows, key=lambda r: abs(r.contribution), reverse=True)


def _columns(vectorizer, ngrams: list[str]) -> dict[str, int]:
    """Feature column of each n-gram: the vocabulary (n-grams outside it have none), or scikit-learn's hashing."""
    from sklearn.feature_extraction.text import HashingVectorizer

    if hasattr(vectorizer, "vocabulary_"):
        return {g: int(vectorizer.vocabulary_[g]) for g in ngrams if g in vectorizer.vocabulary_}
    if not isinstance(vectorizer, HashingVectorizer) or not ngrams:
        return {}
    hasher = HashingVectorizer(
        n_features=vectorizer.n_features, alternate_sign=vectorizer.alternate_sign, norm=None, analyzer=_itself
    )
    hashed = hasher.transform([[g] for g in ngrams]).tocsr()
    return {g: int(hashed.indices[hashed.indptr[i]]) for i, g in enumerate(ngrams)}


def _itself(features: list[str]) -> list[str]:
    return features


def _word_shares(vectorizer, text: str, ngrams: Sequence[NgramContribution]) -> tuple[tuple[WordEffect, ...], int]:
    """Each word's share of the contributions (the highlighting rule), and how many n-grams found no word."""
    spans = word_spans(text)
    occurrences = _ngram_occurrences(vectorizer, spans)
    shares = [0.0] * len(spans)
    unplaced = 0
    for row in ngrams:
        places = occurrences.get(row.ngram, [])
        if not places:
            unplaced += 1
            continue
        for owners in places:
            for owner in owners:
                shares[owner] += row.contribution / len(places) / len(owners)
    words = tuple(WordEffect(w, s, e, share) for (w, s, e), share in zip(spans, shares))
    return words, unplaced


def _ngram_occurrences(vectorizer, spans) -> dict[str, list[tuple[int, ...]]]:
    """n-gram -> one tuple per occurrence: the word index of each of its tokens, tokenising word by word."""
    preprocess, tokenize = vectorizer.build_preprocessor(), vectorizer.build_tokenizer()
    stop = vectorizer.get_stop_words() or frozenset()
    tokens = [(t, i) for i, (word, _, _) in enumerate(spans) for t in tokenize(preprocess(word)) if t not in stop]
    low, high = vectorizer.ngram_range
    occurrences: dict[str, list[tuple[int, ...]]] = defaultdict(list)
    for n in range(low, high + 1):
        for at in range(len(tokens) - n + 1):
            window = tokens[at : at + n]
            occurrences[" ".join(t for t, _ in window)].append(tuple(i for _, i in window))
    return occurrences


# ------------------------------------------------------------------------------------ cloud (operators only)


@dataclass(frozen=True)
class CloudCost:
    """What explaining a text through a cloud service would send, before anything is sent."""

    texts: int  # texts occlusion may send (the whole text and one per word)
    sentence: str  # the spend guard's estimate, or what the service bills instead
    fits: bool  # within the spend guard's budget now (advisory: the reservation decides)


def cloud_cost(service, text: str, max_words: int = MAX_WORDS) -> CloudCost:
    """The cost of `explain_cloud(service, text)`, from the service's spend guard (no network call)."""
    texts = occlusion_texts(text, max_words)
    if not hasattr(service, "estimate"):
        return CloudCost(len(texts), f"up to {len(texts)} texts sent to the service (no text-record budget)", True)
    estimate = service.estimate(texts)
    return CloudCost(len(texts), f"not cached yet: {estimate.describe()}", estimate.fits)


def explain_cloud(service, text: str, max_words: int = MAX_WORDS) -> Explanation:
    """Occlusion through a cloud service's own client, its budget reserved for every text first (BudgetExceeded,
    a ServiceError, before any request when it does not fit). Only on an operator's explicit request."""
    from core.azure.services import reserve_budget
    from core.models.cloud import ServiceModel

    with reserve_budget(service, occlusion_texts(text, max_words)):
        return occlusion(ServiceModel(service), text, max_words=max_words, budget_s=CLOUD_BUDGET_S)
