"""Tokenised tweets for the transformer trainer, cached on disk as `datasets` Arrow tables.

A cache entry is keyed by the split id, the part (train, val), which rows of it (a stratified subset has its own
row ids), the tokenizer (a hash of its full definition, not its name) and the max length, and lives under the data
folder (`core.config.data_dir() / "tokenized"`), beside the persisted splits: a second run on the same split and
base model skips tokenising. An entry is written to a temporary folder and renamed, so processes writing the same
entry at once (the ranks of a `torchrun`) never leave a half-written one.

In memory, a part is `TokenizedTweets`: one flat int32 array of token ids with offsets, the lengths the sampler
groups by, and the labels; a batch's items are handed to `DataCollatorWithPadding`, which pads each batch to its
longest tweet (dynamic padding).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np

from core import config

log = logging.getLogger(__name__)
CACHE_VERSION = 1
TOKENIZE_BATCH = 10_000


def tokenizer_fingerprint(tokenizer) -> str:
    """A hash of everything that decides the ids: the fast tokenizer's full JSON and its special tokens."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        # truncation and padding are the state of the last call, not the tokenizer: left out of the key
        definition = json.loads(backend.to_str())
        definition.pop("truncation", None), definition.pop("padding", None)
        definition = json.dumps(definition, sort_keys=True)
    else:
        definition = repr(sorted(tokenizer.get_vocab().items()))
    extra = json.dumps([type(tokenizer).__name__, tokenizer.pad_token_id, tokenizer.model_max_length])
    return hashlib.sha256((definition + extra).encode()).hexdigest()[:16]


def cache_key(split_id: str, part: str, row_ids, tokenizer_key: str, max_length: int | None) -> str:
    rows = hashlib.sha256(np.asarray(row_ids, dtype=np.int64).tobytes()).hexdigest()[:16]
    key = json.dumps([CACHE_VERSION, split_id, part, rows, tokenizer_key, max_length])
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def cache_root() -> Path:
    return config.data_dir() / "tokenized"


class TokenizedTweets:
    """A torch map-style dataset of tokenised tweets: item i is {"input_ids": [...], "labels": int}."""

    def __init__(self, ids: np.ndarray, offsets: np.ndarray, labels: np.ndarray):
        self.ids, self.offsets, self.labels = ids, offsets, labels
        self.lengths = np.diff(offsets)

    def __len__(self) -> int:
        return len(self.labels)

    def sorted_by_length(self) -> TokenizedTweets:
        """The same tweets, shortest first (for evaluation: less padding)."""
        order = np.argsort(self.lengths, kind="stable")
        ids = (
            np.concatenate([self.ids[self.offsets[i] : self.offsets[i + 1]] for i in order]) if len(order) else self.ids
        )
        return TokenizedTweets(ids, np.concatenate([[0], np.cumsum(self.lengths[order])]), self.labels[order])

    def __getitem__(self, i: int) -> dict:
        return {"input_ids": self.ids[self.offsets[i] : self.offsets[i + 1]].tolist(), "labels": int(self.labels[i])}


def tokenized(frame, tokenizer, max_length: int | None, split_id: str, part: str) -> tuple[TokenizedTweets, bool]:
    """`frame` (text, label, row_id) tokenised (truncated to `max_length`; None: whole tweets), from the cache
    when it holds it. Returns the tweets and whether they came from the cache."""
    key = cache_key(split_id, part, frame["row_id"].to_numpy(), tokenizer_fingerprint(tokenizer), max_length)
    folder = cache_root() / key
    if not (folder / "dataset_info.json").exists():
        write_cache(folder, tokenize_frame(frame, tokenizer, max_length), meta={"split_id": split_id, "part": part})
        return read_cache(folder), False
    return read_cache(folder), True


def tokenize_frame(frame, tokenizer, max_length: int | None):
    """A `datasets.Dataset` with input_ids (int32 lists), label and length, built as Arrow chunk by chunk (the
    Python lists of one chunk at a time, not of 1.6 M tweets)."""
    import datasets
    import pyarrow as pa
    from datasets.table import InMemoryTable

    texts, labels, chunks = frame["text"].tolist(), frame["label"].to_numpy(), []
    for start in range(0, len(texts), TOKENIZE_BATCH):
        chunk = texts[start : start + TOKENIZE_BATCH]
        ids = tokenizer(chunk, truncation=max_length is not None, max_length=max_length)["input_ids"]
        columns = {
            "input_ids": pa.array(ids, type=pa.list_(pa.int32())),
            "label": pa.array(labels[start : start + TOKENIZE_BATCH], type=pa.int8()),
            "length": pa.array([len(x) for x in ids], type=pa.int32()),
        }
        chunks.append(pa.table(columns))
    schema = pa.schema([("input_ids", pa.list_(pa.int32())), ("label", pa.int8()), ("length", pa.int32())])
    table = pa.concat_tables(chunks) if chunks else schema.empty_table()
    return datasets.Dataset(InMemoryTable(table))


def write_cache(folder: Path, dataset, meta: dict) -> None:
    """save_to_disk into a temporary sibling, then one rename: readers see the whole entry or none."""
    import datasets

    datasets.disable_progress_bars()  # one log line says it was cached
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    dataset.save_to_disk(str(tmp))
    (tmp / "badbuzz.json").write_text(json.dumps(meta))
    try:
        os.rename(tmp, folder)
    except OSError:  # another process wrote the same entry first: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)


def read_cache(folder: Path) -> TokenizedTweets:
    """The Arrow columns as flat numpy arrays (memory-mapped by `datasets`, then copied once)."""
    import datasets

    table = datasets.load_from_disk(str(folder)).data.table
    column = table.column("input_ids").combine_chunks()
    offsets = column.offsets.to_numpy().astype(np.int64)
    ids = column.flatten().to_numpy().astype(np.int32)
    labels = table.column("label").to_numpy().astype(np.int64)
    return TokenizedTweets(ids, offsets - offsets[0], labels)
