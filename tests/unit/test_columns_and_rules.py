"""Columns told by their values (core.data.columns) and the monitor's window rules (core.monitor.groups)."""

from __future__ import annotations

import pandas as pd
import pytest

from core.data.columns import date_share, detect_columns, parse_timestamps
from core.monitor.groups import breaches, window_counts
from core.monitor.rules import GroupRule, Rules, RulesError, rules_from_json


def test_timestamps_in_every_usual_format_parse_and_ids_do_not():
    values = {
        "Wed Feb 25 10:00:00 +0000 2015": "2015-02-25 10:00:00",
        "2015-02-24 11:35:52 -0800": "2015-02-24 19:35:52",
        "2015-02-24T11:35:52Z": "2015-02-24 11:35:52",
        "2/24/2015 11:35": "2015-02-24 11:35:00",
        "Mon Apr 06 22:19:45 PDT 2009": "2009-04-07 05:19:45",
    }
    for raw, utc in values.items():
        assert parse_timestamps(pd.Series([raw]))[0] == pd.Timestamp(utc, tz="UTC"), raw
    assert (
        parse_timestamps(pd.Series(["1424800000", "1424800000000", ""])).tolist()[:2]
        == [pd.Timestamp("2015-02-24 17:46:40", tz="UTC")] * 2
    )
    assert date_share(pd.Series(["570306133677760513", "570301130888122368"])) == 0  # tweet ids
    assert date_share(pd.Series(["0", "3", "12"])) == 0 and date_share(pd.Series(["May", "1", "Virgin"])) == 0
    assert date_share(pd.Series(["2015-02-24 11:35:52 -0800", "not a date", "2015-02-24 11:15:59 -0800"])) == 2 / 3


def test_the_text_is_the_longest_free_text_column_and_names_break_ties():
    frame = pd.DataFrame(
        {
            "id": [str(570306133677760513 + i) for i in range(6)],
            "user": ["cairdin", "jnardino", "yvonnalynn", "jnardino", "cairdin", "x"],
            "url": [f"https://twitter.com/u/status/{i}" for i in range(6)],
            "posted": [f"2/24/2015 11:{i:02d}" for i in range(6)],
            "body": [f"@united my bag is lost again, flight {i} was delayed for hours" for i in range(6)],
            "carrier": ["United", "Delta", "United", "Delta", "United", "Delta"],
        }
    )
    guess = detect_columns(frame)
    assert (guess.text, guess.time) == ("body", "posted") and "carrier" in guess.group_candidates
    named = frame.assign(text=[f"my flight {i} today was okay, I guess, meh" for i in range(6)])
    assert detect_columns(named).text == "text"  # named like a text and at least half the best score
    assert detect_columns(frame[["id", "user"]]).text is None


def windows_of(volumes: dict[str, list[tuple[int, int]]]) -> pd.DataFrame:
    """(volume, negatives) per 15-minute window per group -> one row per tweet."""
    rows = []
    start = pd.Timestamp("2015-02-24 08:00", tz="UTC")
    for group, counts in volumes.items():
        for w, (volume, negative) in enumerate(counts):
            for i in range(volume):
                rows.append(
                    {"group": group, "time": start + pd.Timedelta(minutes=15 * w, seconds=i), "negative": i < negative}
                )
    return pd.DataFrame(rows)


def test_share_and_spike_rules_per_group_with_their_own_thresholds():
    tweets = windows_of({"A": [(10, 2), (10, 2), (0, 0), (10, 2), (40, 10)], "B": [(10, 6), (4, 4)]})
    rules = Rules(window="15min", default=GroupRule(0.6, 5, spike_factor=3, spike_min=30))
    out = breaches(window_counts(tweets, pd.Timedelta("15min")), rules)
    a, b = out[out["group"] == "A"], out[out["group"] == "B"]
    assert a["volume"].tolist() == [10, 10, 0, 10, 40]  # the empty window counts 0
    assert a["spike_alert"].tolist() == [False, False, False, False, True]  # 40 >= 3 x median 10, >= 30
    assert b["share_alert"].tolist() == [True, False]  # 4 of 4 but under the minimum volume
    strict = rules_from_json({"groups": {"B": {"threshold": 0.7}}}, rules)
    assert (
        breaches(window_counts(tweets, pd.Timedelta("15min")), strict).query("group == 'B'")["share_alert"].sum() == 0
    )
    with pytest.raises(RulesError):
        Rules(window="soon")
    with pytest.raises(RulesError):
        rules_from_json({"threshold": 60})
