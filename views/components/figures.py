"""Every plotly figure of the dashboard, built from the tables core/ computes (one function per chart)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.analysis.resume_table import MEASURED, STUDY_SOURCE
from core.analysis.timeline import Timeline

# The Air Paradis theme (.streamlit/config.toml): sky blue for positive, warm orange for negative and alerts.
CLASS_COLORS = {"negative": "#F08A24", "positive": "#1F8FE5"}
REFERENCE_GREY = "#7A8CA5"
ALERT_ORANGE = "#F28C28"
HORIZONTAL_LEGEND = {"orientation": "h", "y": -0.25}
# Above the plot area, not over it: a share of 100 % is drawn at the top edge, where a legend would hide it.
TOP_LEGEND = {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0}


def wrapped_run_title(label: str) -> str:
    """A run label ("approach · run id") on two lines, so a narrow chart shows it whole."""
    return "<br>".join(label.rsplit(" · ", 1))


def short_run_label(label: str) -> str:
    """The run id of a run label ("approach · run id"), for axes too narrow for the whole label."""
    return label.rsplit(" · ", 1)[-1]


# ------------------------------------------------------------------ Overview


def accuracy_dots(table: pd.DataFrame):
    """Test accuracy per run as dots on an axis that spans the runs' accuracies (not 0-100 %, where 80.8 % and
    83.4 % would look the same), best at the top (table: core.analysis.compare.overview_table, scored rows)."""
    ranked = table.sort_values("accuracy (%)").assign(label=table["approach"] + " · " + table["run"])
    low, high = accuracy_range(ranked["accuracy (%)"])
    fig = go.Figure(
        go.Scatter(
            x=ranked["accuracy (%)"],
            y=ranked["label"],
            mode="markers+text",
            marker={"size": 14, "color": CLASS_COLORS["positive"]},
            text=ranked["accuracy (%)"].map("{:.2f} %".format),
            textposition="middle right",
            cliponaxis=False,
            hovertemplate="%{y}: %{x:.2f} %<extra></extra>",
        )
    )
    fig.update_layout(
        title="Test accuracy per run",
        xaxis={"title": "test accuracy (%)", "range": [low, high], "ticksuffix": " %"},
        yaxis_title=None,
        height=140 + 45 * len(ranked),
        margin={"l": 10, "r": 40, "t": 40, "b": 10},
    )
    return fig


def accuracy_range(accuracies: pd.Series) -> tuple[float, float]:
    """An axis from a little below the worst to a little above the best accuracy (at least 10 points wide, within
    0-100), so a few points' difference shows."""
    low, high = float(accuracies.min()), float(accuracies.max())
    pad = max(2.0, (10 - (high - low)) / 2)
    low, high = max(0.0, float(np.floor(low - pad))), min(100.0, float(np.ceil(high + pad)))
    return min(low, max(0.0, high - 10)), max(high, min(100.0, low + 10))


# ------------------------------------------------------------------ Data


def class_balance_bars(balance: pd.DataFrame):
    fig = px.bar(
        balance,
        x="class",
        y="tweets",
        color="class",
        color_discrete_map=CLASS_COLORS,
        text=balance["share (%)"].map("{:.1f} %".format),
        title="Tweets per class",
    )
    fig.update_layout(showlegend=False, yaxis_title="tweets")
    return fig


def tweets_per_user_bars(per_user: pd.DataFrame):
    return px.bar(
        per_user, x="tweets per user", y="users", log_y=True, title="How many users wrote k tweets (log scale)"
    )


def top_users_bars(top: pd.DataFrame, n: int):
    fig = px.bar(
        top,
        x=["negative", "positive"],
        y="user",
        orientation="h",
        color_discrete_map=CLASS_COLORS,
        title=f"The {n} most prolific users (tweets per class)",
    )
    fig.update_layout(yaxis={"categoryorder": "total ascending"}, xaxis_title="tweets", legend_title=None, height=600)
    return fig


def length_histogram(hist: pd.DataFrame, column: str, bin_width: int):
    """Share of each class's tweets per length bin (core.analysis.data_explorer.length_histogram)."""
    fig = px.bar(
        hist,
        x=column,
        y="share of class (%)",
        color="class",
        barmode="overlay",
        opacity=0.65,
        color_discrete_map=CLASS_COLORS,
        title=f"Tweet length in {column}, per class",
        hover_data=["tweets"],
    )
    bins = f", bins of {bin_width}" if bin_width > 1 else ""
    fig.update_layout(
        xaxis_title=f"length ({column}{bins})", yaxis_title="share of the class's tweets (%)", legend_title=None
    )
    return fig


