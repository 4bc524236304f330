"""TF-IDF or feature-hashing logistic regression: the study's two "Azure ML designer" pipelines.

    python -m trainers.logreg --data CSV --output RUN_DIR [--features tfidf|hashing] [--sample N] [--seed S]
"""
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
from core.training.runner import OptionError, base_parser, run_trainer

C_GRID = (0.5, 1.0, 2.0, 4.0)
APPROACH = {"tfidf": "TF-IDF + logistic regression", "hashing": "Feature hashing + logistic regression"}


def build_pipeline(features: str, ngram_max: int, C: float, seed: int, hash_bits: int = 20) -> Pipeline:
    # Tokens come from the tweet-aware normaliser (placeholders for users and links, negations kept).
    common = dict(tokenizer=tweet_tokens, lowercase=False, token_pattern=None, ngram_range=(1, ngram_max))
    if features == "tfidf":
        steps = [("tfidf", TfidfVectorizer(min_df=2, sublinear_tf=True, **common))]
    else:
        steps = [("hashing", HashingVectorizer(n_features=2 ** hash_bits, alternate_sign=False, norm=None,
                                               **common)),
                 ("tfidf", TfidfTransformer(sublinear_tf=True))]
    steps.append(("logreg", LogisticRegression(C=C, max_iter=1000, solver="saga", random_state=seed)))
    return Pipeline(steps)


def train(args, split, run):
    start = time.perf_counter()
    fit_on = pd.concat([split.train, split.val])
    pipeline = build_pipeline(args.features, args.ngram_max, 1.0, args.seed, args.hash_bits)
    features, logreg = Pipeline(pipeline.steps[:-1]), pipeline.steps[-1][1]
    run.progress(phase="train", message=f"extracting features from {len(fit_on):,} tweets", step=0, steps=2)
    # Tokenising dominates the cost, so it happens once; the validation split only chooses C (on features
    # fitted without its labels), then the final model learns from train + validation.
    X = features.fit_transform(fit_on["text"].tolist())
    y = fit_on["label"].to_numpy()
    C, val_scores = float(args.C) if args.C != "auto" else None, {}
    if C is None:  # validate() made sure there is a validation split
        n_train = len(split.train)
        for C_try in C_GRID:
            run.progress(phase="tune", message=f"C={C_try}", step=1, steps=2)
            model = LogisticRegression(C=C_try, max_iter=1000, solver="saga", random_state=args.seed)
            val_scores[C_try] = float(model.fit(X[:n_train], y[:n_train]).score(X[n_train:], y[n_train:]))
        C = max(val_scores, key=val_scores.get)
    logreg.set_params(C=C)
    run.progress(phase="train", message=f"fitting logistic regression (C={C})", step=1, steps=2)
    logreg.fit(X, y)
    seconds = time.perf_counter() - start
    run.progress(phase="train", message="fitted", step=2, steps=2, seconds=seconds)
    joblib.dump(pipeline, run.path / "model.joblib")
    vocab = len(pipeline.named_steps["tfidf"].vocabulary_) if args.features == "tfidf" else 2 ** args.hash_bits
    run.update(device={"type": "cpu", "name": f"{os.cpu_count()} CPU cores"},
               model={"features": args.features, "n_features": vocab, "C": C,
                      "val_accuracy_by_C": val_scores, "fitted_on": "train+val"})
    return SklearnModel(pipeline, APPROACH[args.features]), seconds, len(fit_on), {}


def parser():
    p = base_parser(__doc__)
    model = p.add_argument_group("model")
    model.add_argument("--features", choices=["tfidf", "hashing"], default="tfidf", help="text features")
    model.add_argument("--ngram-max", type=int, default=2, help="longest word n-gram")
    model.add_argument("--C", default="auto",
                       help=f"inverse regularisation strength, or 'auto' to pick from {C_GRID} on validation")
    model.add_argument("--hash-bits", type=int, default=20, help="hashing: 2^bits features")
    return p


def validate(args) -> None:
    """Bad values and combinations, refused before any run folder is touched."""
    if args.C == "auto":
        if args.val_size == 0:
            raise OptionError("--C auto picks C on the validation split, so it needs --val-size above 0; "
                              "give --C a number to train without validation")
    else:
        try:
            positive = float(args.C) > 0
        except ValueError:
            positive = False
        if not positive:
            raise OptionError(f"--C must be a positive number or 'auto', not {args.C!r}")
    if args.ngram_max < 1:
        raise OptionError("--ngram-max must be at least 1")
    if not 1 <= args.hash_bits <= 30:
        raise OptionError("--hash-bits must be between 1 and 30")


def main(argv=None):
    return run_trainer("logreg", lambda a: APPROACH[a.features], parser(), train, argv, validate=validate)


if __name__ == "__main__":
    main()
