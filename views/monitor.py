"""Bad Buzz monitor: score a stream of tweets with any model and watch the negative share over time."""

from __future__ import annotations

import hashlib
import io
from dataclasses import replace
from pathlib import Path

import pandas as pd
import streamlit as st

from core.analysis import compare as cmp
from core.analysis.timeline import ALERT_SHARE, Timeline, most_negative, negative_timeline
from core.config import runs_dir
from core.data.spreadsheet import XLSX_MIME
from core.inference.scorers import ModelScorer, ServiceScorer, scorer_for_run
from core.inference.stream import MonitorResult, score_stream, scored_csv, scored_xlsx
from core.inference.stream_input import CsvLayout, MonitorError, inspect_csv, pasted_layout, pasted_tweets
from core.models.base import THRESHOLD
from core.monitor import groups
from core.monitor.rules import GroupRule, Rules, RulesError
from core.reasons.tagger import load_tagger, reason_table
from core.reasons.taxonomy import TaxonomyError
from core.run_kinds import local_kinds
from views.components import corrections, figures, gauge, monitor_feed, robustness, tables
from views.components import formatting as fmt
from views.components.access import is_operator, operator_reason
from views.components.runs import load_runs

NO_TIME = "(none: chart by position in the file)"
PASTED = "pasted tweets"
NO_SPLIT = "(none)"
NEVER = "—"  # a per-group figure that has no value (no crossing)
MOST_NEGATIVE = 20
CHARTED_GROUPS = 8  # lines on the per-group chart: the groups with the most tweets
MAX_GROUPS = 50  # beyond this many values, the smaller groups are counted together as "(other)"
MAX_TAGGED = 1_000  # negative tweets of a batch tagged with a complaint reason (embedding: a few a second here)
THRESHOLD_COLUMN, MIN_COLUMN = "threshold (%)", "min tweets"
SHARE_FORMAT = fmt.percent(1)  # a share shown as 0-100, one decimal everywhere
MINUTE = st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")  # windows start on the minute
SECOND = st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss")


def scoring_runs() -> list[tuple[str, str, str]]:
    """(path, label, kind) of every run that can score, the most accurate first."""
    done = cmp.ranked_by_accuracy([run for run in load_runs() if run.status == "succeeded"])
    return [(str(run.path), fmt.model_choice_label(run), run.kind) for run in done]


@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def run_scorer(path: str, mtime: float) -> ModelScorer:
    return scorer_for_run(path)


@st.cache_data(ttl=60, show_spinner=False)
def cloud_services() -> list[tuple[str, str, bool, str]]:
    """(key, name, configured, reason) per cloud service; empty when the Azure part is absent."""
    try:
        from core.azure.services import list_services

        services = list_services()
    except Exception:  # no Azure module or SDK here: the cloud column is simply not offered
        return []
    out = []
    for service in services:
        try:
            configured, reason = service.status()
        except Exception as exc:
            configured, reason = False, f"{type(exc).__name__}: {exc}"
        out.append((service.key, service.name, configured, reason))
    return out


def cloud_scorer(key: str) -> ServiceScorer:
    from core.azure.services import get_service

    return ServiceScorer(get_service(key))


def read_input() -> tuple[bytes | None, str]:
    upload_tab, paste_tab = st.tabs(["Upload a CSV", "Paste tweets"])
    with upload_tab:
        upload = st.file_uploader(
            "CSV with a text column and, optionally, a timestamp column",
            type=["csv", "txt"],
            help="Columns named text/tweet/content and timestamp/date/created_at are found automatically; "
            "Sentiment140's headerless 6-column files work too. Large files are read in chunks.",
        )
    with paste_tab:
        pasted = st.text_area(
            "Tweets, one per line",
            height=180,
            placeholder="@AirParadis my bag is lost again\nGreat crew on the Paris flight!",
        )
    if upload is not None:
        return upload.getvalue(), upload.name
    if pasted.strip():
        return pasted_tweets(pasted), PASTED
    return None, ""