def top_token_bars(tokens: pd.DataFrame, class_name: str, metric: str, n: int):
    """One class's n top tokens (core.analysis.data_explorer.top_tokens), by `metric`: 'count' or 'z'."""
    fig = px.bar(
        tokens,
        x=metric,
        y="token",
        orientation="h",
        color_discrete_sequence=[CLASS_COLORS[class_name]],
        title=f"{class_name.capitalize()} tweets",
        hover_data=["count", "z"],
    )
    fig.update_layout(
        yaxis={"categoryorder": "total ascending"},
        height=150 + 22 * n,
        xaxis_title="occurrences" if metric == "count" else "z-score (log-odds)",
    )
    return fig


# ------------------------------------------------------------------ Compare


def confusion_heatmap(matrix: pd.DataFrame, title: str, normalised: bool):
    fig = px.imshow(
        matrix,
        text_auto=".1f" if normalised else "d",
        color_continuous_scale="Blues",
        zmin=0,
        zmax=100 if normalised else None,
        aspect="equal",
        labels={"color": "% of true class" if normalised else "tweets"},
    )
    fig.update_layout(
        title=wrapped_run_title(title),
        title_font_size=13,
        coloraxis_showscale=False,
        height=360,
        margin={"t": 70, "b": 10, "l": 10, "r": 10},
    )
    return fig


def roc_curves(points: pd.DataFrame):
    """ROC curves of core.analysis.compare.curve_points(runs, 'roc'), with the chance diagonal."""
    fig = px.line(
        points,
        x="fpr",
        y="tpr",
        color="run",
        title="ROC curve",
        labels={"fpr": "false positive rate", "tpr": "true positive rate"},
    )
    fig.add_trace(
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": REFERENCE_GREY}, name="chance")
    )
    fig.update_layout(legend=HORIZONTAL_LEGEND, legend_title=None, height=460)
    return fig


def precision_recall_curves(points: pd.DataFrame):
    fig = px.line(points, x="recall", y="precision", color="run", title="Precision-recall curve (positive class)")
    fig.update_layout(legend=HORIZONTAL_LEGEND, legend_title=None, height=460)
    return fig


def learning_curves(curves: pd.DataFrame):
    """Loss and accuracy per epoch (core.analysis.compare.learning_curves): train solid, validation dashed."""
    fig = px.line(
        curves,
        x="epoch",
        y="value",
        color="run",
        line_dash="split",
        facet_col="metric",
        markers=True,
        title="Loss and accuracy per epoch (solid: train, dashed: validation)",
    )
    fig.update_yaxes(matches=None, showticklabels=True)
    fig.update_layout(legend={"orientation": "h", "y": -0.3}, legend_title=None, height=440)
    return fig


# ------------------------------------------------------------------ Résumé


def accuracy_cost_figure(
    table: pd.DataFrame,
    cost_column: str = "inference cost per 1,000 tweets (USD)",
    accuracy_title: str = "test accuracy (%)",
):
    """Measured runs as points (accuracy against cost); the study's figures as labelled horizontal lines. One
    colour per approach, or per run ("approach · run") where two runs share an approach's name."""
    measured = table[(table["source"] == MEASURED) & table[cost_column].notna() & table["accuracy (%)"].notna()]
    if measured["approach"].duplicated().any():
        measured = measured.assign(approach=measured["approach"] + " · " + measured["run"].astype(str))
    fig = px.scatter(
        measured,
        x=cost_column,
        y="accuracy (%)",
        color="approach",
        hover_name="run",
        hover_data={
            "macro F1 (%)": ":.2f",
            "batched throughput (tweets/s)": ":,.0f",
            "training time (s)": ":.1f",
            cost_column: ":.6f",
        },
        log_x=(log_x := bool(len(measured)) and measured[cost_column].gt(0).all()),
    )
    fig.update_traces(marker={"size": 13, "line": {"width": 1, "color": "#0B1F3A"}})
    for _, row in table[table["source"] == STUDY_SOURCE].iterrows():
        fig.add_hline(
            y=row["accuracy (%)"],
            line={"dash": "dot", "color": REFERENCE_GREY},
            annotation_text=f"{row['approach']}: {row['accuracy (%)']:.0f} % (not measured here)",
            annotation_position="bottom right",
            annotation_font_size=11,
        )
    fig.update_layout(
        height=420,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend_title=None,
        xaxis_title=cost_column,
        yaxis_title=accuracy_title,
    )
    if log_x:  # a few labelled dollar amounts, not plotly's "4 5 6 … $10^-5 2 3"
        values, labels = dollar_ticks(measured[cost_column])
        fig.update_xaxes(tickvals=values, ticktext=labels, minor={"showgrid": False})
    else:
        fig.update_xaxes(tickprefix="$", tickformat=",.2~f")
    return fig


