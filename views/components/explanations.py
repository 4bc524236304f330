"""Live scoring's explanations: a "Why?" button in each answer's card; the words that pushed that model's score up
or down show right under the answers, highlighted in the tweet (red toward negative, green toward positive,
stronger colour for a larger effect), with a table of the top words. One method per model: the exact
contributions for logistic regression (its full coefficient table folded), occlusion for the others. The methods
are in core/inference/explain.py."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from core.azure.errors import ServiceError
from core.azure.services import SERVICE_KEYS, get_service
from core.inference import explain as ex
from core.inference import live
from core.models.base import ModelLoadError
from views.components.access import current_access

STATE = "live_explanations"  # answer key -> (explained text, Explanation or an error sentence)
SHOWN = "live_explained"  # the answer key whose explanation shows under the answers
TOP_WORDS = 10
POSITIVE_RGB, NEGATIVE_RGB = (22, 163, 74), (220, 38, 38)
# Every character HTML or Markdown would read (and Streamlit's :emoji: / :material/ codes, $math$), written as a
# numeric entity in one pass: a tweet shows as typed whatever it holds.
_ENTITIES = {ord(c): f"&#{ord(c)};" for c in "&<>\"'\\`*_{}[]()#+-.!|~:$=^"}
METHOD_CAPTIONS = {
    ex.OCCLUSION: "Occlusion: each word's effect is P({target}) of the tweet minus P({target}) without that word.",
    ex.LOGREG: "Exact: each n-gram's TF-IDF weight × its coefficient, in logit units; a bigram's share is split "
    "between its two words for highlighting.",
}


def safe_text(text: str) -> str:
    """User text as inert HTML: escaped, Markdown characters as entities, line breaks as <br>."""
    return text.translate(_ENTITIES).replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")


def word_span(word: ex.WordEffect, scale: float, explained: bool = True) -> str:
    body = safe_text(word.text)
    if not explained:
        return f'<span style="text-decoration: underline dotted" title="not explained">{body}</span>'
    rgb = NEGATIVE_RGB if word.direction == "negative" else POSITIVE_RGB  # a three-way model explains P(negative)
    alpha = 0.12 + 0.68 * min(abs(word.effect) / scale, 1.0) if word.effect else 0.0
    colour = f"rgba({rgb[0]}, {rgb[1]}, {rgb[2]}, {alpha:.2f})"
    return (
        f'<span style="background-color: {colour}; border-radius: 3px; padding: 0 2px" '
        f'title="{word.effect:+.4f}">{body}</span>'
    )


def highlighted_html(explanation: ex.Explanation) -> str:
    """The explained text with every word in a coloured span; the text between words escaped as it is."""
    scale = max((abs(w.effect) for w in explanation.words), default=0.0) or 1.0
    marked = [(w, True) for w in explanation.words] + [(w, False) for w in explanation.left_out]
    pieces, at = [], 0
    for word, explained in sorted(marked, key=lambda item: item[0].start):
        pieces.append(safe_text(explanation.text[at : word.start]))
        pieces.append(word_span(word, scale, explained))
        at = word.end
    pieces.append(safe_text(explanation.text[at:]))
    return f'<div style="line-height: 2; font-size: 1.05rem">{"".join(pieces)}</div>'


def top_words_table(explanation: ex.Explanation) -> pd.DataFrame:
    rows = [
        {"word": w.text, explanation.unit: w.effect, "pushed toward": w.direction} for w in explanation.top(TOP_WORDS)
    ]
    return pd.DataFrame(rows, columns=["word", explanation.unit, "pushed toward"])


def coefficient_table(explanation: ex.Explanation) -> pd.DataFrame:
    rows = [
        {
            "n-gram": n.ngram,
            "count": n.count,
            "feature value": n.value,
            "coefficient": n.coefficient,
            "contribution (logit)": n.contribution,
        }
        for n in explanation.ngrams
    ]
    rows.append({"n-gram": "(intercept)", "contribution (logit)": explanation.intercept})
    return pd.DataFrame(rows, columns=["n-gram", "count", "feature value", "coefficient", "contribution (logit)"])


def logit_caption(explanation: ex.Explanation) -> str:
    logit = explanation.logit
    contributions = logit - explanation.intercept
    return (
        f"intercept {explanation.intercept:+.3f} + contributions {contributions:+.3f} = logit {logit:+.3f}, "
        f"and 1 / (1 + e^(−logit)) = {1 / (1 + math.exp(-logit)):.3f} = P(positive)"
    )


def show_explanation(explanation: ex.Explanation, name: str) -> None:
    """One method per model: the highlighted tweet and its top words; logistic regression's full n-gram table is
    folded below them."""
    method = "exact contributions" if explanation.method == ex.LOGREG else "occlusion"
    st.markdown(f"**Why {name} answered so** · {method}")
    st.caption(METHOD_CAPTIONS[explanation.method].format(target=explanation.target))
    if not explanation.words:
        st.info("Nothing to explain: the text has no words.")
        return
    st.markdown(highlighted_html(explanation), unsafe_allow_html=True)
    details = [f"{len(explanation.words)} words in {explanation.seconds * 1000:.0f} ms"]
    st.caption(" · ".join(details + ([explanation.note] if explanation.note else [])))
    st.dataframe(top_words_table(explanation), hide_index=True, column_config={explanation.unit: _signed()})
    if explanation.method == ex.LOGREG:
        with st.expander("Every n-gram's coefficient"):
            st.caption(logit_caption(explanation))
            st.dataframe(coefficient_table(explanation), hide_index=True, column_config=_coefficient_formats())


def _signed() -> st.column_config.NumberColumn:
    return st.column_config.NumberColumn(format="%+.4f")


def _coefficient_formats() -> dict:
    return {
        "feature value": st.column_config.NumberColumn(format="%.4f"),
        "coefficient": _signed(),
        "contribution (logit)": _signed(),
    }


def compute(run, models: live.ModelCache, text: str) -> ex.Explanation | str:
    """The explanation of one local column, or the sentence saying why there is none."""
    try:
        model, _ = models.get(run.path)
    except ModelLoadError as exc:
        return f"Cannot load this model: {exc}"
    except Exception as exc:  # noqa: BLE001 - a run folder changed under the page: its type only
        return f"Cannot load this model ({type(exc).__name__})."
    if not ex.explainable(model):
        return "This model is not explained here (only local models are)."
    try:
        return ex.explain_best(model, text)
    except Exception as exc:  # noqa: BLE001 - one sentence on the page; its type only (a message may quote data)
        return f"The explanation failed ({type(exc).__name__})."


def compute_cloud(service, text: str) -> ex.Explanation | str:
    if not current_access().is_operator:  # checked again at the click
        return f"Explaining a cloud service is for operators: {current_access().reason}"
    try:
        return ex.explain_cloud(service, text)
    except ServiceError as exc:
        return f"The service refused the explanation: {exc}"
    except Exception as exc:  # noqa: BLE001 - offline and the like: one sentence, its type only
        return f"The explanation failed ({type(exc).__name__})."


def ask(key: str, text: str, result: ex.Explanation | str) -> None:
    st.session_state.setdefault(STATE, {})[key] = (text, result)
    st.session_state[SHOWN] = key


def explain_button(answer: live.Answer, run, models: live.ModelCache, text: str) -> None:
    """Inside a local answer's card: "Why?", computed on the click and shown under the answers."""
    if st.button("Why?", key=f"explain-{answer.key}", icon=":material/lightbulb:", type="tertiary"):
        with st.spinner("Looking at each word…"):
            ask(answer.key, text, compute(run, models, text))


