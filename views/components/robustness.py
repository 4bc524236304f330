"""How robust and how well calibrated: Compare's "Behavioural tests" and "Calibration" sections, and the note
that explains the monitor's alert threshold in terms of calibration.

The tests and tables are core's (core/evaluation/behaviour.py, core/evaluation/calibration.py); this module only
draws them. Running the behavioural tests from the page is an operator action, on local runs only, with at most
PAGE_MAX_CASES cases per test (about 3,300 distinct texts per run: seconds for logistic regression).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import streamlit as st

from core.analysis import compare as cmp
from core.evaluation import behaviour as bh
from core.evaluation import calibration as cal
from core.models.base import THRESHOLD, ModelLoadError, load
from core.run_kinds import local_kinds
from views.components import figures
from views.components import formatting as fmt
from views.components.access import is_operator, operator_reason

PAGE_MAX_CASES = 100
RUN_BUTTON = "Run behavioural tests on the selected runs"
EXAMPLE_COLUMNS = {"p_pos": "P(positive)", "p_pos_perturbed": "P(positive) after"}


def current_suite() -> bh.Suite | None:
    """The suite as it is now (two small JSON files: read on each use), None when its files are broken."""
    try:
        return bh.load_suite()
    except bh.SuiteError as exc:
        st.error(str(exc))
        return None


# ------------------------------------------------------------------ behavioural tests


def behaviour_section(picked: list) -> None:
    """Failure rate per test per run side by side, failing examples on expand, and the operator's run button."""
    st.subheader("Behavioural tests")
    st.caption(
        "Checks in the spirit of CheckList (Ribeiro et al., 2020), from templates of airline tweets kept in "
        "`core/evaluation/behaviour_suite/`: **MFT** cases must get the expected label (praise, complaints, "
        "negation, 'not bad', intensifiers, emoticons and emoji, sarcasm); **INV** cases must keep their label "
        "when an @mention, city, flight number or name changes, a URL is added, the case changes or a typo "
        "slips in; **DIR** cases must not gain P(positive) from an added complaint, nor lose it from praise. "
        "Lower is better."
    )
    results = {cmp.run_label(run): bh.read_results(run.path) for run in picked}
    have = {label: result for label, result in results.items() if result}
    if have:
        failure_table(have)
        examples_section(have)
    missing = [run for run in picked if not results[cmp.run_label(run)]]
    started = [run for run in missing if run.kind in local_kinds()] if is_operator() else []
    if started:  # an operator's page runs them in the background at once: no button to press and wait for
        follow_background_suites(started)
    if rest := [run for run in missing if run not in started]:
        st.caption(f"No behavioural test results yet for {', '.join(cmp.run_label(r) for r in rest)}. In a terminal:")
        st.code("\n".join(f"python -m core.commands.behaviour --run {run.path}" for run in rest), language="bash")
    run_action(picked)


@st.cache_resource(show_spinner=False)
def _suite_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="behaviour")  # one suite at a time per server


@st.cache_resource(show_spinner=False, max_entries=64)
def background_suite(path: str, run_json_mtime: float, identity: tuple[str, str, str]) -> Future:
    """The suite on one local run, once per server and version of the run, in the background (its results are
    written into the run folder, where the page reads them)."""
    return _suite_pool().submit(_run_suite_in_background, path, identity)


def _run_suite_in_background(path: str, identity: tuple[str, str, str]) -> None:
    results = bh.run_suite(load(path), bh.load_suite(), PAGE_MAX_CASES)
    results["run"] = dict(zip(("id", "approach", "kind"), identity))
    bh.write_results(path, results)


@st.fragment(run_every=3)
def follow_background_suites(runs: list) -> None:
    """'Running…' while the background suites work; the page again once they are all done."""
    jobs = {
        cmp.run_label(run): background_suite(str(run.path), _mtime(run.path), (run.id, run.approach, run.kind))
        for run in runs
    }
    failed = {label: job.exception() for label, job in jobs.items() if job.done() and job.exception()}
    if all(job.done() for job in jobs.values()):
        for label, exc in failed.items():
            st.error(f"{label}: behavioural tests failed: {type(exc).__name__}: {exc}")
        if len(failed) < len(jobs):
            st.rerun()
        return
    waiting = ", ".join(label for label, job in jobs.items() if not job.done())
    st.info(
        f"Running the behavioural tests on {waiting} in the background ({PAGE_MAX_CASES} cases per test at most: "
        "seconds for logistic regression, a minute or so for a transformer on a CPU); they show here when done.",
        icon=":material/hourglass_top:",
    )


