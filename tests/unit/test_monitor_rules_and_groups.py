"""The monitor's rules (core/monitor/rules.py) and per-group windows (core/monitor/groups.py), and the page's
timeline (core/analysis/timeline.py): plain pandas, on frames made here."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.analysis.timeline import choose_bucket, most_negative, negative_timeline
from core.monitor import groups
from core.monitor.groups import breaches, group_summary, keep_largest_groups, scored_tweets, window_counts
from core.monitor.rules import NO_GROUP, GroupRule, Rules, RulesError, load_rules, rules_from_json

T0 = pd.Timestamp("2015-02-24 10:00", tz="UTC")
WINDOW = pd.Timedelta("15min")


def tweets_in_windows(counts: dict[str, list[tuple[int, int]]], start: pd.Timestamp = T0) -> pd.DataFrame:
    """groups.py's input: per group, (tweets, negative ones) in consecutive 15-minute windows from `start`."""
    rows = []
    for group, per_window in counts.items():
        for w, (volume, negative) in enumerate(per_window):
            for i in range(volume):
                rows.append(
                    {"group": group, "time": start + WINDOW * w + pd.Timedelta(seconds=i), "negative": i < negative}
                )
    return pd.DataFrame(rows, columns=["group", "time", "negative"])


# ---------------------------------------------------------------- rules


def test_rules_refuse_settings_that_cannot_work():
    for bad in ({"window": "soon"}, {"window": "0min"}, {"cooldown": "-5min"}):
        with pytest.raises(RulesError, match="positive duration"):
            Rules(**bad)
    for rule in (GroupRule(threshold=0), GroupRule(threshold=1.5)):
        with pytest.raises(RulesError, match="between 0 and 1"):
            Rules(default=rule)
    for rule in (GroupRule(min_volume=0), GroupRule(spike_min=0), GroupRule(spike_factor=-1)):
        with pytest.raises(RulesError, match="at least"):
            Rules(groups={"United": rule})
    assert Rules(default=GroupRule(threshold=1.0)).default.threshold == 1.0  # every tweet negative is allowed


def test_a_rules_file_overrides_what_it_names_and_keeps_the_rest():
    base = Rules(window="1h", default=GroupRule(0.6, 20))
    rules = rules_from_json({"min_volume": 10, "groups": {"United": {"threshold": "0.5"}}}, base)
    assert rules.window == "1h" and rules.window_delta == pd.Timedelta("1h")
    assert rules.default == GroupRule(0.6, 10)  # the file's top-level keys are the default rule
    assert rules.rule_for("United") == GroupRule(0.5, 10)  # a group starts from the file's default
    assert rules.rule_for("Delta") is rules.default
    nested = rules_from_json({"default": {"threshold": 0.7}, "cooldown": "2h", "history": 4}, base)
    assert (nested.default.threshold, nested.cooldown_delta, nested.history) == (0.7, pd.Timedelta("2h"), 4)
    assert rules_from_json(rules.to_json()) == rules  # the store's copy reads back as it was


def test_a_bad_rules_file_is_one_clear_error(tmp_path):
    for data, why in (
        ([1, 2], "one JSON object"),
        ({"groups": {"United": 0.5}}, "is a JSON object"),
        ({"threshold": "high"}, "are numbers"),
        ({"threshold": 60}, "between 0 and 1"),
    ):
        with pytest.raises(RulesError, match=why):
            rules_from_json(data)
    with pytest.raises(RulesError, match="cannot read the rules file"):
        load_rules(tmp_path / "missing.json", Rules())
    (tmp_path / "broken.json").write_text("{window: 15min")
    with pytest.raises(RulesError, match="not valid JSON"):
        load_rules(tmp_path / "broken.json", Rules())
    (tmp_path / "rules.json").write_text(json.dumps({"groups": {"B": {"min_volume": 3}}}))
    assert load_rules(tmp_path / "rules.json", Rules()).rule_for("B").min_volume == 3


# ---------------------------------------------------------------- groups: the input, the windows


