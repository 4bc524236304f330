"""Live scoring: type a tweet, every approach answers side by side."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.analysis.compare import run_label
from core.inference import live
from core.models.base import CLASS_NAMES
from core.run_kinds import local_kinds
from views.components import explanations
from views.components import formatting as fmt
from views.components.access import current_access
from views.components.corrections import mark_live
from views.components.examples import EXAMPLE_TWEETS, button_label
from views.components.runs import load_runs

COLUMNS_PER_ROW = 4
EXAMPLES_PER_ROW = 3
HISTORY_ROWS = 200
STATUS_HINTS = {
    "not trained": "info",
    "not configured": "info",
    "offline": "warning",
    "timeout": "warning",
    "error": "error",
    live.OPERATORS_ONLY: "info",
}
LABEL_HEADINGS = {
    CLASS_NAMES[1]: ":blue[:material/sentiment_satisfied: positive]",
    CLASS_NAMES[0]: ":orange[:material/sentiment_dissatisfied: negative]",
}


@st.cache_resource(show_spinner=False)
def model_cache() -> live.ModelCache:
    return live.ModelCache()  # one per server: a model is loaded once, then shared by every session


def use_example(text: str) -> None:
    st.session_state["live_text"] = text


def show_answer(container, answer: live.Answer) -> None:
    with container.container(border=True):
        st.markdown(f"**{answer.name}**")
        where = "local model" if answer.source == "local" else "cloud service"
        st.caption(f"{where} · served by {answer.backend}" if answer.backend else where)
        if not answer.ok:
            getattr(st, STATUS_HINTS.get(answer.status, "error"))(f"{answer.status.capitalize()}: {answer.reason}")
            return
        st.markdown(f"### {LABEL_HEADINGS[answer.label]}")
        if answer.service_label and answer.service_label != answer.label:
            st.caption(f"the service's own label: {answer.service_label}")
        st.progress(min(max(answer.p_pos, 0.0), 1.0), text=f"P(positive) = {answer.p_pos:.3f}")
        st.caption(
            f"latency {answer.latency_ms:.1f} ms · cost {answer.cost_usd:.5f} USD"
            + (" (cached answer)" if answer.cached else "")
            + (f" · model loaded in {answer.load_ms:.0f} ms" if answer.load_ms else "")
        )


def approach_settings(local_runs: list, runs: list) -> tuple[list, bool, int]:
    """(picked local runs, ask the cloud too, timeout per column in seconds)."""
    by_label = {run_label(r): r for r in local_runs}
    with st.expander("Which approaches answer", expanded=False):
        picked = st.multiselect(
            "Local runs",
            list(by_label),
            default=[run_label(r) for r in live.latest_per_approach(runs)],
            help="By default: the newest finished run of each approach.",
        )
        use_cloud = st.toggle("Ask the cloud services too", value=True)
        timeout_s = st.slider("Timeout per column (s)", 2, 60, int(live.DEFAULT_TIMEOUT_S))
    return [by_label[label] for label in picked], use_cloud, timeout_s


def example_buttons() -> None:
    st.markdown("Try an example:")
    cols = st.columns(EXAMPLES_PER_ROW)
    for i, example in enumerate(EXAMPLE_TWEETS):
        cols[i % EXAMPLES_PER_ROW].button(
            button_label(example),
            key=f"example-{i}",
            on_click=use_example,
            args=(example,),
            help=example,
            width="stretch",
        )


def columns_to_ask(picked: list, runs: list, use_cloud: bool) -> list[live.LiveColumn]:
    models = model_cache()
    columns = [live.run_column(run, models) for run in picked]
    columns += live.untrained_columns(runs)
    if use_cloud:
        rights = current_access()  # cloud calls are billed: operators only
        columns += live.cloud_columns() if rights.is_operator else live.refused_cloud_columns(rights.reason)
    return columns


def score(text: str, picked: list, runs: list, use_cloud: bool, timeout_s: int) -> None:
    """Ask every column, keep the answers (and add them to the history) in the session."""
    try:
        prepared = live.prepare_text(text)
    except live.EmptyText as exc:
        st.session_state["live_answers"] = None
        st.warning(str(exc))
        return
    if prepared.truncated:
        st.info(fmt.truncation_notice(prepared))
    columns = columns_to_ask(picked, runs, use_cloud)
    with st.spinner("Asking every approach…"):
        answers = live.score_columns(columns, prepared.text, timeout_s=timeout_s)
    st.session_state["live_answers"] = answers
    st.session_state["live_scored_text"] = prepared.text  # what "Explain" explains
    history = fmt.history_rows(prepared.text, [a for a in answers if a.ok])
    st.session_state["live_history"] = (history + st.session_state.get("live_history", []))[:HISTORY_ROWS]


def show_answers(answers: list[live.Answer]) -> None:
    for start in range(0, len(answers), COLUMNS_PER_ROW):
        row = answers[start : start + COLUMNS_PER_ROW]
        for col, answer in zip(st.columns(COLUMNS_PER_ROW), row):
            show_answer(col, answer)


def show_history(history: list[dict]) -> None:
    st.subheader("This session's answers")
    st.dataframe(
        pd.DataFrame(history),
        hide_index=True,
        column_config={
            "P(positive)": fmt.probability(),
            "latency (ms)": fmt.milliseconds(1),
            "cost (USD)": st.column_config.NumberColumn(format="%.5f USD"),
        },
    )
    if st.button("Clear history"):
        st.session_state["live_history"] = []
        st.rerun()


def main() -> None:
    st.title("Live scoring")
    st.caption(
        "One tweet, every approach at once. Local models answer for free; cloud services cost a fraction "
        "of a cent per call when configured, so only operators may call them."
    )
    runs = load_runs()
    local_runs = [r for r in runs if r.status == "succeeded" and r.kind in local_kinds()]
    picked, use_cloud, timeout_s = approach_settings(local_runs, runs)
    example_buttons()
    text = st.text_area(
        "Tweet",
        key="live_text",
        height=100,
        placeholder="Type or paste a tweet…",
        help=f"Texts longer than {live.MAX_CHARS:,} characters are cut to that length.",
    )
    submitted = st.button("Score", type="primary", icon=":material/bolt:")
    if submitted:
        score(text, picked, runs, use_cloud, timeout_s)
    answers = st.session_state.get("live_answers")
    if answers:
        show_answers(answers)
        mark_live(st.session_state.get("live_scored_text"), answers)
        explanations.explain_section(answers, runs, model_cache(), st.session_state.get("live_scored_text"))
    elif not submitted and not local_runs:
        st.info(
            "No local model is trained yet, so only the cloud services (when configured) can answer. "
            "Train one on the **Train** page."
        )
    if history := st.session_state.get("live_history"):
        show_history(history)


main()
