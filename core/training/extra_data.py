"""Extra labelled data in a run's training split (`--extra-data CSV ...`, `--extra-repeat N`), and the run's lineage.

Every trainer gets the same mixing, here, through `core.training.runner.load_run_split` (and `load_checked_split`,
which the other ranks of a distributed training load):

- each file is read by `core.data.loading.load_dataset`, the reader and labels of `--data`, with the run's classes
  (neutral tweets kept by a three-way run, else dropped and counted; malformed records, duplicates and
  conflicting labels dropped and counted by its report);
- an extra tweet whose text is also in the run's test or validation split is dropped and counted (a leak would
  flatter the run); texts are compared stripped, with runs of white space squeezed and case folded;
- the others go into the training split only, each `--extra-repeat` times (oversampling: every trainer sees the
  tweet that many times per epoch, with no per-row weight to support), with negative row ids so they never collide
  with the base data's;
- the split id, the validation and the test split stay those of `--data`: runs remain comparable on the shared
  test split.

`lineage_record` is what run.json keeps under `lineage`: the parent run (`--init-from`) and each dataset with its
role (`data` / `extra`), file name (never a folder of the server), sha256 fingerprint, rows used, repeat factor and
the rows dropped as leaks.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.loading import DataError, load_dataset, source_file, source_name
from core.data.split import Split

log = logging.getLogger(__name__)
TRAIN_COLUMNS = ("row_id", "text", "label")


class ExtraDataError(DataError):
    """An --extra-data file or option that cannot be used (a DataError: one line, exit status 2)."""


@dataclass
class ExtraReport:
    """One --extra-data file: what was read, what was dropped and why, what went into the training split."""

    file: str  # the file's name only
    fingerprint: str
    rows_read: int
    rows_kept: int  # by the reader: malformed, empty, neutral, duplicate and conflicting rows are not
    neutral_dropped: int
    neutral_kept: int = 0  # a three-way run: neutral tweets among the rows kept (recorded when there are some)
    leaks_dropped: dict = field(default_factory=dict)  # {"test": n, "validation": n}
    already_in_train: int = 0  # kept: the same text is in the base training split (perhaps with another label)
    rows_used: int = 0
    repeat: int = 1

    @property
    def tweets_added(self) -> int:
        return self.rows_used * self.repeat

    def record(self) -> dict:
        fields = dataclasses.asdict(self)
        if not self.neutral_kept:  # a binary run's lineage reads as it always did
            fields.pop("neutral_kept")
        return {"role": "extra", **fields, "tweets_added": self.tweets_added}

    def summary(self) -> str:
        leaks = ", ".join(f"{n:,} also in the {part} split" for part, n in self.leaks_dropped.items() if n)
        neutral = (
            f"{self.neutral_kept:,} neutral kept" if self.neutral_kept else f"{self.neutral_dropped:,} neutral dropped"
        )
        return (
            f"extra data {self.file}: {self.rows_read:,} rows read, {self.rows_kept:,} kept by the reader "
            f"({neutral}); {leaks or 'no text in the test or validation split'}"
            f"{' dropped' if leaks else ''}; {self.rows_used:,} tweets x{self.repeat} = {self.tweets_added:,} "
            "added to the training split"
        )


# ---------------------------------------------------------------- options


def check_extra_options(options) -> None:
    """--extra-repeat and the files, before any run folder is touched."""
    if options.extra_repeat < 1:
        raise ExtraDataError("--extra-repeat must be at least 1 (each extra tweet appears that many times)")
    data = Path(options.data).resolve() if options.data and ".zip:" not in options.data else None
    for extra in options.extra_data:
        path = source_file(extra)
        if path.is_dir():
            raise ExtraDataError(f"--extra-data {extra} is a folder: pass a labelled CSV")
        if not path.is_file():
            raise ExtraDataError(f"--extra-data {extra}: no such file")
        if data is not None and path.resolve() == data:
            raise ExtraDataError(f"--extra-data {extra} is the --data file itself")


# ---------------------------------------------------------------- mixing


def normalised_texts(texts: pd.Series) -> pd.Series:
    """What counts as the same tweet: stripped, white space squeezed, case folded."""
    return texts.astype(str).str.replace(r"\s+", " ", regex=True).str.strip().str.casefold()


def mix_extra_data(split: Split, options) -> tuple[Split, list[ExtraReport]]:
    """The split with every --extra-data tweet that is not in its validation or test split added to its training
    split (`--extra-repeat` times), and what happened to each file. Without extra data: the split itself."""
    if not options.extra_data:
        return split, []
    held_out = {"test": normalised_texts(split.test["text"]), "validation": normalised_texts(split.val["text"])}
    in_train = normalised_texts(split.train["text"])
    parts, reports, next_id = [split.train], [], -1
    for source in options.extra_data:
        rows, report = extra_rows(source, split, held_out, in_train, options.extra_repeat)
        rows["row_id"] = next_id - rows["row_id"].to_numpy()  # -1, -2, ...: apart from the base data's ids
        next_id = int(rows["row_id"].min()) - 1 if len(rows) else next_id
        parts.append(repeated(rows, options.extra_repeat).astype(split.train.dtypes[list(TRAIN_COLUMNS)].to_dict()))
        reports.append(report)
        log.info(report.summary())
    train = pd.concat(parts, ignore_index=True)
    return dataclasses.replace(split, train=train), reports


def extra_rows(
    source: str, split: Split, held_out: dict[str, pd.Series], in_train: pd.Series, repeat: int
) -> tuple[pd.DataFrame, ExtraReport]:
    """One file's usable rows (row_id, text, label; row ids 0-based as read) and its report."""
    loaded = load_dataset(source, classes=len(split.classes))
    if loaded.fingerprint == split.fingerprint:
        raise ExtraDataError(f"--extra-data {source_name(source)} holds the same bytes as --data")
    frame = loaded.frame.loc[:, list(TRAIN_COLUMNS)].reset_index(drop=True)
    texts = normalised_texts(frame["text"])
    leaks, leaked = {}, np.zeros(len(frame), dtype=bool)
    for part, held in held_out.items():
        hit = texts.isin(held).to_numpy() & ~leaked
        leaks[part], leaked = int(hit.sum()), leaked | hit
    kept = frame.loc[~leaked].reset_index(drop=True)
    report = ExtraReport(
        file=source_name(source),
        fingerprint=loaded.fingerprint,
        rows_read=loaded.report.rows_read,
        rows_kept=loaded.report.rows_kept,
        neutral_dropped=loaded.report.neutral_dropped,
        neutral_kept=loaded.report.neutral_kept,
        leaks_dropped=leaks,
        already_in_train=int(texts[~leaked].isin(in_train).sum()),
        rows_used=len(kept),
        repeat=repeat,
    )
    kept["row_id"] = np.arange(len(kept), dtype=np.int64)
    return kept, report


