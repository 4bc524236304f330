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


def test_label_these_next_gives_every_group_its_share_of_uncertain_and_varied_tweets():
    from core.analysis.labelling import gauge_suggestions, group_quotas

    assert group_quotas(pd.Series(["a"] * 90 + ["b"] * 9 + ["c"]), 10) == {"a": 8, "b": 1, "c": 1}
    rng = np.random.default_rng(0)
    texts = [f"{w} {i}" for i, w in enumerate(rng.choice(["delay", "bag", "crew", "gate", "wifi"], 300))]
    frame = pd.DataFrame({"group": ["a"] * 200 + ["b"] * 100, "text": texts, "p_negative": rng.uniform(0, 1, 300)})
    frame.loc[frame.index[:5], "p_negative"] = 0.5  # five sure-to-be-asked tweets of group a, all alike
    frame.loc[frame.index[:5], "text"] = "delay delay"
    picked = gauge_suggestions(frame, n=9)
    assert picked["group"].value_counts().to_dict() == {"a": 6, "b": 3}
    assert picked["uncertainty"].min() > 0.2  # among the uncertain ones (p (1 - p) of 0.5 is 0.25)
    assert (picked["text"] == "delay delay").sum() == 1  # diversity: one of the five alike


def test_an_older_store_gains_the_interval_columns_and_its_alerts_still_read(tmp_path):
    import sqlite3

    from core.monitor import alerts
    from core.monitor.channels import describe
    from core.monitor.store import Store

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:  # the alerts table as an older version made it (no interval columns)
        db.execute(
            "CREATE TABLE alerts (id INTEGER PRIMARY KEY, grp TEXT NOT NULL, rule TEXT NOT NULL, group_column TEXT "
            "NOT NULL DEFAULT '', window_start FLOAT NOT NULL, window_end FLOAT NOT NULL, share FLOAT, volume INTEGER "
            "NOT NULL, negative INTEGER NOT NULL, threshold FLOAT, min_volume INTEGER, trailing_median FLOAT, "
            "created_at FLOAT NOT NULL, closed_at FLOAT, UNIQUE (grp, rule, window_start))"
        )
        db.execute(
            "INSERT INTO alerts VALUES (1, 'A', 'negative share', 'airline', 0, 900, 0.7, 20, 14, 0.6, 5, "
            "NULL, 1, NULL)"
        )
    reader = Store(f"sqlite:///{path}", readonly=True)
    old = alerts.alerts(reader)[0]
    reader.close()
    assert old["share_low"] is None and "interval" not in describe(old) and "70% negative" in describe(old)
    store = Store(f"sqlite:///{path}")
    store.query("UPDATE alerts SET share_low=0.55, share_high=0.84, p_over=0.86")
    upgraded = alerts.alerts(store)[0]
    assert "70% negative (estimate; 90 % interval 55%–84%, P(over 60%) 0.86) (14 of 20 tweets called" in describe(
        upgraded
    )


def test_the_forward_term_sees_a_drift_the_labels_hold():
    """Labels whose negative words change meaning halfway: a fit on the early blocks misjudges the later ones, and
    the forward term says by how much; on stable labels it stays near 0."""
    rng = np.random.default_rng(0)
    n = 400
    x = rng.normal(size=(n, 1))
    stable = np.where(x[:, 0] > 0, 0, 2)
    drifting = np.where(np.arange(n) < n // 2, stable, 2 - stable)
    groups = np.array(["a"] * n)
    calm, blocks = share.forward_sd(x, stable, groups, C=10.0)
    shifted, _ = share.forward_sd(x, drifting, groups, C=10.0)
    assert blocks == 3 and calm < 0.05 < shifted
