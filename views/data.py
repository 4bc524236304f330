"""Data: explore the Sentiment140 source the dashboard trains on."""

from __future__ import annotations

import streamlit as st

from core.analysis import data_explorer as dx
from core.data.loading import DataError, DataReport
from views.components import figures
from views.components import formatting as fmt
from views.components.data_sources import add_data_panel, announce_added_data, source_picker

TOP_USERS = dx.TOP_USERS
LENGTH_BINS = dx.LENGTH_BINS
DISTINCTIVE = "most distinctive"


# The statistics, not the tweets: core.analysis.data_explorer computes them once per data fingerprint and keeps
# them on disk, so a restarted server reads a few small files; this cache only spares the reruns that re-read.
@st.cache_resource(show_spinner="Reading the tweets…", max_entries=4)
def explore(source: str, mtime: float, size: int) -> dx.DataStats:
    return dx.data_stats(source)


def pick_source():
    """The source to explore (None when there is none yet), with the panel that adds one."""
    source = source_picker()
    with st.expander("Add data: upload a CSV or download the official set", expanded=source is None):
        add_data_panel("data-page")
    if source is None:
        st.info("No data yet: upload a CSV of labelled tweets or download the official Sentiment140 set above.")
    return source


def headline(report: DataReport) -> None:
    cols = st.columns(4)
    cols[0].metric("Tweets kept", f"{report.rows_kept:,}", help=report.summary())
    cols[1].metric("Rows read", f"{report.rows_read:,}")
    cols[2].metric("Format", report.format, help=f"encoding: {report.encoding}")
    removed = report.rows_read - report.rows_kept
    cols[3].metric("Rows removed", f"{removed:,}", help="malformed, empty, neutral, duplicates and conflicting labels")


def balance_tab(stats: dx.DataStats) -> None:
    balance = stats.tables["balance"]
    left, right = st.columns([2, 1])
    left.plotly_chart(figures.class_balance_bars(balance))
    right.dataframe(balance, hide_index=True, column_config={"share (%)": fmt.percent()})


def quality_tab(report: DataReport) -> None:
    st.markdown(
        "Loading keeps one copy of each (text, label) pair, and removes every text that appears with "
        "**both** labels: the same words cannot be both negative and positive, so such rows only add noise."
    )
    st.dataframe(dx.cleaning_table(report), hide_index=True, column_config={"share of rows read (%)": fmt.percent(3)})
    if report.malformed_examples:
        with st.expander(f"Malformed rows ({report.malformed_rows:,}); first examples"):
            st.write("\n".join(f"- {line}" for line in report.malformed_examples))


def users_tab(stats: dx.DataStats) -> None:
    if stats.user_summary is None:
        st.info(
            "This source has no user column, so tweets per user cannot be counted. The official 6-column "
            "Sentiment140 format has one: download it under **Add data**, then pick it above."
        )
        return
    summary = stats.user_summary
    for col, (name, value) in zip(st.columns(len(summary)), summary.items()):
        col.metric(name, f"{value:,.2f}" if isinstance(value, float) else f"{value:,}")
    st.plotly_chart(figures.tweets_per_user_bars(stats.tables["per_user"]))
    st.plotly_chart(figures.top_users_bars(stats.tables["top_users"], TOP_USERS))


def lengths_tab(stats: dx.DataStats) -> None:
    st.dataframe(stats.tables["length_summary"], hide_index=True)
    for column, width in LENGTH_BINS.items():
        st.plotly_chart(figures.length_histogram(stats.tables[f"hist_{column}"], column, width))


def tokens_tab(stats: dx.DataStats) -> None:
    mode = st.radio(
        "Rank tokens by",
        ["most frequent", DISTINCTIVE],
        horizontal=True,
        help="Distinctive: z-score of the log-odds ratio between classes (frequent and lopsided).",
    )
    n = st.slider("Tokens per class", 10, 50, 20, step=5)
    top = dx.top_tokens(stats.tables["token_counts"], n, distinctive=mode == DISTINCTIVE)
    metric = "z" if mode == DISTINCTIVE else "count"
    for col, name in zip(st.columns(2), ("negative", "positive")):
        col.plotly_chart(figures.top_token_bars(top[top["class"] == name], name, metric, n))
    note = f" (on a stratified sample of {dx.TOKEN_SAMPLE:,} tweets)" if stats.tweets > dx.TOKEN_SAMPLE else ""
    st.caption("Lower-cased; links, @mentions and English stop words left out, negations kept" + note + ".")


def main() -> None:
    st.title("Data")
    announce_added_data()
    source = pick_source()
    if source is None:
        return
    stat = source.path.stat()
    try:
        stats = explore(source.key, stat.st_mtime, stat.st_size)
    except DataError as exc:
        st.error(f"This source cannot be used: {exc}")
        return
    headline(stats.report)
    tabs = st.tabs(["Class balance", "Duplicates & conflicts", "Users", "Lengths", "Top tokens"])
    with tabs[0]:
        balance_tab(stats)
    with tabs[1]:
        quality_tab(stats.report)
    with tabs[2]:
        users_tab(stats)
    with tabs[3]:
        lengths_tab(stats)
    with tabs[4]:
        tokens_tab(stats)


main()
