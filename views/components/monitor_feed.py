"""The monitor page's live feed: what `python -m core.commands.watch` stores, followed in a fragment that refreshes.

The store is opened read-only at its configured place ($BADBUZZ_MONITOR_DB set by the operator, a path or a
database URL, else the data folder's feed.sqlite), never at a path or URL typed into the page.

Every viewer's fragment reruns every REFRESH_S seconds. What it shows (the counts, the windows, the figure, the
alerts) is read and drawn once per server and per change of the store, then shared by every viewer: a viewer's
refresh only re-sends it."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.monitor import feed
from core.monitor.store import StoreError, configured_target
from core.reasons.clusters import Explanation
from views.components import figures
from views.components import formatting as fmt

LIVE, BATCH = "Live feed", "Upload a batch"
TREND_HELP = "the latest window's share against the pooled share of the windows before it (share points)"
REFRESH_S = 5
CHARTED_GROUPS = 8  # small charts on the feed: the groups with the most tweets
VERSION_TTL_S = 2  # how stale the feed may be beyond REFRESH_S: the store is asked what changed this often at most
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
        target = str(configured_target())
        state = feed_state(target, feed_version(target))
    except StoreError as exc:
        st.error(str(exc))
        return
    _headline(state)
    _timeline(state)
    _reasons(state)
    _alerts(state, target)


# Every viewer's fragment reruns every REFRESH_S seconds: what it shows is read and drawn once per server and per
# change of the store (a few cheap queries tell), then handed to every viewer as it is (never modified).


@dataclass(frozen=True)
class FeedState:
    version: tuple
    counts: dict
    open_alerts: int
    settings: dict
    windows: pd.DataFrame
    figure: tuple[go.Figure, go.Figure] | None  # the share per group (small multiples) and the volume
    alerts: pd.DataFrame
    reasons: pd.DataFrame  # tagged negative tweets per window, group and complaint reason (feed.reason_timeline)


@st.cache_resource(ttl=VERSION_TTL_S, show_spinner=False, max_entries=8)
def feed_version(target: str) -> tuple:
    """What changes when the watcher stores, scores, alerts or delivers (looked at once per server every
    VERSION_TTL_S seconds at most)."""
    store = feed.open_feed(target)
    try:
        counts = store.counts()
        alerts = store.query("SELECT COUNT(*), MAX(id), COUNT(closed_at) FROM alerts")[0]
        deliveries = store.query(
            "SELECT COUNT(*), SUM(attempts), SUM(CASE WHEN status = 'sent' THEN 1 ELSE 0 END) FROM deliveries"
        )[0]
        latest = tuple(store.query("SELECT MAX(id), MAX(scored_at) FROM tweets")[0])
        if feed.has_reasons(store):  # tags and explanations arrive after the scores
            latest += tuple(store.query("SELECT COUNT(complaint) FROM tweets")[0])
            latest += tuple(store.query("SELECT COUNT(explanation) FROM alerts")[0])
        settings = json.dumps(store.setting("watcher", {}), sort_keys=True, default=str)
    finally:
        store.close()
    return (tuple(counts.values()), tuple(alerts), tuple(deliveries), tuple(latest), settings)


@st.cache_resource(show_spinner=False, max_entries=4)
def feed_state(target: str, version: tuple) -> FeedState:
    """Everything the feed shows for one version of the store, figure included."""
    store = feed.open_feed(target)
    try:
        settings = feed.watcher_settings(store)
        open_alerts = store.query("SELECT COUNT(*) FROM alerts WHERE closed_at IS NULL")[0][0]
        windows = feed.windows(store, settings["rules"], settings.get("group_column"))
        figure = None if windows.empty else feed_figure(windows, settings["rules"].window)
        alerts = feed.alert_table(store)
        reasons = pd.DataFrame()
        if feed.has_reasons(store):
            reasons = feed.reason_timeline(store, settings["rules"], settings.get("group_column"))
    finally:
        store.close()
    counts = dict(zip(("tweets", "scored", "pending", "malformed"), version[0]))
    return FeedState(version, counts, open_alerts, settings, windows, figure, alerts, reasons)


@st.cache_resource(show_spinner=False, max_entries=64)
def tweets_behind(target: str, version: tuple, alert_id: int) -> pd.DataFrame:
    store = feed.open_feed(target)
    try:
        tweets = feed.tweets_behind(store, alert_id).rename(columns={"score": "P(positive)"})
    finally:
        store.close()
    return tweets.dropna(axis="columns", how="all")  # e.g. no tweet_id when the source has none


def _headline(state: FeedState) -> None:
    counts, settings = state.counts, state.settings
    m = st.columns(4)
    m[0].metric("Tweets stored", f"{counts['tweets']:,}", help="every record received, malformed ones included")
    m[1].metric("Scored", f"{counts['scored']:,}", help=f"{counts['pending']:,} waiting for the model")
    m[2].metric("Malformed", f"{counts['malformed']:,}", help="kept with their line and why")
    m[3].metric("Open alerts", f"{state.open_alerts}")
    rules = settings["rules"]
    st.caption(
        f"Run **{settings.get('run', '?')}** · source {settings.get('source', '?')} · "
        f"groups by **{settings.get('group_column') or '(none)'}** · window {rules.window} · "
        f"threshold {rules.default.threshold:.0%} from {rules.default.min_volume} tweets · "
        f"refreshed every {REFRESH_S} s"
    )


def _timeline(state: FeedState) -> None:
    if state.figure is None:
        st.info("No scored tweet yet.")
        return
    st.subheader("Negative share and volume per group")
    share, volume = state.figure
    st.plotly_chart(share, width="stretch")
    st.plotly_chart(volume, width="stretch")
    st.caption(
        f"The latest {feed.SHOWN_WINDOWS} windows of {state.settings['rules'].window} up to the newest scored tweet; "
        "older alerts stay in the table below."
    )


def feed_figure(windows: pd.DataFrame, window: str) -> tuple[go.Figure, go.Figure]:
    """The share of the groups with the most tweets (at most CHARTED_GROUPS), one small chart each on the same axes
    (windows under a group's minimum faded, the estimate's interval, the threshold, alerting windows marked), and
    their volume: the batch view's charts."""
    ordered = windows.groupby("group")["volume"].sum().sort_values(ascending=False).index[:CHARTED_GROUPS]
    charted = [str(group) for group in ordered]
    windows = windows.assign(group=windows["group"].astype(str))
    return (
        figures.group_share_figure(windows, charted, window),
        figures.group_volume_figure(windows, charted, window),
    )