def dollar_ticks(costs: pd.Series) -> tuple[list[float], list[str]]:
    """Tick values for a log axis of dollar amounts: 1, 2 and 5 in each power of ten the costs span (only the
    powers of ten past three decades), written as plain amounts ("$0.00002")."""
    low, high = np.floor(np.log10(costs.min())), np.ceil(np.log10(costs.max()))
    high = max(high, low + 1)
    steps = (1,) if high - low > 3 else (1, 2, 5)
    values = [m * 10.0**e for e in range(int(low), int(high) + 1) for m in steps if m * 10.0**e <= 10**high]
    return values, [dollar_label(v) for v in values]


def dollar_label(value: float) -> str:
    decimals = max(0, -int(np.floor(np.log10(value))))
    return f"${value:,.{decimals}f}"


# ------------------------------------------------------------------ Monitor


def timeline_figure(timeline: Timeline, threshold: float, min_tweets: int = 1):
    """Negative share per bucket, the alert threshold line, alert buckets and crossings highlighted. A bucket with
    fewer than `min_tweets` tweets says little (1 of 1 is 100 %): it is a faded dot off the line, never a spike."""
    b = timeline.buckets
    x = b["start"] if timeline.by == "time" else (b["start"] + b["end"]) / 2
    enough = b["tweets"] >= min_tweets
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=x[enough],
            y=b.loc[enough, "share"] * 100,
            mode="lines+markers",
            name="negative share",
            line={"color": "#4FA3E0", "width": 2},
            customdata=np.stack([b.loc[enough, "tweets"], b.loc[enough, "negative"]], axis=-1),
            hovertemplate="%{y:.1f} % negative<br>%{customdata[1]} of %{customdata[0]} tweets<extra></extra>",
        )
    )
    few = b[~enough & (b["tweets"] > 0)]
    if len(few):
        fig.add_trace(_few_tweets_trace(x[few.index], few, "#4FA3E0", f"fewer than {min_tweets} tweets (faded)"))
    alerts = b[b["alert"]]
    if len(alerts):
        fig.add_trace(
            go.Scatter(
                x=x[b["alert"]],
                y=alerts["share"] * 100,
                mode="markers",
                name="above threshold",
                cliponaxis=False,  # a bucket at 100 % drawn whole
                marker={"color": ALERT_ORANGE, "size": 11, "symbol": "diamond"},
                hovertemplate="%{y:.1f} % negative: alert<extra></extra>",
            )
        )
    for start in timeline.crossings["start"]:  # where each alert episode begins
        fig.add_vline(x=start, line={"color": ALERT_ORANGE, "dash": "dot", "width": 1})
    fig.add_hline(
        y=threshold * 100,
        line={"color": "#D9534F", "dash": "dash"},
        annotation_text=f"alert threshold {threshold:.0%}",
        annotation_position="top left",
    )
    fig.update_layout(
        yaxis={"title": "negative tweets (%)", "range": [0, 100]},
        xaxis={"title": "time (UTC)" if timeline.by == "time" else "position in the file (row)"},
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        height=380,
        legend=TOP_LEGEND,
    )
    return fig


# ------------------------------------------------------------------ Compare: behavioural tests and calibration


def behaviour_heatmap(table: pd.DataFrame, runs: list[str]):
    """Failure rate (%) per behavioural test (rows) and run (columns): core.evaluation.behaviour.failure_rates."""
    rates = table.set_index(table["type"] + " · " + table["test"])[runs]
    rates.columns = [short_run_label(run) for run in runs]  # the whole labels head the table below
    fig = px.imshow(
        rates.astype(float),
        text_auto=".0f",
        color_continuous_scale=[[0, "#F4F8FB"], [0.5, "#F7C08A"], [1, "#D9534F"]],
        zmin=0,
        zmax=100,
        aspect="auto",
        labels={"color": "failure rate (%)", "x": "run", "y": "test"},
    )
    fig.update_layout(
        title="Behavioural tests: failure rate (%) per test and run",
        height=180 + 26 * len(rates),
        margin={"t": 90, "b": 10, "l": 10, "r": 10},
        xaxis={"side": "top", "title": None, "tickangle": 0},
        yaxis_title=None,
    )
    return fig


