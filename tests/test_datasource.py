"""Data sources a page may open, uploads, the resumable official download and the quick baselines."""
from __future__ import annotations

import io
import os
import time
import zipfile
from http.server import BaseHTTPRequestHandler

import pytest

from core import config
from core.data import sources as datasource
from core.training import quickstart
from core.data.loading import DataError
from core.data.download import DownloadError, download_sentiment140, valid_archive
from tests.conftest import make_tweets, write_headered_csv, write_official_csv
from tests.json_http import LocalServer

SENTINEL = "SENTINEL-7c1f0e"


# ---------------------------------------------------------------- allowed sources

def test_configured_uploaded_and_data_folder_sources_are_allowed(tmp_path, monkeypatch):
    configured = write_headered_csv(tmp_path / "configured.csv", make_tweets(40))
    monkeypatch.setenv("BADBUZZ_DATA", str(configured))
    uploaded = datasource.store_upload("my tweets.csv", configured.read_bytes().replace(b" 1\n", b" one\n"))
    placed = write_headered_csv(config.data_dir() / "placed.csv", make_tweets(40, seed=3))
    keys = [s.key for s in datasource.page_sources()]
    assert str(configured) in keys and uploaded.key in keys and str(placed) in keys
    for key in keys:
        assert datasource.resolve_page_source(key).key == key


@pytest.mark.parametrize("hostile", ["/proc/self/environ", "/etc/passwd", ".streamlit/secrets.toml",
                                     "../../../../proc/self/environ", "/tmp", "", "sentiment140"])
def test_a_typed_path_is_refused(hostile):
    with pytest.raises(datasource.SourceRefused) as refused:
        datasource.resolve_page_source(hostile)
    assert "environ" not in str(refused.value) and "secrets" not in str(refused.value)


def test_dot_dot_and_symlinks_out_of_the_data_folder_are_refused(tmp_path):
    secret = tmp_path / "secrets.toml"
    secret.write_text(f'key = "{SENTINEL}"\n')
    uploads = datasource.uploads_dir()
    uploads.mkdir(parents=True)
    (uploads / "evil.csv").symlink_to(secret)
    (config.data_dir() / "proc.csv").symlink_to("/proc/self/environ")
    keys = [s.key for s in datasource.page_sources()]
    assert str(uploads / "evil.csv") not in keys and str(config.data_dir() / "proc.csv") not in keys
    for value in (str(uploads / "evil.csv"), str(uploads / ".." / ".." / secret.name), str(secret)):
        with pytest.raises(datasource.SourceRefused):
            datasource.resolve_page_source(value)


def test_an_upload_is_stored_by_content_hash_and_remembered_across_restarts(tmp_path):
    content = write_headered_csv(tmp_path / "t.csv", make_tweets(60)).read_bytes()
    source = datasource.store_upload("../../etc/passwd", content)
    assert source.path.parent == datasource.uploads_dir() and len(source.path.stem) == 20
    assert "passwd" in source.label and "/" not in source.label.split(":", 1)[1]  # a display name, not a path
    again = datasource.store_upload("copy.csv", content)
    assert again.key == source.key                      # same bytes, same file
    assert datasource.dashboard_source().key == source.key  # read back from disk, as after a restart


def test_an_unusable_upload_is_refused_without_quoting_it_and_not_kept():
    with pytest.raises(DataError) as refused:
        datasource.store_upload("notes.csv", f"password,{SENTINEL}\nhello,world\n".encode())
    assert SENTINEL not in str(refused.value)
    assert not list(datasource.uploads_dir().glob("*.csv"))


def test_an_upload_over_the_limit_is_refused(monkeypatch):
    monkeypatch.setenv("BADBUZZ_MAX_UPLOAD_MB", "0.001")
    with pytest.raises(DataError, match="limit"):
        datasource.store_upload("big.csv", b"target,text\n" + b"4,hello\n" * 500)


def test_page_values_that_would_open_server_files_are_recognised():
    for value in ("/etc", "~/x", "./model", "../x", "core/config.py", "a\\b"):
        assert datasource.looks_like_server_path(value), value
    for value in ("distilbert-base-uncased", "sentence-transformers/all-MiniLM-L6-v2", "minilm", "word2vec",
                  "glove-twitter-100", "auto", ""):
        assert not datasource.looks_like_server_path(value), value


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
                    part, server.cut_after = part[:server.cut_after], None
                self.wfile.write(part)

        self.cut_after = cut_after
        self._serve(Handler)


def test_download_shows_progress_is_atomic_and_records_its_checksum(tmp_path):
    body = official_zip_bytes(tmp_path)
    seen = []
    with ArchiveServer(body) as server:
        path = download_sentiment140(url=f"http://127.0.0.1:{server.port}/a.zip",
                                     progress=lambda done, total: seen.append((done, total)))
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
    from tests.test_launcher import wait_until
    data = write_headered_csv(tmp_path / "tweets.csv", make_tweets(300))
    started = quickstart.launch_baselines(str(data))
    assert [s.run_id.split("-logreg-")[1] for s in started] == ["tfidf", "hashing"]
    for launched in started:
        done = wait_until(launched.path, lambda r: not r.active, timeout=180)
        assert done.status == "succeeded", done.log_tail
    assert quickstart.main(["--if-no-runs"]) == 0
    assert len(launcher.launched_runs()) == 2  # runs exist: nothing more was launched


def test_quickstart_without_data_explains_what_to_do(capsys, monkeypatch):
    monkeypatch.setattr(config, "SHARED_SAMPLE", config.data_dir() / "absent.csv")
    assert quickstart.main([]) == 0
    assert "upload a CSV or download Sentiment140" in capsys.readouterr().err
    assert not os.path.exists(config.runs_dir())
