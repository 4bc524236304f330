"""Data sources a page may open, and uploads."""

from __future__ import annotations

import pytest

from core import config
from core.data import sources as datasource
from core.data.loading import DataError
from tests.support.data import make_tweets, write_headered_csv

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


@pytest.mark.parametrize(
    "hostile",
    [
        "/proc/self/environ",
        "/etc/passwd",
        ".streamlit/secrets.toml",
        "../../../../proc/self/environ",
        "/tmp",
        "",
        "sentiment140",
    ],
)
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
    assert again.key == source.key  # same bytes, same file
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
    for value in (
        "distilbert-base-uncased",
        "sentence-transformers/all-MiniLM-L6-v2",
        "minilm",
        "word2vec",
        "glove-twitter-100",
        "auto",
        "",
    ):
        assert not datasource.looks_like_server_path(value), value
