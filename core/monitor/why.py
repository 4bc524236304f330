"""Why the buzz, in the monitor: each negative tweet's complaint reason (core.reasons), tagged in the background
with its embedding stored, and each alert's explanation (its window's reasons, clusters named against the previous
windows of the group, what is new), computed once when the alert is raised and stored with it.

Embedding is the slow part (tens of tweets a second on a small CPU): scoring never waits for it. The watcher's
reason thread tags the negative tweets as they are scored; an alert whose window is not tagged yet embeds those
tweets itself (at most EXPLAINED_TWEETS of them).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.monitor.alerts import alert, group_filter
from core.monitor.store import Store
from core.reasons.clusters import Explanation, explain_window, warm_up
from core.reasons.tagger import Tagger

log = logging.getLogger(__name__)

TAG_BATCH = 64  # negative tweets embedded per step of the reason thread
EXPLAINED_TWEETS = 200  # an alert window's negative tweets explained (evenly spread over the window beyond that)
PREVIOUS_S = 48 * 3600  # the previous windows a cluster's phrases are compared with
PREVIOUS_TEXTS = 5_000
NEGATIVE = "score IS NOT NULL AND label = 'negative'"  # as the alerts count them: a neutral tweet is not negative


def tag_pending(store: Store, tagger: Tagger, limit: int = TAG_BATCH) -> int:
    """Embed and tag up to `limit` scored negative tweets that have no reason yet; how many were tagged."""
    rows = store.frame(
        f"SELECT id, text FROM tweets WHERE {NEGATIVE} AND complaint IS NULL ORDER BY id LIMIT :limit",
        {"limit": limit},
    )
    if rows.empty:
        return 0
    x = tagger.embed(rows["text"].tolist())
    save_tags(store, rows["id"].tolist(), tagger.tag(x), x)
    return len(rows)


def save_tags(store: Store, ids: list[int], reasons: list[str], x: np.ndarray) -> None:
    values = [
        {"c": reason, "e": vector.astype(np.float32).tobytes(), "i": int(i)}
        for i, reason, vector in zip(ids, reasons, x)
    ]
    if values:
        store.query("UPDATE tweets SET complaint=:c, embedding=:e WHERE id=:i", values)


def window_negatives(store: Store, alert_row: dict, limit: int = EXPLAINED_TWEETS) -> pd.DataFrame:
    """id, text, complaint, embedding of the alert window's negative tweets (evenly spread beyond `limit`)."""
    where, params = group_filter(store, alert_row)
    params |= {"start": alert_row["window_start"], "end": alert_row["window_end"]}
    tweets = store.frame(
        f"SELECT id, text, complaint, embedding FROM tweets WHERE {NEGATIVE} AND event_at >= :start "
        f"AND event_at < :end{where} ORDER BY id",
        params,
    )
    if len(tweets) > limit:
        tweets = tweets.iloc[np.linspace(0, len(tweets) - 1, limit).round().astype(int)]
    return tweets.reset_index(drop=True)


def previous_texts(store: Store, alert_row: dict) -> list[str]:
    """The texts of the group's negative tweets in the PREVIOUS_S before the window (the latest PREVIOUS_TEXTS)."""
    where, params = group_filter(store, alert_row)
    params |= {"start": alert_row["window_start"] - PREVIOUS_S, "end": alert_row["window_start"]}
    rows = store.query(
        f"SELECT text FROM tweets WHERE {NEGATIVE} AND event_at >= :start AND event_at < :end{where} "
        "ORDER BY event_at DESC LIMIT :limit",
        params | {"limit": PREVIOUS_TEXTS},
    )
    return [r[0] for r in rows]


def explain_alert(store: Store, tagger: Tagger, alert_id: int) -> Explanation:
    """The alert's explanation, computed (tagging what its window still lacks) and stored with the alert."""
    row = alert(store, alert_id)
    tweets = window_negatives(store, row)
    missing = tweets["embedding"].isna().to_numpy()
    if missing.any():
        x_new = tagger.embed(tweets.loc[missing, "text"].tolist())
        reasons_new = tagger.tag(x_new)
        save_tags(store, tweets.loc[missing, "id"].tolist(), reasons_new, x_new)
        tweets.loc[missing, "embedding"] = pd.Series([v.tobytes() for v in x_new], index=tweets.index[missing])
        tweets.loc[missing, "complaint"] = reasons_new
    x = np.stack([np.frombuffer(b, dtype=np.float32) for b in tweets["embedding"]]) if len(tweets) else np.zeros((0, 1))
    explanation = explain_window(
        x, tweets["text"].tolist(), tweets["complaint"].tolist(), previous_texts(store, row), method=tagger.method
    )
    store.query(
        "UPDATE alerts SET explanation=:e WHERE id=:id", {"e": json.dumps(explanation.to_json()), "id": alert_id}
    )
    return explanation


def stored_explanation(alert_row: dict) -> Explanation | None:
    """The explanation stored with an alert row, or None (reasons off, or not computed)."""
    return Explanation.parse(alert_row.get("explanation"))


@dataclass
class ReasonThread:
    """Tags the scored negative tweets in the background (after warming UMAP's compiled code up)."""

    store: Store
    tagger: Tagger
    poll_s: float = 1.0

    def run(self, stop: threading.Event) -> None:
        started = time.perf_counter()
        warm_up()
        log.info("reason thread ready (UMAP warmed up in %.0f s)", time.perf_counter() - started)
        while not stop.is_set():
            try:
                tagged = tag_pending(self.store, self.tagger)
            except Exception as exc:  # noqa: BLE001 - the thread goes on; the next step tries again
                log.error("tagging reasons failed: %s", type(exc).__name__)
                tagged = 0
            if not tagged:
                stop.wait(self.poll_s)

    def start(self, stop: threading.Event) -> threading.Thread:
        thread = threading.Thread(target=self.run, args=(stop,), name="reasons", daemon=True)
        thread.start()
        return thread