def reliability_diagram(points: pd.DataFrame, set_name: str):
    """Observed positive rate against mean P(positive) per bin and run (core.evaluation.calibration.
    reliability_points), marker size by tweets in the bin, with the diagonal of a calibrated model."""
    fig = px.scatter(
        points,
        x="mean predicted",
        y="observed positive rate",
        color="run",
        size="count",
        size_max=16,
        hover_data={"count": ":,", "lower": ":.1f", "upper": ":.1f"},
        title=f"Reliability diagram ({set_name})",
    )
    for trace in fig.data:  # join each run's bins with a line, markers kept
        trace.update(mode="lines+markers")
    fig.add_trace(
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": REFERENCE_GREY}, name="calibrated")
    )
    fig.update_layout(
        xaxis={"title": "mean predicted P(positive)", "range": [0, 1]},
        yaxis={"title": "observed share of positive tweets", "range": [0, 1]},
        legend=HORIZONTAL_LEGEND,
        legend_title=None,
        height=460,
    )
    return fig


# ------------------------------------------------------------------ Monitor: split by group


GROUP_COLORS = px.colors.qualitative.Plotly  # one per group line (the page shows at most 8)


def _group_color(i: int) -> str:
    return GROUP_COLORS[i % len(GROUP_COLORS)]


def spike_outline(rows: pd.DataFrame) -> list[int]:
    """An orange outline on the bars of the windows where the volume spikes."""
    return (rows["spike_alert"].astype(int) * 3).tolist()


def _few_tweets_trace(x, rows: pd.DataFrame, color: str, name: str, showlegend: bool = True) -> go.Scatter:
    """The buckets with too few tweets to read: small faded dots, apart from the line (`rows`: tweets or volume,
    negative, share)."""
    volume = rows["tweets"] if "tweets" in rows else rows["volume"]
    return go.Scatter(
        x=x,
        y=rows["share"] * 100,
        mode="markers",
        name=name,
        showlegend=showlegend,
        marker={"color": color, "size": 6, "opacity": 0.25},
        customdata=np.stack([volume, rows["negative"]], axis=-1),
        hovertemplate="%{customdata[1]} of %{customdata[0]} tweets: too few to read<extra></extra>",
    )


SMALL_MULTIPLE_ROW_PX = 190


