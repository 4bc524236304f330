"""A launched run as a card: status, progress, ETA, metrics when done, log tail, and Cancel for operators."""

from __future__ import annotations

import streamlit as st

from core.training import launcher
from views.components.access import is_operator, operator_reason

STATUS_ICONS = {
    "starting": ":material/hourglass_top:",
    "running": ":material/autorenew:",
    "cancelling": ":material/stop_circle:",
    "succeeded": ":green[:material/check_circle:]",
    "failed": ":red[:material/error:]",
    "cancelled": ":material/cancel:",
    "submitted": ":blue[:material/cloud_upload:]",
}


def cancel(path) -> None:
    if is_operator():  # checked again at the click: a disabled button is only a hint
        launcher.cancel(path)


def run_card(run: launcher.LaunchedRun) -> None:
    with st.container(border=True):
        top = st.columns([5, 1])
        top[0].markdown(
            f"{STATUS_ICONS.get(run.status, '')} **{run.label}** — `{run.id}` — "
            f"**{run.status}** after {launcher.format_duration(run.elapsed_s)}"
        )
        if run.active and run.status != "cancelling":
            top[1].button(
                "Cancel",
                key=f"cancel-{run.id}",
                icon=":material/stop:",
                on_click=cancel,
                args=(run.path,),
                disabled=not is_operator(),
                help=None if is_operator() else operator_reason(),
            )
        if run.reason and run.status in ("failed", "cancelled", "submitted"):
            (st.error if run.status == "failed" else st.info)(run.reason)
        if run.progress and run.active:
            fraction = launcher.progress_fraction(run.progress)
            if fraction is not None:
                st.progress(fraction, text=f"{fraction:.0%}")
            fields = launcher.progress_fields(run.progress)
            st.markdown(" · ".join(f"{k}: **{v}**" for k, v in fields.items()))
            if run.progress.get("message"):
                st.caption(run.progress["message"])
        if run.status == "succeeded" and run.info and run.info.metrics.get("test"):
            test = run.info.metrics["test"]
            st.markdown(
                f"accuracy **{test['accuracy']:.2%}**, macro F1 **{test['f1_macro']:.2%}** — "
                "see **Résumé** and **Compare**"
            )
        if run.log_tail:
            with st.expander("Log (last lines)", expanded=run.status == "failed"):
                st.code(run.log_tail, language="text")
