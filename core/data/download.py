"""Download of the official Sentiment140 archive: resumable, atomic, checked, with progress.

One function for the command line (`python -m core.commands.data --download`, `--data sentiment140`) and the dashboard's
download button. A partial download stays as `<name>.part` and the next attempt resumes it with an HTTP Range
request (or restarts it when the server ignores ranges). The archive is renamed into place only once it opens
as a zip holding the training file; its sha256 is written beside it.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import socket
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

from core import config

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0  # offline machines fail at the name lookup, in well under a second
CHUNK_BYTES = 1 << 20

Progress = Callable[[int, int | None], None]  # (bytes so far, total bytes or None)


class DownloadError(Exception):
    """The official archive could not be fetched; the message says what to do instead."""


def official_url() -> str:
    return os.environ.get("BADBUZZ_SENTIMENT140_URL", config.OFFICIAL_URL)


def official_archive(dest_dir: Path | None = None) -> Path:
    return Path(dest_dir or config.data_dir()) / config.OFFICIAL_ZIP_NAME


def download_sentiment140(
    dest_dir: Path | None = None,
    url: str | None = None,
    timeout: float = CONNECT_TIMEOUT_S,
    progress: Progress | None = None,
) -> Path:
    """The official archive, downloaded once and cached under the data folder."""
    url = url or official_url()
    target = official_archive(dest_dir)
    if target.exists() and valid_archive(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    try:
        _fetch(url, partial, timeout, progress)
    except (urllib.error.URLError, http.client.HTTPException, OSError, TimeoutError) as exc:
        raise DownloadError(_failure_message(url, exc, resumable=partial.exists())) from None
    if not valid_archive(partial):
        partial.unlink(missing_ok=True)  # a corrupt or foreign file: the next attempt starts afresh
        raise DownloadError(
            f"the file downloaded from {url} is not the Sentiment140 archive (corrupt, or a web "
            "page); it was deleted, try again"
        )
    os.replace(partial, target)
    _write_checksum(target)
    return target


def _fetch(url: str, partial: Path, timeout: float, progress: Progress | None) -> None:
    """Append the rest of `url` to `partial`, resuming where an earlier attempt stopped."""
    have = partial.stat().st_size if partial.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        resumed = have and response.status == 206
        if not resumed:
            have = 0  # the server sent the whole file
        length = int(response.headers.get("Content-Length") or 0)
        total = have + length if length else None
        with open(partial, "ab" if resumed else "wb") as fh:
            done = have
            while chunk := response.read(CHUNK_BYTES):
                fh.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
    if total and done < total:  # the connection dropped: keep the part for the next attempt
        raise http.client.IncompleteRead(b"", total - done)


def _failure_message(url: str, exc: BaseException, resumable: bool) -> str:
    reason = getattr(exc, "reason", exc)
    offline = isinstance(reason, (socket.gaierror, ConnectionRefusedError, TimeoutError, socket.timeout))
    if not offline and resumable:
        return f"the download from {url} stopped ({type(reason).__name__}); try again: it resumes where it stopped"
    what = "this machine cannot reach the internet" if offline else f"the download failed ({type(reason).__name__})"
    return (
        f"could not download Sentiment140 from {url}: {what}. Download {config.OFFICIAL_ZIP_NAME} "
        "(or the Kaggle copy 'kazanova/sentiment140') on another machine, then upload the CSV in the "
        f"dashboard or pass it with --data PATH/{config.OFFICIAL_ZIP_NAME}."
    )


def valid_archive(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            return zf.testzip() is None and any(n.endswith(config.OFFICIAL_TRAIN_NAME) for n in zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def _write_checksum(target: Path) -> None:
    digest = hashlib.sha256()
    with open(target, "rb") as fh:
        while block := fh.read(CHUNK_BYTES):
            digest.update(block)
    target.with_name(target.name + ".sha256").write_text(digest.hexdigest() + "\n")
    log.info("downloaded %s (sha256 %s)", target, digest.hexdigest())