def _mtime(path) -> float:
    run_json = Path(path) / "run.json"
    return run_json.stat().st_mtime if run_json.exists() else 0.0


def failure_table(have: dict[str, dict]) -> None:
    table = bh.failure_rates(have)
    runs = list(have)
    suite = current_suite()
    stale = [label for label, result in have.items() if suite and not bh.is_current(result, suite)]
    if stale:
        st.warning(f"Computed with an older version of the suite (run them again to compare): {', '.join(stale)}.")
    st.plotly_chart(figures.behaviour_heatmap(table, runs), key="behaviour-heatmap")
    st.dataframe(table, hide_index=True, column_config={label: fmt.percent(1) for label in runs})
    st.caption(f"Failure rate (%) per test; {cases_sentence(have)}. The chart names each run by its id.")


def cases_sentence(have: dict[str, dict]) -> str:
    """How many cases per test each run was given: once when they all had the same."""
    cases = {label: result["max_cases"] for label, result in have.items()}
    if len(set(cases.values())) == 1:
        return f"{next(iter(cases.values()))} cases per test at most"
    return "; ".join(f"{label}: {n} cases per test at most" for label, n in cases.items())


def examples_section(have: dict[str, dict]) -> None:
    """The worst failing cases each run recorded for one test, the test picked in a list."""
    tests: dict[str, dict] = {}
    for result in have.values():
        for test in result["tests"]:
            tests.setdefault(test["name"], test)
    with st.expander("Failing examples (the worst first)", icon=":material/search:"):
        name = st.selectbox(
            "Test",
            list(tests),
            format_func=lambda n: f"{tests[n]['type']} · {n} — {tests[n]['expectation']}",
            key="behaviour-test",
        )
        st.caption(tests[name]["description"])
        shown = 0
        for label, result in have.items():
            frame = bh.failing_examples(result, name)
            if len(frame):
                st.markdown(f"*{label}*")
                st.dataframe(frame.rename(columns=EXAMPLE_COLUMNS), hide_index=True, width="stretch")
                shown += 1
        if not shown:
            st.caption("No run fails this test.")


def run_action(picked: list) -> None:
    """The operator's button: run the suite on the selected local runs (bounded), results into their folders."""
    local = [run for run in picked if run.kind in local_kinds()]
    allowed = is_operator()
    why_not = operator_reason() if not allowed else ("" if local else "No selected run is a local model.")
    clicked = st.button(
        RUN_BUTTON,
        disabled=bool(why_not),
        help=why_not
        or f"Local runs only, at most {PAGE_MAX_CASES} cases per test; cloud runs: `python -m core.commands.behaviour`.",
        icon=":material/rule:",
    )
    if why_not:
        st.caption(why_not)
    if clicked and is_operator():  # checked again at the click
        if run_suites(local):
            st.rerun()


def run_suites(runs: list) -> bool:
    """Run the suite on each run with a progress bar; True when at least one wrote its results."""
    suite = current_suite()
    if suite is None:
        return False
    bar = st.progress(0.0, text="Behavioural tests…")
    written = sum(run_suite_on(run, suite, bar, (number, len(runs))) for number, run in enumerate(runs))
    bar.empty()
    return written > 0


def run_suite_on(run, suite: bh.Suite, bar, position: tuple[int, int]) -> bool:
    """Run the suite on one run (the bar shows `position` = (this one, of how many)); True when written."""
    label = cmp.run_label(run)
    number, count = position

    def progress(done: int, total: int) -> None:
        bar.progress((number + done / total) / count, text=f"{label}: {done:,} of {total:,} texts")

    try:
        results = bh.run_suite(load(run.path), suite, PAGE_MAX_CASES, on_progress=progress)
    except (ModelLoadError, OSError) as exc:
        st.error(f"{label}: {exc}")
        return False
    results["run"] = {"id": run.id, "approach": run.approach, "kind": run.kind}
    bh.write_results(run.path, results)
    return True


# ------------------------------------------------------------------ calibration


