"""Word vectors with gensim: train word2vec / fastText on the training tokens, or load pretrained vectors
(a file or a gensim-data name), and turn them into the embedding matrix of a vocabulary."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from gensim.models import FastText, KeyedVectors, Word2Vec
from gensim.models.fasttext import load_facebook_vectors

from core import config

TRAINED_KINDS = ("word2vec", "fasttext")
VECTOR_SUFFIXES = (".txt", ".vec", ".bin", ".gz", ".kv")
FASTTEXT_BIN_MAGIC = 793712314  # first int32 of a Facebook fastText .bin file
MAX_GENSIM_WORKERS = 8  # threads training word2vec / fastText (2 on a 2-core machine, as before)
CACHE_FILES_OVER_BYTES = 50_000_000  # text files this large take minutes to parse: keep a gensim copy

# Where to get each common gensim-data model by hand, for the offline error message.
GENSIM_DATA_FILES = {
    "glove-twitter-25": "glove.twitter.27B.25d.txt from https://nlp.stanford.edu/data/glove.twitter.27B.zip",
    "glove-twitter-50": "glove.twitter.27B.50d.txt from https://nlp.stanford.edu/data/glove.twitter.27B.zip",
    "glove-twitter-100": "glove.twitter.27B.100d.txt from https://nlp.stanford.edu/data/glove.twitter.27B.zip",
    "glove-twitter-200": "glove.twitter.27B.200d.txt from https://nlp.stanford.edu/data/glove.twitter.27B.zip",
    "glove-wiki-gigaword-50": "glove.6B.50d.txt from https://nlp.stanford.edu/data/glove.6B.zip",
    "glove-wiki-gigaword-100": "glove.6B.100d.txt from https://nlp.stanford.edu/data/glove.6B.zip",
    "glove-wiki-gigaword-200": "glove.6B.200d.txt from https://nlp.stanford.edu/data/glove.6B.zip",
    "glove-wiki-gigaword-300": "glove.6B.300d.txt from https://nlp.stanford.edu/data/glove.6B.zip",
    "word2vec-google-news-300": "GoogleNews-vectors-negative300.bin(.gz) from https://code.google.com/archive/p/word2vec/",
    "fasttext-wiki-news-subwords-300": "wiki-news-300d-1M-subword.vec from "
    "https://dl.fbaipublicfiles.com/fasttext/vectors-english/wiki-news-300d-1M-subword.vec.zip",
}

# Placeholders of the tweet normaliser and their spelling in GloVe's Twitter vectors.
ALIASES = {"@user": "<user>", "http": "<url>"}


class EmbeddingError(ValueError):
    """Vectors that cannot be trained or loaded; the message says what to pass instead."""


@dataclass
class Vectors:
    """Word vectors plus where they came from (recorded in run.json)."""

    keyed: KeyedVectors
    source: str  # "word2vec", "fasttext", a file path or a gensim-data name
    origin: str  # "trained", "file" or "gensim-data"
    info: dict = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return int(self.keyed.vector_size)

    @property
    def subword(self) -> bool:
        """fastText vectors build a vector for any word from its character n-grams."""
        return hasattr(self.keyed, "vectors_ngrams") and getattr(self.keyed, "bucket", 0) > 0

    def lookup(self, word: str) -> tuple[np.ndarray | None, str]:
        """The vector of `word` and how it was found: "exact", "alias", "subword" or "missing"."""
        if word in self.keyed.key_to_index:
            return self.keyed[word], "exact"
        alias = ALIASES.get(word)
        if alias is not None and alias in self.keyed.key_to_index:
            return self.keyed[alias], "alias"
        if self.subword:
            return self.keyed[word], "subword"
        return None, "missing"


def train_vectors(
    kind: str,
    sentences: Sequence[Sequence[str]],
    dim: int = 100,
    window: int = 5,
    min_count: int = 2,
    epochs: int = 10,
    seed: int = 42,
    workers: int | None = None,
    sg: int = 1,
) -> Vectors:
    """Train word2vec or fastText (skip-gram by default: better on small corpora) on tokenised texts."""
    if kind not in TRAINED_KINDS:
        raise EmbeddingError(f"cannot train {kind!r}: choose one of {', '.join(TRAINED_KINDS)}")
    sentences = NonEmpty(sentences)
    if not any(True for _ in sentences):
        raise EmbeddingError("cannot train word vectors: the training texts have no tokens")
    workers = workers or min(MAX_GENSIM_WORKERS, os.cpu_count() or 1)
    params = dict(vector_size=dim, window=window, min_count=min_count, epochs=epochs, seed=seed, workers=workers, sg=sg)
    cls = Word2Vec if kind == "word2vec" else FastText
    model = cls(sentences=sentences, **params)
    if not len(model.wv):
        raise EmbeddingError(f"{kind} learned no words: the corpus is too small for min_count={min_count}")
    info = {**params, "sentences": model.corpus_count, "words": len(model.wv)}
    return Vectors(model.wv, source=kind, origin="trained", info=info)


class NonEmpty:
    """The tokenised texts that have tokens, as lists, read again on every pass (gensim makes one per epoch):
    a streaming corpus is never copied into a list of lists."""

    def __init__(self, sentences: Iterable[Sequence[str]]):
        self.sentences = sentences

    def __iter__(self):
        return (s if isinstance(s, list) else list(s) for s in self.sentences if len(s))


def check_spec(spec: str | Path) -> None:
    """Fail fast, without loading anything, on an --embedding that names a file that is not there."""
    if str(spec) in TRAINED_KINDS:
        return
    path = Path(spec).expanduser()
    if path.is_file():
        return
    if path.exists():
        raise EmbeddingError(f"{path} is not a file: pass a vectors file (.txt, .vec, .bin, .kv)")
    if _looks_like_path(str(spec)):
        raise EmbeddingError(
            f"vectors file not found: {path}. Pass an existing GloVe .txt, word2vec .bin/.txt "
            f"or fastText .vec/.bin file, word2vec / fasttext to train vectors on the "
            f"corpus, or a gensim-data name such as glove-twitter-100"
        )


def _looks_like_path(spec: str) -> bool:
    return Path(spec).suffix.lower() in VECTOR_SUFFIXES or "/" in spec or "\\" in spec


def load_vectors(spec: str | Path, cache_dir: Path | None = None) -> Vectors:
    """Pretrained vectors from a file (GloVe .txt, word2vec .bin/.txt, fastText .vec/.bin, gensim .kv, any
    of them .gz) or a gensim-data name such as "glove-twitter-100" (downloaded once, cached)."""
    cache_dir = Path(cache_dir) if cache_dir else config.artifacts_dir() / "embeddings"
    check_spec(spec)
    path = Path(spec).expanduser()
    if path.is_file():
        read = (lambda: _read_file(path)) if path.suffix.lower() == ".kv" else _cached(path, cache_dir)
        return Vectors(read(), source=str(path), origin="file", info={"file": str(path.resolve())})
    return Vectors(_load_gensim_data(str(spec), cache_dir), source=str(spec), origin="gensim-data")


def resolve(
    spec: str,
    sentences: Sequence[Sequence[str]] | None = None,
    dim: int = 100,
    seed: int = 42,
    cache_dir: Path | None = None,
    **train_options,
) -> Vectors:
    """`word2vec` / `fasttext` train on `sentences`; anything else is loaded by `load_vectors`."""
    if spec in TRAINED_KINDS:
        if sentences is None:
            raise EmbeddingError(f"training {spec} vectors needs the training texts")
        return train_vectors(spec, sentences, dim=dim, seed=seed, **train_options)
    return load_vectors(spec, cache_dir=cache_dir)


def embedding_matrix(
    vectors: Vectors,
    vocabulary: Sequence[str],
    token_counts: Counter | None = None,
    seed: int = 42,
    reserved: int = 2,
) -> tuple[np.ndarray, dict]:
    """Matrix of shape (len(vocabulary), dim): row i holds the vector of vocabulary[i].

    The first `reserved` rows (padding, out-of-vocabulary) and words without a vector get small random
    values scaled like the known vectors (padding stays zero). Coverage: share of the vocabulary words and
    of the token occurrences in `token_counts` (all training tokens) that got a real vector."""
    matrix = np.zeros((len(vocabulary), vectors.dim), dtype=np.float32)
    how, missing, found_rows = _fill_known_rows(matrix, vectors, vocabulary, reserved)
    _fill_unknown_rows(matrix, found_rows, seed)
    words = max(len(vocabulary) - reserved, 0)
    coverage = {
        "source": vectors.source,
        "origin": vectors.origin,
        "dim": vectors.dim,
        "subword": vectors.subword,
        "vocabulary_words": words,
        "found_words": len(found_rows),
        "vocab_coverage": round(len(found_rows) / words, 4) if words else 0.0,
        "found_by": {k: v for k, v in how.items() if k != "missing"},
        "missing_examples": missing[:20],
    }
    if token_counts:
        coverage.update(_token_coverage(vocabulary, token_counts, set(found_rows)))
    return matrix, coverage


def _fill_known_rows(
    matrix: np.ndarray, vectors: Vectors, vocabulary: Sequence[str], reserved: int
) -> tuple[Counter, list[str], list[int]]:
    """Copy the vector of each word past the reserved rows into its row: how each was found, the words
    without one, and the rows filled."""
    how = Counter()
    missing: list[str] = []
    found_rows = []
    for index, word in enumerate(vocabulary):
        if index < reserved:
            continue
        vector, found = vectors.lookup(word)
        how[found] += 1
        if vector is None:
            missing.append(word)
        else:
            matrix[index] = vector
            found_rows.append(index)
    return how, missing, found_rows


def _fill_unknown_rows(matrix: np.ndarray, found_rows: list[int], seed: int) -> None:
    """Small random values, scaled like the known vectors, in every row but padding (row 0) without a vector."""
    rng = np.random.default_rng(seed)
    scale = float(matrix[found_rows].std()) if found_rows else 0.05
    found = set(found_rows)
    unknown = [i for i in range(1, len(matrix)) if i not in found]
    matrix[unknown] = rng.normal(0.0, scale or 0.05, size=(len(unknown), matrix.shape[1]))


def _token_coverage(vocabulary: Sequence[str], token_counts: Counter, found: set[int]) -> dict:
    """Share of the token occurrences whose word got a real vector, and the number of tokens."""
    total = sum(token_counts.values())
    index_of = {w: i for i, w in enumerate(vocabulary)}
    covered = sum(c for w, c in token_counts.items() if index_of.get(w) in found)
    return {"token_coverage": round(covered / total, 4) if total else 0.0, "tokens": total}


def _read_file(path: Path) -> KeyedVectors:
    """Read a vectors file, telling the formats apart by content rather than trusting the suffix alone."""
    suffixes = [s.lower() for s in path.suffixes]
    try:
        if suffixes[-1:] == [".kv"]:
            return KeyedVectors.load(str(path))
        if suffixes[-1:] == [".bin"] and _is_fasttext_bin(path):
            return load_facebook_vectors(str(path))
        if ".bin" in suffixes:
            return KeyedVectors.load_word2vec_format(str(path), binary=True)
        return KeyedVectors.load_word2vec_format(str(path), binary=False, no_header=not _has_header(path))
    except EmbeddingError:
        raise
    except Exception as exc:  # gensim raises assorted errors on malformed files
        raise EmbeddingError(f"cannot read vectors from {path}: {type(exc).__name__}: {exc}") from exc


def _is_fasttext_bin(path: Path) -> bool:
    with open(path, "rb") as handle:
        head = handle.read(4)
    return len(head) == 4 and int.from_bytes(head, "little") == FASTTEXT_BIN_MAGIC


def _has_header(path: Path) -> bool:
    """word2vec / fastText text files start with "<count> <dim>"; GloVe files start with a vector."""
    from gensim import utils

    with utils.open(str(path), "rb") as handle:
        first = handle.readline().decode("utf-8", errors="replace").split()
    if not first:
        raise EmbeddingError(f"{path} is empty: expected one word and its vector per line")
    return len(first) == 2 and all(part.isdigit() for part in first)


def _cached(path: Path, cache_dir: Path):
    """A reader of `path` that keeps a gensim copy of large files, keyed by path, size and mtime."""

    def read() -> KeyedVectors:
        stat = path.stat()
        key = hashlib.sha256(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
        cached = cache_dir / "files" / f"{path.name.split('.')[0]}-{key}.kv"
        if cached.exists():
            return KeyedVectors.load(str(cached), mmap="r")
        keyed = _read_file(path)
        if stat.st_size > CACHE_FILES_OVER_BYTES:
            _save_atomic(keyed, cached)
        return keyed

    return read


def _load_gensim_data(name: str, cache_dir: Path) -> KeyedVectors:
    cached = cache_dir / "gensim-data" / f"{name}.kv"
    if cached.exists():
        return KeyedVectors.load(str(cached), mmap="r")
    hint = GENSIM_DATA_FILES.get(name, "the vectors as a .txt/.vec/.bin file")
    if os.environ.get("BADBUZZ_NO_DOWNLOAD") == "1":
        raise EmbeddingError(
            f"{name!r} is not cached and downloads are disabled (BADBUZZ_NO_DOWNLOAD=1): "
            f"download {hint} and pass its path instead, e.g. --embedding /path/to/file"
        )
    import gensim.downloader as api

    api.BASE_DIR = str(cache_dir / "gensim-data" / "downloads")  # read at call time by gensim's functions
    try:
        logging.getLogger("gensim.downloader").setLevel(logging.CRITICAL)  # its offline traceback is noise
        info = api.info(name_only=True)
    except Exception as exc:
        raise EmbeddingError(
            f"cannot fetch gensim-data model {name!r} ({exc}); this looks offline. Download {hint} "
            f"and pass its path instead, e.g. --embedding /path/to/file"
        ) from exc
    known = set(info.get("models", []))
    if name not in known:
        raise EmbeddingError(
            f"{name!r} is neither a vectors file nor a gensim-data model. Pass a file path, "
            f"word2vec/fasttext to train on the corpus, or one of: {', '.join(sorted(known))}"
        )
    try:
        loaded = api.load(name)
    except Exception as exc:
        raise EmbeddingError(
            f"downloading gensim-data model {name!r} failed ({exc}); download {hint} and pass its path instead"
        ) from exc
    keyed = getattr(loaded, "wv", loaded)
    _save_atomic(keyed, cached)
    shutil.rmtree(Path(api.BASE_DIR) / name, ignore_errors=True)  # the cached copy replaces the download
    return keyed


def _save_atomic(keyed: KeyedVectors, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.stem + ".partial.kv")
    keyed.save(str(partial))
    for extra in partial.parent.glob(partial.name + ".*"):  # large arrays go to side files
        extra.rename(target.parent / extra.name.replace(partial.name, target.name, 1))
    partial.rename(target)


def token_counts(sentences: Iterable[Sequence[str]]) -> Counter:
    counts: Counter = Counter()
    for sentence in sentences:
        counts.update(sentence)
    return counts
