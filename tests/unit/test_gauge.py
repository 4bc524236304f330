"""The gauge (core.evaluation.gauge, core.evaluation.share) on small labelled, timed, grouped files made here."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.evaluation import gauge, share
from tests.support.gauge_data import SHARES, BiasedBinaryRun, make_gauge_csv, settings


@pytest.fixture
def gauge_csv(tmp_path):
    return make_gauge_csv(tmp_path / "airline.csv", SHARES)


def test_reads_three_way_labels_day_first_times_and_groups(gauge_csv):
    data = gauge.read_gauge_file(gauge_csv, settings())
    assert data.columns == {"text": "text", "label": "airline_sentiment", "time": "tweet_created", "group": "airline"}
    assert len(data.frame) == 360 and data.report["malformed"] == 0
    assert sorted(data.frame["time"].dt.strftime("%Y-%m-%d").unique()) == ["2015-02-17", "2015-02-18", "2015-02-19"]
    codes = gauge.label_codes(pd.Series(["Negative", "neutral", "4", "0", "2", "", "maybe"]))
    assert codes.iloc[:5].tolist() == [0, 1, 2, 0, 1] and codes.iloc[5:].isna().all()


def test_rows_without_label_or_time_are_counted_with_their_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "text,sentiment,time\nawful delay,negative,2015-02-17 10:00\nboarding,unsure,2015-02-17 10:05\n"
        "great crew,positive,not a date\nlost my bag,negative,2015-02-17 11:00\n"
    )
    data = gauge.read_gauge_file(path, gauge.GaugeSettings())
    assert data.report["kept"] == 2 and data.report["no_label"] == 1 and data.report["no_time"] == 1
    assert data.report["examples"] == ["line 3: no three-way label", "line 4: no readable time"]


def test_estimate_share_interval_and_probability_over_the_threshold():
    sure = share.estimate_share([1.0] * 30 + [0.0] * 20, threshold=0.6)
    assert sure.share == pytest.approx(0.6) and sure.low == sure.high == pytest.approx(0.6) and sure.p_over == 1
    unsure = share.estimate_share([0.5] * 100, threshold=0.6)
    assert unsure.low < 0.5 < unsure.high and 0 < unsure.p_over < 0.5
    wider = share.estimate_share([0.5] * 100, threshold=0.6, model_sd=0.05)
    assert wider.high - wider.low > unsure.high - unsure.low
    assert np.isnan(share.estimate_share([np.nan], threshold=0.6).share)


def test_bad_settings_are_one_sentence(gauge_csv):
    data = gauge.read_gauge_file(gauge_csv, settings())
    proba = BiasedBinaryRun().predict_class_proba(data.frame["text"])
    with pytest.raises(gauge.GaugeError, match="not a fixed pandas frequency"):
        gauge.estimate(data, proba, settings(window="1M"))
    with pytest.raises(gauge.GaugeError, match="leave no tweet"):
        gauge.estimate(data, proba, settings(labels=1000))
    with pytest.raises(gauge.GaugeError, match="no column named 'brand'"):
        gauge.read_gauge_file(gauge_csv, settings(group_column="brand"))


def test_gauge_command_lines_that_cannot_work_are_one_line(capsys):
    from core.commands import evaluate

    for argv in (
        ["--run", "r", "--official", "--gauge"],
        ["--run", "r", "--data", "x.csv", "--gauge", "--time-split", "3", "--random-split", "3"],
    ):
        with pytest.raises(SystemExit) as exit_:
            evaluate.main(argv)
        err = capsys.readouterr().err
        assert exit_.value.code == 2 and len(err.strip().splitlines()) == 1 and err.startswith("error: "), err
