"""Résumé: the study's summary table, measured here — quality, speed and cost per run."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.analysis import resume_table
from core.analysis.compare import SET_COLUMN_PREFIX
from core.config import runs_dir
from core.evaluation.eval_sets import TEST_SPLIT
from core.models import serving
from core.pricing import load_pricing
from views.components import figures, tables
from views.components import formatting as fmt
from views.components.access import current_access, is_operator, operator_reason
from views.components.runs import load_runs

COST_COLUMNS = ["inference cost per 1,000 tweets (USD)", "training cost (USD)"]
COLUMN_FORMATS = {
    "accuracy (%)": fmt.percent(),
    "macro F1 (%)": fmt.percent(),
    "training time (s)": fmt.seconds(),
    "training throughput (tweets/s)": fmt.whole_number(),
    "single-tweet latency p50 (ms)": fmt.milliseconds(),
    "batched throughput (tweets/s)": fmt.whole_number(),
    "training cost (USD)": fmt.dollars(),
    "inference cost per 1,000 tweets (USD)": fmt.dollars(),
    "source": st.column_config.TextColumn(help="measured here, or the original study's figure"),
    "serving backend": st.column_config.TextColumn(
        help="what computes the run's answers when it is scored (Live, batch, monitor); a transformer serves "
        "ONNX int8, ONNX fp32 or PyTorch by the serving rule, unless an operator overrode it"
    ),
}
SERVE_OPTIONS = {
    "auto": "Auto (the rule decides)",
    "int8": "ONNX int8",
    "fp32": "ONNX fp32",
    "pytorch": "PyTorch",
}
SERVING_MESSAGE_KEY = "resume_serving_message"


def cost_settings(pricing: dict) -> resume_table.CostSettings:
    """The costing of the sidebar: the default prices, or the user's price for this machine."""
    defaults = resume_table.CostSettings.from_pricing(pricing)
    with st.sidebar:
        st.subheader("Costing")
        local_price = st.number_input(
            "Price of this machine (USD/h)",
            min_value=0.0,
            value=defaults.local_usd_per_hour,
            step=0.01,
            format="%.3f",
            help=f"Runs trained and served here are costed at this hourly price. Default: Azure "
            f"{defaults.local_label}, the closest Azure ML instance to this machine.",
        )
    custom = None if local_price == defaults.local_usd_per_hour else local_price
    return resume_table.CostSettings.from_pricing(pricing, custom)


def summary(runs: list, pricing: dict) -> tuple[pd.DataFrame, str]:
    """The summary table, as the toggles, the evaluation set and the sidebar's costing ask; and that set."""
    costs = cost_settings(pricing)
    c1, c2, c3 = st.columns(3)
    best_only = c1.toggle("Best run per approach", value=False)
    include_study = c2.toggle("Show the study's figures", value=True)
    set_name = c3.selectbox(
        "Evaluation set",
        resume_table.evaluation_set_names(runs),
        key="resume_evaluation_set",
        help=f"Which accuracy ranks the runs (and “best per approach”) and goes into the chart: “{TEST_SPLIT}” is "
        "each run's own shared test split, the others are labelled files the runs were evaluated on.",
    )
    table = resume_table.summary_table(
        runs, costs, pricing, best_per_approach=best_only, include_study=include_study, set_name=set_name
    )
    return table, set_name


def mixed_splits_warning(table: pd.DataFrame, set_name: str = TEST_SPLIT) -> None:
    splits = resume_table.test_splits(table)
    if len(splits) > 1:
        others = ", ".join(f"{name} ({count} run{'s' if count > 1 else ''})" for name, count in splits.iloc[1:].items())
        advice = (
            "Compare them on a common evaluation set (the selector above)."
            if set_name == TEST_SPLIT
            else f"The ranking and the chart use the accuracy on {set_name}, the same tweets for every run on it."
        )
        st.warning(
            f"“accuracy (%)” compares runs only within one test split: most runs share {splits.index[0]}, "
            f"others were measured on {others}. {advice}"
        )


