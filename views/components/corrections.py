"""The analyst's corrections on the pages: mark a tweet's true label, see and export the saved ones, and the
monitor's "Label these next" section.

The store is `core.data.corrections` (SQLite under the data folder); the suggestions are
`core.analysis.labelling`. Marking a label writes a shared dataset (an evaluation set and training data), so it is
an operator action: viewers see the buttons disabled, and why. Pages call:

- `mark_label(text, answers, origin, key)`: negative / neutral / positive buttons and a "saved" confirmation;
- `mark_tweets(frame, result, model, key)`: a picker over a table of the monitor's tweets, then `mark_label`;
- `label_next_section(result, model)`: the monitor's suggestions (least sure; where other local runs disagree);
- `corrections_panel()`: the saved corrections, their counts and the export;
- `mark_live(text, answers)`: Live scoring's control, recording the columns that were wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import streamlit as st

from core import access
from core.analysis import labelling
from core.analysis.compare import run_label
from core.config import PROJECT_ROOT
from core.data import corrections
from core.data.spreadsheet import XLSX_MIME
from core.models.base import label_for, load
from core.reasons.taxonomy import TaxonomyError, load_taxonomy
from core.run_kinds import local_kinds
from views.components import formatting as fmt
from views.components import tables
from views.components.access import access_settings, current_access, is_operator, operator_reason
from views.components.runs import load_runs

ICONS = {
    "negative": ":material/sentiment_dissatisfied:",
    "neutral": ":material/sentiment_neutral:",
    "positive": ":material/sentiment_satisfied:",
}
MESSAGE_KEY = "_corrections_message"  # + the control's key: the outcome of the last click, shown once
OTHERS_KEY = "_labelling_others"  # (id of the monitor result, labelling.OtherScores)
SUGGESTIONS = 20
SHORT_TEXT = 90
REASONS = {labelling.UNSURE: "the model is unsure", labelling.DISAGREE: "the runs disagree"}
NO_REASON = "(no reason)"


# ------------------------------------------------------------------ marking one tweet


def who_is_marking() -> str:
    """The signed-in user's e-mail when a login says who; else "operator" (password) or "local" (this machine)."""
    settings = access_settings()
    rights = current_access(settings)
    if settings.mode == access.LOGIN and rights.who:
        return rights.who
    return "operator" if settings.mode == access.PASSWORD else "local"


def save(text: str, label: str, answers: tuple, origin: str, key: str) -> None:
    """Button callback: store the label (checked again here: a disabled button is a hint, not a guard)."""
    if not is_operator():
        st.session_state[f"{MESSAGE_KEY}-{key}"] = ("error", f"Not saved. {operator_reason()}")
        return
    reason = st.session_state.get(f"{key}-reason", NO_REASON) if label == "negative" else NO_REASON
    reason = "" if reason == NO_REASON else reason
    try:
        saved = corrections.add_correction(
            text, label, who=who_is_marking(), origin=origin, answers=answers, reason=reason
        )
    except (corrections.CorrectionError, OSError) as exc:
        st.session_state[f"{MESSAGE_KEY}-{key}"] = ("error", f"Not saved: {exc}.")
        return
    wrong = ", ".join(a.run_label for a in saved.answers) or "no model"
    again = f" (marked {saved.times_corrected} times; the latest label counts)" if saved.times_corrected > 1 else ""
    about = f" about **{reason}**" if reason else ""
    st.session_state[f"{MESSAGE_KEY}-{key}"] = ("success", f"Saved as **{label}**{about}{again}. Wrong: {wrong}.")


def reason_picker(text: str, key: str, allowed: bool) -> None:
    """The complaint reason saved with a Negative mark (the taxonomy's names; what core.reasons learns from)."""
    try:
        names = load_taxonomy().names
    except TaxonomyError as exc:
        st.caption(f"Complaint reasons are off: {exc}.")
        return
    try:
        current = corrections.latest_reason(text)
    except corrections.CorrectionError:
        current = ""
    options = [NO_REASON, *names]
    st.selectbox(
        "Complaint reason (saved with Negative)",
        options,
        index=options.index(current) if current in options else 0,
        key=f"{key}-reason",
        disabled=not allowed,
        help="What the tweet complains about: the reason tagger learns from these once there are enough of them",
    )


