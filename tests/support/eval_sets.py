"""Evaluation sets for tests: a labelled CSV, a small fake official zip where the code looks for it, run copies."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

from core import config
from tests.support.data import make_tweets, write_official_csv

NEUTRAL = [(2, f"boarding at gate {i} in ten minutes") for i in range(7)]


def copy_run(source: Path, target: Path) -> Path:
    """A copy of a run folder under another id (the shared fixture run stays untouched)."""
    shutil.copytree(source, target)
    meta = json.loads((target / "run.json").read_text())
    meta["id"] = target.name
    (target / "run.json").write_text(json.dumps(meta))
    return target


def write_official_zip(tmp_path: Path) -> Path:
    """A small official zip (the manual test member: targets 0/2/4) where the code looks for it."""
    rows = make_tweets(30, seed=5) + NEUTRAL
    member = write_official_csv(tmp_path / config.OFFICIAL_TEST_NAME, rows)
    archive = config.data_dir() / config.OFFICIAL_ZIP_NAME
    archive.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(member, config.OFFICIAL_TEST_NAME)
    return archive


def write_labelled_csv(path: Path) -> Path:
    """Headered text/label (negative/positive/neutral), with one record of the wrong width."""
    rows = [("negative" if target == 0 else "positive", text) for target, text in make_tweets(24, seed=9)]
    lines = ["text,label", *(f"{text},{label}" for label, text in rows), "so so flight,neutral", "a,b,c"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def fake_cloud_run(path: Path) -> Path:
    """An azure-language evaluation run folder (what trainers.azure_language leaves, minus its files)."""
    path.mkdir(parents=True)
    meta = {"id": path.name, "kind": "azure-language", "approach": "Azure AI Language", "status": "succeeded"}
    (path / "run.json").write_text(json.dumps(meta))
    return path