def _alerts(state: FeedState, target: str) -> None:
    st.subheader("Alerts")
    table = state.alerts
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
    if "explanation" in table:
        _about(Explanation.parse(table.loc[table["id"] == picked, "explanation"].iloc[0]))
    tweets = tweets_behind(target, state.version, picked)
    st.dataframe(tweets, hide_index=True, width="stretch", column_config={"P(positive)": fmt.probability()})


# ------------------------------------------------------------------ the Overview's summary of the buzz


@st.cache_resource(show_spinner=False, max_entries=4)
def buzz_state(target: str, version: tuple) -> tuple[pd.DataFrame, dict]:
    """The state of the buzz per group (core.monitor.feed.buzz_by_group) and the watcher's settings, read once
    per server and per change of the store."""
    store = feed.open_feed(target)
    try:
        settings = feed.watcher_settings(store)
        windows = feed.windows(store, settings["rules"], settings.get("group_column"))
        buzz = feed.buzz_by_group(windows, feed.open_alerts_per_group(store))
    finally:
        store.close()
    return buzz, settings


def buzz_panel() -> None:
    """What Air Paradis opens the dashboard for: per group, the latest negative share, its trend and the open
    alerts of the continuous monitor; a pointer to start it when no watcher has filled the store."""
    st.subheader("The buzz now")
    if not feed.feed_exists():
        st.info(
            "No monitor is watching yet, so there is no buzz to show. Start the watcher on a folder, a growing file "
            "or an HTTP endpoint (docs/monitor.md), or score a batch of tweets on the **Bad Buzz monitor** page.",
            icon=":material/campaign:",
        )
        st.code(START_HINT, language="bash")
        return
    try:
        target = str(configured_target())
        buzz, settings = buzz_state(target, feed_version(target))
    except StoreError as exc:
        st.error(str(exc))
        return
    if buzz.empty:
        st.info("The monitor's store has no scored tweet yet.")
        return
    _buzz_headline(buzz, settings)
    _buzz_table(buzz, settings["rules"].default.min_volume)