def mark_label(text: str, answers: Sequence[corrections.ModelAnswer], origin: str, key: str) -> None:
    """Negative / neutral / positive buttons that save the tweet's true label, with the label saved so far."""
    allowed = is_operator()
    try:
        current = corrections.latest_label(text)
    except corrections.CorrectionError:
        current = None  # the panel below says what is wrong with the store
    st.markdown("**True label**" + (f" — saved: {current}" if current else ""))
    for col, label in zip(st.columns(len(corrections.LABELS)), corrections.LABELS):
        col.button(
            label.capitalize(),
            key=f"{key}-{label}",
            icon=ICONS[label],
            type="primary" if label == current else "secondary",
            disabled=not allowed,
            help=operator_reason() or f"Save {label} as this tweet's true label",
            on_click=save,
            args=(text, label, tuple(answers), origin, key),
            width="stretch",
        )
    reason_picker(text, key, allowed)
    if not allowed:
        st.caption(f"Marking labels builds a shared dataset. {operator_reason()}")
    kind, message = st.session_state.pop(f"{MESSAGE_KEY}-{key}", (None, ""))
    if kind == "success":
        st.success(message, icon=":material/check_circle:")
    elif kind == "error":
        st.error(message)


def short(text: str) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= SHORT_TEXT else flat[: SHORT_TEXT - 1] + "…"


# ------------------------------------------------------------------ the monitor


def monitor_answer(result, model: tuple[str, str] | None, p_pos: float) -> corrections.ModelAnswer:
    """The monitor model's answer on one tweet; `model` is the page's ('run', path) or ('cloud', key)."""
    run_id = "" if model is None else (Path(model[1]).name if model[0] == "run" else model[1])
    name = f"{result.model} · {run_id}" if run_id and run_id not in result.model else result.model
    return corrections.ModelAnswer(run_id, name, float(p_pos), label_for(p_pos))


def mark_tweets(frame: pd.DataFrame, result, model: tuple[str, str] | None, key: str) -> None:
    """Pick one of a table's tweets (columns row, text, p_pos) and mark its true label."""
    if frame.empty:
        return
    by_row = frame.set_index("row")
    picked = st.selectbox(
        "Tweet to label",
        by_row.index.tolist(),
        format_func=lambda row: f"row {row}: {short(by_row.at[row, 'text'])}",
        key=f"{key}-pick",
    )
    if picked is None:
        return
    tweet = by_row.loc[picked]
    mark_label(tweet["text"], [monitor_answer(result, model, tweet["p_pos"])], "monitor", key)


def corrected_keys() -> set[str]:
    try:
        return corrections.corrected_keys()
    except corrections.CorrectionError:
        return set()


def other_runs(model: tuple[str, str] | None) -> list:
    """Up to labelling.MAX_OTHER_RUNS local runs besides the monitor's, the most accurate first."""
    mine = Path(model[1]).resolve() if model and model[0] == "run" else None
    runs = [r for r in load_runs() if r.status == "succeeded" and r.kind in local_kinds() and r.path.resolve() != mine]
    runs.sort(key=lambda r: -((r.metrics.get("test") or {}).get("accuracy") or 0))
    return runs[: labelling.MAX_OTHER_RUNS]


@st.cache_resource(show_spinner=False, max_entries=labelling.MAX_OTHER_RUNS)
def cached_model(path: str, mtime: float):
    return load(path)


def load_cached(path) -> object:
    return cached_model(str(path), (Path(path) / "run.json").stat().st_mtime)


def ask_other_runs(result, runs: list) -> None:
    """Score the candidate tweets with the other runs (bounded in time) and keep the answers in the session."""
    frame = labelling.candidates(result.scored, corrected_keys())
    with st.spinner(f"Asking {len(runs)} other run(s) about {len(frame):,} tweets…"):
        others = labelling.score_candidates(frame, [(run_label(r), r.path) for r in runs], load=load_cached)
    st.session_state[OTHERS_KEY] = (id(result), others)


def other_scores(result) -> labelling.OtherScores | None:
    kept = st.session_state.get(OTHERS_KEY)
    return kept[1] if kept and kept[0] == id(result) else None