def test_scored_tweets_keeps_the_scored_rows_and_puts_them_in_one_group_without_a_group_column():
    scored = pd.DataFrame(
        {
            "p_pos": [0.1, np.nan, 0.9],
            "label": ["negative", "", "positive"],
            "timestamp": [T0, T0, pd.NaT],
        }
    )
    tweets = scored_tweets(scored)
    assert tweets.drop(columns="p_negative").to_dict("list") == {
        "group": [NO_GROUP] * 2,
        "time": [T0, pd.NaT],
        "negative": [True, False],
    }
    assert tweets["p_negative"].tolist() == pytest.approx([0.9, 0.1])  # a binary run: 1 - P(positive)
    three_way = scored_tweets(scored.assign(p_negative=[0.6, np.nan, 0.05]))
    assert three_way["p_negative"].tolist() == [0.6, 0.05]
    with_group = scored_tweets(scored.assign(group=["United", "Delta", "Delta"]))
    assert with_group["group"].tolist() == ["United", "Delta"]


def test_the_largest_groups_stay_and_the_others_are_lumped_together():
    tweets = pd.DataFrame({"group": ["A"] * 3 + ["B"] * 2 + ["C", "D"], "negative": False})
    kept = keep_largest_groups(tweets, 2)
    assert kept["group"].value_counts().to_dict() == {"A": 3, "B": 2, groups.OTHER: 2} and len(kept) == len(tweets)
    assert keep_largest_groups(tweets, 4) is tweets


def test_windows_are_aligned_on_their_length_empty_ones_count_zero_and_untimed_tweets_none():
    tweets = tweets_in_windows({"A": [(4, 1), (0, 0), (2, 2)], "B": [(3, 3)]}, start=T0 + pd.Timedelta("7min"))
    tweets.loc[len(tweets)] = {"group": "A", "time": pd.NaT, "negative": True}
    out = window_counts(tweets, WINDOW)
    a = out[out["group"] == "A"]
    assert a["start"].tolist() == [T0, T0 + WINDOW, T0 + 2 * WINDOW]  # 10:07 falls in 10:00-10:15
    assert (a["end"] - a["start"]).eq(WINDOW).all()
    assert a["volume"].tolist() == [4, 0, 2]  # 10:07, nothing from 10:15, 10:37 in 10:30-10:45
    assert out.loc[out["group"] == "B", "share"].tolist() == [1.0]
    assert out["volume"].sum() == len(tweets) - 1  # the untimed tweet is in no window
    empty = window_counts(tweets.iloc[0:0], WINDOW)
    assert empty.empty and list(empty.columns) == groups.WINDOW_COLUMNS


def test_a_window_share_is_the_mean_probability_with_its_interval_and_the_chance_it_is_over():
    """Twenty tweets at P(negative) 0.7: the share is 70 % (a count would say 100 %), its 90 % interval is the
    Poisson-binomial one, and the chance the true share reaches 60 % is high but not certain."""
    tweets = tweets_in_windows({"A": [(20, 20), (20, 0)]}).assign(p_negative=[0.7] * 20 + [0.1] * 20)
    out = breaches(window_counts(tweets, WINDOW), Rules(default=GroupRule(0.6, 5)))
    sd = np.sqrt(20 * 0.7 * 0.3) / 20
    assert out["share"].tolist() == pytest.approx([0.7, 0.1]) and out["negative"].tolist() == [20, 0]
    assert out["share_low"].iloc[0] == pytest.approx(0.7 - 1.6449 * sd, abs=1e-4)
    assert out["share_high"].iloc[0] == pytest.approx(0.7 + 1.6449 * sd, abs=1e-4)
    assert 0.8 < out["p_over"].iloc[0] < 0.99 and out["p_over"].iloc[1] < 0.01
    assert out["share_alert"].tolist() == [True, False]  # the estimate reaches the threshold
    counted = breaches(window_counts(tweets.drop(columns="p_negative"), WINDOW), Rules())
    assert counted["share"].tolist() == [1.0, 0.0] and counted["share_low"].tolist() == [1.0, 0.0]


def test_an_empty_window_has_no_share_and_never_alerts():
    out = breaches(window_counts(tweets_in_windows({"A": [(5, 5), (0, 0), (5, 5)]}), WINDOW), Rules())
    assert out["volume"].tolist() == [5, 0, 5] and np.isnan(out["share"].iloc[1])
    assert not out["share_alert"].iloc[1]


# ---------------------------------------------------------------- groups: the rules applied