def repeated(rows: pd.DataFrame, times: int) -> pd.DataFrame:
    """Each row `times` times (a repeat keeps its row id: it is the same tweet)."""
    return rows.loc[rows.index.repeat(times)].reset_index(drop=True) if times > 1 else rows


def extra_row_count(frame: pd.DataFrame) -> int:
    """Rows of a training frame that came from --extra-data."""
    return int((frame["row_id"].to_numpy() < 0).sum())


def train_cache_id(split_id: str, frame: pd.DataFrame) -> str:
    """The split id for caches keyed by a training frame's row ids (the transformer's tokenised tweets): extra rows'
    ids say nothing of their texts, so their content is hashed in."""
    extra = frame["row_id"].to_numpy() < 0
    if not extra.any():
        return split_id
    hashed = pd.util.hash_pandas_object(frame.loc[extra, ["text", "label"]], index=False).to_numpy()
    return f"{split_id}+{hashlib.sha256(hashed.tobytes()).hexdigest()[:12]}"


# ---------------------------------------------------------------- lineage


def data_record(split: Split) -> dict:
    return {
        "role": "data",
        "file": source_name(split.report.source),
        "fingerprint": split.fingerprint,
        "split_id": split.split_id,
        "rows_used": len(split.train),
        "repeat": 1,
    }


def lineage_record(base: Split, extras: list[ExtraReport], parent: dict | None = None) -> dict | None:
    """run.json's `lineage`, or None for a run of --data alone from scratch."""
    if not extras and parent is None:
        return None
    return {"parent": parent, "datasets": [data_record(base), *(e.record() for e in extras)]}
