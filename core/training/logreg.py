"""TF-IDF or feature-hashing logistic regression: the study's two "Azure ML designer" pipelines (fit code;
options: core.training.options.LogregOptions)."""

from __future__ import annotations

import os
import time

import joblib
import pandas as pd
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from core.models.base import SklearnModel
from core.text.preprocess import tweet_tokens
from core.training.options import C_GRID, LogregOptions
from core.training.runner import OptionError

APPROACH = {"tfidf": "TF-IDF + logistic regression", "hashing": "Feature hashing + logistic regression"}


def approach(options: LogregOptions) -> str:
    return APPROACH[options.features]


def build_pipeline(features: str, ngram_max: int, C: float, seed: int, hash_bits: int = 20) -> Pipeline:
    # Tokens come from the tweet-aware normaliser (placeholders for users and links, negations kept).
    common = dict(tokenizer=tweet_tokens, lowercase=False, token_pattern=None, ngram_range=(1, ngram_max))
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
    return LogisticRegression(C=C, max_iter=1000, solver="saga", random_state=seed)


def train(options: LogregOptions, split, run):
    start = time.perf_counter()
    fit_on = pd.concat([split.train, split.val])
    pipeline = build_pipeline(options.features, options.ngram_max, 1.0, options.seed, options.hash_bits)
    features, logreg = Pipeline(pipeline.steps[:-1]), pipeline.steps[-1][1]
    run.progress(phase="train", message=f"extracting features from {len(fit_on):,} tweets", step=0, steps=2)
    # Tokenising dominates the cost, so it happens once; the validation split only chooses C (on features
    # fitted without its labels), then the final model learns from train + validation.
    X = features.fit_transform(fit_on["text"].tolist())
    y = fit_on["label"].to_numpy()
    C, val_scores = (float(options.C), {}) if options.C != "auto" else pick_C(X, y, len(split.train), options, run)
    logreg.set_params(C=C)
    run.progress(phase="train", message=f"fitting logistic regression (C={C})", step=1, steps=2)
    logreg.fit(X, y)
    seconds = time.perf_counter() - start
    run.progress(phase="train", message="fitted", step=2, steps=2, seconds=seconds)
    joblib.dump(pipeline, run.path / "model.joblib")
    n_features = len(pipeline.named_steps["tfidf"].vocabulary_) if options.features == "tfidf" else 2**options.hash_bits
    run.update(
        device={"type": "cpu", "name": f"{os.cpu_count()} CPU cores"},
        model={
            "features": options.features,
            "n_features": n_features,
            "C": C,
            "val_accuracy_by_C": val_scores,
            "fitted_on": "train+val",
        },
    )
    return SklearnModel(pipeline, approach(options)), seconds, len(fit_on), {}


def pick_C(X, y, n_train: int, options: LogregOptions, run) -> tuple[float, dict[float, float]]:
    """The C of C_GRID with the best validation accuracy (rows after n_train are the validation split;
    validate() made sure there is one)."""
    val_scores = {}
    for C_try in C_GRID:
        run.progress(phase="tune", message=f"C={C_try}", step=1, steps=2)
        model = logistic_regression(C_try, options.seed).fit(X[:n_train], y[:n_train])
        val_scores[C_try] = float(model.score(X[n_train:], y[n_train:]))
    return max(val_scores, key=val_scores.get), val_scores


def validate(options: LogregOptions) -> None:
    """Bad values and combinations, refused before any run folder is touched."""
    if options.C == "auto":
        if options.val_size == 0:
            raise OptionError(
                "--C auto picks C on the validation split, so it needs --val-size above 0; "
                "give --C a number to train without validation"
            )
    else:
        try:
            positive = float(options.C) > 0
        except ValueError:
            positive = False
        if not positive:
            raise OptionError(f"--C must be a positive number or 'auto', not {options.C!r}")
    if options.ngram_max < 1:
        raise OptionError("--ngram-max must be at least 1")
    if not 1 <= options.hash_bits <= 30:
        raise OptionError("--hash-bits must be between 1 and 30")
