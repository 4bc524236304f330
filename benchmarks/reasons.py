"""Complaint reasons on the Twitter US Airline export (issue 24): zero-shot and learned accuracy, and two replayed
bursts explained as an alert would be.

    python -m benchmarks.reasons --airline /work/datasets/airline/Tweets.csv [--draws 5] [--tags 500]

- the negative tweets with a known reason ("Can't Tell" excluded): zero-shot accuracy and macro-F1; the learned head
  after N tags drawn at random (evaluated on all the others, mean of --draws draws, zero-shot on the same rest), and
  whether the switch rule (core.reasons.learned.decide) fires on those tags;
- two bursts replayed (one airline's negative tweets, "Can't Tell" included, the first 200 from a start time; the
  previous windows = that airline's negative tweets of the 48 h before): the time to explain the window (embeddings
  already stored, as in the monitor; the first UMAP call's compilation timed apart) and the alert's line.

This export replaced words inside the tweets by reason names ("late" -> "Late Flight": "Late Flightr"; "cancel" ->
"Cancelled Flight"; "booking" -> "Flight Booking Problems"): the label leaks into the text, so the texts are repaired
first (`repair_export_artifacts`). Its `tweet_created` is day-month-year with a dot between hour and minute
(`24-02-2015 11.35`) in the copy measured. Embeddings: core.embedding's default encoder through its on-disk cache
(the first run embeds ~9,200 tweets: minutes).
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd

UNKNOWN = "Can't Tell"
_ARTEFACTS = [
    (re.compile("Late Flight", re.I), "late"),
    (re.compile("Cancelled Flight", re.I), "cancel"),
    (re.compile("Flight Booking Problems", re.I), "booking"),
]
BURSTS = [("United", "2015-02-22 12:00", 6), ("American", "2015-02-23 06:00", 6)]
WINDOW_TWEETS = 200
PREVIOUS_HOURS = 48


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--airline", type=Path, required=True, help="the export's Tweets.csv")
    parser.add_argument("--draws", type=int, default=5, help="random draws of the tagged tweets")
    parser.add_argument("--tags", type=int, default=500, help="tags the learned head is trained on")
    parser.add_argument("--embed-only", action="store_true", help="fill the embedding cache and stop")
    parser.add_argument(
        "--text",
        choices=["clean", "raw"],
        default="clean",
        help="what the accuracy figures embed: the product's cleaned text (mentions, links out) or the repaired text "
        "as written (the bursts always embed the cleaned text, as the monitor does)",
    )
    parser.add_argument("--vectors", type=Path, help="a pickled dict text -> vector of the same encoder, read first")
    return parser.parse_args(argv)


def repair_export_artifacts(text: str) -> str:
    for pattern, original in _ARTEFACTS:
        text = pattern.sub(original, text)
    return text


def negative_tweets(path: Path) -> pd.DataFrame:
    """The export's negative tweets in file order: text (repaired), reason, airline, created (UTC naive), author."""
    frame = pd.read_csv(path)
    frame = frame[frame["airline_sentiment"] == "negative"].reset_index(drop=True)
    created = pd.to_datetime(frame["tweet_created"], format="%d-%m-%Y %H.%M", errors="coerce")
    if created.isna().all():  # the original export's format
        created = pd.to_datetime(frame["tweet_created"], utc=True).dt.tz_localize(None)
    return pd.DataFrame(
        {
            "text": frame["text"].astype(str).map(repair_export_artifacts),
            "reason": frame["negativereason"].fillna(UNKNOWN),
            "airline": frame["airline"],
            "created": created,
            "author": frame["name"].astype(str),
        }
    )


def embeddings(tagger, texts: list[str], vectors: Path | None) -> np.ndarray:
    """The tagger's embeddings of the texts: read from --vectors (a pickled dict text -> vector of the same
    encoder) where it holds them, the rest through core.embedding's on-disk cache."""
    from core.embedding.cache import cached_embeddings

    known = pd.read_pickle(vectors) if vectors else {}
    todo = [t for t in dict.fromkeys(texts) if t not in known]
    if todo:
        computed = cached_embeddings(tagger.encoder, todo, label="benchmarks.reasons/airline-negative")
        known = {**known, **dict(zip(todo, computed))}
    print(f"embeddings: {len(texts) - len(todo):,} from --vectors, {len(todo):,} from core.embedding")
    return np.stack([known[t] for t in texts]).astype(np.float32)


def scores(y_true, y_pred, names: list[str]) -> tuple[float, float]:
    from sklearn.metrics import accuracy_score, f1_score

    return accuracy_score(y_true, y_pred), f1_score(y_true, y_pred, labels=names, average="macro", zero_division=0)


def zero_shot_report(tagger, x: np.ndarray, y: np.ndarray) -> None:
    from sklearn.metrics import classification_report

    predicted = np.array(tagger.tag(x))
    accuracy, macro_f1 = scores(y, predicted, tagger.names)
    print(
        f"\nzero-shot on {len(y):,} negative tweets with a known reason: accuracy {accuracy:.3f}, macro-F1 {macro_f1:.3f}"
    )
    print(classification_report(y, predicted, labels=tagger.names, digits=3, zero_division=0))