def test_share_and_spike_rules_per_group_with_their_own_thresholds():
    tweets = tweets_in_windows({"A": [(10, 2), (10, 2), (0, 0), (10, 2), (40, 10)], "B": [(10, 6), (4, 4)]})
    rules = Rules(window="15min", default=GroupRule(0.6, 5, spike_factor=3, spike_min=30))
    out = breaches(window_counts(tweets, WINDOW), rules)
    a, b = out[out["group"] == "A"], out[out["group"] == "B"]
    assert a["volume"].tolist() == [10, 10, 0, 10, 40]  # the empty window counts 0
    assert a["spike_alert"].tolist() == [False, False, False, False, True]  # 40 >= 3 x median 10, >= 30
    assert b["share_alert"].tolist() == [True, False]  # 4 of 4 but under the minimum volume
    assert b["threshold"].tolist() == [0.6, 0.6] and b["min_volume"].tolist() == [5, 5]
    strict = rules_from_json({"groups": {"B": {"threshold": 0.7}}}, rules)
    assert breaches(window_counts(tweets, WINDOW), strict).query("group == 'B'")["share_alert"].sum() == 0


def test_a_spike_needs_history_its_minimum_volume_and_a_factor_above_zero():
    tweets = tweets_in_windows({"A": [(10, 0), (10, 0), (90, 0), (10, 0), (10, 0), (90, 0)]})
    windows = window_counts(tweets, WINDOW)
    out = breaches(windows, Rules(default=GroupRule(spike_factor=3, spike_min=30)))
    assert out["trailing_median"].isna().tolist() == [True, True, True, False, False, False]  # MIN_HISTORY = 3
    assert out["spike_alert"].tolist() == [False, False, False, False, False, True]  # too early at window 3
    assert not breaches(windows, Rules(default=GroupRule(spike_factor=0))).spike_alert.any()
    assert not breaches(windows, Rules(default=GroupRule(spike_factor=3, spike_min=100))).spike_alert.any()


def test_the_summary_counts_crossings_once_per_rise_and_names_the_first():
    tweets = tweets_in_windows({"A": [(5, 4), (5, 4), (5, 0), (5, 5)], "B": [(8, 0)], "C": [(2, 2)]})
    tweets.loc[len(tweets)] = {"group": "B", "time": pd.NaT, "negative": True}  # counted, in no window
    windows = breaches(window_counts(tweets, WINDOW), Rules(default=GroupRule(0.6, 5)))
    summary = group_summary(tweets, windows).set_index("group")
    assert summary.index.tolist() == ["A", "B", "C"]  # most tweets first
    assert summary.loc["A", ["over_threshold", "crossings"]].tolist() == [3, 2]
    assert summary.loc["A", "first_crossing"] == T0
    assert (summary.loc["B", "tweets"], summary.loc["B", "negative"]) == (9, 1)
    assert summary.loc["C", "over_threshold"] == 0 and pd.isna(summary.loc["C", "first_crossing"])  # under 5 tweets
    untimed = group_summary(tweets.assign(time=pd.NaT), window_counts(tweets.assign(time=pd.NaT), WINDOW))
    assert untimed[["over_threshold", "crossings", "spikes"]].eq(0).all().all()
    assert untimed["first_crossing"].isna().all() and list(untimed.columns) == groups.SUMMARY_COLUMNS


# ---------------------------------------------------------------- the page's timeline


def test_choose_bucket():
    assert choose_bucket(pd.Timedelta("30min")) == ("1min", "minute")
    assert choose_bucket(pd.Timedelta("3D")) == ("3h", "3 hours")
    assert choose_bucket(pd.Timedelta("400D")) == ("30D", "30 days")


def test_the_timeline_buckets_by_time_or_by_position_and_marks_where_the_share_rose():
    times = [T0 + pd.Timedelta(minutes=m) for m in range(0, 240, 4)]  # 60 tweets over 4 hours
    p_pos = [0.1 if 60 <= i * 4 < 120 else 0.9 for i in range(60)]  # negative from 11:00 to 12:00
    scored = pd.DataFrame({"row": range(1, 61), "timestamp": times, "p_pos": p_pos, "text": "x"})
    timeline = negative_timeline(scored, threshold=0.6, min_tweets=3)
    assert (timeline.by, timeline.freq) == ("time", "15min")
    assert timeline.buckets["tweets"].sum() == 60
    assert timeline.crossings["start"].tolist() == [T0 + pd.Timedelta("1h")]  # one rise, four windows over
    assert timeline.buckets["alert"].sum() == 4
    untimed = negative_timeline(scored.assign(timestamp=pd.NaT), target_buckets=6)
    assert (untimed.by, untimed.bucket_label, untimed.freq) == ("position", "10 tweets", None)
    assert untimed.buckets["start"].tolist()[:2] == [1, 11] and len(untimed.crossings) == 1
    assert most_negative(scored, n=3)["p_pos"].tolist() == [0.1] * 3
