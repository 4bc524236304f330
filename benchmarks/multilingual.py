"""Air Paradis' tweets as they are: the frozen sentence encoder + logistic-regression head on airline tweets,
French tweets and Sentiment140, and (with --runs) any trained run on the same sets; then the encoder's speed.

    python -m benchmarks.multilingual --airline /work/datasets/airline/Tweets.csv --french /work/datasets/french \\
        [--s140 ../shared/data/sentiment140_sample_90k.csv] [--train-tweets 4000] [--s140-test-tweets 2000] \\
        [--encoder multilingual-e5-small] [--runs artifacts/runs/lr artifacts/runs/keras-lstm ...] [--speed-tweets 256]

Sets (read from the paths given; nothing is copied into the project):
- airline: Twitter US Airline Sentiment (14,640 tweets; negative / neutral / positive). "neg vs pos" = the 11,541
  negative and positive tweets, balanced accuracy (P(positive) >= 0.5); "3-way" = macro-F1 over all of them.
- French: the XLM-T / UMSAB French tweets ({train,val,test}_{text,labels}.txt, 0 neg, 1 neutral, 2 pos).
  "zero-shot" = the head trained on English Sentiment140 only, on the 580 negative and positive test tweets;
  "3-way" = a head trained on the French training part (C picked on its validation part, then refit on both).
- Sentiment140: a stratified 80/20 split of the sample (seed 42); the head learns from --train-tweets random
  training tweets and is measured on --s140-test-tweets random test tweets (not the runs' shared test split:
  embedding its 17,889 tweets takes most of an hour on 2 cores).

Embeddings go through the project's cache (core.embedding.cache): the first run embeds, later ones read them back.
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score
from sklearn.model_selection import cross_val_predict, train_test_split

from core.embedding.cache import cached_embeddings
from core.embedding.encoders import DEFAULT_ENCODER, load_encoder
from core.training.options import SENTENCE_BINARY_C, SENTENCE_C_GRID

ROOT = Path(__file__).resolve().parent.parent
AIRLINE_CODES = {"negative": 0, "neutral": 1, "positive": 2}


def read_airline(path: str) -> tuple[list[str], np.ndarray]:
    frame = pd.read_csv(path)
    return frame["text"].astype(str).tolist(), frame["airline_sentiment"].map(AIRLINE_CODES).to_numpy()


def read_french(folder: str, part: str) -> tuple[list[str], np.ndarray]:
    texts = (Path(folder) / f"{part}_text.txt").read_text(encoding="utf-8").splitlines()
    labels = np.array([int(v) for v in (Path(folder) / f"{part}_labels.txt").read_text().split()])
    return texts, labels


def s140_parts(path: str, n_train: int, n_test: int) -> tuple[list[str], np.ndarray, list[str], np.ndarray]:
    """n_train random training and n_test random test tweets of a stratified 80/20 split, seed 42."""
    frame = pd.read_csv(path)
    texts, y = frame["text"].astype(str).to_numpy(), (frame["target"] == 4).astype(int).to_numpy()
    train, test = train_test_split(np.arange(len(frame)), test_size=0.2, stratify=y, random_state=42)
    rng = np.random.default_rng(42)
    train, test = rng.permutation(train)[:n_train], rng.permutation(test)[:n_test]
    return texts[train].tolist(), y[train], texts[test].tolist(), y[test]


def head(C: float, X, y) -> LogisticRegression:
    return LogisticRegression(C=C, class_weight="balanced", max_iter=2000, random_state=42).fit(X, y)


def neg_pos(p_pos: np.ndarray, codes: np.ndarray) -> float:
    """Balanced accuracy on the negative (0) and positive (2) tweets of a three-class set."""
    keep = codes != 1
    return balanced_accuracy_score(codes[keep] == 2, p_pos[keep] >= 0.5)


def french_three_way(encoder, folder: str) -> tuple[float, float, float]:
    """(C picked on validation, test macro-F1, test accuracy) of a three-way head trained on the French parts."""
    (tr, y_tr), (va, y_va), (te, y_te) = (read_french(folder, p) for p in ("train", "val", "test"))
    X_tr, X_va, X_te = (
        cached_embeddings(encoder, t, label=f"french/{p}") for t, p in ((tr, "train"), (va, "val"), (te, "test"))
    )
    scores = {C: f1_score(y_va, head(C, X_tr, y_tr).predict(X_va), average="macro") for C in SENTENCE_C_GRID}
    C = max(scores, key=scores.get)
    predicted = head(C, np.vstack([X_tr, X_va]), np.concatenate([y_tr, y_va])).predict(X_te)
    return C, f1_score(y_te, predicted, average="macro"), accuracy_score(y_te, predicted)


def sentence_figures(args, encoder) -> dict:
    s140_tr, y_tr, s140_te, y_te = s140_parts(args.s140, args.train_tweets, args.s140_test_tweets)
    X_tr = cached_embeddings(encoder, s140_tr, label=f"s140/train-{args.train_tweets}")
    english = head(SENTENCE_BINARY_C, X_tr, y_tr)
    figures = {
        "s140 test accuracy": accuracy_score(
            y_te, english.predict(cached_embeddings(encoder, s140_te, label="s140/test"))
        )
    }
    air_texts, air_codes = read_airline(args.airline)
    X_air = cached_embeddings(encoder, air_texts, label="airline")
    figures["airline neg vs pos balanced accuracy"] = neg_pos(english.predict_proba(X_air)[:, 1], air_codes)
    fr_texts, fr_codes = read_french(args.french, "test")
    X_fr = cached_embeddings(encoder, fr_texts, label="french/test")
    figures["French neg vs pos zero-shot balanced accuracy"] = neg_pos(english.predict_proba(X_fr)[:, 1], fr_codes)
    C, macro_f1, acc = french_three_way(encoder, args.french)
    figures[f"French 3-way macro-F1 (trained on French train, C={C:g})"] = macro_f1
    figures["French 3-way accuracy"] = acc
    cv = cross_val_predict(LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000), X_air, air_codes, cv=5)
    figures["airline 3-way macro-F1 (5-fold, head trained on airline)"] = f1_score(air_codes, cv, average="macro")
    return figures


def run_figures(run_dir: str, args) -> dict:
    """A trained run (any kind) on the airline and French test tweets: neg vs pos, and 3-way if it is three-way."""
    from core.models.base import load

    model = load(run_dir)
    if hasattr(model, "cache_from"):  # a sentence run: read the embeddings cached above
        model.cache_from = 1
    air_texts, air_codes = read_airline(args.airline)
    fr_texts, fr_codes = read_french(args.french, "test")
    figures = {}
    for name, texts, codes in (("airline", air_texts, air_codes), ("French test", fr_texts, fr_codes)):
        proba = model.predict_class_proba(texts)
        figures[f"{name} neg vs pos balanced accuracy"] = neg_pos(proba[:, -1], codes)
        if model.three_way:
            figures[f"{name} 3-way macro-F1"] = f1_score(codes, proba.argmax(axis=1), average="macro")
    return figures


def speed_in_child(args, threads: int) -> dict:
    """`speed` in a process of its own: an OpenMP engine takes its thread count once, when it loads."""
    command = [sys.executable, "-m", "benchmarks.multilingual", "--airline", args.airline, "--french", args.french]
    command += ["--encoder", args.encoder, "--speed-tweets", str(args.speed_tweets), "--speed-only", str(threads)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def speed(encoder_name: str, texts: list[str], threads: int) -> dict:
    """Fresh embeddings (no cache) of `texts`: tweets per second of wall time and per CPU-second."""
    from core.embedding import encoders

    encoder = encoders.ENCODERS[encoder_name](threads=threads)
    encoder.embed(texts[:8])  # warm-up
    wall, cpu = time.perf_counter(), time.process_time()
    encoder.embed(texts)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    single = []
    for text in texts[:20]:
        began = time.perf_counter()
        encoder.embed([text])
        single.append((time.perf_counter() - began) * 1000)
    return {
        "threads": threads,
        "tweets/s": round(len(texts) / wall, 1),
        "tweets per CPU-s": round(len(texts) / cpu, 1),
        "single tweet p50 ms": round(float(np.median(single)), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--airline", required=True, help="Twitter US Airline Sentiment CSV (Tweets.csv)")
    parser.add_argument("--french", required=True, help="folder of the XLM-T French {train,val,test}_{text,labels}.txt")
    parser.add_argument("--s140", default=str(ROOT.parent / "shared/data/sentiment140_sample_90k.csv"))
    parser.add_argument("--encoder", default=DEFAULT_ENCODER)
    parser.add_argument("--train-tweets", type=int, default=4000)
    parser.add_argument("--s140-test-tweets", type=int, default=2000)
    parser.add_argument("--runs", nargs="*", default=[], help="trained run folders to measure on the same sets")
    parser.add_argument("--speed-tweets", type=int, default=256, help="airline tweets embedded fresh (0: skip)")
    parser.add_argument("--speed-only", type=int, help=argparse.SUPPRESS)  # the child of speed_in_child: threads
    args = parser.parse_args()
    if args.speed_only:
        texts = read_airline(args.airline)[0][: args.speed_tweets]
        print(json.dumps(speed(args.encoder, texts, args.speed_only)))
        return
    encoder = load_encoder(args.encoder)
    print(f"encoder {encoder.name} ({encoder.version}, {encoder.runtime}); machine load {os.getloadavg()[0]:.1f}")
    for name, value in sentence_figures(args, encoder).items():
        print(f"  sentence head ({args.train_tweets:,} S140 tweets): {name}: {value:.4f}")
    for run in args.runs:
        for name, value in run_figures(run, args).items():
            print(f"  run {Path(run).name}: {name}: {value:.4f}")
    if args.speed_tweets:
        for threads in (1, 2):
            print(
                f"  speed {encoder.name}, {args.speed_tweets} airline tweets: {json.dumps(speed_in_child(args, threads))}"
            )


if __name__ == "__main__":
    main()
