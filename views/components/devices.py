"""The device probe (what TensorFlow and PyTorch see), started once per server in the background and shown in the
sidebar and on the Train page without either waiting for it."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial

import streamlit as st


@st.cache_resource(show_spinner=False)
def device_probe() -> Future | None:
    """Probe TensorFlow and PyTorch once per server, in the background (child processes at a lower priority), so
    no page waits for it; a probe of the same environment from the last day answers at once (serve.py starts it
    when the server starts, after Live scoring's models are warm)."""
    try:
        from core.tracking.devices import device_summary
    except ImportError:
        return None
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="device-probe")
    return pool.submit(partial(device_summary, recent=True))


def show_devices(probe: Future, headline_prefix: str = "") -> None:
    """The probe's answer: the machine, then what each framework sees."""
    try:
        summary = probe.result()
    except Exception as exc:  # the probe must never take the app down
        st.caption(f"Device probe failed: {type(exc).__name__}: {exc}")
        return
    st.caption(f"{headline_prefix}{summary.headline}")
    for view in summary.frameworks.values():
        st.caption(view.describe())


@st.fragment(run_every=2)
def wait_for_probe() -> None:
    """'Probing…' until the probe answers; then one rerun of the page swaps this polling fragment for the answer."""
    if device_probe().done():
        st.rerun()
    st.caption("Probing TensorFlow and PyTorch…")


def device_panel(headline_prefix: str = "") -> None:
    """The devices now if the probe has answered, else a fragment that follows it."""
    probe = device_probe()
    if probe is None:
        st.caption("Device probe not available (core/tracking/devices.py missing).")
    elif probe.done():
        show_devices(probe, headline_prefix)
    else:
        wait_for_probe()
