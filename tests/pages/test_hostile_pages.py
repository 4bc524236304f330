"""A visitor attacks every page: hostile paths in every text box, every button pressed.

A sentinel secret sits in the environment, in a secrets file and behind symlinks planted in the data folder;
it must never show up in any element of any page, nor in a run folder or a log.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import config
from core.config import PROJECT_ROOT
from core.data import sources as datasource
from tests.support.data import make_tweets_csv

SENTINEL = "SENTINEL-3f9a51c2"
PAGES = ["overview", "data", "train", "resume", "compare", "live", "monitor"]
TIMEOUT = 120


def hostile_values(secret_file: Path) -> list[str]:
    return [
        "/proc/self/environ",
        str(secret_file),
        str(PROJECT_ROOT / ".streamlit" / "secrets.toml"),
        str(secret_file.parent),
        "../" * 12 + "proc/self/environ",
        str(config.data_dir() / "uploads" / "link.csv"),
        "~/.bash_history",
        f"{secret_file}\0.csv",
    ]


@pytest.fixture
def attacked(tmp_path, monkeypatch, trained_logreg_run, fake_encoder):
    """A dashboard with one trained run, a sentinel secret in the environment and in a file, and symlinks to it; the
    sentence encoder a stand-in (the monitor's batch view embeds negative tweets when its reason button is pressed)."""
    import shutil

    secret_file = tmp_path / "secrets" / "secrets.toml"
    secret_file.parent.mkdir()
    secret_file.write_text(f'AZURE_LANGUAGE_KEY = "{SENTINEL}"\noperator_password = "{SENTINEL}"\n')
    monkeypatch.setenv("BADBUZZ_TEST_SENTINEL", SENTINEL)
    monkeypatch.setenv("AZURE_LANGUAGE_KEY", SENTINEL)
    monkeypatch.setenv("BADBUZZ_DATA", str(make_tweets_csv(tmp_path / "tweets.csv", n=300)))
    uploads = datasource.uploads_dir()
    uploads.mkdir(parents=True)
    (uploads / "link.csv").symlink_to(secret_file)
    (config.data_dir() / "environ.csv").symlink_to("/proc/self/environ")
    shutil.copytree(trained_logreg_run, config.runs_dir() / "logreg-tiny")
    return secret_file


def rendered(node) -> str:
    """Every element's full content (labels, values, help texts, table bytes) below a node of the page tree."""
    proto = getattr(node, "proto", None)
    parts = [str(proto)] if proto is not None else []
    parts += [rendered(child) for child in getattr(node, "children", {}).values()]
    return "\n".join(parts)


def assert_clean(at: AppTest, where: str) -> None:
    shown = rendered(at._tree)
    assert SENTINEL not in shown, f"the sentinel reached the page ({where})"
    assert "Traceback" not in shown, f"a traceback reached the page ({where})"
    assert "environ" not in " ".join(str(e.value) for e in at.error), f"an error quotes the path ({where})"


def attack_page(name: str, secret_file: Path) -> list[str]:
    """Type each hostile value in each text box, then press each enabled and disabled button. A round in which
    the page has no text box (none yet, or none at all) would only press the same buttons again with nothing
    typed, so after the first such round it is skipped: every value still reaches every box the page shows."""
    at = AppTest.from_file(str(PROJECT_ROOT / "views" / f"{name}.py"), default_timeout=TIMEOUT).run()
    assert_clean(at, f"{name} opened")
    tried = []
    for round_, value in enumerate(hostile_values(secret_file)):
        boxes = list(at.text_input) + list(at.text_area)
        if not boxes and round_ > 0:
            continue
        for box in boxes:
            box.set_value(value)
            tried.append(f"{name}: {box.label} = {value!r}")
        at.run()
        assert_clean(at, f"{name} after typing {value!r}")
        for index in range(len(at.button)):
            if index < len(at.button):
                button = at.button[index]
                button.proto.disabled = False  # as a crafted message would: the page must check again
                button.click().run()
                assert_clean(at, f"{name} after pressing a button with {value!r} typed")
    return tried


@pytest.mark.parametrize("name", PAGES)
def test_hostile_paths_in_every_box_of_every_page_reveal_nothing(name, attacked):
    tried = attack_page(name, attacked)
    for folder in (config.runs_dir(), config.data_dir()):
        for path in folder.rglob("*"):
            if path.is_file() and not path.is_symlink():
                assert SENTINEL.encode() not in path.read_bytes(), f"{path} holds the sentinel"
    if name in ("train", "live", "monitor"):
        assert tried, f"the {name} page has text boxes: they must have been attacked"


def test_the_planted_symlinks_are_not_offered_anywhere(attacked):
    offered = [s.key for s in datasource.page_sources()]
    assert not any("link.csv" in key or "environ" in key for key in offered)
    assert os.path.islink(config.data_dir() / "environ.csv")
