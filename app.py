"""Bad Buzz dashboard entry point: page setup, navigation, and the sidebar (access, data source and devices)."""

from __future__ import annotations

import os

import streamlit as st

from core.config import PROJECT_ROOT
from core.data.sources import dashboard_source, page_sources
from views.components import devices
from views.components.access import sidebar_panel as access_panel
from views.components.live_models import first_page_shown, warm_up_once

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
    devices.device_panel()


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
# Live scoring's models load in the background once per server, after the first page is drawn: loading them (and
# importing TensorFlow and PyTorch) in this process while the first page draws made it take several times longer.
first_page_shown()
warm_up_once()
