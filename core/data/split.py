"""The persisted, stratified train/validation/test split that every approach is evaluated on.

The split is cached on disk under an id that fingerprints the data bytes, the cleaning rules, the sample size,
the seed and the fractions, so every approach trained on the same data is scored on exactly the same test tweets.
Reloading it reads three Parquet files (texts as Arrow-backed strings) and the fingerprint cache: no CSV parsing.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from core import config
from core.data.labels import BINARY_CLASSES, classes_for
from core.data.loading import (
    CLEANING_VERSION,
    DataError,
    DataReport,
    load_dataset,
    source_fingerprint,
)

# LZ4 and no dictionary for the distinct columns (texts, ids, dates): a 1.6 M-row split reads back about three
# times faster than with Snappy and dictionary pages, for the same size on disk.
PARQUET_OPTIONS = {"compression": "lz4", "use_dictionary": ["label", "user"]}


@dataclass
class Split:
    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame
    split_id: str
    fingerprint: str
    report: DataReport
    params: dict
    classes: tuple[str, ...] = BINARY_CLASSES  # what the label codes mean (core.data.labels)

    def describe(self) -> dict:
        """What run.json records about the data."""
        return {
            "source": self.report.source,
            "fingerprint": self.fingerprint,
            "split_id": self.split_id,
            **self.params,
            "sizes": {"train": len(self.train), "val": len(self.val), "test": len(self.test)},
            "report": asdict(self.report),
        }


def split_id_for(
    fingerprint: str, sample: int | None, seed: int, test_size: float, val_size: float, classes: int = 2
) -> str:
    """A three-way split (neutral rows kept) has its own id; a binary one keeps the id it always had."""
    key = [fingerprint, CLEANING_VERSION, sample, seed, test_size, val_size]
    if classes == 3:
        key.append("three-way")
    return hashlib.sha256(json.dumps(key).encode()).hexdigest()[:12]


def load_split(
    source: str | Path,
    sample: int | None = None,
    seed: int = 42,
    test_size: float = 0.2,
    val_size: float = 0.1,
    cache_dir: Path | None = None,
    classes: int = 2,
) -> Split:
    """The persisted stratified split for this data and these parameters (computed once, then read back).
    `classes` 3 keeps the neutral rows (labels 0 / 1 / 2, core.data.labels), under its own split id; run.json's
    `data` then says `classes: 3` (a binary split's description is unchanged)."""
    if not 0 < test_size < 1 or not 0 <= val_size < 1:
        raise DataError("test_size must be in (0, 1) and val_size in [0, 1)")
    names = classes_for(classes)
    fingerprint = source_fingerprint(source)  # hashed once per file version (core.data.fingerprints)
    split_id = split_id_for(fingerprint, sample, seed, test_size, val_size, len(names))
    folder = Path(cache_dir or config.data_dir() / "splits") / split_id
    params = {"sample": sample, "seed": seed, "test_size": test_size, "val_size": val_size}
    if len(names) == 3:
        params["classes"] = 3
    if (folder / "split.json").exists():
        meta = json.loads((folder / "split.json").read_text())
        parts = {p: pd.read_parquet(folder / f"{p}.parquet") for p in ("train", "val", "test")}
        report = DataReport(**meta["report"])
        return Split(**parts, split_id=split_id, fingerprint=fingerprint, report=report, params=params, classes=names)
    loaded = load_dataset(source, classes=len(names))
    report = loaded.report
    parts = _split_rows(loaded.frame, sample, seed, test_size, val_size)
    del loaded  # the parts are copies: the whole frame goes before they are written
    _persist_split(folder, parts, report, split_id, fingerprint, params)
    return Split(**parts, split_id=split_id, fingerprint=fingerprint, report=report, params=params, classes=names)


def _split_rows(frame: pd.DataFrame, sample: int | None, seed: int, test_size: float, val_size: float) -> dict:
    """train/val/test in row_id order. The stratified shuffles run on positions (the same draws as on the frame
    itself), and each part is taken once: the texts are copied once, not at every step."""
    labels = frame["label"].to_numpy()
    rows = np.arange(len(frame))
    if sample and sample < len(frame):
        rows, _ = train_test_split(rows, train_size=sample, stratify=labels, random_state=seed)
    train, test = train_test_split(rows, test_size=test_size, stratify=labels[rows], random_state=seed)
    val = rows[:0]
    if val_size:
        train, val = train_test_split(train, test_size=val_size, stratify=labels[train], random_state=seed)
    # frame rows are in row_id order, so sorted positions are sorted row_ids
    return {
        name: frame.iloc[np.sort(part)].reset_index(drop=True)
        for name, part in (("train", train), ("val", val), ("test", test))
    }


def _persist_split(
    folder: Path, parts: dict, report: DataReport, split_id: str, fingerprint: str, params: dict
) -> None:
    """Write to a temporary folder and rename it, so a split is either complete or absent."""
    tmp = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    for name, part in parts.items():
        part.to_parquet(tmp / f"{name}.parquet", index=False, **PARQUET_OPTIONS)
    (tmp / "split.json").write_text(
        json.dumps({"split_id": split_id, "fingerprint": fingerprint, **params, "report": asdict(report)}, indent=2)
    )
    try:
        os.replace(tmp, folder)
    except OSError:  # another process wrote the same split first: theirs is identical
        for f in tmp.iterdir():
            f.unlink()
        tmp.rmdir()


def split_for_run(run_meta: dict) -> Split:
    """The split a run was evaluated on, rebuilt from its run.json (for joining texts to predictions)."""
    data = run_meta.get("data") or {}
    source = data.get("source", "")
    if ".zip:" not in source and not Path(source).exists():
        raise DataError(f"the run's data {source!r} is not on this machine")
    return load_split(
        source,
        sample=data.get("sample"),
        seed=data.get("seed", 42),
        test_size=data.get("test_size", 0.2),
        val_size=data.get("val_size", 0.1),
        classes=data.get("classes", 2),
    )
