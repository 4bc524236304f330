"""Streamlit settings for AppTest runs."""

from __future__ import annotations

from contextlib import contextmanager

from core.config import PROJECT_ROOT

PAGE_TIMEOUT = 60  # seconds an AppTest run of a page may take on a busy 2-core machine


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


def render(page: str):
    """AppTest of a page file (`views/compare.py`, `app.py`) under the project root, run once, with no exception."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(PROJECT_ROOT / page), default_timeout=PAGE_TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(elements) -> str:
    """The values of a page's elements (its warnings, captions, code blocks…) as one string."""
    return "\n".join(str(e.value) for e in elements)


def plotly_array(value):
    """A plotly figure's array as Streamlit sends it (a list, or plotly's base64 {"dtype", "bdata", "shape"})."""
    import base64

    import numpy as np

    if not isinstance(value, dict):
        return np.asarray(value)
    array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    shape = [int(n) for n in str(value.get("shape", len(array))).split(",")]
    return array.reshape(shape)
