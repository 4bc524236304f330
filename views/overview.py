"""Overview: every run at a glance, and what to do next when there is nothing to show yet."""
from __future__ import annotations

import plotly.express as px
import streamlit as st

from core.training import launcher
from core.training import quickstart
from core.analysis.compare import comparable, overview_table, train_commands
from core.config import runs_dir
from core.data.sources import dashboard_source
from core.tracking.runs import list_runs, runs_signature
from views.components.access import is_operator, operator_reason
from views.components.data_sources import add_data_panel, announce_added_data
from views.components.run_cards import run_card


@st.cache_data(ttl=10, show_spinner=False)
def load_runs(root: str, signature: tuple) -> list:
    return list_runs(root)


def first_models(source, commands: dict) -> None:
    """No run yet: the quick baselines in one click (then Live scoring answers), or the commands."""
    st.info(f"No run yet in `{runs_dir()}`. The two quick baselines (TF-IDF and feature-hashing logistic "
            "regression) train in seconds to a few minutes; Live scoring answers as soon as one is done.")
    operator = is_operator()
    busy = any(run.active for run in launcher.launched_runs())
    if st.button("Train the quick baselines", type="primary", icon=":material/rocket_launch:",
                 disabled=source is None or not operator or busy,
                 help=operator_reason() if not operator else None if source else "Add data first."):
        if is_operator() and source is not None and not busy:
            quickstart.launch_baselines(source.key)
    follow_baselines()
    with st.expander("Or from a terminal, and the neural approaches (longer; a GPU helps)"):
        st.code(f"{commands['logreg-tfidf']}\n{commands['logreg-hashing']}", language="bash")
        st.code(f"{commands['keras']}\n{commands['transformer']}", language="bash")


@st.fragment(run_every=2)
def follow_baselines() -> None:
    runs = launcher.launched_runs()
    for run in runs:
        run_card(run)
    if any(r.status == "succeeded" for r in runs) and not any(r.active for r in runs):
        st.rerun()  # the whole page now shows the finished runs (a succeeded run has its run.json)


st.title("Bad Buzz — Air Paradis")
st.caption("Which sentiment approach spots an angry tweet best, fastest and cheapest? Every run on one page.")
announce_added_data()

source = dashboard_source()
root = runs_dir()
runs = load_runs(str(root), runs_signature(root))
commands = train_commands(source.key if source else None)

if source is None:
    st.warning("No tweets to train on yet.")
    st.markdown("Upload a CSV of labelled tweets (Sentiment140's 6 columns, or a `text` and a `label` column), "
                "or download the official Sentiment140 set (1.6 million tweets, about 80 MB):")
    add_data_panel("overview")

if not runs:
    first_models(source, commands)
    st.stop()

table = overview_table(runs)
done = comparable(runs)
counts = table["status"].str.split(" ").str[0].value_counts()
cols = st.columns(4)
cols[0].metric("Runs", f"{len(runs)}", help="run folders in " + str(root))
cols[1].metric("Succeeded", f"{counts.get('succeeded', 0)}",
               delta=f"{counts.get('running', 0)} running" if counts.get("running") else None, delta_color="off")
if done:
    scored = table.dropna(subset=["accuracy (%)"])
    best = scored.loc[scored["accuracy (%)"].idxmax()]
    cols[2].metric("Best accuracy", f"{best['accuracy (%)']:.2f} %", help=f"{best['approach']} ({best['run']})")
    timed = table.dropna(subset=["single tweet latency p50 (ms)"])
    if not timed.empty:
        fastest = timed.loc[timed["single tweet latency p50 (ms)"].idxmin()]
        cols[3].metric("Fastest single tweet", f"{fastest['single tweet latency p50 (ms)']:.2f} ms",
                       help=f"{fastest['approach']} ({fastest['run']}), median latency")

st.subheader("Runs")
st.dataframe(
    table, hide_index=True,
    column_config={
        "accuracy (%)": st.column_config.NumberColumn(format="%.2f %%"),
        "macro F1 (%)": st.column_config.NumberColumn(format="%.2f %%"),
        "training time (s)": st.column_config.NumberColumn(format="%.1f s"),
        "single tweet latency p50 (ms)": st.column_config.NumberColumn(format="%.2f ms"),
    },
)

failed = table[table["status"].str.startswith("failed")]
if not failed.empty:
    st.caption(f"{len(failed)} failed run(s): open the **Résumé** page for their logs.")

if done:
    scored = table.dropna(subset=["accuracy (%)"])
    fig = px.bar(scored.assign(label=scored["approach"] + " · " + scored["run"]), x="accuracy (%)", y="label",
                 orientation="h", text=scored["accuracy (%)"].map("{:.2f} %".format),
                 hover_data=["macro F1 (%)", "training time (s)", "single tweet latency p50 (ms)"],
                 title="Test accuracy (%) per run")
    fig.update_layout(yaxis_title=None, xaxis_range=[0, 100], height=140 + 45 * len(scored))
    st.plotly_chart(fig)
    st.caption("Compare them tweet by tweet on the **Compare** page, or try your own tweet on **Live scoring**.")
else:
    st.info("No run has finished yet. Follow the running ones on the **Résumé** page, or start one:")
    st.code(commands["logreg-tfidf"], language="bash")
