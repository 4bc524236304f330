"""Which tweets an analyst should label next, from the monitor's scored frame (pure pandas and numpy).

Two signals, both in [0, 1]:
- doubt = 1 - 2 |P(positive) - 0.5|: 1 for a tweet the model could not call, 0 for a certain one;
- disagreement = the spread (max - min) of P(positive) between the monitor's model and up to `MAX_OTHER_RUNS`
  other local runs, on a bounded candidate set (the `CANDIDATES_UNSURE` least-sure tweets plus
  `CANDIDATES_RANDOM` others drawn at random), scored within a time budget (`score_candidates`).
A tweet's priority is the larger of the two, so a tweet the models call confidently but oppositely ranks with one
no model can call. Texts an analyst already corrected (`core.data.corrections`) are left out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.corrections import normalise_text
from core.data.csv_reader import prepare_texts
from core.models.base import THRESHOLD

log = logging.getLogger(__name__)
CANDIDATES_UNSURE = 500
CANDIDATES_RANDOM = 500
MAX_OTHER_RUNS = 3
DEFAULT_BUDGET_S = 30.0
BATCH_SIZE = 256
UNSURE, DISAGREE = "unsure", "disagree"  # the reason a tweet is suggested
COLUMNS = ["row", "text", "p_pos", "doubt", "disagreement", "priority", "reason"]


def doubt(p_pos) -> np.ndarray:
    """1 at the decision threshold, 0 at 0 or 1."""
    p = np.asarray(p_pos, dtype=float)
    return 1.0 - np.abs(p - THRESHOLD) / THRESHOLD


def unlabelled(scored: pd.DataFrame, corrected: set[str] | frozenset[str] = frozenset()) -> pd.DataFrame:
    """The rows with a score whose text has no correction yet (their columns as they are)."""
    rated = scored.loc[scored["p_pos"].notna()]
    if corrected and len(rated):
        rated = rated[~rated["text"].map(normalise_text).isin(corrected)]
    return rated


def candidates(
    scored: pd.DataFrame,
    corrected: set[str] | frozenset[str] = frozenset(),
    n_unsure: int = CANDIDATES_UNSURE,
    n_random: int = CANDIDATES_RANDOM,
    seed: int = 0,
) -> pd.DataFrame:
    """The tweets worth asking other runs about: the n_unsure least sure and n_random others at random."""
    rated = unlabelled(scored, corrected)[["row", "text", "p_pos"]]
    order = np.argsort(-doubt(rated["p_pos"]), kind="stable")
    unsure = rated.iloc[order[:n_unsure]]
    rest = rated.drop(index=unsure.index)
    drawn = rest.sample(n=min(n_random, len(rest)), random_state=seed) if len(rest) else rest
    return pd.concat([unsure, drawn]).reset_index(drop=True)


@dataclass
class OtherScores:
    """P(positive) of other runs on candidate rows: one column per run, indexed by the monitor's `row`."""

    scores: pd.DataFrame
    skipped: dict[str, str] = field(default_factory=dict)  # run label -> why it was not used
    seconds: float = 0.0


