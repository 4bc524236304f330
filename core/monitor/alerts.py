"""Alerts from the stored tweets: the rules evaluated after each scored batch, an alert recorded once per group,
rule and episode, and its deliveries sent (and retried) on the configured channels.

Windows are placed by a tweet's `created_at`, else its arrival (`event_at` in the store). An alert opens an
episode; the episode ends when a later, complete window of that group no longer breaks the rule (a window is
complete once a tweet of a later window has been stored), or once the cool-down has passed since the alert's window
(then a buzz that goes on alerts again). A window that is still filling may alert: that is what makes alerts early.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import pandas as pd

from core.inference.stream_input import NO_GROUP_VALUE
from core.monitor.channels import AlertMessage, DeliveryError, format_alert
from core.monitor.groups import ALERT_COLUMN, breaches, window_counts
from core.monitor.masking import mask_secrets
from core.monitor.rules import NO_GROUP, RULES, Rules
from core.monitor.store import Store, deliveries
from core.monitor.store import alerts as alerts_table

log = logging.getLogger(__name__)

NO_VALUE = NO_GROUP_VALUE  # the batch view names an empty group the same way
MAX_ATTEMPTS = 8
BACKOFF_S = (5, 15, 60, 120, 300, 600, 900)
ALERT_FIELDS = "id, grp, rule, group_column, window_start, window_end, share, share_low, share_high, p_over, volume, "
ALERT_FIELDS += "negative, threshold, "
ALERT_FIELDS += "min_volume, trailing_median, created_at, closed_at, explanation"


def alert_columns_sql(store: Store) -> str:
    """ALERT_FIELDS for a SELECT, NULL for those an older store opened read-only (the page) lacks."""
    return ", ".join(f"{store.column_sql('alerts', name)} AS {name}" for name in ALERT_FIELDS.split(", "))


@dataclass
class Evaluation:
    windows: pd.DataFrame  # every window evaluated, with its rule figures
    new_alerts: list[int]


def stored_windows(store: Store, rules: Rules, group_column: str | None, start: float, end: float) -> pd.DataFrame:
    """The rule figures of the windows from `start` to `end` (epoch s), with the history the spike rule needs."""
    w = rules.window_delta.total_seconds()
    first, last = start // w * w, end // w * w
    tweets = store.scored_tweets(group_column, first - rules.history * w, last + w)
    frame = pd.DataFrame(
        {
            "group": NO_GROUP if not group_column else tweets["grp"].replace("", NO_VALUE),
            "time": pd.to_datetime(tweets["event_at"], unit="s", utc=True),
            "negative": tweets["label"].eq("negative").to_numpy(),  # a neutral tweet is not negative
            "p_negative": stored_p_negative(tweets),
        }
    )
    windows = breaches(window_counts(frame, rules.window_delta, rules.history), rules)
    windows["complete"] = windows["end"] <= frame["time"].max() if len(frame) else False
    return windows[windows["start"] >= pd.Timestamp(first, unit="s", tz="UTC")].reset_index(drop=True)


def stored_p_negative(tweets: pd.DataFrame) -> pd.Series:
    """Each stored tweet's P(negative): its `p_negative` where the scoring run stored one (three-way runs), else
    1 − P(positive) (a binary run has no neutral class)."""
    p_negative = 1.0 - tweets["score"].astype(float)
    if "p_negative" in tweets:
        p_negative = pd.to_numeric(tweets["p_negative"], errors="coerce").fillna(p_negative)
    return p_negative


def evaluate(
    store: Store, rules: Rules, group_column: str | None, span: tuple[float, float], channels: list[str]
) -> Evaluation:
    """Evaluate the windows the last batch touched (and those of the open episodes); record new alerts."""
    expire(store, rules, span[0])  # by the batch's first tweet: its later windows are judged one by one below
    open_alerts = {(a["grp"], a["rule"]): a for a in alerts(store, open_only=True)}
    start = min([span[0], *(a["window_start"] for a in open_alerts.values())])
    windows = stored_windows(store, rules, group_column, start, span[1])
    new = []
    for (group, rule), rows in _by_group_and_rule(windows):
        episode = open_alerts.get((group, rule)) or last_alert(store, group, rule)
        for row in rows.itertuples(index=False):
            episode, alert_id = _step(store, rules, group_column, rule, episode, row, channels)
            new += [alert_id] if alert_id else []
    return Evaluation(windows, new)


def expire(store: Store, rules: Rules, latest: float) -> None:
    """Close the episodes whose cool-down has passed by the latest event time (a group gone quiet included)."""
    cooldown = rules.cooldown_delta.total_seconds()
    store.query(
        "UPDATE alerts SET closed_at = window_end + :cooldown WHERE closed_at IS NULL AND window_end + :cooldown <= :latest",
        {"cooldown": cooldown, "latest": latest},
    )


def _by_group_and_rule(windows: pd.DataFrame):
    for group, rows in windows.groupby("group", sort=True):
        for rule in RULES:
            yield (group, rule), rows.sort_values("start")


def _step(store, rules, group_column, rule, episode, row, channels) -> tuple[dict | None, int | None]:
    """One window of one group under one rule: close the open episode, or open a new one."""
    start = row.start.timestamp()
    fires = bool(getattr(row, ALERT_COLUMN[rule]))
    if episode and episode["closed_at"] is None and start > episode["window_start"]:
        over = start >= episode["window_end"] + rules.cooldown_delta.total_seconds()
        if over or (row.complete and not fires):
            store.query("UPDATE alerts SET closed_at=:at WHERE id=:id", {"at": start, "id": episode["id"]})
            episode = {**episode, "closed_at": start}
    if not fires or (episode and (episode["closed_at"] is None or start <= episode["window_start"])):
        return episode, None
    alert_id = record_alert(store, row, rule, group_column, channels)
    return (alert(store, alert_id) if alert_id else episode), alert_id


def record_alert(store: Store, row, rule: str, group_column: str | None, channels: list[str]) -> int | None:
    """The alert and one pending delivery per channel, in one transaction (None if that window alerted already)."""
    now = time.time()
    share = None if pd.isna(row.share) else float(row.share)
    interval = {name: _number(getattr(row, name, None)) for name in ("share_low", "share_high", "p_over")}
    median = None if pd.isna(row.trailing_median) else float(row.trailing_median)
    values = {
        "grp": row.group,
        "rule": rule,
        "group_column": group_column or "",
        "window_start": row.start.timestamp(),
        "window_end": row.end.timestamp(),
        "share": share,
        **interval,
        "volume": int(row.volume),
        "negative": int(row.negative),
        "threshold": float(row.threshold),
        "min_volume": int(row.min_volume),
        "trailing_median": median,
        "created_at": now,
    }
    with store.transaction() as conn:
        insert = store.insert(alerts_table).values(values).on_conflict_do_nothing()
        alert_id = conn.execute(insert.returning(alerts_table.c.id)).scalar_one_or_none()
        if alert_id is None:
            return None
        if channels:
            conn.execute(
                store.insert(deliveries).on_conflict_do_nothing(),
                [{"alert_id": alert_id, "channel": channel, "next_try_at": now} for channel in channels],
            )
    log.warning("alert %d: %s %s", alert_id, row.group, rule)
    return alert_id


def _number(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def alerts(store: Store, open_only: bool = False) -> list[dict]:
    where = " WHERE closed_at IS NULL" if open_only else ""
    rows = store.query(f"SELECT * FROM alerts{where}")  # a store not yet upgraded lacks the newer columns
    return [{name: row._mapping.get(name) for name in ALERT_FIELDS.split(", ")} for row in rows]


def alert(store: Store, alert_id: int) -> dict:
    return dict(
        zip(
            ALERT_FIELDS.split(", "),
            store.query(f"SELECT {alert_columns_sql(store)} FROM alerts WHERE id=:id", {"id": alert_id})[0],
        )
    )


def last_alert(store: Store, group: str, rule: str) -> dict | None:
    rows = store.query(
        f"SELECT {alert_columns_sql(store)} FROM alerts WHERE grp=:grp AND rule=:rule ORDER BY window_start DESC LIMIT 1",
        {"grp": group, "rule": rule},
    )
    return dict(zip(ALERT_FIELDS.split(", "), rows[0])) if rows else None


def alert_tweets(store: Store, alert_row: dict, limit: int = 20) -> pd.DataFrame:
    """The scored tweets behind an alert (its group and window), most negative first (by P(negative))."""
    where, params = group_filter(store, alert_row)
    params |= {"start": alert_row["window_start"], "end": alert_row["window_end"], "limit": limit}
    return store.frame(
        "SELECT id, tweet_id, text, score, created_at, received_at FROM tweets WHERE score IS NOT NULL "
        f"AND event_at >= :start AND event_at < :end{where} ORDER BY {store.p_negative_sql()} DESC, id LIMIT :limit",
        params,
    )


def group_filter(store: Store, alert_row: dict) -> tuple[str, dict]:
    """The SQL condition (" AND ...") and parameters that keep the tweets of an alert's group."""
    column = alert_row.get("group_column") or ""
    if not column:
        return "", {}
    group = "" if alert_row["grp"] == NO_VALUE else alert_row["grp"]
    return f" AND {store.group_sql(column=column)} = :grp", {"group_path": store.group_arg(column), "grp": group}


