"""The stored tweets not scored yet, scored in batches with a run (core.inference.scorers), by the rules
every scoring path applies (core.data.csv_reader.prepare_texts: empty -> no score, long -> its start scored)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.data.csv_reader import prepare_texts
from core.data.labels import BINARY_CLASSES, PROBABILITY_COLUMNS, is_three_way
from core.inference.scorers import Scorer
from core.inference.stream import NOT_SCORED
from core.models.base import labels_from_proba
from core.monitor.store import Store
from core.text.language import detect_languages, other_language_note

log = logging.getLogger(__name__)

BATCH_ROWS = 2_000  # pending tweets taken per round


@dataclass
class Scored:
    tweets: int
    span: tuple[float, float] | None  # event times (epoch s) of the tweets scored


def score_texts(scorer: Scorer, texts: list[str]) -> tuple[np.ndarray, list[str]]:
    """Class probabilities, (n, k) in the scorer's classes (NaN rows where none), and the reason for each text,
    the model called in its batch size."""
    model_texts, reasons, usable = prepare_texts(texts)
    proba = None
    todo = np.flatnonzero(usable)
    for begin in range(0, len(todo), scorer.batch_size):
        rows = todo[begin : begin + scorer.batch_size]
        batch = scorer.score([model_texts[i] for i in rows])
        answer = batch.class_proba()
        proba = np.full((len(texts), answer.shape[1]), np.nan) if proba is None else proba
        proba[rows] = answer
        for i, why in batch.errors.items():
            reasons[rows[i]] = f"{NOT_SCORED}: {why}"
    if proba is None:
        proba = np.full((len(texts), len(getattr(scorer, "classes", BINARY_CLASSES))), np.nan)
    return proba, list(reasons)


def score_pending(store: Store, scorer: Scorer, run: str, limit: int = BATCH_ROWS) -> Scored:
    """Score up to `limit` pending tweets and store the scores; a model failure is kept as the rows' reason."""
    pending = store.pending(limit)
    if pending.empty:
        return Scored(0, None)
    try:
        proba, reasons = score_texts(scorer, pending["text"].tolist())
    except Exception as exc:  # noqa: BLE001 - the watcher goes on; the rows say why they have no score
        log.error("scoring %d tweets failed: %s", len(pending), type(exc).__name__)
        proba, reasons = np.full((len(pending), 2), np.nan), [f"{NOT_SCORED}: {type(exc).__name__}"] * len(pending)
    classes = tuple(getattr(scorer, "classes", BINARY_CLASSES)) if proba.shape[1] == 3 else BINARY_CLASSES
    languages = detect_languages(pending["text"])  # the store's `language`: --group-column language
    readable = getattr(getattr(scorer, "model", None), "languages", None)  # what the run was trained on
    notes = [
        other_language_note(code, readable, text) if not np.isnan(p) else ""
        for code, p, text in zip(languages, proba[:, -1], pending["text"])
    ]
    scored = pd.DataFrame(
        {
            "id": pending["id"],
            "score": proba[:, -1],  # P(positive)
            "label": labels_from_proba(proba, classes),
            "reason": [_join(*why) for why in zip(pending["reason"], reasons, notes)],
            "language": languages,
        }
    )
    if is_three_way(classes):  # stored beside the score (NULL for a binary run)
        for i, name in enumerate(classes):
            scored[PROBABILITY_COLUMNS[name]] = proba[:, i]
    return Scored(len(scored), store.save_scores(scored, run))


def _join(*reasons: str) -> str:
    return "; ".join(r for r in reasons if r)