def choose_model() -> tuple[str, str] | None:
    """('run', path) or ('cloud', key), or None when nothing can score."""
    runs = scoring_runs()
    operator = is_operator()
    services = cloud_services() if operator else []  # billed per call: operators only
    # an azure-* evaluation run scores through its paid service: such runs are for operators too
    choices = [("run", path, label) for path, label, kind in runs if operator or kind in local_kinds()]
    choices += [("cloud", key, f"{name} (cloud)") for key, name, ok, _ in services if ok]
    unavailable = [(name, reason) for _, name, ok, reason in services if not ok]
    if not choices:
        for name, reason in unavailable:
            st.caption(f"{name}: not available — {reason}")
        st.warning(
            f"No model to score with: no succeeded run in `{runs_dir()}` and no configured cloud service. "
            "Train one on the **Train** page (logistic regression takes seconds), or run "
            "`python -m trainers.logreg --output artifacts/runs/logreg-tfidf`."
        )
        return None
    picked = st.selectbox(
        "Model",
        choices,
        format_func=lambda c: c[2],
        help="Any finished run, or a configured cloud service (billed per call).",
    )
    if not operator:
        st.caption(f"Cloud services (billed per call): {operator_reason()}")
    if unavailable:
        with st.expander(f"Cloud services not configured ({len(unavailable)})"):
            for name, reason in unavailable:
                st.caption(f"**{name}**: {reason}")
    return picked[0], picked[1]


def score(data: bytes, name: str, layout: CsvLayout, model: tuple[str, str]) -> None:
    bar = st.progress(0.0, text="Scoring…")
    try:
        if model[0] == "run":
            scorer = run_scorer(model[1], (Path(model[1]) / "run.json").stat().st_mtime)
        elif is_operator():  # checked again at the click: the session may have signed out since
            scorer = cloud_scorer(model[1])
        else:
            bar.empty()
            st.error(f"Scoring with a cloud service: {operator_reason()}")
            return
        result = score_stream(
            io.BytesIO(data),
            layout,
            scorer,
            on_progress=lambda done, rows: bar.progress(done, text=f"Scoring… {rows:,} rows read"),
        )
    except MonitorError as exc:
        bar.empty()
        st.error(str(exc))
        return
    except Exception as exc:  # a model or service failure: say it, keep the page
        bar.empty()
        st.error(f"Scoring failed: {type(exc).__name__}: {exc}")
        return
    bar.empty()
    st.session_state["monitor"] = {"result": result, "source": name, "model": model}
    st.toast(f"Scored {result.report.rows:,} rows", icon=":material/check_circle:")


def alert_settings() -> tuple[float, int]:
    """(alert threshold as a share of negative tweets, minimum tweets per bucket)."""
    c1, c2, note = st.columns([1, 1, 2])
    percent = c1.slider(
        "Alert threshold (negative share, %)",
        5,
        95,
        round(ALERT_SHARE * 100),
        step=5,
        help="A time bucket whose share of negative tweets reaches this raises an alert.",
    )
    min_tweets = c2.number_input(
        "Min tweets per bucket",
        min_value=1,
        value=5,
        step=1,
        help="Buckets with fewer tweets never alert (one angry tweet is not a buzz).",
    )
    robustness.threshold_note(note, percent / 100, scored_by())  # the threshold in terms of calibration
    return percent / 100, int(min_tweets)


def headline(result: MonitorResult, source: str, alerts: int, per_group: bool) -> None:
    """The batch in four figures; with groups, the alerts are the per-group table's threshold crossings, summed."""
    scored = result.scored
    n_rated = int(scored["p_pos"].notna().sum())
    negative = result.negative_share()
    m = st.columns(4)
    m[0].metric("Tweets scored", f"{n_rated:,}", help=f"{len(scored):,} rows read from {source}")
    m[1].metric("Negative share", f"{negative:.1%}" if n_rated else "–")
    m[2].metric(
        "Alerts (all groups)" if per_group else "Alerts",
        f"{alerts}",
        help="times a group's share rose over its threshold (the per-group table's crossings, summed)"
        if per_group
        else "times the share rose over the threshold",
    )
    m[3].metric("Cloud cost", f"{result.cost_usd:.4f} USD", help="billed by a cloud service (0 for local models)")


def input_report(result: MonitorResult) -> None:
    """The accounting of the input, opened up when some rows need a look."""
    report = result.report
    if not (report.bad_rows or report.stopped_early or result.failed_scores):
        st.caption(" · ".join(fmt.monitor_lines(result)))
        return
    with st.expander(fmt.attention_title(result.rows_needing_attention), expanded=True, icon=":material/warning:"):
        for line in fmt.monitor_lines(result):  # the same counts as `python -m core.score`
            st.markdown(f"- {line}")
        if report.malformed_samples:
            st.code("\n".join(report.malformed_samples), language="text")