def group_share_figure(windows: pd.DataFrame, groups: list[str], bucket_label: str):
    """Negative share per window, one small chart per group (core.monitor.groups.breaches rows) on the same axes,
    two a row: the share line over the windows with the group's minimum tweets, the windows with fewer as faded
    dots, the group's threshold dotted and the windows over it marked."""
    cols = 2 if len(groups) > 1 else 1
    rows = max(1, -(-len(groups) // cols))
    fig = make_subplots(
        rows=rows,
        cols=cols,
        shared_xaxes=True,
        shared_yaxes=True,
        subplot_titles=[str(g) for g in groups],
        vertical_spacing=min(0.12, 0.5 / rows),
        horizontal_spacing=0.05,
    )
    for i, group in enumerate(groups):
        for trace in _group_share_traces(windows[windows["group"] == group], str(group)):
            fig.add_trace(trace, row=i // cols + 1, col=i % cols + 1)
    for name, style in GROUP_LEGEND.items():  # the legend once, not once per group
        fig.add_trace(go.Scatter(x=[None], y=[None], name=name, **style), row=1, col=1)
    fig.update_yaxes(range=[0, 100], ticksuffix=" %", nticks=3)
    fig.update_yaxes(title_text=f"negative per {bucket_label}", col=1)
    fig.update_layout(
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        height=60 + SMALL_MULTIPLE_ROW_PX * rows,
        legend=TOP_LEGEND | {"y": 1.0 + 40 / (60 + SMALL_MULTIPLE_ROW_PX * rows)},
    )
    return fig


GROUP_LEGEND = {
    "negative share": {"mode": "lines+markers", "line": {"color": CLASS_COLORS["positive"], "width": 2}},
    "too few tweets (faded)": {"mode": "markers", "marker": {"color": CLASS_COLORS["positive"], "opacity": 0.25}},
    "threshold": {"mode": "lines", "line": {"color": "#D9534F", "dash": "dot", "width": 1}},
    "over the threshold": {"mode": "markers", "marker": {"color": ALERT_ORANGE, "size": 10, "symbol": "diamond"}},
}


def _group_share_traces(rows: pd.DataFrame, name: str) -> list[go.Scatter]:
    """A group's share line (its windows with enough tweets), its small windows faded, its threshold (dotted) and
    its windows over the threshold (diamonds); styled as GROUP_LEGEND, which names them once for every group."""
    enough = rows[rows["volume"] >= rows["min_volume"]]
    few = rows[(rows["volume"] < rows["min_volume"]) & (rows["volume"] > 0)]
    hot = rows[rows["share_alert"]]
    share = GROUP_LEGEND["negative share"] | {"marker": {"size": 5}}
    if {"share_low", "share_high"} <= set(enough.columns):  # the estimate's 90 % interval (core.monitor.groups)
        share["error_y"] = {
            "type": "data",
            "array": (enough["share_high"] - enough["share"]) * 100,
            "arrayminus": (enough["share"] - enough["share_low"]) * 100,
            "thickness": 1,
            "width": 0,
            "color": "rgba(31, 143, 229, 0.45)",
        }
    return [
        go.Scatter(
            x=enough["start"],
            y=enough["share"] * 100,
            showlegend=False,
            cliponaxis=False,  # a point at 100 % drawn whole
            customdata=np.stack([enough["volume"], enough["negative"]], axis=-1),
            hovertemplate=f"{name}: %{{y:.1f}} % negative<br>%{{customdata[1]}} of %{{customdata[0]}} tweets<extra></extra>",
            **share,
        ),
        _few_tweets_trace(few["start"], few, CLASS_COLORS["positive"], name, showlegend=False),
        go.Scatter(
            x=rows["start"],
            y=rows["threshold"] * 100,
            showlegend=False,
            hovertemplate="threshold %{y:.0f} %<extra></extra>",
            **GROUP_LEGEND["threshold"],
        ),
        go.Scatter(
            x=hot["start"],
            y=hot["share"] * 100,
            showlegend=False,
            cliponaxis=False,
            hovertemplate=f"{name}: %{{y:.1f}} % negative: alert<extra></extra>",
            **GROUP_LEGEND["over the threshold"],
        ),
    ]


def group_volume_figure(windows: pd.DataFrame, groups: list[str], bucket_label: str):
    """Scored tweets per window and group (bars in the same colours as group_share_figure), spikes marked."""
    fig = go.Figure()
    for i, group in enumerate(groups):
        rows = windows[windows["group"] == group]
        fig.add_trace(
            go.Bar(
                x=rows["start"],
                y=rows["volume"],
                name=str(group),
                marker={"color": _group_color(i), "line": {"color": ALERT_ORANGE, "width": spike_outline(rows)}},
                hovertemplate="%{y} tweets",
            )
        )
    fig.update_layout(
        barmode="stack",
        yaxis={"title": f"tweets per {bucket_label}"},
        xaxis={"title": "time (UTC)"},
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        height=280,
        legend={**TOP_LEGEND, "traceorder": "normal"},  # the share chart's order, not the stack's
    )
    return fig


def gauge_figure(windows: pd.DataFrame, groups: list[str], threshold: float):
    """A gauge evaluation (core.analysis.compare.gauge_windows): per group, the true negative share (solid) against
    the estimate (dashed) and its 90 % interval (a band), the alert threshold dotted."""
    fig = go.Figure()
    for i, group in enumerate(groups):
        rows, color = windows[windows["group"] == group].sort_values("window_start"), _group_color(i)
        x = rows["window_start"]
        band = pd.concat([x, x[::-1]])
        fig.add_scatter(
            x=band,
            y=pd.concat([rows["high"], rows["low"][::-1]]) * 100,
            fill="toself",
            fillcolor=color,
            opacity=0.15,
            line={"width": 0},
            name=f"{group}: 90 % interval",
            hoverinfo="skip",
            showlegend=False,
        )
        fig.add_scatter(
            x=x, y=rows["true_share"] * 100, mode="lines+markers", name=f"{group}: true", line={"color": color}
        )
        fig.add_scatter(
            x=x,
            y=rows["estimate"] * 100,
            mode="lines",
            name=f"{group}: estimate",
            line={"color": color, "dash": "dash"},
        )
    fig.add_hline(y=threshold * 100, line={"color": ALERT_ORANGE, "dash": "dot"})
    fig.update_layout(
        yaxis={"title": "negative share (%)", "range": [0, 100]},
        xaxis={"title": "window start (UTC)"},
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        height=420,
        legend=TOP_LEGEND,
    )
    return fig