def deliver_pending(store: Store, channels: dict, link_template: str | None = None) -> int:
    """Send the deliveries that are due on the configured channels; a failure is recorded and retried later."""
    now, sent = time.time(), 0
    due = store.query(
        "SELECT id, alert_id, channel, attempts FROM deliveries WHERE status='pending' AND next_try_at <= :now "
        "ORDER BY id",
        {"now": now},
    )
    for delivery_id, alert_id, channel, attempts in due:
        if channel not in channels:  # not configured in this run: kept for a run that has it
            continue
        row = alert(store, alert_id)
        try:
            message: AlertMessage = format_alert(row, alert_tweets(store, row), link_template)
            channels[channel].send(message)
        except DeliveryError as exc:  # one line, safe to store and show by the channels' contract
            _failed(store, delivery_id, channel, attempts + 1, mask_secrets(str(exc)))
            continue
        except Exception as exc:  # noqa: BLE001 - any other failure is this channel's alone: the others still go
            _failed(store, delivery_id, channel, attempts + 1, f"{channel} failed: {type(exc).__name__}")
            continue
        store.query(
            "UPDATE deliveries SET status='sent', attempts=:attempts, sent_at=:at WHERE id=:id",
            {"attempts": attempts + 1, "at": time.time(), "id": delivery_id},
        )
        sent += 1
    return sent


def _failed(store: Store, delivery_id: int, channel: str, attempts: int, why: str) -> None:
    status = "failed" if attempts >= MAX_ATTEMPTS else "pending"
    wait = BACKOFF_S[min(attempts, len(BACKOFF_S)) - 1]
    log.warning("delivery %d (%s) failed (attempt %d): %s", delivery_id, channel, attempts, why)
    store.query(
        "UPDATE deliveries SET status=:status, attempts=:attempts, last_error=:why, next_try_at=:due WHERE id=:id",
        {"status": status, "attempts": attempts, "why": why, "due": time.time() + wait, "id": delivery_id},
    )
