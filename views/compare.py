"""Compare: pick runs and see them side by side, down to the tweets they disagree on, on the shared test split or
any evaluation set they were measured on (operators can evaluate them on another labelled set here)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.analysis import compare as cmp
from core.config import runs_dir
from core.data.loading import DataError
from core.data.sources import SourceRefused, resolve_page_source
from core.evaluation import eval_sets
from core.evaluation.eval_sets import TEST_SPLIT
from core.models.base import THRESHOLD
from core.run_kinds import is_cloud
from core.tracking.runs import runs_signature
from views.components import figures, gauge, robustness, tables
from views.components import formatting as fmt
from views.components.access import is_operator, operator_reason
from views.components.runs import load_runs

TWEET_COLUMNS = {  # a tweet table's text gets the room; its labels stay narrow
    "text": st.column_config.TextColumn("Tweet", width=420),
    "true label": st.column_config.TextColumn("True label", width=85),
    "label": st.column_config.TextColumn("True label", width=85),
    "predicted": st.column_config.TextColumn("Predicted", width=85),
}
MAX_MATRICES_PER_ROW = 3
MAX_DISAGREEMENTS = 200
PERCENT_COLUMNS = ("accuracy (%)", "macro precision (%)", "macro recall (%)", "macro F1 (%)")
# The page evaluates inline, under a spinner: at most this many runs and tweets at a time (the command line,
# `python -m core.commands.evaluate`, has no limit). A TF-IDF run scores 10,000 tweets in about a second, a CPU transformer
# in a minute or two.
MAX_EVALUATED_RUNS = 6
MAX_EVALUATED_TWEETS = 10_000
EVALUATED_KEY = "compare_evaluated"


@st.cache_resource(show_spinner="Joining the tweets…", max_entries=8)
def tweet_views(run_ids: tuple, signature: tuple, set_name: str, set_signature: tuple, _runs: list):
    texts, problem = cmp.set_texts(_runs, set_name)
    return cmp.aligned_predictions(_runs, set_name), texts, problem


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


METRIC_COLUMNS = {  # the figures that rank the runs, labelled and sized so the table fits the page
    "run": st.column_config.TextColumn("Run", width=260),
    "accuracy (%)": st.column_config.NumberColumn("Accuracy", format="%.2f %%", width=80),
    "macro F1 (%)": st.column_config.NumberColumn("Macro F1", format="%.2f %%", width=80),
    "macro precision (%)": st.column_config.NumberColumn("Precision", format="%.2f %%", width=80, help="macro"),
    "macro recall (%)": st.column_config.NumberColumn("Recall", format="%.2f %%", width=80, help="macro"),
    "ROC AUC": st.column_config.NumberColumn("ROC AUC", format="%.4f", width=75),
    "test tweets": st.column_config.NumberColumn("Test tweets", format="%d", width=85),
    "latency p50 (ms)": st.column_config.NumberColumn("1 tweet", format="%.1f ms", width=70, help="median latency"),
    "batch (tweets/s)": st.column_config.NumberColumn("Tweets/s", format="%.0f", width=75, help="batched"),
}


def metrics_section(picked: list) -> None:
    st.subheader("Metrics on the test split")
    table = cmp.metrics_table(picked)
    set_columns = [c for c in table.columns if c.startswith(cmp.SET_COLUMN_PREFIX)]
    percent = {column: fmt.percent() for column in (*PERCENT_COLUMNS, *set_columns)}
    tables.fitting_table(table, METRIC_COLUMNS, percent, keep=("run",))
    if set_columns:
        st.caption("The “accuracy on …” columns are the evaluation sets (pick one below to see its details).")


def pick_set(picked: list) -> str:
    """The evaluation set the matrices, curves and tweet views show (default: the shared test split)."""
    return st.selectbox(
        "Evaluation set",
        cmp.evaluation_sets(picked),
        key="compare_evaluation_set",
        help=f"“{TEST_SPLIT}”: each run's own shared test split. The others: labelled files the runs were "
        "evaluated on (`python -m core.commands.evaluate`, or the action at the bottom of this page).",
    )


def set_section(picked: list, set_name: str) -> list:
    """The runs evaluated on the set (with its figures when it is not the test split); the others are named."""
    having, missing = cmp.with_set(picked, set_name)
    if set_name == TEST_SPLIT:
        return having
    st.subheader(f"Metrics on {set_name}")
    if missing:
        st.warning(
            f"Not evaluated on {set_name}: {', '.join(cmp.run_label(r) for r in missing)} (evaluate them with "
            "the action at the bottom of this page, or `python -m core.commands.evaluate --run RUN --data CSV`)."
        )
    table = cmp.set_table(having, set_name)
    if len(table):
        percent = ("accuracy (%)", "macro F1 (%)", "neutral called positive (%)")
        st.dataframe(table, hide_index=True, column_config={c: fmt.percent() for c in percent})
        st.caption(
            "Neutral tweets (label 2 or “neutral”) are not in the accuracy: the table says how many there are and "
            "how often each run calls them positive."
        )
    return having


def confusion_section(picked: list, set_name: str = TEST_SPLIT) -> None:
    st.subheader("Confusion matrices")
    normalised = st.toggle("Normalise per true class (%)", value=False)
    for start in range(0, len(picked), MAX_MATRICES_PER_ROW):
        row = picked[start : start + MAX_MATRICES_PER_ROW]
        for col, run in zip(st.columns(MAX_MATRICES_PER_ROW), row):
            matrix = cmp.confusion(run, normalize=normalised, set_name=set_name)
            if matrix is None:
                col.caption(f"{cmp.run_label(run)}: no confusion matrix recorded.")
            else:
                col.plotly_chart(figures.confusion_heatmap(matrix, cmp.run_label(run), normalised), key=f"cm-{run.id}")


def curves_section(picked: list, set_name: str = TEST_SPLIT) -> None:
    st.subheader("ROC and precision-recall curves")
    left, right = st.columns(2)
    roc = cmp.curve_points(picked, "roc", set_name)
    if roc.empty:
        left.caption("No ROC curve recorded for these runs.")
    else:
        left.plotly_chart(figures.roc_curves(roc))
    pr = cmp.curve_points(picked, "pr", set_name)
    if pr.empty:
        right.caption("No precision-recall curve recorded for these runs.")
    else:
        right.plotly_chart(figures.precision_recall_curves(pr))


def training_section(picked: list) -> None:
    """Learning curves, and the embedding coverage of Keras runs."""
    st.subheader("Learning curves")
    curves = cmp.learning_curves(picked)
    if curves.empty:
        st.caption("No picked run trains in epochs (the Keras and transformer runs do): nothing to plot.")
    else:
        st.plotly_chart(figures.learning_curves(curves))
    coverage = cmp.embedding_coverage(picked)
    if not coverage.empty:
        st.subheader("Embedding coverage (Keras runs)")
        by_run = tables.human_columns(coverage).set_index("run").T  # one column per run: fits beside the others
        shown = by_run.map(lambda v: "" if pd.isna(v) else str(v)).rename_axis("figure").reset_index()
        st.dataframe(shown, hide_index=True, width="stretch")


def same_data_runs(picked: list, set_name: str = TEST_SPLIT) -> list:
    """The picked runs whose row ids line up (one data source, or one version of the set's file), warning about
    the others."""
    tweet_runs, other_data = cmp.same_set_version(picked, set_name)
    if other_data:
        which = "trained on the same data as" if set_name == TEST_SPLIT else f"evaluated on the same {set_name} file as"
        st.warning(
            f"Tweet-by-tweet views only use runs {which} "
            f"{cmp.run_label(tweet_runs[0])}; left out: {', '.join(cmp.run_label(r) for r in other_data)}."
        )
    return tweet_runs


def disagreements_section(aligned: pd.DataFrame, texts, row_ids: dict) -> None:
    prob_columns = [c for c in aligned.columns if c not in ("row_id", "label")]
    if len(prob_columns) < 2:
        st.caption("Pick at least two runs with predictions on this set to see where they disagree.")
        return
    neutral = ["neutral"] if (aligned["label"] == "neutral").any() else []  # three-way runs' neutral tweets
    true_filter = st.radio("True label", ["all", "negative", *neutral, "positive"], horizontal=True)
    found, total = cmp.disagreements(
        aligned, texts, None if true_filter == "all" else true_filter, limit=MAX_DISAGREEMENTS
    )
    share = 100 * total / max(len(aligned), 1)
    st.markdown(
        f"**{total:,}** of {len(aligned):,} tweets ({share:.1f} %) get different labels"
        + ("" if true_filter == "all" else f" among the truly {true_filter} ones")
        + f"; the most contested first (largest spread of P(positive)), {MAX_DISAGREEMENTS} at most."
    )
    probability = {c: fmt.probability(figures.short_run_label(c), width=110, help=c) for c in prob_columns}
    st.dataframe(
        tables.readable_texts(found),
        hide_index=True,
        width="stretch",
        column_config={
            **TWEET_COLUMNS,
            **probability,
            **row_ids,
            "spread": st.column_config.NumberColumn("Spread", format="%.3f", width=70, help="of P(positive)"),
        },
    )


def mistakes_section(tweet_runs: list, texts, row_ids: dict, set_name: str = TEST_SPLIT) -> None:
    st.subheader("Most confident mistakes")
    n_mistakes = st.slider("Mistakes per run", 5, 50, 10, step=5)
    for tab, run in zip(st.tabs([cmp.run_label(r) for r in tweet_runs]), tweet_runs):
        mistakes = cmp.confident_mistakes(run, texts, n_mistakes, set_name)
        if mistakes is None:
            tab.caption(f"This run has no predictions on {set_name}.")
            continue
        tab.dataframe(
            tables.readable_texts(mistakes),
            hide_index=True,
            width="stretch",
            column_config={
                **TWEET_COLUMNS,
                **row_ids,
                "P(positive)": fmt.probability(width=110),
                "confidence": st.column_config.NumberColumn(
                    format="%.3f", help=f"|P(positive) − {THRESHOLD:g}| × 2: 1 = fully sure"
                ),
            },
        )


def tweet_sections(picked: list, signature: tuple, set_name: str = TEST_SPLIT) -> None:
    """The tweet-by-tweet views: where the runs disagree, and each run's most confident mistakes."""
    st.subheader("Where the approaches disagree")
    if not picked:
        st.caption(f"No picked run was evaluated on {set_name}.")
        return
    tweet_runs = same_data_runs(picked, set_name)
    set_signature = eval_sets.evaluations_signature(r.path for r in tweet_runs)
    aligned, texts, problem = tweet_views(
        tuple(r.id for r in tweet_runs), signature, set_name, set_signature, tweet_runs
    )
    if problem:
        st.caption(f"Some tweet texts are not shown: {problem}")
    row_ids = {} if texts is None else {"row_id": None}  # row ids are only worth showing when texts are missing
    disagreements_section(aligned, texts, row_ids)
    mistakes_section(tweet_runs, texts, row_ids, set_name)


# ------------------------------------------------------------------ evaluating on a labelled set (operators)


def evaluate_section(picked: list) -> None:
    """Operators: evaluate the picked runs on a labelled file the dashboard may open (never a typed path)."""
    st.subheader("Evaluate on a labelled set")
    if outcomes := st.session_state.pop(EVALUATED_KEY, None):
        for run_id, outcome, ok in outcomes:
            (st.success if ok else st.error)(f"{run_id}: {outcome}")
    choices = {label: (key, name) for label, key, name in eval_sets.page_set_choices()}
    if not choices:
        st.caption(
            "No labelled file to offer: upload one (the **Data** page or the sidebar) or download the official set."
        )
        return
    sizes = {label: set_size(key) for label, (key, _) in choices.items()}
    too_big = [label for label, size in sizes.items() if size is None or size > MAX_EVALUATED_TWEETS + 1]
    choices = {label: choice for label, choice in choices.items() if label not in too_big}
    if too_big:
        st.caption(
            f"Over the page's {MAX_EVALUATED_TWEETS:,} tweets, so not offered here: {', '.join(too_big)}. "
            "Evaluate on them in a terminal: `python -m core.commands.evaluate --run RUN --data FILE`."
        )
    if not choices:
        return
    allowed = is_operator()
    label = st.selectbox(
        "Evaluate the selected runs on",
        list(choices),
        key="compare_evaluate_source",
        format_func=lambda choice: f"{choice} (at most {sizes[choice] - 1:,} tweets)",
    )
    key, name = choices[label]
    st.caption(
        f"Stored in each run folder as “{name}”, replacing an earlier evaluation of that name. The page evaluates "
        f"{MAX_EVALUATED_RUNS} local runs and {MAX_EVALUATED_TWEETS:,} tweets at most; cloud services and bigger "
        "files: `python -m core.commands.evaluate` in a terminal."
    )
    clicked = st.button("Evaluate", disabled=not allowed, help=operator_reason() or None, icon=":material/rule:")
    if not allowed:
        st.caption(operator_reason())
    elif clicked:
        evaluate_picked(picked, key, name)


@st.cache_data(ttl=60, show_spinner=False, max_entries=64)
def set_size(key: str) -> int | None:
    """At most how many lines of tweets a labelled file the page may open holds (None when it cannot be read)."""
    try:
        return eval_sets.tweets_at_most(resolve_page_source(key).key)
    except (SourceRefused, DataError, OSError, ValueError):
        return None


def evaluate_picked(picked: list, key: str, name: str) -> None:
    if not is_operator():  # checked again at the click: a disabled button is only a hint
        st.error(f"Evaluating runs: {operator_reason()}")
        return
    local = [r for r in picked if not is_cloud(r.kind)][:MAX_EVALUATED_RUNS]
    try:
        source = resolve_page_source(key)  # nothing is opened unless the page may open it
        with st.spinner(f"Reading {name}…"):
            data = eval_sets.load_eval_set(source.key, name)
    except (SourceRefused, DataError, eval_sets.EvalSetError, OSError) as exc:
        st.error(f"This file cannot be evaluated on: {exc}")
        return
    if len(data.loaded.frame) + len(data.neutral) > MAX_EVALUATED_TWEETS:
        st.error(
            f"{name} has {len(data.loaded.frame) + len(data.neutral):,} tweets; the page evaluates "
            f"{MAX_EVALUATED_TWEETS:,} at most: use `python -m core.commands.evaluate --run RUN --data FILE` in a terminal."
        )
        return
    with st.spinner(f"Evaluating {len(local)} run(s) on {name}…"):
        outcomes = eval_sets.evaluate_runs([r.path for r in local], data)
    skipped = [r for r in picked if r not in local]
    outcomes += [
        (r.id, "not evaluated here (a cloud service, or over the page's limit of runs)", False) for r in skipped
    ]
    st.session_state[EVALUATED_KEY] = outcomes
    st.rerun()


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
    set_name = pick_set(picked)
    set_runs = set_section(picked, set_name)
    confusion_section(set_runs, set_name)
    curves_section(set_runs, set_name)
    training_section(picked)
    gauge.gauge_section(picked, key="compare_gauge")
    tweet_sections(set_runs, signature, set_name)
    robustness.calibration_section(cmp.set_prediction_frames(set_runs, set_name), set_name)
    robustness.behaviour_section(picked)
    evaluate_section(picked)


main()
