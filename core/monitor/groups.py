"""Negative share and volume per group and time window, and which windows break a rule. Pure pandas.

The input is one row per scored tweet: `group` (str), `time` (UTC datetime: when it was posted, else when it
arrived; NaT puts a tweet in no window), `negative` (bool: the run calls it negative) and `p_negative` (the run's
calibrated P(negative)); `scored_tweets` makes it from a batch scored by core.inference.stream. Windows are fixed,
aligned on the window length (10:00-10:15, 10:15-10:30…), so a window's figures never depend on when the watcher
looked.

A window's `share` is an estimate, not a count (issue 22): the mean P(negative) of its tweets (probabilistic
classify and count, core.evaluation.share), with its 90 % interval `share_low`–`share_high` (the window's own
Poisson-binomial noise: how far the true share may be from the estimate if the probabilities are calibrated; the
model's own error on a domain is what `python -m core.evaluate --gauge` measures) and `p_over`, the probability
that the true share is at or over the group's threshold. The share rule fires when the estimate reaches the
threshold (P(over) ≥ 0.5): on the airline gauge (300 in-domain labels) that rule found 17 of 18 bad days with
17 of 18 alerts right, where alerting on the gauge's interval's lower bound found 13 (precision 0.93): days lost
for no precision gained. `negative` stays the count of tweets called negative.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtr

from core.monitor.rules import NO_GROUP, SHARE, SPIKE, Rules

MIN_HISTORY = 3  # windows needed before a trailing median means something

ALERT_COLUMN = {SHARE: "share_alert", SPIKE: "spike_alert"}  # which column of breaches() says a rule fires
WINDOW_COLUMNS = ["group", "start", "end", "volume", "negative", "share", "share_low", "share_high", "share_sd"]
LEVEL, Z = 0.9, 1.6448536269514722  # the interval of core.evaluation.share: 90 %, z = Φ⁻¹(0.95)
SUMMARY_COLUMNS = ["group", "tweets", "negative", "share", "over_threshold", "crossings", "first_crossing", "spikes"]
OTHER = "(other)"  # the groups beyond the ones kept, lumped together


def scored_tweets(scored: pd.DataFrame) -> pd.DataFrame:
    """This module's input from a batch scored by core.inference.stream (`p_pos`, `label`, `timestamp`, and
    `group` when a group column was chosen, else every tweet is in NO_GROUP): the rows that have a score."""
    rated = scored[scored["p_pos"].notna()]
    group = rated["group"].astype(str) if "group" in rated else pd.Series(NO_GROUP, index=rated.index)
    p_negative = rated["p_negative"] if "p_negative" in rated else 1.0 - rated["p_pos"]
    return pd.DataFrame(
        {"group": group, "time": rated["timestamp"], "negative": rated["label"].eq("negative")}
        | {"p_negative": p_negative.astype(float)}
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
    p_negative = tweets["p_negative"] if "p_negative" in tweets else tweets["negative"].astype(float)
    start = tweets["time"].dt.floor(window)
    keyed = tweets.assign(start=start, p=p_negative, var=p_negative * (1 - p_negative)).groupby(["group", "start"])
    counts = pd.DataFrame({"volume": keyed.size(), "negative": keyed["negative"].sum().astype(int)})
    counts["p_sum"], counts["var_sum"] = keyed["p"].sum(), keyed["var"].sum()
    parts = [
        _fill_gaps(frame.droplevel("group"), window, history).assign(group=g) for g, frame in counts.groupby(level=0)
    ]
    out = pd.concat(parts).rename_axis("start").reset_index()
    out["end"] = out["start"] + window
    filled = out["volume"] > 0
    out["share"] = (out["p_sum"] / out["volume"]).where(filled)
    out["share_sd"] = (np.sqrt(out["var_sum"]) / out["volume"]).where(filled)
    out["share_low"] = (out["share"] - Z * out["share_sd"]).clip(lower=0.0)
    out["share_high"] = (out["share"] + Z * out["share_sd"]).clip(upper=1.0)
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
    out["p_over"] = probability_over(out["share"], out["share_sd"], out["threshold"])
    spiking = (factor > 0) & (out["volume"] >= factor * out["trailing_median"]) & (out["volume"] >= spike_min)
    out["spike_alert"] = spiking & out["trailing_median"].notna()
    return out


def probability_over(share: pd.Series, sd: pd.Series, threshold: pd.Series) -> pd.Series:
    """P(true share ≥ threshold) per window (normal approximation; a step where the estimate is sure)."""
    safe = sd.where(sd > 0, np.nan)
    p = pd.Series(1.0 - ndtr(((threshold - share) / safe).to_numpy(float)), index=share.index)
    return p.where(safe.notna(), (share >= threshold).astype(float)).where(share.notna())


def group_summary(tweets: pd.DataFrame, windows: pd.DataFrame) -> pd.DataFrame:
    """One row per group, most tweets first: its scored tweets (`tweets`, `negative`, `share`, timed or not) and,
    from `windows` (breaches()), the windows over its share threshold, how many times the share rose over it
    (`crossings`), the first window that did (`first_crossing`, NaT if none) and the volume spikes."""
    grouped = tweets.groupby("group")["negative"]
    out = pd.DataFrame({"tweets": grouped.size(), "negative": grouped.sum().astype(int)})
    if "p_negative" in tweets:
        out["share"] = tweets.groupby("group")["p_negative"].mean()
    else:
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
