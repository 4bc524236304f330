"""Overview: every run at a glance, and what to do next when there is nothing to show yet."""
from __future__ import annotations

from pathlib import Path

import plotly.express as px
import streamlit as st

from core.compare import comparable, overview_table, train_commands
from core.config import default_data_path, runs_dir
from core.runs import list_runs, runs_signature


@st.cache_data(ttl=10, show_spinner=False)
def load_runs(root: str, signature: tuple) -> list:
    return list_runs(root)


st.title("Bad Buzz — Air Paradis")
st.caption("Which sentiment approach spots an angry tweet best, fastest and cheapest? Every run on one page.")

data = default_data_path()
root = runs_dir()
runs = load_runs(str(root), runs_signature(root))
commands = train_commands(data)

if data is None or not Path(str(data).split(".zip:")[0]).exists():
    st.warning("No tweets to train on yet." if data is None else f"The data source `{data}` does not exist.")
    st.markdown("Download the official Sentiment140 set (1.6 million tweets, about 80 MB):")
    st.code("python -m core.data --download", language="bash")
    st.markdown("or point the dashboard at your own CSV (Sentiment140's 6 columns, or `text` + `label` "
                "columns) before starting it:")
    st.code("BADBUZZ_DATA=path/to/tweets.csv streamlit run app.py", language="bash")

if not runs:
    st.info(f"No run yet in `{root}`. Train the two quick baselines (a few seconds to a few minutes each) "
            "from the **Train** page, or from a terminal:")
    st.code(f"{commands['logreg-tfidf']}\n{commands['logreg-hashing']}", language="bash")
    st.markdown("Then the neural approaches (longer; a GPU helps):")
    st.code(f"{commands['keras']}\n{commands['transformer']}", language="bash")
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