MAIN_COLUMNS = {  # the figures that rank the runs, with labels short enough for the table to fit the page
    "approach": st.column_config.TextColumn("Approach", width=190),
    "run": st.column_config.TextColumn("Run", width=150),
    "source": st.column_config.TextColumn("Source", width=90, help=COLUMN_FORMATS["source"].get("help")),
    "accuracy (%)": st.column_config.NumberColumn("Accuracy", format="%.2f %%", width=80),
    "macro F1 (%)": st.column_config.NumberColumn("Macro F1", format="%.2f %%", width=80),
    "training time (s)": st.column_config.NumberColumn("Training", format="%.0f s", width=75),
    "single-tweet latency p50 (ms)": st.column_config.NumberColumn(
        "1 tweet", format="%.1f ms", width=70, help="median latency of a single tweet (p50)"
    ),
    "batched throughput (tweets/s)": st.column_config.NumberColumn(
        "Tweets/s", format="%.0f", width=75, help="batched throughput when scoring"
    ),
    "inference cost per 1,000 tweets (USD)": st.column_config.NumberColumn(
        "$ / 1,000 tweets", format="$%.6f", width=110, help="inference cost per 1,000 tweets (USD)"
    ),
}


def summary_table(table: pd.DataFrame, set_name: str = TEST_SPLIT) -> None:
    """The ranking figures in a table that fits the page; every other column in a second one, below."""
    mixed_splits_warning(table, set_name)
    set_columns = {
        c: st.column_config.NumberColumn(c.capitalize(), format="%.2f %%", width=110)
        for c in table.columns
        if c.startswith(SET_COLUMN_PREFIX)
    }
    measured = table[table["source"] == resume_table.MEASURED]
    if len(measured):
        tables.fitting_table(measured, {**MAIN_COLUMNS, **set_columns}, COLUMN_FORMATS, keep=("approach", "run"))
    study_figures(table[table["source"] == resume_table.STUDY_SOURCE])
    st.download_button(
        "Download as CSV",
        table.to_csv(index=False).encode("utf-8"),
        file_name="bad_buzz_resume.csv",
        mime="text/csv",
        icon=":material/download:",
    )


def study_figures(study: pd.DataFrame) -> None:
    """The original study's accuracies apart: other data, other notebooks, and nothing else measured."""
    if study.empty:
        return
    st.markdown("**The original study's figures** (other data and notebooks: not measured here)")
    st.dataframe(
        study,
        hide_index=True,
        width="stretch",
        column_order=["approach", "accuracy (%)", "notes"],
        column_config={
            "approach": st.column_config.TextColumn("Approach", width=260),
            "accuracy (%)": st.column_config.NumberColumn("Accuracy", format="%.0f %%", width=90),
            "notes": st.column_config.TextColumn("Notes", width=400),
        },
    )


def accuracy_cost_chart(table: pd.DataFrame, set_name: str = TEST_SPLIT) -> None:
    st.subheader("Accuracy against cost" + ("" if set_name == TEST_SPLIT else f" (accuracy on {set_name})"))
    if missing := resume_table.missing_set(table, set_name):
        st.warning(f"Not evaluated on {set_name}, so not in the chart: {', '.join(missing)}.")
    cost_column = st.radio("Cost", COST_COLUMNS, horizontal=True)
    accuracy_title = "test accuracy (%)" if set_name == TEST_SPLIT else f"accuracy on {set_name} (%)"
    st.plotly_chart(
        figures.accuracy_cost_figure(resume_table.on_set(table, set_name), cost_column, accuracy_title), width="stretch"
    )
    st.caption(
        "Dotted lines: the original study's accuracies (other data, other notebooks: not measured here). "
        "Serving costs assume the instance is fully used at the batched throughput measured on this "
        "machine; an idle endpoint bills its hourly price all the same."
    )


def pricing_sources(pricing: dict, expanded: bool) -> None:
    with st.expander("Pricing sources and dates", expanded=expanded):
        st.caption(pricing.get("note", ""))
        st.dataframe(
            resume_table.pricing_sources(pricing),
            hide_index=True,
            width="stretch",
            column_config={"source": st.column_config.LinkColumn()},
        )
        st.caption("Prices are read from `core/pricing.json` (or `$BADBUZZ_PRICING`): edit it when they change.")


