"""Choosing the dashboard's data: the allowed sources, a CSV upload and the official download.

Pages never take a typed path: every choice here is one of `core.data.sources.page_sources()`.
"""

from __future__ import annotations

import streamlit as st

from core.data import sources as datasource
from core.data.download import DownloadError, download_sentiment140, official_archive
from core.data.loading import DataError
from views.components.access import is_operator, operator_reason

UPLOAD_HELP = (
    "Sentiment140's six columns (no header), or a CSV with a header holding a text column (`text`, "
    "`tweet`, …) and a label column (`target`, `label`, `sentiment`, … with 0/4, 0/1 or "
    "negative/positive); or the official zip."
)


def source_picker(label: str = "Data source", key: str = "data-source") -> datasource.DataSource | None:
    """A select box over the allowed sources. An operator's choice becomes the dashboard's data (remembered across
    restarts); a viewer's stays in their own session."""
    sources = datasource.page_sources()
    if not sources:
        return None
    current = datasource.dashboard_source()
    keys = [s.key for s in sources]
    index = keys.index(current.key) if current and current.key in keys else 0
    labels = {s.key: s.label for s in sources}
    chosen = st.selectbox(
        label,
        keys,
        index=index,
        format_func=labels.get,
        key=key,
        help="The configured data, the downloaded official set and uploaded files. Add a file with **Add data** below.",
    )
    try:
        source = datasource.resolve_page_source(chosen)
    except datasource.SourceRefused as exc:
        st.error(str(exc), icon=":material/block:")
        return None
    if (current is None or source.key != current.key) and is_operator():
        datasource.remember(source)
    return source


ADDED = "data-sources-added"  # session key: the label of data just added, shown once after the rerun


def announce_added_data() -> None:
    """After an upload or a download the page reruns with the new data; say so once."""
    label = st.session_state.pop(ADDED, None)
    if label:
        st.success(f"Now using **{label}**.", icon=":material/check_circle:")


def add_data_panel(key: str = "add-data") -> None:
    """Upload a CSV, or download the official set: operators only (disk and network on the server)."""
    if not is_operator():
        st.info(f"Adding data: {operator_reason()}", icon=":material/lock:")
        return
    upload_col, download_col = st.columns(2)
    with upload_col:
        upload_widget(key)
    with download_col:
        download_widget(key)


def upload_widget(key: str) -> None:
    limit_mb = datasource.max_upload_bytes() // (1024 * 1024)
    upload = st.file_uploader(
        f"Upload tweets (CSV or zip, up to {limit_mb:,} MB)", type=["csv", "zip"], help=UPLOAD_HELP, key=f"{key}-upload"
    )
    if upload is None:
        return
    done_key = f"{key}-stored-{upload.file_id}"
    if done_key in st.session_state:  # each upload is checked and stored once, not on every rerun
        if st.session_state[done_key]:
            st.caption(f"Stored as **{st.session_state[done_key]}**.")
        return
    try:
        with st.spinner("Checking the file…"):
            label = datasource.store_upload(upload.name, upload.getvalue()).label
    except DataError as exc:
        st.session_state[done_key] = None
        st.error(f"This file cannot be used: {exc}", icon=":material/error:")
        return
    st.session_state[done_key] = st.session_state[ADDED] = label
    st.rerun()


def download_widget(key: str) -> None:
    archive = official_archive()
    if archive.is_file():
        st.caption("The official Sentiment140 set is downloaded: pick it in the data source list.")
        return
    st.markdown("**The official Sentiment140 set** (1.6 million tweets, about 80 MB).")
    if not st.button("Download Sentiment140", icon=":material/download:", key=f"{key}-download"):
        return
    bar = st.progress(0.0, text="Connecting…")

    def show(done: int, total: int | None) -> None:
        fraction = min(1.0, done / total) if total else 0.0
        bar.progress(fraction, text=f"{done / 1e6:,.1f} MB" + (f" of {total / 1e6:,.1f} MB" if total else ""))

    try:
        path = download_sentiment140(progress=show)
    except DownloadError as exc:
        bar.empty()
        st.error(str(exc), icon=":material/cloud_off:")
        return
    official = next(s for s in datasource.page_sources() if s.key == str(path))
    datasource.remember(official)
    st.session_state[ADDED] = official.label
    st.rerun()
