"""Columns told by their values (core.data.columns): the text, time and group columns of a file."""

from __future__ import annotations

import pandas as pd

from core.data.columns import date_share, detect_columns, parse_timestamps


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