def timeline_section(timeline: Timeline, threshold: float, min_tweets: int, per_group: bool) -> None:
    st.subheader(f"Negative share per {timeline.bucket_label}" + (", all groups together" if per_group else ""))
    if timeline.by == "position":
        st.caption("No timestamps: the chart follows the order of the file.")
    st.plotly_chart(figures.timeline_figure(timeline, threshold, min_tweets), width="stretch")
    if per_group:
        st.caption("The alerts count each group against its own threshold (below); this line is all tweets together.")
    if len(timeline.crossings):
        st.markdown("**Threshold crossed at**")
        shown = timeline.crossings.rename(columns={"start": "from", "end": "to"})
        shown = shown.assign(**{"negative share": shown["share"] * 100})
        st.dataframe(
            shown[["from", "to", "tweets", "negative", "negative share"]],
            hide_index=True,
            column_config={"negative share": SHARE_FORMAT, "from": MINUTE, "to": MINUTE},
        )


def group_section(result: MonitorResult, timeline: Timeline, threshold: float, min_tweets: int) -> int | None:
    """The negative share and volume per value of the chosen column, each group with its own alert settings;
    returns the threshold crossings summed over the groups (None without time windows or settings that work)."""
    tweets = groups.scored_tweets(result.scored)
    values = tweets["group"].nunique()
    tweets = groups.keep_largest_groups(tweets, MAX_GROUPS)
    st.subheader(f"Negative share per {result.group_column}")
    if values > MAX_GROUPS:
        st.caption(f"{values:,} values: the {MAX_GROUPS} with the most tweets are kept, the others are {groups.OTHER}.")
    if not timeline.freq:
        st.caption("No timestamps: pick a timestamp column to follow each group over time; totals per group below.")
        group_table(groups.group_summary(tweets, pd.DataFrame()), timed=False)
        return None
    shown = st.container()  # filled once the rules edited below are known
    rules = group_rules(tweets["group"].value_counts().index.tolist(), timeline.freq, threshold, min_tweets)
    if rules is None:
        return None
    windows = groups.breaches(groups.window_counts(tweets, rules.window_delta), rules)
    summary = groups.group_summary(tweets, windows)
    with shown:
        group_charts(windows, summary["group"].tolist(), timeline.bucket_label)
        group_table(summary, timed=True)
        spike = rules.default
        st.caption(
            f"A window ({timeline.bucket_label}) is over a group's threshold when its negative share reaches it with "
            f"at least the group's minimum tweets; a volume spike is at least {spike.spike_factor:g}× the group's "
            f"median volume over the {rules.history} windows before and at least {spike.spike_min} tweets."
        )
    return int(summary["crossings"].sum())


def group_charts(windows: pd.DataFrame, ordered: list[str], bucket_label: str) -> None:
    """The share and the volume of the groups with the most tweets; the others named below."""
    charted, rest = ordered[:CHARTED_GROUPS], ordered[CHARTED_GROUPS:]
    st.plotly_chart(figures.group_share_figure(windows, charted, bucket_label), width="stretch")
    st.caption(
        "One chart per group, same axes. The line joins the windows with at least the group's minimum tweets (a bar: "
        "the estimate's 90 % interval); a window with fewer is a faded dot, too small to read."
    )
    st.plotly_chart(figures.group_volume_figure(windows, charted, bucket_label), width="stretch")
    if rest:
        st.caption(f"Not charted (fewer tweets, in the table below): {', '.join(rest)}.")


def group_table(summary: pd.DataFrame, timed: bool) -> None:
    shown = summary.rename(
        columns={
            "share": "negative share",
            "over_threshold": "windows over threshold",
            "first_crossing": "first crossing",
            "spikes": "volume spikes",
            "crossings": "alerts (threshold crossings)",
        }
    )
    shown["negative share"] = shown["negative share"] * 100
    if "first crossing" in shown:  # a group that never crossed: a dash, not the table's grey "None"
        shown["first crossing"] = shown["first crossing"].dt.strftime("%Y-%m-%d %H:%M").fillna(NEVER)
    if not timed:
        shown = shown[["group", "tweets", "negative", "negative share"]]
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        column_config={"negative share": SHARE_FORMAT},
    )


