"""Streamlit settings for AppTest runs."""

from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def serving_on(address: str | None):
    """Streamlit's `server.address` (what st.get_option reads) set for the block, then restored."""
    from streamlit import config as st_config

    previous = st_config.get_option("server.address")
    st_config.set_option("server.address", address)
    try:
        yield
    finally:
        st_config.set_option("server.address", previous)