def _buzz_headline(buzz: pd.DataFrame, settings: dict) -> None:
    rules = settings["rules"]
    alerts = int(buzz["open_alerts"].sum())
    hot = buzz.loc[buzz["open_alerts"] > 0, "group"].tolist()
    m = st.columns(3)
    m[0].metric("Open alerts", f"{alerts}", help="alerts whose episode is not over yet (Bad Buzz monitor page)")
    m[1].metric("Groups watched", f"{len(buzz)}", help=f"by {settings.get('group_column') or 'no group column'}")
    m[2].metric("Latest window", f"{buzz['latest'].max():%Y-%m-%d %H:%M}", help=f"windows of {rules.window}, UTC")
    if hot:
        st.error(f"Alert open for {', '.join(hot)}: see the **Bad Buzz monitor** page.", icon=":material/campaign:")


def _buzz_table(buzz: pd.DataFrame, min_volume: int) -> None:
    shown = buzz.assign(share=buzz["share"] * 100, change=buzz["change"] * 100, history=buzz["history"])
    st.dataframe(
        shown[["group", "status", "share", "change", "tweets", "history", "open_alerts"]],
        hide_index=True,
        width="stretch",
        column_config={
            "group": st.column_config.TextColumn("Group", width=150),
            "status": st.column_config.TextColumn("Status", width=95),
            "share": st.column_config.NumberColumn(
                "Negative share", format="%.0f %%", width=110, help="in the latest window (the estimate)"
            ),
            "change": st.column_config.NumberColumn("Change", format="%+.0f points", width=95, help=TREND_HELP),
            "tweets": st.column_config.NumberColumn("Tweets", format="%d", width=70, help="in the latest window"),
            "history": st.column_config.LineChartColumn(
                "Trend", y_min=0, y_max=1, width=200, help="negative share over the windows shown on the monitor"
            ),
            "open_alerts": st.column_config.NumberColumn("Open alerts", format="%d", width=90),
        },
    )
    st.caption(
        f"“few tweets”: the latest window has fewer than the minimum ({min_volume} by default), so its share says "
        "little; the trend line leaves such windows out."
    )


def _reasons(state: FeedState) -> None:
    """The complaint reasons of each group's negative tweets, window by window (watcher started with --reasons)."""
    st.subheader("What the negative tweets are about")
    if state.reasons.empty:
        st.caption(
            "No complaint reason yet: the watcher tags negative tweets when started with --reasons "
            f"(tagging: {state.settings.get('reasons') or 'off'})."
        )
        return
    groups = sorted(state.reasons["group"].unique())
    group = st.selectbox("Group", groups, key="monitor_reason_group") if len(groups) > 1 else groups[0]
    rows = state.reasons[state.reasons["group"] == group]
    st.plotly_chart(reason_figure(rows), width="stretch")
    st.caption(f"Tagged negative tweets per window; reasons by {state.settings.get('reasons') or 'the watcher'}.")


def reason_figure(rows: pd.DataFrame) -> go.Figure:
    """Stacked bars: tagged negative tweets per window, one colour per complaint reason."""
    fig = go.Figure()
    for reason, part in rows.groupby("reason", sort=True):
        fig.add_bar(x=part["start"], y=part["tweets"], name=str(reason))
    fig.update_layout(barmode="stack", height=320, margin={"t": 10, "b": 10}, yaxis_title="negative tweets")
    return fig


def _about(explanation: Explanation | None) -> None:
    """What the alert's window is about: its reasons, what is new, its clusters with representative tweets."""
    if explanation is None:
        st.caption("No explanation for this alert (the watcher explains alerts when started with --reasons).")
        return
    st.markdown(f"**About:** {explanation.summary()}")
    rows = [
        {
            "tweets": c.size,
            "phrases": ", ".join(c.phrases),
            "mostly": f"{c.reason} ({c.reason_share:.0%})" if c.reason else "",
            "representative tweets": " | ".join(c.representatives),
        }
        for c in explanation.clusters
    ]
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.caption(
        f"{explanation.tweets} negative tweets explained, {len(explanation.clusters)} clusters, "
        f"{explanation.unclustered} tweets in none; reasons: {explanation.method or 'unknown'}."
    )
