"""The dashboard's server: `streamlit run serve.py` serves app.py exactly as `streamlit run app.py` does, and warms
it as the server starts (Streamlit's st.App lifespan hook), in the background, so the first page still answers at
once: Live scoring's models first (views/components/live_models.py), then the sidebar's device probe; what they
loaded is then frozen out of the garbage collector's way (gc.freeze). It waits for the first page to be drawn (at
most FIRST_PAGE_WAIT_S): loading the models in this process while a first visitor's page draws slowed it by seconds. Streamlit's own front-end files are answered
from memory (views/components/static_files.py). The server log says when it is done ("warm-up
done in … s"), which is what the load benchmark waits for after a fresh start.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from contextlib import asynccontextmanager

import streamlit as st
from starlette.middleware import Middleware
from streamlit.logger import get_logger

from views.components.static_files import StaticFromMemory

log = get_logger("badbuzz.serve")


# The warm-up starts once the first page is drawn, or after this long without a visitor (BADBUZZ_WARM_WAIT_S).
FIRST_PAGE_WAIT_S = float(os.environ.get("BADBUZZ_WARM_WAIT_S", "30"))


def warm_everything() -> None:
    from views.components.devices import device_probe
    from views.components.live_models import FIRST_PAGE_SHOWN, warm_up

    FIRST_PAGE_SHOWN.wait(FIRST_PAGE_WAIT_S)  # a first visitor's page is drawn before the models load
    started = time.perf_counter()
    loading = warm_up()
    if loading is not None:
        loading.join()
    probe = device_probe()  # after the models: on a small machine they would compete for the same cores
    if probe is not None:
        probe.result()
    # What the warm-up loaded (TensorFlow, PyTorch, the models: hundreds of thousands of objects) lives as long as
    # the server: out of the collector's sight, a full collection no longer walks it (about 200 ms each time).
    gc.freeze()
    log.info("warm-up done in %.1f s after the server started", time.perf_counter() - started)


@asynccontextmanager
async def warm_at_start(_app):
    threading.Thread(target=warm_everything, name="warm-up", daemon=True).start()
    yield


# Streamlit's front-end files from memory: a first visit costs the server about 150 ms less (static_files.py).
app = st.App("app.py", lifespan=warm_at_start, middleware=[Middleware(StaticFromMemory)])