def group_rules(names: list[str], window: str, threshold: float, min_tweets: int) -> Rules | None:
    """Each group's threshold and minimum tweets per bucket, edited in a table (defaults: the settings above);
    None, after saying why, when a value cannot work."""
    defaults = pd.DataFrame({"group": names, THRESHOLD_COLUMN: round(threshold * 100), MIN_COLUMN: min_tweets})
    key = "monitor_group_rules_" + hashlib.sha1("\x1f".join(names).encode()).hexdigest()[:12]  # edits stay per file
    with st.expander("Threshold and minimum tweets per group", icon=":material/tune:"):
        edited = st.data_editor(
            defaults,
            key=key,
            hide_index=True,
            disabled=["group"],
            num_rows="fixed",
            width="stretch",
            column_config={
                THRESHOLD_COLUMN: st.column_config.NumberColumn(min_value=1, max_value=100, step=1, format="%d %%"),
                MIN_COLUMN: st.column_config.NumberColumn(min_value=1, step=1),
            },
        )
    default = GroupRule(threshold=threshold, min_volume=min_tweets)
    edited = edited.fillna({THRESHOLD_COLUMN: threshold * 100, MIN_COLUMN: min_tweets})
    per_group = {
        row["group"]: replace(default, threshold=float(row[THRESHOLD_COLUMN]) / 100, min_volume=int(row[MIN_COLUMN]))
        for _, row in edited.iterrows()
    }
    try:
        return Rules(window=window, default=default, groups=per_group)
    except RulesError as exc:
        st.error(f"Per-group settings: {exc}.")
        return None


def most_negative_section(result: MonitorResult) -> None:
    st.subheader("Most negative tweets")
    worst: pd.DataFrame = most_negative(result.scored, MOST_NEGATIVE).rename(columns={"p_pos": "P(positive)"})
    if not result.has_time:
        worst = worst.drop(columns=["timestamp"])
    st.dataframe(
        tables.readable_texts(worst),
        hide_index=True,
        width="stretch",
        column_config={
            "row": st.column_config.NumberColumn("Row", width=60),
            "timestamp": st.column_config.DatetimeColumn("Time", format="YYYY-MM-DD HH:mm:ss", width=150),
            "text": st.column_config.TextColumn("Tweet", width=480),
            "P(positive)": fmt.probability(width=120),
        },
    )
    corrections.mark_tweets(worst.rename(columns={"P(positive)": "p_pos"}), result, scored_by(), key="worst")
    downloads(result)


def downloads(result: MonitorResult) -> None:
    """The scored tweets as a workbook (for a spreadsheet), a spreadsheet-safe CSV and the exact CSV."""
    scored = result.scored
    c1, c2, c3 = st.columns(3)
    c1.download_button(
        "Download for a spreadsheet (.xlsx)",
        scored_xlsx(scored),
        file_name="scored_tweets.xlsx",
        key="scored-xlsx",
        mime=XLSX_MIME,
        icon=":material/table_view:",
    )
    c2.download_button(
        "Download a spreadsheet-safe CSV",
        scored_csv(scored, spreadsheet_safe=True),
        file_name="scored_tweets_for_spreadsheets.csv",
        key="scored-safe-csv",
        mime="text/csv",
        icon=":material/download:",
    )
    c3.download_button(
        "Download the scored CSV",
        scored_csv(scored),
        file_name="scored_tweets.csv",
        key="scored-csv",
        mime="text/csv",
        icon=":material/download:",
    )
    st.caption(fmt.SPREADSHEET_NOTE)


def scored_by() -> tuple[str, str] | None:
    """The model of the result on show: ('run', path) or ('cloud', key); None when unknown."""
    return (st.session_state.get("monitor") or {}).get("model")


def show_result(result: MonitorResult, source: str) -> None:
    st.divider()
    st.subheader(f"{source} — scored by {result.model}")
    threshold, min_tweets = alert_settings()
    timeline = negative_timeline(result.scored, threshold, min_tweets)
    top = st.container()  # the headline, once the groups' alerts are counted below
    input_report(result)
    per_group = bool(result.group_column)
    timeline_section(timeline, threshold, min_tweets, per_group)
    group_alerts = group_section(result, timeline, threshold, min_tweets) if per_group else None
    with top:
        headline(result, source, len(timeline.crossings) if group_alerts is None else group_alerts, per_group)
    reasons_section(result)
    most_negative_section(result)
    corrections.label_next_section(result, scored_by())
    run_gauge_section(scored_by())