def calibration_section(predictions: dict[str, pd.DataFrame], set_name: str) -> None:
    """Reliability diagram (every run on one plot) and ECE table, for the runs' predictions on one set
    ({run label: DataFrame with label, p_pos}, e.g. core.analysis.compare.set_prediction_frames)."""
    st.subheader("Calibration")
    st.caption(
        "Does P(positive) = 0.8 mean that 80 % of such tweets are positive? Each point is one of 10 equal-width "
        "bins of P(positive): its mean predicted P(positive) against the share of its tweets that are truly "
        "positive; a calibrated model sits on the diagonal. The expected calibration error (ECE) is the "
        "tweet-weighted mean distance to it, in percentage points."
    )
    usable = {label: frame for label, frame in predictions.items() if frame is not None and len(frame)}
    if not usable:
        st.caption(f"No picked run has predictions on the {set_name}: nothing to plot.")
        return
    points = cal.reliability_points(usable)
    left, right = st.columns(2)
    left.plotly_chart(figures.reliability_diagram(points, set_name), key="reliability-diagram")
    right.markdown(
        "**Reading it.** A point below the diagonal: fewer tweets are positive than the model's P(positive) "
        "says (too sure of positives there); above it: more are (too sure of negatives). The marker size is the "
        "number of tweets in the bin. *Called negative* against *truly negative* is how far the monitor's "
        f"negative share (P(positive) < {THRESHOLD:g}; a three-way run: its most probable class) would be off on "
        "this set, and *mean P(negative)* how far the monitor's estimate (their average) would be. A three-way "
        "run's diagram is P(positive) against the rest."
    )
    summary = cal.calibration_summary(usable)
    columns = ["run", "ECE (points)", "Brier score", "called negative (%)", "mean P(negative) (%)"]
    columns += ["truly negative (%)", "ECE of P(negative) (points)", "tweets"]
    st.dataframe(
        summary[columns],
        hide_index=True,
        width="stretch",
        column_config={  # labelled and sized so the table fits the page
            "run": st.column_config.TextColumn("Run", width=250),
            "ECE (points)": st.column_config.NumberColumn("ECE", format="%.2f", width=65, help="points"),
            "ECE of P(negative) (points)": st.column_config.NumberColumn(
                "ECE of P(neg.)", format="%.2f", width=95, help="points"
            ),
            "Brier score": st.column_config.NumberColumn("Brier", format="%.4f", width=70),
            "called negative (%)": st.column_config.NumberColumn("Called neg.", format="%.1f %%", width=90),
            "mean P(negative) (%)": st.column_config.NumberColumn("Mean P(neg.)", format="%.1f %%", width=95),
            "truly negative (%)": st.column_config.NumberColumn("Truly neg.", format="%.1f %%", width=85),
            "tweets": st.column_config.NumberColumn("Tweets", format="%d", width=70),
        },
    )
    with st.expander("Reliability table (per bin)"):
        st.dataframe(points, hide_index=True)


# ------------------------------------------------------------------ the monitor's threshold


@st.cache_data(show_spinner=False, max_entries=16)
def test_split_calibration(path: str, mtime: float) -> dict | None:
    """Calibration figures of a run on its test split (None without test_predictions.csv)."""
    preds = Path(path) / "test_predictions.csv"
    if not preds.is_file():
        return None
    frame = pd.read_csv(preds, usecols=["label", "p_pos"])
    return cal.summary(frame["label"], frame["p_pos"])


def threshold_note(where, threshold: float, model: tuple[str, str] | None) -> None:
    """One or two sentences that read the alert threshold in terms of the scoring model's calibration."""
    counted = (
        f"A negative share of {threshold:.0%} counts the tweets scored P(positive) < {THRESHOLD:g}, "
        "however sure the model is."
    )
    calibration = None
    if model and model[0] == "run":
        json_path = Path(model[1]) / "run.json"
        calibration = test_split_calibration(model[1], json_path.stat().st_mtime if json_path.exists() else 0.0)
    if not calibration or not calibration["tweets"]:
        where.caption(f"{counted} No test predictions here to say how well this model's scores are calibrated.")
        return
    called, truly = calibration["called negative (%)"], calibration["truly negative (%)"]
    where.caption(
        f"{counted} On its test split this model's P(positive) is off by {calibration['ECE (points)']:.1f} points "
        f"on average (ECE), and it calls {called:.1f} % of the tweets negative where {truly:.1f} % are "
        f"({fmt.signed_points(called - truly)}), so a bucket's share can be off by about that much before any sampling noise."
    )
