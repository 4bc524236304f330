"""TF-IDF or feature-hashing logistic regression: the study's two "Azure ML designer" pipelines (fit code;
options: core.training.options.LogregOptions)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import joblib
import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from core.models.base import SklearnModel
from core.text.preprocess import emoji_tweet_tokens
from core.text.tokens import split_tokens, tweet_token_strings
from core.tracking.devices import usable_cores
from core.training.options import C_GRID, LogregOptions
from core.training.runner import OptionError, check_C

SEARCH_ROWS = 200_000  # training tweets the C search fits on (all of them below this)
APPROACH = {"tfidf": "TF-IDF + logistic regression", "hashing": "Feature hashing + logistic regression"}


def approach(options: LogregOptions) -> str:
    return APPROACH[options.features]


def build_pipeline(features: str, ngram_max: int, C: float, seed: int, hash_bits: int = 20) -> Pipeline:
    # Tokens come from the tweet-aware normaliser (placeholders for users and links, negations kept). float32
    # features: half the memory of float64 at 1.6 M tweets, and saga is ~3x faster on them for the same accuracy.
    common = dict(
        tokenizer=emoji_tweet_tokens, lowercase=False, token_pattern=None, ngram_range=(1, ngram_max), dtype=np.float32
    )
    if features == "tfidf":
        steps = [("tfidf", TfidfVectorizer(min_df=2, sublinear_tf=True, **common))]
    else:
        steps = [
            ("hashing", HashingVectorizer(n_features=2**hash_bits, alternate_sign=False, norm=None, **common)),
            ("tfidf", TfidfTransformer(sublinear_tf=True)),
        ]
    steps.append(("logreg", logistic_regression(C, seed)))
    return Pipeline(steps)


def logistic_regression(C: float, seed: int) -> LogisticRegression:
    # saga: linear in the number of non-zeros, and warm_start lets each C of the search (and the final fit)
    # start from the previous solution, so the search costs little more than one fit.
    return LogisticRegression(C=C, max_iter=1000, solver="saga", random_state=seed, warm_start=True)


def train(options: LogregOptions, split, run):
    start = time.perf_counter()
    fit_on = pd.concat([split.train, split.val])
    pipeline = build_pipeline(options.features, options.ngram_max, 1.0, options.seed, options.hash_bits)
    logreg = pipeline.steps[-1][1]
    X = fit_features(pipeline, fit_on["text"].tolist(), run)
    y = fit_on["label"].to_numpy()
    search = pick_C(X, y, len(split.train), options, run) if options.C == "auto" else None
    C = search.best if search else float(options.C)
    logreg.set_params(C=C)
    if search:  # the final fit on train + validation starts from the chosen C's solution
        logreg.coef_, logreg.intercept_ = search.start
    run.progress(
        phase="train", message=f"fitting logistic regression on {X.shape[0]:,} tweets (C={C})", step=2, steps=3
    )
    logreg.fit(X, y)
    seconds = time.perf_counter() - start
    run.progress(phase="train", message="fitted", step=3, steps=3, seconds=seconds)
    joblib.dump(pipeline, run.path / "model.joblib")
    run.update(
        device={"type": "cpu", "name": f"{usable_cores()} CPU cores"}, model=model_summary(options, pipeline, C, search)
    )
    return SklearnModel(pipeline, approach(options)), seconds, len(fit_on), {}


def fit_features(pipeline: Pipeline, texts: list[str], run):
    """Fit the feature steps and return the training matrix. Tokenising dominates the cost, so it runs once,
    on every core; the vectoriser reads the joined tokens while fitting and raw texts once saved."""
    run.progress(phase="train", message=f"tokenising {len(texts):,} tweets on {usable_cores()} cores", step=0, steps=3)
    vectorizer = pipeline.steps[0][1]
    tokenizer = vectorizer.tokenizer
    tokens = tweet_token_strings(texts, tokenizer=tokenizer)
    vectorizer.set_params(tokenizer=split_tokens)
    run.progress(phase="train", message=f"extracting features from {len(texts):,} tweets", step=1, steps=3)
    X = Pipeline(pipeline.steps[:-1]).fit_transform(tokens)
    vectorizer.set_params(tokenizer=tokenizer)
    return X


def model_summary(options: LogregOptions, pipeline: Pipeline, C: float, search: CSearch | None) -> dict:
    tfidf = options.features == "tfidf"
    return {
        "features": options.features,
        "tokens": "tweet tokens, emoji as words",  # runs before this key: tweet tokens, emoji as they are
        "n_features": len(pipeline.named_steps["tfidf"].vocabulary_) if tfidf else 2**options.hash_bits,
        "C": C,
        "solver": "saga (warm-started along C)",
        "val_accuracy_by_C": search.scores if search else {},
        "fit_seconds_by_C": search.seconds if search else {},
        "C_search_rows": search.rows if search else None,
        "fitted_on": "train+val",
    }


@dataclass
class CSearch:
    best: float
    scores: dict[float, float]  # validation accuracy per C
    seconds: dict[float, float]
    start: tuple  # (coef_, intercept_) of the best C, fitted on train only
    rows: int  # training tweets each search fit saw


def pick_C(X, y, n_train: int, options: LogregOptions, run) -> CSearch:
    """The C of C_GRID with the best validation accuracy (rows after n_train are the validation split;
    validate() made sure there is one). Ascending C, each fit warm-started from the last. Above SEARCH_ROWS
    training tweets, the search fits a random SEARCH_ROWS of them: each fit then costs a fraction of the final
    one, which alone sees every tweet."""
    scores, seconds, solutions = {}, {}, {}
    model = logistic_regression(C_GRID[0], options.seed)
    rows = search_rows(n_train, options.seed)
    X_train, y_train, X_val, y_val = X[rows], y[rows], X[n_train:], y[n_train:]
    for C_try in sorted(C_GRID):
        run.progress(phase="tune", message=f"C={C_try} on {len(rows):,} tweets", step=1, steps=3)
        began = time.perf_counter()
        model.set_params(C=C_try).fit(X_train, y_train)
        seconds[C_try] = round(time.perf_counter() - began, 2)
        scores[C_try] = float(model.score(X_val, y_val))
        solutions[C_try] = (model.coef_.copy(), model.intercept_.copy())
    best = max(scores, key=scores.get)
    return CSearch(best, scores, seconds, solutions[best], len(rows))


def search_rows(n_train: int, seed: int) -> np.ndarray:
    if n_train <= SEARCH_ROWS:
        return np.arange(n_train)
    return np.sort(np.random.default_rng(seed).choice(n_train, SEARCH_ROWS, replace=False))


def validate(options: LogregOptions) -> None:
    """Bad values and combinations, refused before any run folder is touched."""
    if options.C == "auto":
        if options.val_size == 0:
            raise OptionError(
                "--C auto picks C on the validation split, so it needs --val-size above 0; "
                "give --C a number to train without validation"
            )
    check_C(options.C)
    if options.ngram_max < 1:
        raise OptionError("--ngram-max must be at least 1")
    if not 1 <= options.hash_bits <= 30:
        raise OptionError("--hash-bits must be between 1 and 30")
