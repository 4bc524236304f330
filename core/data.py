"""Sentiment140 loading, data-quality cleaning and the persisted train/validation/test split.

Labels are normalised to 0 = negative, 1 = positive. The split is cached on disk under an id that
fingerprints the data bytes, the cleaning rules, the sample size, the seed and the fractions, so every
approach trained on the same data is scored on exactly the same test tweets.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import sys
import urllib.error
import urllib.request
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from core import config

CLEANING_VERSION = 1  # bump when the cleaning rules change: it is part of the split id
OFFICIAL_COLUMNS = ["target", "id", "date", "flag", "user", "text"]
TEXT_COLUMNS = ("text", "tweet", "content", "sentence", "message")
LABEL_COLUMNS = ("target", "label", "sentiment", "polarity", "class")
LABEL_MAP = {"0": 0, "4": 1, "1": 1, "negative": 0, "positive": 1, "neg": 0, "pos": 1}
NEUTRAL_LABELS = {"2", "neutral"}
OFFICIAL_SHA256 = None  # the archive publishes no checksum; we verify structure and record our own sha256


class DataError(Exception):
    """A data source that cannot be used, with a message that says how to fix it."""


@dataclass
class DataReport:
    source: str
    format: str = ""
    encoding: str = ""
    rows_read: int = 0
    malformed_rows: int = 0
    malformed_examples: list[str] = field(default_factory=list)
    empty_texts: int = 0
    neutral_dropped: int = 0
    duplicates_dropped: int = 0
    conflicting_texts: int = 0
    conflicting_rows_dropped: int = 0
    rows_kept: int = 0

    def summary(self) -> str:
        return (f"{self.rows_read:,} rows read, {self.malformed_rows:,} malformed, {self.empty_texts:,} empty, "
                f"{self.neutral_dropped:,} neutral dropped, {self.duplicates_dropped:,} duplicates dropped, "
                f"{self.conflicting_texts:,} texts with both labels ({self.conflicting_rows_dropped:,} rows) "
                f"removed: {self.rows_kept:,} rows kept")


@dataclass
class LoadedData:
    frame: pd.DataFrame          # row_id, text, label (+ user, date when the source has them)
    report: DataReport
    fingerprint: str


# ------------------------------------------------------------------ reading

def _read_source_bytes(source: str | Path) -> tuple[bytes, str]:
    """Bytes of a CSV, a zip member (`archive.zip` or `archive.zip:member.csv`), plus a display name."""
    text = str(source)
    if text == "sentiment140":
        return _read_source_bytes(download_sentiment140())
    member = None
    if ".zip:" in text:
        text, member = text.split(".zip:", 1)
        text += ".zip"
    path = Path(text)
    if not path.exists():
        raise DataError(f"data file not found: {path}. Pass a Sentiment140 CSV or zip with --data, "
                        f"or use --data sentiment140 to download the official set.")
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            member = member or next((n for n in names if n.endswith(config.OFFICIAL_TRAIN_NAME)),
                                    next((n for n in names if n.lower().endswith(".csv")), None))
            if member not in names:
                raise DataError(f"{path} has no member {member!r}; it holds {names}")
            return zf.read(member), f"{path}:{member}"
    return path.read_bytes(), str(path)


def _decode(raw: bytes) -> tuple[str, str]:
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"  # the official files are latin-1; it never fails


def _detect_layout(first_row: list[str]) -> tuple[str, int, int, dict[str, int]]:
    """(format, text index, label index, extra columns) from the first CSV row."""
    lowered = [c.strip().lower() for c in first_row]
    text_idx = next((lowered.index(c) for c in TEXT_COLUMNS if c in lowered), None)
    label_idx = next((lowered.index(c) for c in LABEL_COLUMNS if c in lowered), None)
    if text_idx is not None and label_idx is not None:
        extras = {c: lowered.index(c) for c in ("user", "date", "timestamp") if c in lowered}
        return "headered", text_idx, label_idx, extras
    if len(first_row) == 6 and first_row[0].strip() in {"0", "2", "4"}:
        return "sentiment140", 5, 0, {"user": 4, "date": 2}
    raise DataError("cannot tell the CSV layout: expected the official Sentiment140 format (6 columns, no "
                    f"header) or a header with a text column {TEXT_COLUMNS} and a label column {LABEL_COLUMNS}; "
                    f"first row: {first_row[:6]!r}")


def load_dataset(source: str | Path) -> LoadedData:
    """Read, validate and clean a data source. Malformed rows are counted, never fatal."""
    raw, name = _read_source_bytes(source)
    fingerprint = hashlib.sha256(raw).hexdigest()
    text, encoding = _decode(raw)
    del raw
    report = DataReport(source=name, encoding=encoding)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        first = next(reader)
    except StopIteration:
        raise DataError(f"{name} is empty") from None
    except csv.Error as exc:
        raise DataError(f"{name} is not a readable CSV: {exc}") from None
    fmt, text_idx, label_idx, extras = _detect_layout(first)
    report.format = fmt
    rows: list[tuple] = []
    pending = [] if fmt == "headered" else [first]
    width = len(first)
    row_id = -1
    while True:
        try:
            row = pending.pop() if pending else next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            row_id += 1
            _count_malformed(report, row_id, f"unparseable line ({exc})")
            continue
        row_id += 1
        report.rows_read += 1
        if len(row) != width:
            _count_malformed(report, row_id, f"{len(row)} fields instead of {width}")
            continue
        label_raw = row[label_idx].strip().lower()
        if label_raw in NEUTRAL_LABELS:
            report.neutral_dropped += 1
            continue
        if label_raw not in LABEL_MAP:
            _count_malformed(report, row_id, f"unknown label {row[label_idx]!r}")
            continue
        tweet = row[text_idx]
        if not tweet.strip():
            report.empty_texts += 1
            continue
        rows.append((row_id, tweet, LABEL_MAP[label_raw], *(row[i] for i in extras.values())))
    frame = pd.DataFrame(rows, columns=["row_id", "text", "label", *extras.keys()])
    frame = _drop_duplicates_and_conflicts(frame, report)
    report.rows_kept = len(frame)
    if frame.empty:
        raise DataError(f"{name}: no usable rows ({report.summary()})")
    return LoadedData(frame=frame, report=report, fingerprint=fingerprint)


def _count_malformed(report: DataReport, row_id: int, why: str) -> None:
    report.malformed_rows += 1
    if len(report.malformed_examples) < 10:
        report.malformed_examples.append(f"data row {row_id}: {why}")


def _drop_duplicates_and_conflicts(frame: pd.DataFrame, report: DataReport) -> pd.DataFrame:
    before = len(frame)
    frame = frame.drop_duplicates(subset=["text", "label"], keep="first")
    report.duplicates_dropped = before - len(frame)
    labels_per_text = frame.groupby("text")["label"].nunique()
    conflicting = labels_per_text[labels_per_text > 1].index
    report.conflicting_texts = len(conflicting)
    mask = frame["text"].isin(conflicting)
    report.conflicting_rows_dropped = int(mask.sum())
    return frame[~mask].reset_index(drop=True)


# ------------------------------------------------------------------ download

def download_sentiment140(dest_dir: Path | None = None, url: str = config.OFFICIAL_URL,
                          timeout: float = 30.0) -> Path:
    """The official archive, downloaded once (progress bar, atomic rename) and cached under artifacts/data."""
    dest_dir = Path(dest_dir or config.data_dir())
    target = dest_dir / config.OFFICIAL_ZIP_NAME
    if target.exists() and _valid_archive(target):
        return target
    dest_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".zip.part")
    try:
        from tqdm import tqdm
        with urllib.request.urlopen(url, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with open(partial, "wb") as fh, tqdm(total=total, unit="B", unit_scale=True,
                                                 desc="Sentiment140", file=sys.stderr) as bar:
                while chunk := response.read(1 << 20):
                    fh.write(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        partial.unlink(missing_ok=True)
        raise DataError(
            f"could not download Sentiment140 from {url} ({exc}). If this machine is offline, download "
            f"{config.OFFICIAL_ZIP_NAME} (or the Kaggle copy 'kazanova/sentiment140') elsewhere and pass it "
            f"with --data PATH/{config.OFFICIAL_ZIP_NAME} or --data PATH/{config.OFFICIAL_TRAIN_NAME}.") from exc
    if not _valid_archive(partial):
        partial.unlink(missing_ok=True)
        raise DataError(f"the file downloaded from {url} is not the Sentiment140 archive (corrupt or a web page)")
    os.replace(partial, target)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    (dest_dir / (config.OFFICIAL_ZIP_NAME + ".sha256")).write_text(digest + "\n")
    return target


def _valid_archive(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            return zf.testzip() is None and any(n.endswith(config.OFFICIAL_TRAIN_NAME) for n in zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


# ------------------------------------------------------------------ split

@dataclass
class Split:
    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame
    split_id: str
    fingerprint: str
    report: DataReport
    params: dict

    def describe(self) -> dict:
        """What run.json records about the data."""
        return {"source": self.report.source, "fingerprint": self.fingerprint, "split_id": self.split_id,
                **self.params, "sizes": {"train": len(self.train), "val": len(self.val), "test": len(self.test)},
                "report": asdict(self.report)}


def split_id_for(fingerprint: str, sample: int | None, seed: int, test_size: float, val_size: float) -> str:
    key = json.dumps([fingerprint, CLEANING_VERSION, sample, seed, test_size, val_size])
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def load_split(source: str | Path, sample: int | None = None, seed: int = 42, test_size: float = 0.2,
               val_size: float = 0.1, cache_dir: Path | None = None) -> Split:
    """The persisted stratified split for this data and these parameters (computed once, then read back)."""
    if not 0 < test_size < 1 or not 0 <= val_size < 1:
        raise DataError("test_size must be in (0, 1) and val_size in [0, 1)")
    raw, _ = _read_source_bytes(source)
    fingerprint = hashlib.sha256(raw).hexdigest()
    del raw
    split_id = split_id_for(fingerprint, sample, seed, test_size, val_size)
    folder = Path(cache_dir or config.data_dir() / "splits") / split_id
    params = {"sample": sample, "seed": seed, "test_size": test_size, "val_size": val_size}
    if (folder / "split.json").exists():
        meta = json.loads((folder / "split.json").read_text())
        parts = {p: pd.read_parquet(folder / f"{p}.parquet") for p in ("train", "val", "test")}
        return Split(**parts, split_id=split_id, fingerprint=fingerprint,
                     report=DataReport(**meta["report"]), params=params)
    loaded = load_dataset(source)
    frame = loaded.frame
    if sample and sample < len(frame):
        frame, _ = train_test_split(frame, train_size=sample, stratify=frame["label"], random_state=seed)
    train, test = train_test_split(frame, test_size=test_size, stratify=frame["label"], random_state=seed)
    if val_size:
        train, val = train_test_split(train, test_size=val_size, stratify=train["label"], random_state=seed)
    else:
        val = train.iloc[:0]
    parts = {name: part.sort_values("row_id").reset_index(drop=True)
             for name, part in (("train", train), ("val", val), ("test", test))}
    _persist_split(folder, parts, loaded.report, split_id, fingerprint, params)
    return Split(**parts, split_id=split_id, fingerprint=fingerprint, report=loaded.report, params=params)


def _persist_split(folder: Path, parts: dict, report: DataReport, split_id: str, fingerprint: str,
                   params: dict) -> None:
    """Write to a temporary folder and rename it, so a split is either complete or absent."""
    tmp = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    for name, part in parts.items():
        part.to_parquet(tmp / f"{name}.parquet", index=False)
    (tmp / "split.json").write_text(json.dumps({"split_id": split_id, "fingerprint": fingerprint, **params,
                                                "report": asdict(report)}, indent=2))
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
    return load_split(source, sample=data.get("sample"), seed=data.get("seed", 42),
                      test_size=data.get("test_size", 0.2), val_size=data.get("val_size", 0.1))


def main(argv: list[str] | None = None) -> None:
    """`python -m core.data [--download] [--data SOURCE]`: fetch the official set or report on a source."""
    import argparse
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--download", action="store_true", help="download the official archive")
    parser.add_argument("--data", help="a CSV or zip to check")
    args = parser.parse_args(argv)
    try:
        if args.download:
            print(download_sentiment140())
        if args.data:
            print(load_dataset(args.data).report.summary())
    except DataError as exc:
        sys.exit(f"error: {exc}")


if __name__ == "__main__":
    main()
