"""Live scoring's explanations: on request, the words that pushed each local model's score up or down, highlighted
in the tweet (red toward negative, green toward positive, stronger colour for a larger effect), a table of the top
words, and for logistic regression the exact coefficient table. The methods are in core/inference/explain.py."""

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

STATE = "live_explanations"  # answer key -> (explained text, [Explanation] or an error sentence)
TOP_WORDS = 10
POSITIVE_RGB, NEGATIVE_RGB = (22, 163, 74), (220, 38, 38)
# Every character HTML or Markdown would read (and Streamlit's :emoji: / :material/ codes, $math$), written as a
# numeric entity in one pass: a tweet shows as typed whatever it holds.
_ENTITIES = {ord(c): f"&#{ord(c)};" for c in "&<>\"'\\`*_{}[]()#+-.!|~:$=^"}
METHOD_CAPTIONS = {
    ex.OCCLUSION: "Occlusion: each word's effect is P(positive) of the tweet minus P(positive) without that word.",
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
    rgb = POSITIVE_RGB if word.effect > 0 else NEGATIVE_RGB
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


def show_explanation(explanation: ex.Explanation) -> None:
    st.markdown(f"**{'Exact contributions' if explanation.method == ex.LOGREG else 'Occlusion'}**")
    st.caption(METHOD_CAPTIONS[explanation.method])
    if not explanation.words:
        st.info("Nothing to explain: the text has no words.")
        return
    st.markdown(highlighted_html(explanation), unsafe_allow_html=True)
    details = [f"{len(explanation.words)} words in {explanation.seconds * 1000:.0f} ms"]
    st.caption(" · ".join(details + ([explanation.note] if explanation.note else [])))
    st.dataframe(top_words_table(explanation), hide_index=True, column_config={explanation.unit: _signed()})
    if explanation.method == ex.LOGREG:
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


def compute(answer: live.Answer, run, models: live.ModelCache, text: str) -> list[ex.Explanation] | str:
    """The explanations of one column, or the sentence saying why there are none."""
    try:
        model, _ = models.get(run.path)
    except ModelLoadError as exc:
        return f"Cannot load this model: {exc}"
    except Exception as exc:  # noqa: BLE001 - a run folder changed under the page: its type only
        return f"Cannot load this model ({type(exc).__name__})."
    if not ex.explainable(model):
        return "This model is not explained here (only local models are)."
    try:
        return ex.explain(model, text)
    except Exception as exc:  # noqa: BLE001 - one sentence on the page; its type only (a message may quote data)
        return f"The explanation failed ({type(exc).__name__})."


def show_stored(key: str, text: str) -> None:
    """The explanations computed for this column and this text, or why there are none."""
    text_and_result = st.session_state.get(STATE, {}).get(key)
    if not text_and_result or text_and_result[0] != text:
        return
    if isinstance(text_and_result[1], str):
        st.error(text_and_result[1])
        return
    for explanation in text_and_result[1]:
        show_explanation(explanation)


def explain_column(answer: live.Answer, run, models: live.ModelCache, text: str) -> None:
    with st.container(border=True):
        st.markdown(f"**{answer.name}**")
        if st.button("Explain", key=f"explain-{answer.key}", icon=":material/lightbulb:"):
            with st.spinner("Scoring the tweet without each word…"):
                st.session_state.setdefault(STATE, {})[answer.key] = (text, compute(answer, run, models, text))
        show_stored(answer.key, text)


def compute_cloud(service, text: str) -> list[ex.Explanation] | str:
    if not current_access().is_operator:  # checked again at the click
        return f"Explaining a cloud service is for operators: {current_access().reason}"
    try:
        return [ex.explain_cloud(service, text)]
    except ServiceError as exc:
        return f"The service refused the explanation: {exc}"
    except Exception as exc:  # noqa: BLE001 - offline and the like: one sentence, its type only
        return f"The explanation failed ({type(exc).__name__})."


def explain_cloud_column(answer: live.Answer, text: str) -> None:
    """Operators only: the cost first, then the explanation through the service's client on a click."""
    with st.container(border=True):
        st.markdown(f"**{answer.name}**")
        rights = current_access()
        if not rights.is_operator:
            st.info(f"Explaining a cloud service is for operators: {rights.reason}")
            return
        service = get_service(answer.key)
        cost = ex.cloud_cost(service, text)
        st.caption(f"Occlusion sends up to {cost.texts} texts to the service, each billed; {cost.sentence}.")
        label = f"Explain ({cost.texts} billed texts)"
        if st.button(label, key=f"explain-{answer.key}", icon=":material/paid:", disabled=not cost.fits):
            with st.spinner("Asking the service about the tweet without each word…"):
                st.session_state.setdefault(STATE, {})[answer.key] = (text, compute_cloud(service, text))
        show_stored(answer.key, text)


def explain_section(answers: list[live.Answer], runs: list, models: live.ModelCache, text: str | None) -> None:
    """'Why these scores?': an Explain button per answered column (computed only when clicked); cloud columns for
    operators only, with their cost shown before the click."""
    by_id = {run.id: run for run in runs}
    local = [a for a in answers if a.ok and a.source == "local" and a.key in by_id]
    cloud = [a for a in answers if a.ok and a.source == "cloud" and a.key in SERVICE_KEYS]
    if not (local or cloud) or not text:
        return
    st.subheader("Why these scores?")
    st.caption(
        "Computed on request. Green words pushed the score toward positive, red ones toward negative; the "
        "stronger the colour, the larger the effect. Explaining a cloud service costs one billed call per word: "
        "operators only, with the cost shown first."
    )
    for answer in local:
        explain_column(answer, by_id[answer.key], models, text)
    for answer in cloud:
        explain_cloud_column(answer, text)
