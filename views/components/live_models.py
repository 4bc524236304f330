"""The local models Live scoring answers with: loaded once per server process and shared by every session.

Streamlit calls `keras.backend.clear_session()` after every script run once Keras is imported (for apps that build
models in their script). Here it bought nothing and cost every click about 210 ms of CPU (it ends with a full
`gc.collect()` over a heap that holds TensorFlow) and made the LSTM's next prediction about 100 ms instead of 7
(TensorFlow's kernel cache is cleared). The dashboard only loads fitted models, once per server (training runs in
child processes), so importing this module turns that step off for Keras; matplotlib's figures are still closed.

They are warmed in the background as soon as the server starts (`serve.py` calls `warm_up()` from its lifespan
hook), so neither the first page nor the first Score pays for loading them. Under a plain `streamlit run app.py`
the first page opened starts the same warm-up (app.py calls `warm_up_once()`), and still answers at once.
"""

from __future__ import annotations

import sys
import threading

import streamlit as st
from streamlit.logger import get_logger
from streamlit.runtime.scriptrunner import script_runner

from core.config import runs_dir
from core.inference import live
from core.tracking.runs import list_runs

get_logger(live.log.name)  # the warm-up's lines (each model and its load time) in the server log


def _close_figures_only() -> None:
    """Streamlit's after-run clean-up without its Keras part (see the module docstring)."""
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


def keep_keras_state() -> bool:
    """Stop Streamlit from clearing Keras' state after each script run; False when this Streamlit has no such
    step (then there is nothing to turn off)."""
    if not callable(getattr(script_runner, "_clean_problem_modules", None)):
        return False
    script_runner._clean_problem_modules = _close_figures_only
    return True


keep_keras_state()


@st.cache_resource(show_spinner=False)
def model_cache() -> live.ModelCache:
    """The server's one ModelCache: a model is loaded once, then shared by every session."""
    return live.ModelCache()


def warm_up() -> threading.Thread | None:
    """Start loading the newest finished run of each local approach (what Live asks by default) in a background
    thread, and return it at once (None when there was nothing to load, or a warm-up is already running)."""
    return model_cache().warm([run.path for run in live.latest_per_approach(list_runs(runs_dir()))])


FIRST_PAGE_SHOWN = threading.Event()  # set once a page has been drawn: the warm-up waits for it (serve.py)


def first_page_shown() -> None:
    """A page has been drawn: a warm-up waiting in serve.py may start (it would slow the first page by half)."""
    FIRST_PAGE_SHOWN.set()


@st.cache_resource(show_spinner=False)
def warm_up_once() -> bool:
    """`warm_up()` once per server process, whichever page is opened first (a cached no-op afterwards)."""
    warm_up()
    return True
