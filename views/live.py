"""Live scoring: type a tweet, every approach answers side by side.

Made for a room full of people scoring at once. The scoring part is a fragment: a click reruns it alone, not the
page and its sidebar. The tweet and Score are one form, so a click is one rerun. Each model answers in one call,
and the models are loaded once per server, warmed when it starts (views/components/live_models.py).
`?view=presentation` (or the toggle) shows big answers and nothing else, for a screen in front of an audience.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.analysis.compare import run_label
from core.inference import live
from core.models.base import CLASS_NAMES
from core.run_kinds import local_kinds
from core.training.registry import kind_train_commands
from views.components import explanations
from views.components import formatting as fmt
from views.components.access import current_access
from views.components.corrections import mark_live
from views.components.examples import EXAMPLE_TWEETS, button_label
from views.components.live_models import model_cache
from views.components.runs import load_runs

COLUMNS_PER_ROW = 4
EXAMPLES_PER_ROW = 3
HISTORY_ROWS = 200
PRESENTATION = "presentation"  # ?view=presentation
VIEW_KEY = "live_presentation"
ANSWERED_KEY = "live_answered"  # how many times this session has scored: names the block that closes the answers
CARD_STATUSES = {"ok", "error", "offline", "timeout", live.LOADING}  # the others fold into one line
STATUS_HINTS = {"offline": "warning", "timeout": "warning", "error": "error", live.LOADING: "info"}
LABEL_HEADINGS = {
    CLASS_NAMES[1]: ":blue[:material/sentiment_satisfied: positive]",
    CLASS_NAMES[0]: ":orange[:material/sentiment_dissatisfied: negative]",
    "neutral": ":gray[:material/sentiment_neutral: neutral]",
}
PRESENTATION_CSS = """<style>
.st-key-live-big h1 { font-size: 2.8rem; white-space: nowrap; }
.st-key-live-form textarea { font-size: 1.4rem; }
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"] { display: none; }
</style>"""  # big answers, and no sidebar: the toggle at the top brings everything back


# ------------------------------------------------------------------ the page's settings (full reruns, rare)


def sync_view_param() -> None:
    """The toggle writes ?view=presentation, so the address bar holds a link to share with the room."""
    if st.session_state.get(VIEW_KEY):
        st.query_params["view"] = PRESENTATION
    else:
        st.query_params.pop("view", None)


def presentation_view() -> bool:
    if VIEW_KEY not in st.session_state:
        st.session_state[VIEW_KEY] = st.query_params.get("view") == PRESENTATION
    return st.toggle(
        "Presentation view",
        key=VIEW_KEY,
        on_change=sync_view_param,
        help="Big answers and nothing else, for a screen in front of an audience (link: ?view=presentation).",
    )


def approach_settings(local_runs: list, runs: list) -> tuple[list, bool, int]:
    """(picked local runs, ask the cloud too, timeout per column in seconds)."""
    by_label = {run_label(r): r for r in local_runs}
    with st.expander("Which approaches answer", expanded=False):
        picked = st.multiselect(
            "Local runs",
            list(by_label),
            default=[run_label(r) for r in live.latest_per_approach(runs)],
            help="By default: the newest finished run of each approach.",
        )
        use_cloud = st.toggle("Ask the cloud services too", value=True)
        timeout_s = st.slider("Timeout per column (s)", 2, 60, int(live.DEFAULT_TIMEOUT_S))
    return [by_label[label] for label in picked], use_cloud, timeout_s


@st.cache_data(ttl=60, show_spinner=False)
def untrained_columns(trained_kinds: frozenset[str]) -> list[live.LiveColumn]:
    """The approaches with no finished run yet (per server: building the train commands takes a while)."""
    return live.untrained_kind_columns(trained_kinds)


def not_answering_columns(runs: list, use_cloud: bool, rights) -> list[live.LiveColumn]:
    """What cannot answer whatever the tweet: approaches not trained yet, and for a viewer the cloud services
    (named, never called: cloud calls are billed, so they are for operators)."""
    trained = frozenset(run.kind for run in runs if run.status == "succeeded")
    refused = live.refused_cloud_columns(rights.reason) if use_cloud and not rights.is_operator else []
    return untrained_columns(trained) + refused


def not_answering(columns: list, answers: list[live.Answer] | None, rights) -> None:
    """One line for every approach that cannot answer (not trained, not configured, operators only); operators
    also get the reasons and the commands that train the missing approaches. Never a server path for viewers."""
    folded = [(c.name, c.unavailable_status) for c in columns]
    folded += [(a.name, a.status) for a in answers or [] if a.status not in CARD_STATUSES]
    if not folded:
        return
    st.caption("Not answering here: " + "; ".join(f"{name} ({status})" for name, status in folded) + ".")
    if rights.is_operator:
        with st.expander("Why, and how to fix it (operators)", icon=":material/build:"):
            reasons = [(c.name, c.unavailable_reason) for c in columns]
            reasons += [(a.name, a.reason) for a in answers or [] if a.status not in CARD_STATUSES]
            for name, reason in reasons:
                st.info(f"**{name}**: {reason}")


# ------------------------------------------------------------------ scoring (a fragment: a click reruns it alone)


def use_example(text: str) -> None:
    st.session_state["live_text"] = text


def example_buttons() -> None:
    st.markdown("Try an example:")
    cols = st.columns(EXAMPLES_PER_ROW)
    for i, example in enumerate(EXAMPLE_TWEETS):
        cols[i % EXAMPLES_PER_ROW].button(
            button_label(example),
            key=f"example-{i}",
            on_click=use_example,
            args=(example,),
            help=example,
            width="stretch",
        )


def columns_to_ask(picked: list, use_cloud: bool, rights) -> list[live.LiveColumn]:
    models = model_cache()
    columns = [live.run_column(run, models) for run in picked]
    if use_cloud and rights.is_operator:  # checked again at each click: cloud calls are billed
        columns += live.cloud_columns()
    return columns


def score(text: str, picked: list, use_cloud: bool, timeout_s: int, rights) -> None:
    """Ask every column once, keep the answers (and add them to the history) in the session."""
    try:
        prepared = live.prepare_text(text)
    except live.EmptyText as exc:
        st.session_state["live_answers"] = None
        st.warning(str(exc))
        return
    if prepared.truncated:
        st.info(fmt.truncation_notice(prepared))
    with st.spinner("Asking every approach…"):
        answers = live.score_columns(columns_to_ask(picked, use_cloud, rights), prepared.text, timeout_s=timeout_s)
    st.session_state["live_answers"] = answers
    st.session_state["live_scored_text"] = prepared.text  # what "Why?" explains
    st.session_state[ANSWERED_KEY] = st.session_state.get(ANSWERED_KEY, 0) + 1
    history = fmt.history_rows(prepared.text, [a for a in answers if a.ok])
    st.session_state["live_history"] = (history + st.session_state.get("live_history", []))[:HISTORY_ROWS]


def show_answer(answer: live.Answer, presentation: bool, runs_by_id: dict, text: str | None) -> None:
    with st.container(border=True):
        st.markdown(f"**{answer.name}**")
        if not presentation:
            where = "local model" if answer.source == "local" else "cloud service"
            st.caption(f"{where} · served by {answer.backend}" if answer.backend else where)
        if not answer.ok:
            getattr(st, STATUS_HINTS.get(answer.status, "error"))(f"{answer.status.capitalize()}: {answer.reason}")
            return
        st.markdown(f"{'#' if presentation else '###'} {LABEL_HEADINGS[answer.label]}")
        if answer.service_label and answer.service_label != answer.label and not presentation:
            st.caption(f"the service's own label: {answer.service_label}")
        # a three-way answer (a run that learned neutral, Azure AI Language): one bar per class
        for name, p in (answer.probabilities or {"positive": answer.p_pos}).items():
            st.progress(min(max(p, 0.0), 1.0), text=f"P({name}) = {p:.3f}")
        if not presentation:
            st.caption(fmt.answer_details(answer))
            explanations.card_button(answer, runs_by_id, model_cache(), text)


def show_answers(answers: list[live.Answer], presentation: bool, runs_by_id: dict, text: str | None) -> None:
    shown = [a for a in answers if a.status in CARD_STATUSES]
    per_row = min(COLUMNS_PER_ROW, len(shown)) if presentation else COLUMNS_PER_ROW  # as wide as the screen allows
    with st.container(key="live-big" if presentation else "live-cards"):
        for start in range(0, len(shown), per_row):
            row = shown[start : start + per_row]
            for col, answer in zip(st.columns(per_row), row):
                with col:
                    show_answer(answer, presentation, runs_by_id, text)
    answered = [a for a in shown if a.ok]
    # After the cards, so a client that sees this block has every card (the load benchmark waits for it).
    with st.container(key=f"live-answered-{st.session_state.get(ANSWERED_KEY, 0)}"):
        slowest = max((a.latency_ms or 0 for a in answered), default=0)
        st.caption(f"{fmt.plural(len(answered), 'answer')} in {slowest:.0f} ms" if answered else "No answer.")


def show_history(history: list[dict]) -> None:
    with st.expander(f"This session's answers ({len(history):,})", icon=":material/history:"):
        st.dataframe(
            pd.DataFrame(history),
            hide_index=True,
            column_config={
                "P(positive)": fmt.probability(),
                "P(neutral)": fmt.probability(),
                "latency (ms)": fmt.milliseconds(1),
                "cost (USD)": fmt.dollars(),
            },
        )
        st.button("Clear history", on_click=st.session_state.update, kwargs={"live_history": []})


@st.fragment
def scoring(picked: list, use_cloud: bool, timeout_s: int, presentation: bool, folded: list) -> None:
    """The tweet, Score and the answers: a click reruns this fragment only."""
    rights = current_access()  # once per run: it reads the secrets (and maybe Key Vault)
    with st.form("live-form", border=False):
        text = st.text_area(
            "Tweet",
            key="live_text",
            height=100,
            placeholder="Type or paste a tweet…",
            help=f"Texts longer than {live.MAX_CHARS:,} characters are cut to that length.",
        )
        submitted = st.form_submit_button("Score", type="primary", icon=":material/bolt:")
    if submitted:
        score(text, picked, use_cloud, timeout_s, rights)
    answers = st.session_state.get("live_answers")
    scored_text = st.session_state.get("live_scored_text")
    if answers:
        runs_by_id = {run.id: run for run in picked}
        show_answers(answers, presentation, runs_by_id, scored_text)
        if not presentation:
            explanations.show_asked(answers, scored_text)
            mark_live(scored_text, answers)
    if not presentation:
        not_answering(folded, answers, rights)
        if history := st.session_state.get("live_history"):
            show_history(history)


def main() -> None:
    title, toggle = st.columns([4, 1], vertical_alignment="bottom")
    title.title("Live scoring")
    with toggle:
        presentation = presentation_view()
    runs = load_runs()
    local_runs = [r for r in runs if r.status == "succeeded" and r.kind in local_kinds()]
    if presentation:
        st.markdown(PRESENTATION_CSS, unsafe_allow_html=True)
        picked, use_cloud, timeout_s = live.latest_per_approach(runs), False, int(live.DEFAULT_TIMEOUT_S)
    else:
        st.caption(
            "One tweet, every approach at once. Local models answer for free; cloud services cost a fraction "
            "of a cent per call when configured, so only operators may call them."
        )
        picked, use_cloud, timeout_s = approach_settings(local_runs, runs)
    rights = current_access()
    if not local_runs:
        st.info("No local model is trained yet. " + train_hint(rights))
    folded = [] if presentation else not_answering_columns(runs, use_cloud, rights)
    example_buttons()  # outside the fragment: a click on one fills the tweet and reruns the page (rare)
    scoring(picked, use_cloud, timeout_s, presentation, folded)


def train_hint(rights) -> str:
    """Operators learn how to train one; viewers only that someone has to."""
    if not rights.is_operator:
        return "An operator can train one on the **Train** page."
    commands = kind_train_commands()
    return "Train one on the **Train** page, or run `" + next(iter(commands.values()), "") + "`."


main()