def label_next_section(result, model: tuple[str, str] | None) -> None:
    """The tweets worth labelling next, and the control to label them."""
    st.subheader("Label these next")
    runs = other_runs(model)
    allowed = is_operator()  # the other runs score up to 1,000 tweets: machine time, and labelling is theirs only
    if runs and st.button(
        f"Compare with {len(runs)} other run(s)",
        icon=":material/compare_arrows:",
        disabled=not allowed,
        help=operator_reason()
        or f"Scores up to {labelling.CANDIDATES_UNSURE + labelling.CANDIDATES_RANDOM:,} tweets with "
        + ", ".join(run_label(r) for r in runs),
    ):
        if is_operator():  # checked again at the click: the session may have signed out since
            ask_other_runs(result, runs)
    others = other_scores(result)
    if others is not None:
        used = ", ".join(others.scores.columns) or "none"
        skipped = "; ".join(f"{name}: {why}" for name, why in others.skipped.items())
        st.caption(f"Compared with: {used} ({others.seconds:.1f} s)" + (f". Not used: {skipped}" if skipped else ""))
    table = labelling.suggestions(
        result.scored, corrected_keys(), None if others is None else others.scores, SUGGESTIONS
    )
    if table.empty:
        st.caption("Nothing left to suggest: every scored tweet has a label from an analyst.")
        return
    st.caption(
        "The tweets the model is least sure of"
        + (" and those where the runs disagree most" if others is not None else "")
        + "; tweets already labelled are left out."
    )
    shown = table.assign(why=table["reason"].map(REASONS))[["row", "text", "p_pos", "disagreement", "why"]]
    st.dataframe(
        tables.readable_texts(shown.rename(columns={"p_pos": "P(positive)", "disagreement": "spread between runs"})),
        hide_index=True,
        width="stretch",
        column_config={
            "row": st.column_config.NumberColumn("Row", width=60),
            "text": st.column_config.TextColumn("Tweet", width=400),
            "P(positive)": fmt.probability(width=110),
            "spread between runs": fmt.probability("Spread between runs", width=110),
            "why": st.column_config.TextColumn("Why", width=160),
        },
    )
    mark_tweets(table, result, model, key="label-next")


# ------------------------------------------------------------------ the saved corrections


def export_location() -> str:
    path = corrections.export_path()
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)


def corrections_panel() -> None:
    """The saved corrections: counts per label, the table and the CSV export."""
    try:
        frame = corrections.corrections_frame()
    except corrections.CorrectionError as exc:
        st.error(f"Saved corrections: {exc}.")
        return
    with st.expander(f"Saved corrections ({len(frame):,})", icon=":material/fact_check:"):
        if frame.empty:
            st.caption("Nothing saved yet: mark a tweet's true label here or in Live scoring.")
            return
        counts = frame["label"].value_counts()
        for col, label in zip(st.columns(len(corrections.LABELS)), corrections.LABELS):
            col.metric(label.capitalize(), f"{int(counts.get(label, 0)):,}")
        operator = is_operator()  # `who` holds the operators' e-mail addresses: not for viewers
        shown = frame.drop(columns=["first_corrected_at", *([] if operator else ["who"])])
        st.dataframe(shown, hide_index=True, width="stretch")
        if not operator:
            st.caption(f"Who marked each tweet is not shown. {operator_reason()}")
        corrections_downloads(with_who=operator)
        st.caption(
            f"{corrections.usable_rows(frame):,} negative or positive tweets make a labelled set (neutral ones are "
            "counted apart, as in the official test set). Choose **Analyst corrections** as the data source to "
            f"evaluate a run on them, or give `{export_location()}` to `python -m core.commands.evaluate --data` or to a "
            "trainer's `--extra-data`."
        )


def corrections_downloads(with_who: bool) -> None:
    """The corrections as a workbook and a spreadsheet-safe CSV (for a spreadsheet) and as the exact CSV."""
    c1, c2, c3 = st.columns(3)
    c1.download_button(
        "Download for a spreadsheet (.xlsx)",
        corrections.export_xlsx(with_who=with_who),
        file_name="corrections.xlsx",
        mime=XLSX_MIME,
        icon=":material/table_view:",
        key="corrections-xlsx",
    )
    c2.download_button(
        "Download a spreadsheet-safe CSV",
        corrections.export_csv(spreadsheet_safe=True, with_who=with_who),
        file_name="corrections_for_spreadsheets.csv",
        mime="text/csv",
        icon=":material/download:",
        key="corrections-safe-csv",
    )
    c3.download_button(
        "Download the corrections (CSV)",
        corrections.export_csv(with_who=with_who),
        file_name="corrections.csv",
        mime="text/csv",
        icon=":material/download:",
        key="corrections-csv",
    )
    st.caption(fmt.SPREADSHEET_NOTE)


# ------------------------------------------------------------------ Live scoring


def mark_live(text: str | None, answers: Sequence) -> None:
    """Under Live scoring's answers, folded: the true label of the scored tweet, with every local and cloud answer
    given (the store keeps the ones that were wrong), and what saving it is for."""
    if not text or not str(text).strip():
        return
    given = [corrections.ModelAnswer(a.key, a.name, a.p_pos, a.label) for a in answers if a.ok]
    with st.expander("Was a model wrong? Save this tweet's true label", icon=":material/fact_check:"):
        st.caption(
            "Say what the tweet really is. It is saved as an analyst's correction, with the models that got it "
            "wrong: the corrections are a labelled set to measure the models on (Compare, Résumé) and training "
            "data for the next runs. Marking builds a shared dataset, so it is for operators."
        )
        mark_label(text, given, "live", key="live-mark")