def serving_section(runs: list) -> None:
    """A transformer run's serving decision and its figures; operators may override it."""
    transformers = {f"{r.approach} · {r.id}": r for r in runs if r.kind == "transformer" and r.status == "succeeded"}
    if not transformers:
        return
    st.subheader("Serving backend of the transformer runs")
    run = transformers[st.selectbox("Transformer run", list(transformers), key="serving_run")]
    st.markdown(f"**{run.id}** serves **{resume_table.serving_backend(run) or 'PyTorch'}**.")
    onnx = run.meta.get("onnx") if isinstance(run.meta.get("onnx"), dict) else {}
    if onnx.get("rule"):
        st.caption(
            f"The rule, on {onnx.get('check_texts', '?')} tweets of the {onnx.get('check_source') or 'validation split'}: "
            f"{onnx['rule']}. The rule chose {serving.backend_label(onnx.get('preferred'))}."
        )
    table = resume_table.serving_figures(run)
    if len(table):
        st.dataframe(table, hide_index=True, width="stretch", column_config=SERVING_FORMATS)
    override_form(run)


SERVING_FORMATS = {  # labelled and sized so the table fits the page
    "backend": st.column_config.TextColumn("Backend", width=95),
    "serves now": st.column_config.CheckboxColumn("Serves now", width=75),
    "accuracy (%)": st.column_config.NumberColumn("Accuracy", format="%.2f %%", width=80),
    "label agreement with PyTorch (%)": st.column_config.NumberColumn(
        "Agrees with PyTorch", format="%.2f %%", width=110, help="share of the check tweets given the same label"
    ),
    "max |ΔP|": st.column_config.NumberColumn(format="%.4f", width=70),
    "mean |ΔP|": st.column_config.NumberColumn(format="%.4f", width=70),
    "batched throughput (tweets/s)": st.column_config.NumberColumn("Tweets/s", format="%.0f", width=75),
    "single-tweet latency p50 (ms)": st.column_config.NumberColumn("1 tweet", format="%.1f ms", width=75),
    "rule": st.column_config.TextColumn("Rule", width=240),
}


def override_form(run) -> None:
    """Operators only: serve another backend (recorded in run.json as an operator override, with who and why)."""
    allowed = is_operator()
    c1, c2 = st.columns([1, 2])
    choice = c1.selectbox("Serve", list(SERVE_OPTIONS), format_func=SERVE_OPTIONS.get, key="serving_choice")
    why = c2.text_input("Why (kept in run.json)", key="serving_why", max_chars=200, disabled=not allowed)
    clicked = st.button(
        "Apply serving choice", disabled=not allowed, help=operator_reason() or None, icon=":material/swap_horiz:"
    )
    if not allowed:
        st.caption(operator_reason())
    if clicked:
        apply_override(run, choice, why)
    if message := st.session_state.pop(SERVING_MESSAGE_KEY, None):
        st.success(message)


def apply_override(run, choice: str, why: str) -> None:
    if not is_operator():  # checked again at the click: a disabled button is only a hint
        st.error(f"Changing what a run serves: {operator_reason()}")
        return
    rights = current_access()
    try:
        record = serving.set_serving(
            run.path, choice, by=f"{rights.who or 'operator'} ({rights.how}, dashboard)", why=why
        )
    except serving.ServingError as exc:
        st.error(str(exc))
        return
    st.session_state[SERVING_MESSAGE_KEY] = f"{run.id} now serves {record['label']} ({record['decided_by']})."
    st.rerun()


def unfinished_runs(runs: list) -> None:
    failed = [r for r in runs if r.status in ("failed", "cancelled")]
    if not failed:
        return
    with st.expander(f"{len(failed)} run(s) that did not finish"):
        for run in failed:
            st.markdown(
                f"**{run.approach}** — `{run.id}` — {run.status}: {run.status_reason or run.meta.get('error', '')}"
            )
            tail = run.log_tail(15)
            if tail:
                st.code(tail, language="text")


def main() -> None:
    st.title("Résumé")
    st.caption(
        "One row per run, measured on the shared test split of its data (and an “accuracy on …” column per "
        "evaluation set: `python -m core.commands.evaluate`); the original study's figures are listed below them for "
        "reference and marked as such."
    )
    pricing = load_pricing()
    runs = load_runs()
    table, set_name = summary(runs, pricing)
    nothing_measured = table[table["source"] == resume_table.MEASURED].empty
    if nothing_measured:
        st.info(
            f"No finished run in `{runs_dir()}` yet: the table below holds only the study's reference figures. "
            "Train the baselines on the **Train** page (seconds each), or from a terminal: "
            "`python -m trainers.logreg --output artifacts/runs/logreg-tfidf`."
        )
    summary_table(table, set_name)
    if not nothing_measured:
        accuracy_cost_chart(table, set_name)
    serving_section(runs)
    pricing_sources(pricing, expanded=nothing_measured)
    unfinished_runs(runs)


main()
