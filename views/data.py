"""Data: explore the Sentiment140 source the dashboard trains on."""
from __future__ import annotations

import plotly.express as px
import streamlit as st

from core.analysis import data_explorer as dx
from core.data.loading import DataError, load_dataset
from views.components.data_sources import add_data_panel, announce_added_data, source_picker

CLASS_COLORS = {"negative": "#F08A24", "positive": "#1F8FE5"}


# cache_resource, not cache_data: the official set is 1.6 million rows, not worth copying on every rerun.
@st.cache_resource(show_spinner="Reading the tweets…", max_entries=2)
def explore(source: str, mtime: float, size: int) -> dict:
    loaded = load_dataset(source)
    frame = loaded.frame
    lengths = dx.lengths(frame)
    stats = {"frame": frame, "report": loaded.report, "balance": dx.class_balance(frame),
             "length_summary": dx.length_summary(lengths),
             "hist_characters": dx.length_histogram(lengths, "characters", 5),
             "hist_words": dx.length_histogram(lengths, "words", 1)}
    if dx.has_users(frame):
        stats.update(user_summary=dx.user_summary(frame), per_user=dx.tweets_per_user(frame),
                     top_users=dx.top_users(frame, 20))
    return stats


@st.cache_resource(show_spinner="Counting tokens…", max_entries=2)
def token_counts(source: str, mtime: float, size: int):
    return dx.token_counts(explore(source, mtime, size)["frame"])


st.title("Data")
announce_added_data()
source = source_picker()
with st.expander("Add data: upload a CSV or download the official set", expanded=source is None):
    add_data_panel("data-page")
if source is None:
    st.info("No data yet: upload a CSV of labelled tweets or download the official Sentiment140 set above.")
    st.stop()

stat = source.path.stat()
try:
    stats = explore(source.key, stat.st_mtime, stat.st_size)
except DataError as exc:
    st.error(f"This source cannot be used: {exc}")
    st.stop()
frame, report = stats["frame"], stats["report"]

cols = st.columns(4)
cols[0].metric("Tweets kept", f"{report.rows_kept:,}", help=report.summary())
cols[1].metric("Rows read", f"{report.rows_read:,}")
cols[2].metric("Format", report.format, help=f"encoding: {report.encoding}")
removed = report.rows_read - report.rows_kept
cols[3].metric("Rows removed", f"{removed:,}", help="malformed, empty, neutral, duplicates and conflicting labels")

balance_tab, quality_tab, users_tab, length_tab, token_tab = st.tabs(
    ["Class balance", "Duplicates & conflicts", "Users", "Lengths", "Top tokens"])

with balance_tab:
    balance = stats["balance"]
    left, right = st.columns([2, 1])
    fig = px.bar(balance, x="class", y="tweets", color="class", color_discrete_map=CLASS_COLORS,
                 text=balance["share (%)"].map("{:.1f} %".format), title="Tweets per class")
    fig.update_layout(showlegend=False, yaxis_title="tweets")
    left.plotly_chart(fig)
    right.dataframe(balance, hide_index=True,
                    column_config={"share (%)": st.column_config.NumberColumn(format="%.2f %%")})

with quality_tab:
    st.markdown("Loading keeps one copy of each (text, label) pair, and removes every text that appears with "
                "**both** labels: the same words cannot be both negative and positive, so such rows only add noise.")
    st.dataframe(dx.cleaning_table(report), hide_index=True,
                 column_config={"share of rows read (%)": st.column_config.NumberColumn(format="%.3f %%")})
    if report.malformed_examples:
        with st.expander(f"Malformed rows ({report.malformed_rows:,}); first examples"):
            st.write("\n".join(f"- {line}" for line in report.malformed_examples))

with users_tab:
    if "user_summary" not in stats:
        st.info("This source has no user column, so tweets per user cannot be counted. The official 6-column "
                "Sentiment140 format has one: download it under **Add data**, then pick it above.")
    else:
        summary = stats["user_summary"]
        ucols = st.columns(len(summary))
        for col, (name, value) in zip(ucols, summary.items()):
            col.metric(name, f"{value:,.2f}" if isinstance(value, float) else f"{value:,}")
        per_user = stats["per_user"]
        fig = px.bar(per_user, x="tweets per user", y="users", log_y=True,
                     title="How many users wrote k tweets (log scale)")
        st.plotly_chart(fig)
        top = stats["top_users"]
        fig = px.bar(top, x=["negative", "positive"], y="user", orientation="h", color_discrete_map=CLASS_COLORS,
                     title="The 20 most prolific users (tweets per class)")
        fig.update_layout(yaxis={"categoryorder": "total ascending"}, xaxis_title="tweets", legend_title=None,
                          height=600)
        st.plotly_chart(fig)

with length_tab:
    st.dataframe(stats["length_summary"], hide_index=True)
    for column, width, unit in (("characters", 5, "characters"), ("words", 1, "words")):
        hist = stats[f"hist_{column}"]
        fig = px.bar(hist, x=column, y="share of class (%)", color="class", barmode="overlay", opacity=0.65,
                     color_discrete_map=CLASS_COLORS, title=f"Tweet length in {unit}, per class",
                     hover_data=["tweets"])
        fig.update_layout(xaxis_title=f"length ({unit}{', bins of %d' % width if width > 1 else ''})",
                          yaxis_title="share of the class's tweets (%)", legend_title=None)
        st.plotly_chart(fig)

with token_tab:
    mode = st.radio("Rank tokens by", ["most frequent", "most distinctive"], horizontal=True,
                    help="Distinctive: z-score of the log-odds ratio between classes (frequent and lopsided).")
    n = st.slider("Tokens per class", 10, 50, 20, step=5)
    counts = token_counts(source.key, stat.st_mtime, stat.st_size)
    top = dx.top_tokens(counts, n, distinctive=mode == "most distinctive")
    metric = "z" if mode == "most distinctive" else "count"
    tcols = st.columns(2)
    for col, name in zip(tcols, ("negative", "positive")):
        part = top[top["class"] == name]
        fig = px.bar(part, x=metric, y="token", orientation="h", color_discrete_sequence=[CLASS_COLORS[name]],
                     title=f"{name.capitalize()} tweets", hover_data=["count", "z"])
        fig.update_layout(yaxis={"categoryorder": "total ascending"}, height=150 + 22 * n,
                          xaxis_title="occurrences" if metric == "count" else "z-score (log-odds)")
        col.plotly_chart(fig)
    note = f" (on a stratified sample of {dx.TOKEN_SAMPLE:,} tweets)" if len(frame) > dx.TOKEN_SAMPLE else ""
    st.caption("Lower-cased; links, @mentions and English stop words left out, negations kept" + note + ".")
