"""benchmarks.three_way_airline's time split: the earliest tweets by tweet_created (day-first, as a spreadsheet
saves the airline export), ties kept in file order; the later ones measured."""

from __future__ import annotations

import pandas as pd

from benchmarks.three_way_airline import time_split


def test_the_earliest_tweets_by_day_first_time_go_to_training(tmp_path):
    rows = [
        ("neutral", "third", "24-02-2015 11.35"),
        ("negative", "first", "16-02-2015 23.36"),
        ("positive", "second", "17-02-2015 08.05"),
        ("negative", "tie later in the file", "17-02-2015 08.05"),
    ]
    pd.DataFrame(rows, columns=["airline_sentiment", "text", "tweet_created"]).to_csv(tmp_path / "t.csv", index=False)
    train, later = time_split(tmp_path / "t.csv", 2, tmp_path)
    assert pd.read_csv(train).values.tolist() == [["negative", "first"], ["positive", "second"]]
    assert later["text"].tolist() == ["tie later in the file", "third"]
