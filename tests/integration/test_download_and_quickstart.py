"""The resumable official download (a local server that speaks HTTP ranges) and the quick baselines."""

from __future__ import annotations

import io
import os
import time
import zipfile
from http.server import BaseHTTPRequestHandler

import pytest

from core import config
from core.commands import quickstart as quickstart_command
from core.data.download import DownloadError, download_sentiment140, valid_archive
from core.training import quickstart
from tests.support.data import make_tweets, write_headered_csv, write_official_csv
from tests.support.json_http import LocalServer

# ---------------------------------------------------------------- the official download


def official_zip_bytes(tmp_path) -> bytes:
    train = write_official_csv(tmp_path / config.OFFICIAL_TRAIN_NAME, make_tweets(50))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.write(train, config.OFFICIAL_TRAIN_NAME)
    return buffer.getvalue()


class ArchiveServer(LocalServer):
    """Serves one file with HTTP Range support; `cut_after` ends the first reply early (a dropped connection)."""

    def __init__(self, body: bytes, cut_after: int | None = None):
        self.requests: list[str | None] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append(self.headers.get("Range"))
                start = int(self.headers["Range"].split("=")[1].rstrip("-")) if self.headers.get("Range") else 0
                part = body[start:]
                self.send_response(206 if start else 200)
                self.send_header("Content-Length", str(len(part)))
                self.end_headers()
                if server.cut_after is not None:
                    part, server.cut_after = part[: server.cut_after], None
                self.wfile.write(part)

        self.cut_after = cut_after
        self._serve(Handler)


def test_download_shows_progress_is_atomic_and_records_its_checksum(tmp_path):
    body = official_zip_bytes(tmp_path)
    seen = []
    with ArchiveServer(body) as server:
        path = download_sentiment140(
            url=f"http://127.0.0.1:{server.port}/a.zip", progress=lambda done, total: seen.append((done, total))
        )
    assert path.read_bytes() == body and valid_archive(path)
    assert seen[-1] == (len(body), len(body))
    assert path.with_name(path.name + ".sha256").read_text().strip()
    assert not list(path.parent.glob("*.part"))


def test_an_interrupted_download_resumes_where_it_stopped(tmp_path):
    body = official_zip_bytes(tmp_path)
    with ArchiveServer(body, cut_after=len(body) // 3) as server:
        url = f"http://127.0.0.1:{server.port}/a.zip"
        with pytest.raises(DownloadError, match="resumes"):
            download_sentiment140(url=url)  # the connection drops after a third
        partial = config.data_dir() / (config.OFFICIAL_ZIP_NAME + ".part")
        assert partial.stat().st_size == len(body) // 3
        path = download_sentiment140(url=url)
    assert path.read_bytes() == body
    assert server.requests[-1] == f"bytes={len(body) // 3}-"


def test_offline_download_says_so_within_seconds():
    started = time.perf_counter()
    with pytest.raises(DownloadError, match="cannot reach the internet") as failed:
        download_sentiment140(url="http://127.0.0.1:9/trainingandtestdata.zip")  # nothing listens on port 9
    assert time.perf_counter() - started < 5
    assert "upload" in str(failed.value)


# ---------------------------------------------------------------- the quick baselines


def test_quick_baselines_train_both_logistic_regressions(tmp_path):
    from core.training import launcher
    from tests.support.runs import wait_until

    data = write_headered_csv(tmp_path / "tweets.csv", make_tweets(300))
    started = quickstart.launch_baselines(str(data))
    assert [s.run_id.split("-logreg-")[1] for s in started] == ["tfidf", "hashing"]
    for launched in started:
        done = wait_until(launched.path, lambda r: not r.active, timeout=180)
        assert done.status == "succeeded", done.log_tail
    assert quickstart_command.main(["--if-no-runs"]) == 0
    assert len(launcher.launched_runs()) == 2  # runs exist: nothing more was launched


def test_quickstart_without_data_explains_what_to_do(capsys, monkeypatch):
    monkeypatch.setattr(config, "SHARED_SAMPLE", config.data_dir() / "absent.csv")
    assert quickstart_command.main([]) == 0
    assert "upload a CSV or download Sentiment140" in capsys.readouterr().err
    assert not os.path.exists(config.runs_dir())
