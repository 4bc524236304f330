"""Compare: pick runs and see them side by side, down to the tweets they disagree on."""
from __future__ import annotations

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from core.analysis import compare as cmp
from core.config import runs_dir
from core.tracking.runs import list_runs, runs_signature

MAX_MATRICES_PER_ROW = 3


@st.cache_data(ttl=10, show_spinner=False)
def load_runs(root: str, signature: tuple) -> list:
    return list_runs(root)


@st.cache_resource(show_spinner="Joining the test tweets…", max_entries=8)
def tweet_views(run_ids: tuple, signature: tuple, _runs: list):
    texts, problem = cmp.test_texts(_runs)
    return cmp.aligned_predictions(_runs), texts, problem


st.title("Compare")
root = runs_dir()
signature = runs_signature(root)
runs = cmp.comparable(load_runs(str(root), signature))
if not runs:
    st.info("No finished run to compare yet. Train two approaches (the **Train** page, or a terminal), then "
            "come back:")
    commands = cmp.train_commands()
    st.code(f"{commands['logreg-tfidf']}\n{commands['logreg-hashing']}", language="bash")
    st.stop()

by_label = {cmp.run_label(run): run for run in runs}
picked_labels = st.multiselect("Runs to compare", list(by_label),
                               default=[cmp.run_label(r) for r in cmp.default_selection(runs)],
                               help="By default: the newest finished run of each approach.")
picked = [by_label[label] for label in picked_labels]
if not picked:
    st.info("Pick at least one run above.")
    st.stop()
if warning := cmp.split_warning(picked):
    st.warning(warning)

st.subheader("Metrics on the test split")
st.dataframe(cmp.metrics_table(picked), hide_index=True,
             column_config={c: st.column_config.NumberColumn(format="%.2f %%")
                            for c in ("accuracy (%)", "macro precision (%)", "macro recall (%)", "macro F1 (%)")})

st.subheader("Confusion matrices")
normalised = st.toggle("Normalise per true class (%)", value=False)
for start in range(0, len(picked), MAX_MATRICES_PER_ROW):
    row = picked[start:start + MAX_MATRICES_PER_ROW]
    for col, run in zip(st.columns(MAX_MATRICES_PER_ROW), row):
        matrix = cmp.confusion(run, normalize=normalised)
        if matrix is None:
            col.caption(f"{cmp.run_label(run)}: no confusion matrix recorded.")
            continue
        fig = px.imshow(matrix, text_auto=".1f" if normalised else "d", color_continuous_scale="Blues",
                        zmin=0, zmax=100 if normalised else None, aspect="equal",
                        labels={"color": "% of true class" if normalised else "tweets"})
        fig.update_layout(title=cmp.run_label(run), title_font_size=13, coloraxis_showscale=False,
                          height=340, margin={"t": 50, "b": 10, "l": 10, "r": 10})
        col.plotly_chart(fig, key=f"cm-{run.id}")

st.subheader("ROC and precision-recall curves")
left, right = st.columns(2)
roc = cmp.curve_points(picked, "roc")
if roc.empty:
    left.caption("No ROC curve recorded for these runs.")
else:
    fig = px.line(roc, x="fpr", y="tpr", color="run", title="ROC curve",
                  labels={"fpr": "false positive rate", "tpr": "true positive rate"})
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "#7A8CA5"},
                             name="chance"))
    fig.update_layout(legend={"orientation": "h", "y": -0.25}, legend_title=None, height=460)
    left.plotly_chart(fig)
pr = cmp.curve_points(picked, "pr")
if pr.empty:
    right.caption("No precision-recall curve recorded for these runs.")
else:
    fig = px.line(pr, x="recall", y="precision", color="run", title="Precision-recall curve (positive class)")
    fig.update_layout(legend={"orientation": "h", "y": -0.25}, legend_title=None, height=460)
    right.plotly_chart(fig)

st.subheader("Learning curves")
curves = cmp.learning_curves(picked)
if curves.empty:
    st.caption("None of these runs trains in epochs (the Keras and transformer runs do): nothing to plot.")
else:
    fig = px.line(curves, x="epoch", y="value", color="run", line_dash="split", facet_col="metric",
                  markers=True, title="Loss and accuracy per epoch (solid: train, dashed: validation)")
    fig.update_yaxes(matches=None, showticklabels=True)
    fig.update_layout(legend={"orientation": "h", "y": -0.3}, legend_title=None, height=440)
    st.plotly_chart(fig)

coverage = cmp.embedding_coverage(picked)
if not coverage.empty:
    st.subheader("Embedding coverage (Keras runs)")
    st.dataframe(coverage, hide_index=True)

st.subheader("Where the approaches disagree")
tweet_runs, other_data = cmp.same_data(picked)
if other_data:
    st.warning("Tweet-by-tweet views only use runs trained on the same data as "
               f"{cmp.run_label(tweet_runs[0])}; left out: {', '.join(cmp.run_label(r) for r in other_data)}.")
aligned, texts, problem = tweet_views(tuple(r.id for r in tweet_runs), signature, tweet_runs)
if problem:
    st.caption(f"Some tweet texts are not shown: {problem}")
row_ids = {} if texts is None else {"row_id": None}  # row ids are only worth showing when texts are missing
prob_columns = [c for c in aligned.columns if c not in ("row_id", "label")]
probability = {c: st.column_config.ProgressColumn(c, format="%.3f", min_value=0.0, max_value=1.0)
               for c in prob_columns}
if len(prob_columns) < 2:
    st.caption("Pick at least two runs with test predictions to see where they disagree.")
else:
    true_filter = st.radio("True label", ["all", "negative", "positive"], horizontal=True)
    found, total = cmp.disagreements(aligned, texts, None if true_filter == "all" else true_filter, limit=200)
    share = 100 * total / max(len(aligned), 1)
    st.markdown(f"**{total:,}** of {len(aligned):,} test tweets ({share:.1f} %) get different labels"
                + ("" if true_filter == "all" else f" among the truly {true_filter} ones")
                + "; the most contested first (largest spread of P(positive)), 200 at most.")
    st.dataframe(found, hide_index=True, column_config={**probability, **row_ids,
                                                         "spread": st.column_config.NumberColumn(format="%.3f")})

st.subheader("Most confident mistakes")
n_mistakes = st.slider("Mistakes per run", 5, 50, 10, step=5)
tabs = st.tabs([cmp.run_label(r) for r in tweet_runs])
for tab, run in zip(tabs, tweet_runs):
    mistakes = cmp.confident_mistakes(run, texts, n_mistakes)
    if mistakes is None:
        tab.caption("This run has no test_predictions.csv.")
    else:
        tab.dataframe(mistakes, hide_index=True, column_config={
            **row_ids,
            "P(positive)": st.column_config.ProgressColumn(format="%.3f", min_value=0.0, max_value=1.0),
            "confidence": st.column_config.NumberColumn(format="%.3f",
                                                        help="|P(positive) − 0.5| × 2: 1 = fully sure")})
