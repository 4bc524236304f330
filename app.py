"""Bad Buzz dashboard entry point: page setup, navigation, and the sidebar (access, data source and devices)."""

from __future__ import annotations

import os
from concurrent.futures import Future

import streamlit as st

from core.config import PROJECT_ROOT
from core.data.sources import dashboard_source, page_sources
from views.components.access import sidebar_panel as access_panel
from views.components.devices import device_probe
from views.components.live_models import warm_up_once

PAGES = [  # (file, title, icon); a page whose file does not exist yet is skipped
    ("views/overview.py", "Overview", ":material/dashboard:"),
    ("views/data.py", "Data", ":material/dataset:"),
    ("views/train.py", "Train", ":material/model_training:"),
    ("views/resume.py", "Résumé", ":material/history:"),
    ("views/compare.py", "Compare", ":material/compare_arrows:"),
    ("views/live.py", "Live scoring", ":material/bolt:"),
    ("views/monitor.py", "Bad Buzz monitor", ":material/campaign:"),
]

st.set_page_config(page_title="Bad Buzz — Air Paradis", page_icon="✈️", layout="wide")
warm_up_once()  # Live scoring's models, in the background, once per server (serve.py starts it with the server)


def data_source_panel() -> None:
    st.subheader("Data")
    source = dashboard_source()
    if source is None:
        st.warning("No data source yet: upload a CSV or download Sentiment140 on the **Overview** page.")
    else:
        st.success(source.label, icon=":material/check_circle:")
    configured = os.environ.get("BADBUZZ_DATA")
    if configured and not any(s.origin == "configured" and s.key == configured for s in page_sources()):
        st.error("`BADBUZZ_DATA` names no readable file: fix it or unset it.")


def device_panel() -> None:
    st.subheader("Device")
    probe = device_probe()
    if probe is None:
        st.caption("Device probe not available (core/tracking/devices.py missing).")
    elif not probe.done():
        wait_for_probe()
    else:
        show_devices(probe)


@st.fragment(run_every=2)
def wait_for_probe() -> None:
    if device_probe().done():
        st.rerun()  # a full rerun swaps this polling fragment for the result
    st.caption("Probing TensorFlow and PyTorch…")


def show_devices(probe: Future) -> None:
    try:
        summary = probe.result()
    except Exception as exc:  # the probe must never take the app down
        st.caption(f"Device probe failed: {type(exc).__name__}: {exc}")
        return
    st.caption(summary.headline)
    for view in summary.frameworks.values():
        st.caption(view.describe())


pages = [
    st.Page(PROJECT_ROOT / file, title=title, icon=icon)
    for file, title, icon in PAGES
    if (PROJECT_ROOT / file).exists()
]

with st.sidebar:
    access_panel()
    data_source_panel()
    device_panel()

if pages:
    st.navigation(pages).run()
else:
    st.title("Bad Buzz — Air Paradis")
    st.info("No page is installed yet: the page files go under `views/`.")