def run_gauge_section(model: tuple[str, str] | None) -> None:
    """How far the scoring run's share was from the truth on labelled files, when it was gauged."""
    if not model or model[0] != "run":
        return
    run = next((r for r in load_runs() if str(r.path) == model[1]), None)
    if run is not None:
        gauge.gauge_section([run], key="monitor_gauge", title="How far this run's share was from the truth")


@st.cache_resource(show_spinner="Loading the sentence encoder and the complaint taxonomy…")
def reason_tagger():
    return load_tagger()


def reasons_section(result: MonitorResult) -> None:
    """The batch's negative tweets split by complaint reason (per group when one was chosen): operators only, as
    embedding the tweets is machine time."""
    st.subheader("Complaint reasons")
    negative = result.scored[result.scored["p_pos"] < THRESHOLD].head(MAX_TAGGED)
    key = f"reasons-{id(result)}"
    if key not in st.session_state:
        clicked = st.button(
            f"Tag the {len(negative):,} negative tweets with a complaint reason",
            key="batch_reasons",
            disabled=not is_operator() or negative.empty,
            help=operator_reason() or "Embeds each negative tweet with the sentence encoder (a few tweets a second)",
        )
        st.caption(f"At most the first {MAX_TAGGED:,} negative tweets. {operator_reason()}".strip())
        if not (clicked and is_operator()):  # checked again at the click
            return
        try:
            tagger = reason_tagger()
        except (TaxonomyError, OSError, ValueError) as exc:
            st.error(f"Complaint reasons are unavailable: {exc}")
            return
        with st.spinner("Embedding and tagging…"):
            tags = tagger.tag_texts(negative["text"].tolist())
        groups_of = negative["group"].astype(str).tolist() if "group" in negative else None
        st.session_state[key] = (reason_table(tags, groups_of), tagger.method)
    table, method = st.session_state[key]
    shown = table.assign(share=table["share"] * 100)
    st.dataframe(shown, hide_index=True, width="stretch", column_config={"share": SHARE_FORMAT})
    st.caption(f'Reasons: {method}. The taxonomy is the operator\'s file (docs/monitor.md, "Why the buzz").')


def read_layout(data: bytes) -> CsvLayout | None:
    """The file's layout, with the text and timestamp columns the user picks (None when it cannot be read)."""
    try:
        layout = inspect_csv(io.BytesIO(data))
    except MonitorError as exc:
        st.error(str(exc))
        return None
    if layout.lines:  # one tweet per line: no column to pick
        return layout
    cols = st.columns(3)
    text_index = layout.columns.index(layout.text_column) if layout.text_column else 0
    layout.text_column = cols[0].selectbox("Text column", layout.columns, index=text_index)
    time_choices = [NO_TIME, *layout.columns]
    time_index = time_choices.index(layout.time_column) if layout.time_column else 0
    picked_time = cols[1].selectbox("Timestamp column", time_choices, index=time_index)
    layout.time_column = None if picked_time == NO_TIME else picked_time
    others = [c for c in layout.columns if c not in layout.group_candidates and c != layout.text_column]
    picked_group = cols[2].selectbox(
        "Split by",
        [NO_SPLIT, *layout.group_candidates, *others],
        help="A column whose values split the negative share (airline, route, language): one line per value, "
        "each with its own threshold.",
    )
    layout.group_column = None if picked_group == NO_SPLIT else picked_group
    return layout


def main() -> None:
    st.title("Bad Buzz monitor")
    st.caption(
        "Score a batch of tweets, watch the share of negative ones over time, and see when it crosses "
        "the alert threshold."
    )
    if monitor_feed.choose_view() == monitor_feed.LIVE:  # what `python -m core.commands.watch` stores
        monitor_feed.live_feed()
        return
    data, source = read_input()
    model = choose_model()
    if data is not None:
        layout = pasted_layout() if source == PASTED else read_layout(data)  # one tweet per line, always
        if layout is not None and model is not None:
            if st.button("Score", type="primary", icon=":material/query_stats:"):
                score(data, source, layout, model)
    elif "monitor" not in st.session_state:
        st.info("Upload a CSV of tweets (a `text` column and an optional `timestamp`) or paste tweets, one per line.")
    if "monitor" in st.session_state:
        show_result(st.session_state["monitor"]["result"], st.session_state["monitor"]["source"])
    corrections.corrections_panel()


main()
