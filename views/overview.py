"""Overview: every run at a glance, and what to do next when there is nothing to show yet."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.analysis.compare import comparable, overview_table, train_commands
from core.config import runs_dir
from core.data.sources import dashboard_source
from core.training import launcher, quickstart
from views.components import figures, monitor_feed
from views.components.access import is_operator, operator_reason
from views.components.data_sources import add_data_panel, announce_added_data
from views.components.run_cards import run_card
from views.components.runs import load_runs

LATENCY = "single tweet latency p50 (ms)"


def first_models(source, commands: dict) -> None:
    """No run yet: the quick baselines in one click (then Live scoring answers), or the commands."""
    st.info(
        f"No run yet in `{runs_dir()}`. The two quick baselines (TF-IDF and feature-hashing logistic "
        "regression) train in seconds to a few minutes; Live scoring answers as soon as one is done."
    )
    operator = is_operator()
    busy = any(run.active for run in launcher.launched_runs())
    if st.button(
        "Train the quick baselines",
        type="primary",
        icon=":material/rocket_launch:",
        disabled=source is None or not operator or busy,
        help=operator_reason() if not operator else None if source else "Add data first.",
    ):
        if is_operator() and source is not None and not busy:
            quickstart.launch_baselines(source.key)
    follow_first_results()
    with st.expander("Or from a terminal, and the neural approaches (longer; a GPU helps)"):
        st.code(f"{commands['logreg-tfidf']}\n{commands['logreg-hashing']}", language="bash")
        st.code(f"{commands['keras']}\n{commands['transformer']}", language="bash")


@st.fragment(run_every=2)
def follow_first_results() -> None:
    """Until a run has results: the launched runs' cards; then the whole page again, to show them. Called
    wherever the page shows no result yet, so a rerun that lands while the runs train keeps following them."""
    for run in launcher.launched_runs():
        run_card(run)
    if comparable(load_runs()):
        st.rerun()


def no_data_panel() -> None:
    st.warning("No tweets to train on yet.")
    st.markdown(
        "Upload a CSV of labelled tweets (Sentiment140's 6 columns, or a `text` and a `label` column), "
        "or download the official Sentiment140 set (1.6 million tweets, about 80 MB):"
    )
    add_data_panel("overview")


def headline_metrics(table: pd.DataFrame, n_runs: int, any_finished: bool) -> None:
    """Runs, succeeded (and running), best accuracy and fastest single tweet, each with the model it is."""
    counts = table["status"].str.split(" ").str[0].value_counts()
    cols = st.columns(4)
    cols[0].metric("Runs", f"{n_runs}", help="run folders in " + str(runs_dir()))
    cols[1].metric(
        "Succeeded",
        f"{counts.get('succeeded', 0)}",
        delta=f"{counts.get('running', 0)} running" if counts.get("running") else None,
        delta_color="off",
    )
    if not any_finished:
        return
    scored = table.dropna(subset=["accuracy (%)"])
    best = scored.loc[scored["accuracy (%)"].idxmax()]
    cols[2].metric("Best accuracy", f"{best['accuracy (%)']:.2f} %", help="on each run's test split")
    cols[2].caption(f"{best['approach']} · {best['run']}")
    timed = table.dropna(subset=[LATENCY])
    if not timed.empty:
        fastest = timed.loc[timed[LATENCY].idxmin()]
        cols[3].metric("Fastest single tweet", f"{fastest[LATENCY]:.2f} ms", help="median latency of one tweet")
        cols[3].caption(f"{fastest['approach']} · {fastest['run']}")


RUN_COLUMNS = {  # the table's columns, with human labels sized to fit the page (kind and start time left out)
    "approach": st.column_config.TextColumn("Approach", width="medium"),
    "run": st.column_config.TextColumn("Run", width="medium"),
    "status": st.column_config.TextColumn("Status", width="small"),
    "accuracy (%)": st.column_config.NumberColumn("Accuracy", format="%.2f %%", width="small"),
    "macro F1 (%)": st.column_config.NumberColumn("Macro F1", format="%.2f %%", width="small"),
    "training time (s)": st.column_config.NumberColumn("Training", format="%.0f s", width="small"),
    "device": st.column_config.TextColumn("Trained on", width="small"),
    LATENCY: st.column_config.NumberColumn(
        "1 tweet", format="%.1f ms", width="small", help="median latency of a single tweet"
    ),
}


def runs_table(table: pd.DataFrame) -> None:
    st.subheader("Runs")
    st.dataframe(table, hide_index=True, width="stretch", column_order=list(RUN_COLUMNS), column_config=RUN_COLUMNS)
    failed = table[table["status"].str.startswith("failed")]
    if not failed.empty:
        st.caption(f"{len(failed)} failed run(s): open the **Résumé** page for their logs.")


def accuracy_chart(table: pd.DataFrame) -> None:
    st.plotly_chart(figures.accuracy_dots(table.dropna(subset=["accuracy (%)"])), width="stretch")
    st.caption("Compare them tweet by tweet on the **Compare** page, or try your own tweet on **Live scoring**.")


def main() -> None:
    st.title("Bad Buzz — Air Paradis")
    st.caption("Is a bad buzz coming? The monitor's state per group first, then every sentiment model trained here.")
    monitor_feed.buzz_panel()
    st.subheader("Models")
    announce_added_data()
    source = dashboard_source()
    runs = load_runs()
    commands = train_commands(source.key if source else None)
    if source is None:
        no_data_panel()
    if not runs:
        first_models(source, commands)
        return
    table = overview_table(runs)
    any_finished = bool(comparable(runs))
    headline_metrics(table, len(runs), any_finished)
    runs_table(table)
    if any_finished:
        accuracy_chart(table)
    else:
        st.info("No run has finished yet. Follow the running ones on the **Résumé** page, or start one:")
        st.code(commands["logreg-tfidf"], language="bash")
        follow_first_results()


main()
