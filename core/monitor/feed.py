"""What the dashboard's live feed shows, read from the store (read-only): the watcher's settings, the counts, the
negative share and volume per group and window with each group's threshold, the complaint reasons per group and
window, the alerts (with what each one's window is about) and their deliveries, and the tweets behind an alert."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from core.monitor import alerts as alert_rules
from core.monitor.rules import Rules, rules_from_json
from core.monitor.store import Store, configured_target, url_from_target

SHOWN_WINDOWS = 96  # per group, the latest ones


def open_feed(target: str | Path | None = None) -> Store:
    """The store ($BADBUZZ_MONITOR_DB, else the default path), read-only; StoreError when there is none yet."""
    return Store(target or configured_target(), readonly=True)


def feed_exists() -> bool:
    """Whether a watcher has made the configured store (a server store is taken to exist: opening it says)."""
    try:
        url = url_from_target(configured_target())
    except ValueError:
        return True  # opening it will say what is wrong
    return url.get_backend_name() != "sqlite" or Path(url.database).is_file()


def watcher_settings(store: Store) -> dict:
    """{"run", "group_column", "rules" (Rules), "source", "started_at", "channels"} ({} before any watcher ran)."""
    settings = dict(store.setting("watcher", {}) or {})
    settings["rules"] = rules_from_json(settings.get("rules") or {}) if settings.get("rules") else Rules()
    return settings


def windows(store: Store, rules: Rules, group_column: str | None, shown: int = SHOWN_WINDOWS) -> pd.DataFrame:
    """The latest `shown` windows of every group: volume, negative share, threshold, whether a rule fires."""
    latest = store.query("SELECT MAX(event_at) FROM tweets WHERE score IS NOT NULL")[0][0]
    if latest is None:
        return pd.DataFrame()
    start = latest - shown * rules.window_delta.total_seconds()
    return alert_rules.stored_windows(store, rules, group_column, start, latest)


def alert_table(store: Store, limit: int = 100) -> pd.DataFrame:
    """The latest alerts, newest first, with their deliveries ("webhook: sent, email: pending (…)")."""
    frame = store.frame(
        f"SELECT {alert_rules.alert_columns_sql(store)} FROM alerts ORDER BY created_at DESC, id DESC LIMIT :limit",
        {"limit": limit},
    )
    deliveries = store.frame("SELECT alert_id, channel, status, attempts, last_error FROM deliveries")
    frame["deliveries"] = frame["id"].map(lambda i: _deliveries(deliveries[deliveries["alert_id"] == i]))
    for name in ("window_start", "window_end", "created_at", "closed_at"):
        frame[name] = pd.to_datetime(frame[name], unit="s", utc=True)
    return frame


def _deliveries(rows: pd.DataFrame) -> str:
    parts = []
    for row in rows.itertuples(index=False):
        why = f" ({row.last_error})" if row.status != "sent" and row.last_error else ""
        parts.append(f"{row.channel}: {row.status}{why}")
    return ", ".join(parts) or "no channel"


def tweets_behind(store: Store, alert_id: int, limit: int = 20) -> pd.DataFrame:
    """The tweets behind an alert, most negative first."""
    tweets = alert_rules.alert_tweets(store, alert_rules.alert(store, alert_id), limit)
    tweets["created_at"] = pd.to_datetime(tweets["created_at"], unit="s", utc=True)
    return tweets.drop(columns=["received_at"])


MOVE = 0.10  # a change of the share (0..1) this large is called rising or falling
TREND_WINDOWS = 4  # the latest window's share is compared with the pooled share of this many windows before it


def buzz_by_group(windows: pd.DataFrame, open_alerts: pd.Series, before: int = TREND_WINDOWS) -> pd.DataFrame:
    """The state of the buzz per group, from `windows` (the feed's windows: group, start, volume, share,
    min_volume) and the open alerts per group: the latest window (`latest`, `tweets`, `share`, `enough`:
    at least the group's minimum tweets), its change against the pooled share of the `before` windows before it
    (`change`, in share points, NaN without tweets before), the shares of the shown windows (`history`, for a
    sparkline; a window below the minimum is left out), `open_alerts` and a word for it all (`status`: alert open,
    few tweets, rising, falling, steady; rising and falling are a change of at least MOVE points). Most open alerts,
    then highest share first."""
    columns = ["group", "status", "latest", "tweets", "share", "enough", "change", "history", "open_alerts"]
    if windows.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for group, frame in windows.sort_values("start").groupby("group", sort=False):
        last = frame.iloc[-1]
        previous = frame.iloc[-1 - before : -1]
        volume = previous["volume"].sum()  # the windows' shares (estimates) weighed by their tweets
        pooled = (previous["share"].fillna(0) * previous["volume"]).sum() / volume if volume else float("nan")
        enough = frame["volume"] >= frame["min_volume"]
        rows.append(
            {
                "group": str(group),
                "latest": last["start"],
                "tweets": int(last["volume"]),
                "share": last["share"],
                "enough": bool(enough.iloc[-1]),
                "change": last["share"] - pooled,
                "history": frame["share"].where(enough).dropna().tolist(),
                "open_alerts": int(open_alerts.get(group, 0)),
            }
        )
    out = pd.DataFrame(rows, columns=columns)
    out["status"] = [_status(row) for row in out.itertuples()]
    return out.sort_values(["open_alerts", "share"], ascending=False, na_position="last", ignore_index=True)


def open_alerts_per_group(store: Store) -> pd.Series:
    """Open alerts (not closed yet) per group."""
    rows = store.query("SELECT grp, COUNT(*) FROM alerts WHERE closed_at IS NULL GROUP BY grp")
    return pd.Series({grp: int(n) for grp, n in rows}, dtype=int)


def _status(row) -> str:
    if row.open_alerts:
        return "alert open"
    if not row.enough:
        return "few tweets"
    if pd.notna(row.change) and abs(row.change) >= MOVE:
        return "rising" if row.change > 0 else "falling"
    return "steady"


def has_reasons(store: Store) -> bool:
    """Whether the store has the complaint-reason columns (a store last opened by an older watcher has not)."""
    with store.transaction(reading=True) as conn:
        return "complaint" in {c["name"] for c in sa.inspect(conn).get_columns("tweets")}


def reason_timeline(store: Store, rules: Rules, group_column: str | None, shown: int = SHOWN_WINDOWS) -> pd.DataFrame:
    """Tagged negative tweets per window, group and complaint reason over the latest `shown` windows:
    start, group, reason, tweets (empty before any tweet is tagged)."""
    columns = ["start", "group", "reason", "tweets"]
    latest = store.query("SELECT MAX(event_at) FROM tweets WHERE complaint IS NOT NULL")[0][0]
    if latest is None:
        return pd.DataFrame(columns=columns)
    step = rules.window_delta.total_seconds()
    tagged = store.frame(
        f"SELECT event_at, {store.group_sql(column=group_column)} AS grp, complaint FROM tweets "
        "WHERE complaint IS NOT NULL AND event_at >= :start",
        {"group_path": store.group_arg(group_column), "start": (latest // step - shown + 1) * step},
    )
    tagged["start"] = pd.to_datetime(tagged["event_at"] // step * step, unit="s", utc=True)
    tagged["group"] = tagged["grp"].replace("", alert_rules.NO_VALUE) if group_column else "all tweets"
    counts = tagged.groupby(["start", "group", "complaint"]).size().reset_index(name="tweets")
    return counts.rename(columns={"complaint": "reason"})[columns]