def explain_cloud_button(answer: live.Answer, text: str) -> None:
    """Inside a cloud answer's card, for operators only: the cost first, then the explanation on a click."""
    if not current_access().is_operator:
        return
    service = get_service(answer.key)
    cost = ex.cloud_cost(service, text)
    st.caption(f"Occlusion sends up to {cost.texts} texts to the service, each billed; {cost.sentence}.")
    label = f"Explain ({cost.texts} billed texts)"
    if st.button(label, key=f"explain-{answer.key}", icon=":material/paid:", disabled=not cost.fits):
        with st.spinner("Asking the service about the tweet without each word…"):
            ask(answer.key, text, compute_cloud(service, text))


def card_button(answer: live.Answer, runs_by_id: dict, models: live.ModelCache, text: str | None) -> None:
    """The explain control of one answered card (nothing for a column that cannot be explained)."""
    if not (answer.ok and text):
        return
    if answer.source == "local" and answer.key in runs_by_id:
        explain_button(answer, runs_by_id[answer.key], models, text)
    elif answer.source == "cloud" and answer.key in SERVICE_KEYS:
        explain_cloud_button(answer, text)


def show_asked(answers: list[live.Answer], text: str | None) -> None:
    """Right under the answers: the explanation last asked for on this text, or why there is none."""
    key = st.session_state.get(SHOWN)
    text_and_result = st.session_state.get(STATE, {}).get(key)
    names = {a.key: a.name for a in answers}
    if not text or key not in names or not text_and_result or text_and_result[0] != text:
        return
    with st.container(border=True):
        if isinstance(text_and_result[1], str):
            st.error(text_and_result[1])
        else:
            show_explanation(text_and_result[1], names[key])
