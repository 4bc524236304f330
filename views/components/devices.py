"""The sidebar's device probe (what TensorFlow and PyTorch see), started once per server in the background."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import streamlit as st


@st.cache_resource(show_spinner=False)
def device_probe() -> Future | None:
    """Probe TensorFlow and PyTorch once per server, in the background, so no page waits for it (serve.py starts
    it when the server starts, after Live scoring's models are warm)."""
    try:
        from core.tracking.devices import device_summary
    except ImportError:
        return None
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="device-probe").submit(device_summary)
