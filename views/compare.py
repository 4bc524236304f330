"""Compare: pick runs and see them side by side, down to the tweets they disagree on."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.analysis import compare as cmp
from core.config import runs_dir
from core.models.base import THRESHOLD
from core.tracking.runs import runs_signature
from views.components import figures
from views.components import formatting as fmt
from views.components.runs import load_runs

MAX_MATRICES_PER_ROW = 3
MAX_DISAGREEMENTS = 200
PERCENT_COLUMNS = ("accuracy (%)", "macro precision (%)", "macro recall (%)", "macro F1 (%)")


@st.cache_resource(show_spinner="Joining the test tweets…", max_entries=8)
def tweet_views(run_ids: tuple, signature: tuple, _runs: list):
    texts, problem = cmp.test_texts(_runs)
    return cmp.aligned_predictions(_runs), texts, problem


def pick_runs(runs: list) -> list:
    """The runs the user picks (by default the newest finished run of each approach)."""
    by_label = {cmp.run_label(run): run for run in runs}
    picked = st.multiselect(
        "Runs to compare",
        list(by_label),
        default=[cmp.run_label(r) for r in cmp.default_selection(runs)],
        help="By default: the newest finished run of each approach.",
    )
    return [by_label[label] for label in picked]


def nothing_to_compare() -> None:
    st.info("No finished run to compare yet. Train two approaches (the **Train** page, or a terminal), then come back:")
    commands = cmp.train_commands()
    st.code(f"{commands['logreg-tfidf']}\n{commands['logreg-hashing']}", language="bash")


def metrics_section(picked: list) -> None:
    st.subheader("Metrics on the test split")
    st.dataframe(
        cmp.metrics_table(picked), hide_index=True, column_config={column: fmt.percent() for column in PERCENT_COLUMNS}
    )


def confusion_section(picked: list) -> None:
    st.subheader("Confusion matrices")
    normalised = st.toggle("Normalise per true class (%)", value=False)
    for start in range(0, len(picked), MAX_MATRICES_PER_ROW):
        row = picked[start : start + MAX_MATRICES_PER_ROW]
        for col, run in zip(st.columns(MAX_MATRICES_PER_ROW), row):
            matrix = cmp.confusion(run, normalize=normalised)
            if matrix is None:
                col.caption(f"{cmp.run_label(run)}: no confusion matrix recorded.")
            else:
                col.plotly_chart(figures.confusion_heatmap(matrix, cmp.run_label(run), normalised), key=f"cm-{run.id}")


def curves_section(picked: list) -> None:
    st.subheader("ROC and precision-recall curves")
    left, right = st.columns(2)
    roc = cmp.curve_points(picked, "roc")
    if roc.empty:
        left.caption("No ROC curve recorded for these runs.")
    else:
        left.plotly_chart(figures.roc_curves(roc))
    pr = cmp.curve_points(picked, "pr")
    if pr.empty:
        right.caption("No precision-recall curve recorded for these runs.")
    else:
        right.plotly_chart(figures.precision_recall_curves(pr))


def training_section(picked: list) -> None:
    """Learning curves, and the embedding coverage of Keras runs."""
    st.subheader("Learning curves")
    curves = cmp.learning_curves(picked)
    if curves.empty:
        st.caption("None of these runs trains in epochs (the Keras and transformer runs do): nothing to plot.")
    else:
        st.plotly_chart(figures.learning_curves(curves))
    coverage = cmp.embedding_coverage(picked)
    if not coverage.empty:
        st.subheader("Embedding coverage (Keras runs)")
        st.dataframe(coverage, hide_index=True)


def same_data_runs(picked: list) -> list:
    """The picked runs whose row ids line up (one data source), warning about the others."""
    tweet_runs, other_data = cmp.same_data(picked)
    if other_data:
        st.warning(
            "Tweet-by-tweet views only use runs trained on the same data as "
            f"{cmp.run_label(tweet_runs[0])}; left out: {', '.join(cmp.run_label(r) for r in other_data)}."
        )
    return tweet_runs


def disagreements_section(aligned: pd.DataFrame, texts, row_ids: dict) -> None:
    prob_columns = [c for c in aligned.columns if c not in ("row_id", "label")]
    if len(prob_columns) < 2:
        st.caption("Pick at least two runs with test predictions to see where they disagree.")
        return
    true_filter = st.radio("True label", ["all", "negative", "positive"], horizontal=True)
    found, total = cmp.disagreements(
        aligned, texts, None if true_filter == "all" else true_filter, limit=MAX_DISAGREEMENTS
    )
    share = 100 * total / max(len(aligned), 1)
    st.markdown(
        f"**{total:,}** of {len(aligned):,} test tweets ({share:.1f} %) get different labels"
        + ("" if true_filter == "all" else f" among the truly {true_filter} ones")
        + f"; the most contested first (largest spread of P(positive)), {MAX_DISAGREEMENTS} at most."
    )
    probability = {c: fmt.probability(c) for c in prob_columns}
    st.dataframe(
        found,
        hide_index=True,
        column_config={**probability, **row_ids, "spread": st.column_config.NumberColumn(format="%.3f")},
    )


def mistakes_section(tweet_runs: list, texts, row_ids: dict) -> None:
    st.subheader("Most confident mistakes")
    n_mistakes = st.slider("Mistakes per run", 5, 50, 10, step=5)
    for tab, run in zip(st.tabs([cmp.run_label(r) for r in tweet_runs]), tweet_runs):
        mistakes = cmp.confident_mistakes(run, texts, n_mistakes)
        if mistakes is None:
            tab.caption("This run has no test_predictions.csv.")
            continue
        tab.dataframe(
            mistakes,
            hide_index=True,
            column_config={
                **row_ids,
                "P(positive)": fmt.probability(),
                "confidence": st.column_config.NumberColumn(
                    format="%.3f", help=f"|P(positive) − {THRESHOLD:g}| × 2: 1 = fully sure"
                ),
            },
        )


def tweet_sections(picked: list, signature: tuple) -> None:
    """The tweet-by-tweet views: where the runs disagree, and each run's most confident mistakes."""
    st.subheader("Where the approaches disagree")
    tweet_runs = same_data_runs(picked)
    aligned, texts, problem = tweet_views(tuple(r.id for r in tweet_runs), signature, tweet_runs)
    if problem:
        st.caption(f"Some tweet texts are not shown: {problem}")
    row_ids = {} if texts is None else {"row_id": None}  # row ids are only worth showing when texts are missing
    disagreements_section(aligned, texts, row_ids)
    mistakes_section(tweet_runs, texts, row_ids)


def main() -> None:
    st.title("Compare")
    signature = runs_signature(runs_dir())
    runs = cmp.comparable(load_runs())
    if not runs:
        nothing_to_compare()
        return
    picked = pick_runs(runs)
    if not picked:
        st.info("Pick at least one run above.")
        return
    if warning := fmt.split_warning(cmp.mixed_splits(picked)):
        st.warning(warning)
    metrics_section(picked)
    confusion_section(picked)
    curves_section(picked)
    training_section(picked)
    tweet_sections(picked, signature)


main()
