"""The monitor page's live feed: what `python -m core.commands.watch` stores, followed in a fragment that refreshes.

The store is opened read-only at its configured place ($BADBUZZ_MONITOR_DB set by the operator, a path or a
database URL, else the data folder's feed.sqlite), never at a path or URL typed into the page."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from core.monitor import feed
from core.monitor.store import StoreError
from views.components import formatting as fmt

LIVE, BATCH = "Live feed", "Upload a batch"
REFRESH_S = 5
START_HINT = (
    "python -m core.commands.watch --run artifacts/runs/logreg-tfidf --http 127.0.0.1:8765 --group-column airline "
    "--webhook $SLACK_OR_TEAMS_WEBHOOK"
)


def choose_view() -> str:
    """'Live feed' or 'Upload a batch'; the live feed first once a watcher has filled the store."""
    has_feed = feed.feed_exists()
    return st.radio("View", [LIVE, BATCH], index=0 if has_feed else 1, horizontal=True, key="monitor_view")


def live_feed() -> None:
    if not feed.feed_exists():
        st.info(
            "No live feed yet. Start the watcher on a folder, a growing file or an HTTP endpoint "
            "(docs/monitor.md), for example:"
        )
        st.code(START_HINT, language="bash")
        return
    _refreshing_feed()


@st.fragment(run_every=REFRESH_S)
def _refreshing_feed() -> None:
    try:
        store = feed.open_feed()
    except StoreError as exc:
        st.error(str(exc))
        return
    try:
        settings = feed.watcher_settings(store)
        _headline(store, settings)
        _timeline(store, settings)
        _alerts(store)
    finally:
        store.close()


def _headline(store, settings: dict) -> None:
    counts = store.counts()
    open_alerts = store.query("SELECT COUNT(*) FROM alerts WHERE closed_at IS NULL")[0][0]
    m = st.columns(4)
    m[0].metric("Tweets stored", f"{counts['tweets']:,}", help="every record received, malformed ones included")
    m[1].metric("Scored", f"{counts['scored']:,}", help=f"{counts['pending']:,} waiting for the model")
    m[2].metric("Malformed", f"{counts['malformed']:,}", help="kept with their line and why")
    m[3].metric("Open alerts", f"{open_alerts}")
    rules = settings["rules"]
    st.caption(
        f"Run **{settings.get('run', '?')}** · source {settings.get('source', '?')} · "
        f"groups by **{settings.get('group_column') or '(none)'}** · window {rules.window} · "
        f"threshold {rules.default.threshold:.0%} from {rules.default.min_volume} tweets · "
        f"refreshed every {REFRESH_S} s"
    )


def _timeline(store, settings: dict) -> None:
    windows = feed.windows(store, settings["rules"], settings.get("group_column"))
    if windows.empty:
        st.info("No scored tweet yet.")
        return
    st.subheader("Negative share and volume per group")
    st.plotly_chart(feed_figure(windows), width="stretch")
    st.caption(
        f"The latest {feed.SHOWN_WINDOWS} windows of {settings['rules'].window} up to the newest scored tweet; "
        "older alerts stay in the table below."
    )


def feed_figure(windows: pd.DataFrame) -> go.Figure:
    """Negative share per group over time (its threshold dashed, alerting windows marked) above the volume."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.65, 0.35], vertical_spacing=0.06)
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
    for i, (group, rows) in enumerate(windows.groupby("group", sort=True)):
        color = palette[i % len(palette)]
        fig.add_scatter(x=rows["start"], y=rows["share"], name=str(group), line={"color": color}, row=1, col=1)
        fig.add_scatter(
            x=rows["start"],
            y=rows["threshold"],
            name=f"{group} threshold",
            showlegend=False,
            line={"color": color, "dash": "dot", "width": 1},
            row=1,
            col=1,
        )
        hot = rows[rows["share_alert"] | rows["spike_alert"]]
        fig.add_scatter(
            x=hot["start"],
            y=hot["share"],
            mode="markers",
            showlegend=False,
            marker={"color": color, "size": 11, "symbol": "circle-open", "line": {"width": 2}},
            row=1,
            col=1,
        )
        fig.add_bar(
            x=rows["start"],
            y=rows["volume"],
            name=f"{group} volume",
            showlegend=False,
            marker_color=color,
            row=2,
            col=1,
        )
    fig.update_yaxes(title_text="negative share", tickformat=".0%", range=[0, 1.05], row=1, col=1)
    fig.update_yaxes(title_text="tweets", row=2, col=1)
    fig.update_layout(barmode="group", height=480, margin={"t": 10, "b": 10}, legend={"orientation": "h"})
    return fig


def _alerts(store) -> None:
    st.subheader("Alerts")
    table = feed.alert_table(store)
    if table.empty:
        st.caption(
            "No alert yet: a group alerts when its negative share reaches its threshold with enough tweets, "
            "or when its volume spikes."
        )
        return
    shown = table.rename(columns={"grp": "group", "window_start": "from", "window_end": "to"})
    st.dataframe(
        shown[["id", "group", "rule", "from", "to", "share", "volume", "threshold", "deliveries", "closed_at"]],
        hide_index=True,
        width="stretch",
        column_config={
            "share": st.column_config.NumberColumn(format="percent"),
            "threshold": st.column_config.NumberColumn(format="percent"),
            **{
                name: st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm") for name in ("from", "to", "closed_at")
            },
        },
    )
    labels = {
        row.id: f"#{row.id} {row.grp} · {row.rule} · {row.window_start:%Y-%m-%d %H:%M}" for row in table.itertuples()
    }
    picked = st.selectbox("Tweets behind the alert", list(labels), format_func=labels.get, key="monitor_alert")
    tweets = feed.tweets_behind(store, picked).rename(columns={"score": "P(positive)"})
    tweets = tweets.dropna(axis="columns", how="all")  # e.g. no tweet_id when the source has none
    st.dataframe(tweets, hide_index=True, width="stretch", column_config={"P(positive)": fmt.probability()})
