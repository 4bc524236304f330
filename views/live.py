"""Live scoring: type a tweet, every approach answers side by side."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.scoring import live
from core.analysis.compare import run_label
from core.config import runs_dir
from core.tracking.runs import list_runs, runs_signature
from views.components.access import current_access

COLUMNS_PER_ROW = 4
HISTORY_ROWS = 200
STATUS_HINTS = {"not trained": "info", "not configured": "info", "offline": "warning", "timeout": "warning",
                "error": "error", live.OPERATORS_ONLY: "info"}


@st.cache_data(ttl=10, show_spinner=False)
def load_runs(root: str, signature: tuple) -> list:
    return list_runs(root)


@st.cache_resource(show_spinner=False)
def model_cache() -> live.ModelCache:
    return live.ModelCache()  # one per server: a model is loaded once, then shared by every session


def use_example(text: str) -> None:
    st.session_state["live_text"] = text


def show_answer(container, answer: live.Answer) -> None:
    with container.container(border=True):
        st.markdown(f"**{answer.name}**")
        st.caption("local model" if answer.source == "local" else "cloud service")
        if not answer.ok:
            getattr(st, STATUS_HINTS.get(answer.status, "error"))(f"{answer.status.capitalize()}: {answer.reason}")
            return
        if answer.label == "positive":
            st.markdown(f"### :blue[:material/sentiment_satisfied: {answer.label}]")
        else:
            st.markdown(f"### :orange[:material/sentiment_dissatisfied: {answer.label}]")
        if answer.service_label and answer.service_label != answer.label:
            st.caption(f"the service's own label: {answer.service_label}")
        st.progress(min(max(answer.p_pos, 0.0), 1.0), text=f"P(positive) = {answer.p_pos:.3f}")
        st.caption(f"latency {answer.latency_ms:.1f} ms · cost {answer.cost_usd:.5f} USD"
                   + (" (cached answer)" if answer.cached else "")
                   + (f" · model loaded in {answer.load_ms:.0f} ms" if answer.load_ms else ""))


st.title("Live scoring")
st.caption("One tweet, every approach at once. Local models answer for free; cloud services cost a fraction "
           "of a cent per call when configured, so only operators may call them.")

root = runs_dir()
runs = load_runs(str(root), runs_signature(root))
local_runs = [r for r in runs if r.status == "succeeded" and r.kind in live.LOCAL_KINDS]
defaults = live.latest_per_approach(runs)
by_label = {run_label(r): r for r in local_runs}

with st.expander("Which approaches answer", expanded=False):
    picked_labels = st.multiselect("Local runs", list(by_label), default=[run_label(r) for r in defaults],
                                   help="By default: the newest finished run of each approach.")
    use_cloud = st.toggle("Ask the cloud services too", value=True)
    timeout_s = st.slider("Timeout per column (s)", 2, 60, int(live.DEFAULT_TIMEOUT_S))

st.markdown("Try an example:")
example_cols = st.columns(3)
for i, example in enumerate(live.EXAMPLES):
    example_cols[i % 3].button(example[:60] + ("…" if len(example) > 60 else ""), key=f"example-{i}",
                               on_click=use_example, args=(example,), help=example, width="stretch")

text = st.text_area("Tweet", key="live_text", height=100, placeholder="Type or paste a tweet…",
                    help=f"Texts longer than {live.MAX_CHARS:,} characters are cut to that length.")
submitted = st.button("Score", type="primary", icon=":material/bolt:")

if submitted:
    try:
        prepared = live.prepare_text(text)
    except live.EmptyText as exc:
        st.session_state["live_answers"] = None
        st.warning(str(exc))
    else:
        if prepared.truncated:
            st.info(prepared.notice)
        models = model_cache()
        columns = [live.run_column(by_label[label], models) for label in picked_labels]
        columns += live.untrained_columns(runs)
        if use_cloud:
            rights = current_access()  # cloud calls are billed: operators only
            columns += live.cloud_columns() if rights.is_operator else live.refused_cloud_columns(rights.reason)
        with st.spinner("Asking every approach…"):
            answers = live.score_columns(columns, prepared.text, timeout_s=timeout_s)
        st.session_state["live_answers"] = answers
        st.session_state.setdefault("live_history", [])
        st.session_state["live_history"] = (live.history_rows(prepared.text, [a for a in answers if a.ok])
                                            + st.session_state["live_history"])[:HISTORY_ROWS]

answers = st.session_state.get("live_answers")
if answers:
    for start in range(0, len(answers), COLUMNS_PER_ROW):
        row = answers[start:start + COLUMNS_PER_ROW]
        for col, answer in zip(st.columns(COLUMNS_PER_ROW), row):
            show_answer(col, answer)
elif not submitted:
    if not local_runs:
        st.info("No local model is trained yet, so only the cloud services (when configured) can answer. "
                "Train one on the **Train** page.")

history = st.session_state.get("live_history")
if history:
    st.subheader("This session's answers")
    st.dataframe(pd.DataFrame(history), hide_index=True, column_config={
        "P(positive)": st.column_config.ProgressColumn(format="%.3f", min_value=0.0, max_value=1.0),
        "latency (ms)": st.column_config.NumberColumn(format="%.1f ms"),
        "cost (USD)": st.column_config.NumberColumn(format="%.5f USD"),
    })
    if st.button("Clear history"):
        st.session_state["live_history"] = []
        st.rerun()
