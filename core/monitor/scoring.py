"""The stored tweets not scored yet, scored in batches with a run (core.inference.scorers), by the rules
every scoring path applies (core.data.csv_reader.prepare_texts: empty -> no score, long -> its start scored)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.data.csv_reader import prepare_texts
from core.inference.scorers import Scorer
from core.inference.stream import NOT_SCORED
from core.models.base import labels_for
from core.monitor.store import Store
from core.text.language import detect_languages

log = logging.getLogger(__name__)

BATCH_ROWS = 2_000  # pending tweets taken per round


@dataclass
class Scored:
    tweets: int
    span: tuple[float, float] | None  # event times (epoch s) of the tweets scored


def score_texts(scorer: Scorer, texts: list[str]) -> tuple[np.ndarray, list[str]]:
    """P(positive) (NaN where none) and the reason for each text, the model called in its batch size."""
    model_texts, reasons, usable = prepare_texts(texts)
    p_pos = np.full(len(texts), np.nan)
    todo = np.flatnonzero(usable)
    for begin in range(0, len(todo), scorer.batch_size):
        rows = todo[begin : begin + scorer.batch_size]
        batch = scorer.score([model_texts[i] for i in rows])
        p_pos[rows] = batch.p_pos
        for i, why in batch.errors.items():
            reasons[rows[i]] = f"{NOT_SCORED}: {why}"
    return p_pos, list(reasons)


def score_pending(store: Store, scorer: Scorer, run: str, limit: int = BATCH_ROWS) -> Scored:
    """Score up to `limit` pending tweets and store the scores; a model failure is kept as the rows' reason."""
    pending = store.pending(limit)
    if pending.empty:
        return Scored(0, None)
    try:
        p_pos, reasons = score_texts(scorer, pending["text"].tolist())
    except Exception as exc:  # noqa: BLE001 - the watcher goes on; the rows say why they have no score
        log.error("scoring %d tweets failed: %s", len(pending), type(exc).__name__)
        p_pos, reasons = np.full(len(pending), np.nan), [f"{NOT_SCORED}: {type(exc).__name__}"] * len(pending)
    scored = pd.DataFrame(
        {
            "id": pending["id"],
            "score": p_pos,
            "label": labels_for(p_pos),
            "reason": [_join(old, new) for old, new in zip(pending["reason"], reasons)],
            "language": detect_languages(pending["text"]),  # the store's `language`: --group-column language
        }
    )
    return Scored(len(scored), store.save_scores(scored, run))


def _join(*reasons: str) -> str:
    return "; ".join(r for r in reasons if r)
