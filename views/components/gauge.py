"""The gauge on a page (Compare, the monitor): how far runs' negative share was from the truth on labelled files
(`python -m core.evaluate --gauge`), as an error table and the estimated against the true share over time."""

from __future__ import annotations

import streamlit as st

from core.analysis import compare as cmp
from views.components import figures
from views.components import formatting as fmt


def gauge_section(runs: list, key: str, title: str = "Gauge: the negative share against the truth") -> None:
    """The error table of the runs' gauge evaluations, then one of them over time (nothing without any)."""
    table = cmp.gauge_table(runs)
    if table.empty:
        return
    st.subheader(title)
    st.dataframe(table.drop(columns="threshold"), hide_index=True, column_config={"coverage (%)": fmt.percent()})
    st.caption(
        "Per group and time window of a labelled file: the true negative share (neutral tweets included) against "
        "the estimate and its 90 % interval. Alert recall and precision are at the monitor's threshold "
        "(`python -m core.evaluate --run RUN --data FILE --gauge`)."
    )
    choices = {f"{row['run']} · {row['gauge file']}": i for i, row in table.iterrows()}
    chosen = st.selectbox("Gauge over time", list(choices), key=key)
    row = table.loc[choices[chosen]]
    run = next(r for r in runs if cmp.run_label(r) == row["run"])
    windows = cmp.gauge_windows(run, row["gauge file"])
    if windows is not None and len(windows):
        windows = windows.assign(group=windows["group"].astype(str))
        groups = sorted(windows["group"].unique())
        st.plotly_chart(figures.gauge_figure(windows, groups, row["threshold"]), key=f"{key}_chart")
