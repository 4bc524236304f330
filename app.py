"""Bad Buzz dashboard entry point: page setup, navigation, and the sidebar (data source and devices)."""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import streamlit as st

from core.config import PROJECT_ROOT, default_data_path

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


@st.cache_resource(show_spinner=False)
def device_probe() -> Future | None:
    """Probe TensorFlow and PyTorch once per server, in the background, so no page waits for it."""
    try:
        from core.system import device_summary
    except ImportError:
        return None
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="device-probe").submit(device_summary)


def data_source_panel() -> None:
    st.subheader("Data")
    path = default_data_path()
    if path is None:
        st.warning("No data source yet.")
        st.markdown("Download the official Sentiment140 set with `python -m core.data --download`, "
                    "or point `BADBUZZ_DATA` at a CSV (Sentiment140's 6 columns, or `text` + `label`).")
    elif Path(str(path).split(".zip:")[0]).exists():
        st.success("Source found", icon=":material/check_circle:")
        st.caption(f"`{path}`")
    else:
        st.error(f"`{path}` does not exist.")
        st.markdown("Fix `BADBUZZ_DATA`, or unset it to use the downloaded set "
                    "(`python -m core.data --download`).")


def device_panel() -> None:
    st.subheader("Device")
    probe = device_probe()
    if probe is None:
        st.caption("Device probe not available (core/system.py missing).")
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


pages = [st.Page(PROJECT_ROOT / file, title=title, icon=icon)
         for file, title, icon in PAGES if (PROJECT_ROOT / file).exists()]

with st.sidebar:
    data_source_panel()
    device_panel()

if pages:
    st.navigation(pages).run()
else:
    st.title("Bad Buzz — Air Paradis")
    st.info("No page is installed yet: the page files go under `views/`.")
