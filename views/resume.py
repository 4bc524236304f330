"""Résumé: the study's summary table, measured here — quality, speed and cost per run."""
from __future__ import annotations

import streamlit as st

from core.analysis import resume
from core.config import runs_dir
from core.pricing import load_pricing
from core.tracking.runs import list_runs, runs_signature

MONEY = "$%.6f"


@st.cache_data(ttl=10, show_spinner=False)
def load_runs(root: str, signature: tuple) -> list:
    return list_runs(root)


st.title("Résumé")
st.caption("One row per run, measured on the shared test split of its data; the original study's figures are "
           "listed below them for reference and marked as such.")

pricing = load_pricing()
defaults = resume.CostSettings.from_pricing(pricing)
root = runs_dir()
runs = load_runs(str(root), runs_signature(root))

with st.sidebar:
    st.subheader("Costing")
    local_price = st.number_input(
        "Price of this machine (USD/h)", min_value=0.0, value=defaults.local_usd_per_hour, step=0.01, format="%.3f",
        help=f"Runs trained and served here are costed at this hourly price. Default: Azure "
             f"{defaults.local_label}, the closest Azure ML instance to this machine.")
costs = resume.CostSettings.from_pricing(pricing, None if local_price == defaults.local_usd_per_hour else local_price)

c1, c2 = st.columns(2)
best_only = c1.toggle("Best run per approach", value=False)
include_study = c2.toggle("Show the study's figures", value=True)
table = resume.summary_table(runs, costs, pricing, best_per_approach=best_only, include_study=include_study)
measured = table[table["source"] == resume.MEASURED]

if measured.empty:
    st.info(f"No finished run in `{root}` yet: the table below holds only the study's reference figures. "
            "Train the baselines on the **Train** page (seconds each), or from a terminal: "
            "`python -m trainers.logreg --output artifacts/runs/logreg-tfidf`.")

st.dataframe(
    table, hide_index=True, width="stretch",
    column_config={
        "accuracy (%)": st.column_config.NumberColumn(format="%.2f %%"),
        "macro F1 (%)": st.column_config.NumberColumn(format="%.2f %%"),
        "training time (s)": st.column_config.NumberColumn(format="%.1f s"),
        "training throughput (tweets/s)": st.column_config.NumberColumn(format="%.0f"),
        "single-tweet latency p50 (ms)": st.column_config.NumberColumn(format="%.2f ms"),
        "batched throughput (tweets/s)": st.column_config.NumberColumn(format="%.0f"),
        "training cost (USD)": st.column_config.NumberColumn(format=MONEY),
        "inference cost per 1,000 tweets (USD)": st.column_config.NumberColumn(format=MONEY),
        "source": st.column_config.TextColumn(help="measured here, or the original study's figure"),
    },
)
st.download_button("Download as CSV", table.to_csv(index=False).encode("utf-8"), file_name="bad_buzz_resume.csv",
                   mime="text/csv", icon=":material/download:")

if not measured.empty:
    st.subheader("Accuracy against cost")
    cost_column = st.radio("Cost", ["inference cost per 1,000 tweets (USD)", "training cost (USD)"],
                           horizontal=True)
    st.plotly_chart(resume.accuracy_cost_figure(table, cost_column), width="stretch")
    st.caption("Dotted lines: the original study's accuracies (other data, other notebooks: not measured here). "
               "Serving costs assume the instance is fully used at the batched throughput measured on this "
               "machine; an idle endpoint bills its hourly price all the same.")

with st.expander("Pricing sources and dates", expanded=measured.empty):
    st.caption(pricing.get("note", ""))
    st.dataframe(resume.pricing_sources(pricing), hide_index=True, width="stretch",
                 column_config={"source": st.column_config.LinkColumn()})
    st.caption("Prices are read from `core/pricing.json` (or `$BADBUZZ_PRICING`): edit it when they change.")

failed = [r for r in runs if r.status in ("failed", "cancelled")]
if failed:
    with st.expander(f"{len(failed)} run(s) that did not finish"):
        for run in failed:
            st.markdown(f"**{run.approach}** — `{run.id}` — {run.status}: {run.status_reason or run.meta.get('error', '')}")
            tail = run.log_tail(15)
            if tail:
                st.code(tail, language="text")