def score_candidates(
    frame: pd.DataFrame,
    runs: Sequence[tuple[str, str | Path]],
    budget_s: float = DEFAULT_BUDGET_S,
    load: Callable[[str | Path], object] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> OtherScores:
    """Score the candidates' texts with each (label, run folder) in turn, loading models with `load`
    (core.models.base.load by default). A run that fails to load, or that would finish after `budget_s`
    (checked between batches), is left out and said in `skipped`."""
    if load is None:
        from core.models.base import load
    started = clock()
    texts = prepare_texts(frame["text"])[0]
    out = pd.DataFrame(index=pd.Index(frame["row"].to_numpy(), name="row"))
    skipped: dict[str, str] = {}
    for label, path in runs[:MAX_OTHER_RUNS]:
        if clock() - started >= budget_s:
            skipped[label] = f"over the {budget_s:.0f} s budget"
            continue
        try:
            model = load(path)
            p_pos = _score_in_time(model, texts, lambda: clock() - started < budget_s)
        except Exception as exc:  # one broken run must not hide the others' answers
            log.warning("labelling suggestions: run %s not used: %s", label, type(exc).__name__)
            skipped[label] = f"could not score ({type(exc).__name__})"
            continue
        if p_pos is None:
            skipped[label] = f"over the {budget_s:.0f} s budget"
        else:
            out[label] = p_pos
    return OtherScores(out, skipped, clock() - started)


def _score_in_time(model, texts: list[str], in_time: Callable[[], bool]) -> np.ndarray | None:
    parts = []
    for begin in range(0, len(texts), BATCH_SIZE):
        if not in_time():
            return None
        parts.append(np.asarray(model.predict_proba(texts[begin : begin + BATCH_SIZE]), dtype=float))
    return np.concatenate(parts) if parts else np.zeros(0)


def suggestions(
    scored: pd.DataFrame,
    corrected: set[str] | frozenset[str] = frozenset(),
    others: pd.DataFrame | None = None,
    n: int = 20,
) -> pd.DataFrame:
    """The n tweets to label next, the most useful first (COLUMNS). `others`: OtherScores.scores, or None."""
    rated = scored.loc[scored["p_pos"].notna(), ["row", "text", "p_pos"]]
    p_pos = rated["p_pos"].to_numpy(dtype=float)
    spread = _spread(rated, others)
    priority = np.maximum(doubt(p_pos), np.nan_to_num(spread, nan=0.0))
    order = np.lexsort((rated["row"].to_numpy(), -priority))  # the highest priority first, then file order
    window = n + len(corrected)
    while True:  # normalise only as many texts as needed: a corrected text may be in many rows
        head = rated.iloc[order[:window]]
        kept = unlabelled(head, corrected) if corrected else head
        if len(kept) >= n or window >= len(rated):
            break
        window *= 2
    picked = rated.index.get_indexer(kept.index[:n])
    out = kept.head(n).assign(doubt=doubt(p_pos[picked]), disagreement=spread[picked], priority=priority[picked])
    out["reason"] = np.where(np.nan_to_num(out["disagreement"], nan=0.0) > out["doubt"], DISAGREE, UNSURE)
    return out[COLUMNS].reset_index(drop=True)


def _spread(rated: pd.DataFrame, others: pd.DataFrame | None) -> np.ndarray:
    """max - min of P(positive) over the monitor's model and the other runs; NaN where no other run answered."""
    if others is None or others.empty or not len(others.columns):
        return np.full(len(rated), np.nan)
    theirs = others.reindex(rated["row"].to_numpy()).to_numpy(dtype=float)
    every = np.column_stack([rated["p_pos"].to_numpy(dtype=float), theirs])
    answered = ~np.isnan(theirs).all(axis=1)
    with np.errstate(invalid="ignore"):
        spread = np.nanmax(every, axis=1) - np.nanmin(every, axis=1)
    return np.where(answered, spread, np.nan)


# ------------------------------------------------------------------ for the gauge: per group, uncertain and diverse

GAUGE_SHORTLIST = 5  # per group, the shortlist is this many times its quota of the most uncertain tweets


def group_quotas(groups: pd.Series, n: int) -> dict[str, int]:
    """n slots shared by the groups in proportion to their tweets (largest remainders), each group at least one
    while slots last: the gauge is read per group, so every group's estimate needs labels of its own."""
    counts = groups.value_counts()
    if counts.empty or n <= 0:
        return {}
    quota = np.floor(n * counts / counts.sum()).astype(int)
    quota[quota == 0] = 1
    while quota.sum() > n:
        quota[quota.idxmax()] -= 1
    remainders = (n * counts / counts.sum() - quota).sort_values(ascending=False)
    for group in remainders.index[: n - int(quota.sum())]:
        quota[group] += 1
    return {str(g): int(q) for g, q in quota.items() if q > 0}


def gauge_suggestions(
    frame: pd.DataFrame, n: int = 50, vectors: np.ndarray | None = None, seed: int = 0
) -> pd.DataFrame:
    """The n tweets to label next for the gauge: per group (`group` column; quotas by group_quotas), its most
    uncertain tweets on P(negative) (`p_negative`; uncertainty p (1 − p): the tweets whose label moves the share
    estimate most), spread over the group's content by k-means on `vectors` (sentence embeddings; hashed words of
    `text` when None), the most uncertain tweet of each cluster. Returns the rows of `frame` with `uncertainty`."""
    from sklearn.cluster import KMeans

    p = frame["p_negative"].to_numpy(dtype=float)
    uncertainty = np.nan_to_num(p * (1 - p), nan=-1.0)
    vectors = _hashed_words(frame["text"]) if vectors is None else np.asarray(vectors)
    picked: list[int] = []
    for group, quota in group_quotas(frame["group"].astype(str), n).items():
        rows = np.flatnonzero(frame["group"].astype(str).to_numpy() == group)
        rows = rows[uncertainty[rows] >= 0]
        shortlist = rows[np.argsort(-uncertainty[rows], kind="stable")[: GAUGE_SHORTLIST * quota]]
        if len(shortlist) <= quota:
            picked += list(shortlist)
            continue
        clusters = KMeans(n_clusters=quota, n_init=1, random_state=seed).fit_predict(vectors[shortlist])
        picked += [shortlist[clusters == c][np.argmax(uncertainty[shortlist[clusters == c]])] for c in range(quota)]
    out = frame.iloc[picked].assign(uncertainty=uncertainty[picked])
    return out.sort_values(["group", "uncertainty"], ascending=[True, False], kind="stable")


def _hashed_words(texts: pd.Series) -> np.ndarray:
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(n_features=2**12, alternate_sign=False).transform(texts.fillna("").astype(str)).toarray()
