"""Negative share and volume per group and time window, and which windows break a rule. Pure pandas.

The input is one row per scored tweet: `group` (str), `time` (UTC datetime: when it was posted, else when it
arrived; NaT puts a tweet in no window) and `negative` (bool); `scored_tweets` makes it from a batch scored by
core.inference.stream. Windows are fixed, aligned on the window length (10:00-10:15, 10:15-10:30…), so a
window's figures never depend on when the watcher looked.
"""

from __future__ import annotations

import pandas as pd

from core.monitor.rules import NO_GROUP, SHARE, SPIKE, Rules

MIN_HISTORY = 3  # windows needed before a trailing median means something

ALERT_COLUMN = {SHARE: "share_alert", SPIKE: "spike_alert"}  # which column of breaches() says a rule fires
WINDOW_COLUMNS = ["group", "start", "end", "volume", "negative", "share"]
SUMMARY_COLUMNS = ["group", "tweets", "negative", "share", "over_threshold", "crossings", "first_crossing", "spikes"]
OTHER = "(other)"  # the groups beyond the ones kept, lumped together


def scored_tweets(scored: pd.DataFrame) -> pd.DataFrame:
    """This module's input from a batch scored by core.inference.stream (`p_pos`, `label`, `timestamp`, and
    `group` when a group column was chosen, else every tweet is in NO_GROUP): the rows that have a score."""
    rated = scored[scored["p_pos"].notna()]
    group = rated["group"].astype(str) if "group" in rated else pd.Series(NO_GROUP, index=rated.index)
    return pd.DataFrame(
        {"group": group, "time": rated["timestamp"], "negative": rated["label"].eq("negative")}
    ).reset_index(drop=True)


def keep_largest_groups(tweets: pd.DataFrame, keep: int, other: str = OTHER) -> pd.DataFrame:
    """The `keep` groups with the most tweets as they are, the others lumped into `other` (every tweet stays)."""
    volume = tweets["group"].value_counts()
    if len(volume) <= keep:
        return tweets
    kept = set(volume.index[:keep])
    return tweets.assign(group=tweets["group"].where(tweets["group"].isin(kept), other))


def window_counts(tweets: pd.DataFrame, window: pd.Timedelta, history: int | None = None) -> pd.DataFrame:
    """One row per group and window from the first to the last tweet of that group (empty windows count 0).

    With `history` (the watcher), only the empty windows within `history` windows after a tweet are kept: the
    rules see the same figures (a spike's trailing median looks `history` windows back, and a window with no
    tweet alerts on nothing), and a feed whose times span years (a tweet dated 2199) is not millions of rows."""
    tweets = tweets[tweets["time"].notna()]
    if tweets.empty:
        return pd.DataFrame(columns=WINDOW_COLUMNS)
    start = tweets["time"].dt.floor(window)
    grouped = tweets.assign(start=start).groupby(["group", "start"])["negative"]
    counts = pd.DataFrame({"volume": grouped.size(), "negative": grouped.sum().astype(int)})
    parts = [
        _fill_gaps(frame.droplevel("group"), window, history).assign(group=g) for g, frame in counts.groupby(level=0)
    ]
    out = pd.concat(parts).rename_axis("start").reset_index()
    out["end"] = out["start"] + window
    out["share"] = (out["negative"] / out["volume"]).where(out["volume"] > 0)
    return out[WINDOW_COLUMNS].sort_values(["group", "start"], ignore_index=True)


def _fill_gaps(frame: pd.DataFrame, window: pd.Timedelta, history: int | None) -> pd.DataFrame:
    if history is None:
        full = pd.date_range(frame.index.min(), frame.index.max(), freq=window)
        return frame.reindex(full, fill_value=0)
    after = [frame.index + window * step for step in range(history + 1)]
    kept = after[0].append(after[1:]).unique().sort_values()
    return frame.reindex(kept[kept <= frame.index.max()], fill_value=0)


def breaches(windows: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """The windows with each group's threshold and minimum volume, the trailing median volume, and whether the
    share rule (`share_alert`) and the spike rule (`spike_alert`) fire."""
    out = windows.copy()
    group_rules = out["group"].map(rules.rule_for)
    out["threshold"] = group_rules.map(lambda r: r.threshold).astype(float)
    out["min_volume"] = group_rules.map(lambda r: r.min_volume).astype(int)
    factor = group_rules.map(lambda r: r.spike_factor).astype(float)
    spike_min = group_rules.map(lambda r: r.spike_min).astype(int)
    previous = out.groupby("group")["volume"].shift(1)
    out["trailing_median"] = previous.groupby(out["group"]).transform(
        lambda s: s.rolling(rules.history, min_periods=min(MIN_HISTORY, rules.history)).median()
    )
    enough = out["volume"] >= out["min_volume"]
    out["share_alert"] = enough & (out["share"] >= out["threshold"])
    spiking = (factor > 0) & (out["volume"] >= factor * out["trailing_median"]) & (out["volume"] >= spike_min)
    out["spike_alert"] = spiking & out["trailing_median"].notna()
    return out


def group_summary(tweets: pd.DataFrame, windows: pd.DataFrame) -> pd.DataFrame:
    """One row per group, most tweets first: its scored tweets (`tweets`, `negative`, `share`, timed or not) and,
    from `windows` (breaches()), the windows over its share threshold, how many times the share rose over it
    (`crossings`), the first window that did (`first_crossing`, NaT if none) and the volume spikes."""
    grouped = tweets.groupby("group")["negative"]
    out = pd.DataFrame({"tweets": grouped.size(), "negative": grouped.sum().astype(int)})
    out["share"] = out["negative"] / out["tweets"]
    if len(windows):
        alert = windows["share_alert"].astype(bool)
        rising = alert & ~alert.groupby(windows["group"]).shift(1, fill_value=False).astype(bool)
        by_group = windows.assign(alert=alert, rising=rising).groupby("group")
        out["over_threshold"] = by_group["alert"].sum()
        out["crossings"] = by_group["rising"].sum()
        out["first_crossing"] = windows[alert].groupby("group")["start"].min()
        out["spikes"] = by_group["spike_alert"].sum()
    else:
        out["first_crossing"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns, UTC]")
    for name in ("over_threshold", "crossings", "spikes"):
        out[name] = out[name].fillna(0).astype(int) if name in out else 0
    out = out.rename_axis("group").reset_index().sort_values(["tweets", "group"], ascending=[False, True])
    return out[SUMMARY_COLUMNS].reset_index(drop=True)