def learned_report(tagger, x: np.ndarray, y: np.ndarray, tags: int, draws: int) -> None:
    """The head on `tags` random tags, evaluated on the rest, against zero-shot on the same rest; the switch rule."""
    from core.reasons.learned import LearnedHead, decide

    cosines = tagger.zero_shot.cosines(x)
    names = np.array(tagger.names)
    rows = []
    for seed in range(draws):
        order = np.random.default_rng(seed).permutation(len(y))
        tagged, rest = order[:tags], order[tags:]
        started = time.perf_counter()
        head = LearnedHead(tagger.names).fit(x[tagged], y[tagged], cosines[tagged])
        fit_s = time.perf_counter() - started
        learned = scores(y[rest], head.predict(x[rest], cosines[rest]), tagger.names)
        zero = scores(y[rest], names[cosines[rest].argmax(1)], tagger.names)
        switch = decide(tagger.names, x[tagged], y[tagged], cosines[tagged])
        rows.append((*learned, *zero, switch.use_learned, switch.learned_accuracy, switch.zero_shot_accuracy, fit_s))
    r = pd.DataFrame(rows, columns=["acc", "f1", "zs_acc", "zs_f1", "switch", "cv_acc", "zs_acc_tags", "fit_s"])
    print(
        f"learned after {tags} tags (mean of {draws} draws, evaluated on the other {len(y) - tags:,}): accuracy "
        f"{r.acc.mean():.3f} (std {r.acc.std():.3f}), macro-F1 {r.f1.mean():.3f}; zero-shot on the same rest "
        f"{r.zs_acc.mean():.3f} / {r.zs_f1.mean():.3f}; fit {r.fit_s.mean():.2f} s"
    )
    print(
        f"switch rule on the tags: fires in {int(r.switch.sum())}/{draws} draws (cross-validated head "
        f"{r.cv_acc.mean():.3f} vs zero-shot {r.zs_acc_tags.mean():.3f} on the tags)"
    )


def burst(tweets: pd.DataFrame, airline: str, start: str, hours: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The airline's first WINDOW_TWEETS negative tweets from `start` for `hours`, and its PREVIOUS_HOURS before."""
    begin = pd.Timestamp(start)
    mine = tweets[tweets["airline"] == airline].sort_values("created", kind="stable")
    window = mine[(mine["created"] >= begin) & (mine["created"] < begin + pd.Timedelta(hours=hours))]
    previous = mine[(mine["created"] >= begin - pd.Timedelta(hours=PREVIOUS_HOURS)) & (mine["created"] < begin)]
    return window.head(WINDOW_TWEETS), previous


def bursts_report(tagger, tweets: pd.DataFrame, vectors: Path | None) -> None:
    """Each burst window explained from the embeddings of its cleaned texts (what the monitor stores)."""
    from core.reasons.clusters import explain_window, warm_up
    from core.reasons.text import clean

    started = time.perf_counter()
    warm_up()
    print(f"\nUMAP's one-off compilation (once per process): {time.perf_counter() - started:.1f} s")
    for airline, start, hours in BURSTS:
        window, previous = burst(tweets, airline, start, hours)
        xw = embeddings(tagger, [clean(t) for t in window["text"]], vectors)
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            reasons = tagger.tag(xw)
            explanation = explain_window(xw, window["text"].tolist(), reasons, previous["text"].tolist())
            timings.append(time.perf_counter() - started)
        gold = window["reason"].value_counts(normalize=True).head(3)
        print(
            f"\n{airline} {start} +{hours} h: {len(window)} negative tweets ({len(previous)} in the {PREVIOUS_HOURS} h "
            f"before); explained in {np.median(timings):.2f} s (median of 3, embeddings stored)"
        )
        print(f"  alert text: {explanation.summary()}")
        print("  gold reasons: " + ", ".join(f"{r} {share:.0%}" for r, share in gold.items()))
        for line in explanation.cluster_lines(top=8):
            print(f"  {line}")
        print(f"  unclustered: {explanation.unclustered}")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from core.embedding.encoders import load_encoder
    from core.reasons.tagger import build_tagger
    from core.reasons.taxonomy import DEFAULT
    from core.reasons.text import clean

    tweets = negative_tweets(args.airline)
    started = time.perf_counter()
    tagger = build_tagger(load_encoder(), DEFAULT)
    texts = [clean(t) for t in tweets["text"]] if args.text == "clean" else tweets["text"].tolist()
    x = embeddings(tagger, texts, args.vectors)
    print(f"{len(tweets):,} negative tweets embedded or read back in {time.perf_counter() - started:.1f} s")
    if args.embed_only:
        return
    known = (tweets["reason"] != UNKNOWN).to_numpy()
    y = tweets.loc[known, "reason"].to_numpy()
    zero_shot_report(tagger, x[known], y)
    learned_report(tagger, x[known], y, args.tags, args.draws)
    bursts_report(tagger, tweets, args.vectors)


if __name__ == "__main__":
    main()
