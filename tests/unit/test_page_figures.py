"""How the pages write and draw figures: signed points never '-0.0', an accuracy axis that shows a few points'
difference, dollar ticks a person can read, and a timeline that never draws a bucket of one tweet as a spike."""

from __future__ import annotations

import pandas as pd
import pytest

from core.analysis.timeline import negative_timeline
from views.components import figures
from views.components.formatting import signed_points


@pytest.mark.parametrize(
    ("value", "written"), [(-0.04, "0.0 points"), (0.0, "0.0 points"), (2.26, "+2.3 points"), (-1.0, "-1.0 points")]
)
def test_signed_points(value, written):
    assert signed_points(value) == written


def test_the_accuracy_axis_spans_the_runs_not_zero_to_a_hundred():
    low, high = figures.accuracy_range(pd.Series([80.8, 83.4]))
    assert 70 <= low < 80.8 and 83.4 < high <= 90 and high - low >= 10
    assert figures.accuracy_range(pd.Series([99.5])) == (90.0, 100.0)  # never past 100 %, still 10 points wide


def test_dollar_ticks_are_plain_amounts():
    values, labels = figures.dollar_ticks(pd.Series([1.2e-5, 3e-4]))
    assert labels[:3] == ["$0.00001", "$0.00002", "$0.00005"] and labels[-1] == "$0.001"
    assert values == sorted(values) and len(values) == len(labels)


def test_a_bucket_with_too_few_tweets_is_a_faded_dot_off_the_line():
    times = pd.to_datetime(["2024-06-01 08:00", *["2024-06-01 09:10"] * 6, "2024-06-01 10:05"])
    scored = pd.DataFrame({"timestamp": times, "p_pos": [0.1, 0.9, 0.8, 0.1, 0.7, 0.9, 0.8, 0.9]})
    timeline = negative_timeline(scored, 0.6, min_tweets=5)
    fig = figures.timeline_figure(timeline, 0.6, min_tweets=5)
    line, faded = fig.data[0], fig.data[1]
    assert list(line.y) == pytest.approx([100 / 6])  # only the hour with 6 tweets is on the line
    assert sorted(faded.y) == [0, 100] and faded.marker.opacity < 0.5  # 1 of 1 and 0 of 1: faded, not spikes
