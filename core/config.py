"""Where things live: project paths, overridable by environment variables.

Read through functions (not import-time constants) so tests and the dashboard can point
BADBUZZ_RUNS_DIR / BADBUZZ_DATA at other folders in an already running process.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_SAMPLE = PROJECT_ROOT.parent / "shared" / "data" / "sentiment140_sample_90k.csv"
OFFICIAL_URL = "http://cs.stanford.edu/people/alecmgo/trainingandtestdata.zip"
OFFICIAL_ZIP_NAME = "trainingandtestdata.zip"
OFFICIAL_TRAIN_NAME = "training.1600000.processed.noemoticon.csv"
OFFICIAL_TEST_NAME = "testdata.manual.2009.06.14.csv"


def artifacts_dir() -> Path:
    return Path(os.environ.get("BADBUZZ_ARTIFACTS") or PROJECT_ROOT / "artifacts")


def runs_dir() -> Path:
    return Path(os.environ.get("BADBUZZ_RUNS_DIR") or artifacts_dir() / "runs")


def data_dir() -> Path:
    return Path(os.environ.get("BADBUZZ_DATA_DIR") or artifacts_dir() / "data")


def default_data_path() -> Path | None:
    """The data the dashboard opens with: $BADBUZZ_DATA, the downloaded official set, or the shared sample."""
    if os.environ.get("BADBUZZ_DATA"):
        return Path(os.environ["BADBUZZ_DATA"])
    for candidate in (data_dir() / OFFICIAL_ZIP_NAME, SHARED_SAMPLE):
        if candidate.exists():
            return candidate
    return None


# Kept for readability in scripts; code that must follow env changes calls runs_dir().
RUNS_DIR = runs_dir()
