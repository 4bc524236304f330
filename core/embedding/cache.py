"""Embeddings computed once and kept on disk: a split's tweets are embedded by the first run that needs them,
and every later run, evaluation or benchmark on the same texts with the same encoder reads them back.

The key is the encoder (name and weights' package version) and a sha256 of the texts themselves, in order: the
data's fingerprint in the strictest sense (the same split of the same file, with the same extra data and
corrections, gives the same texts; anything else is another key, never a stale hit). `label` (e.g. the split id
and part) is recorded beside it for people. Rows are written in chunks as they are computed, so an interrupted
embedding of 90,000 tweets resumes where it stopped.

Layout: `<artifacts>/embeddings/<encoder>/<key>/meta.json` + `chunk_00000.npy`, ... (CHUNK rows each).
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from core.config import artifacts_dir
from core.embedding.encoders import SentenceEncoder
from core.files import write_atomic, write_json_atomic

CHUNK = 2048
Progress = Callable[[int, int], None]  # (rows done, rows in all)


def texts_key(encoder: SentenceEncoder, texts: Sequence[str]) -> str:
    digest = hashlib.sha256(f"{encoder.name}\0{encoder.version}\0{len(texts)}\0".encode())
    for text in texts:
        encoded = str(text).encode("utf-8", "surrogatepass")
        digest.update(len(encoded).to_bytes(8, "little") + encoded)
    return digest.hexdigest()[:32]


class EmbeddingCache:
    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root else artifacts_dir() / "embeddings"

    def folder(self, encoder: SentenceEncoder, texts: Sequence[str]) -> Path:
        return self.root / encoder.name / texts_key(encoder, texts)

    def embeddings(
        self, encoder: SentenceEncoder, texts: Sequence[str], label: str = "", progress: Progress | None = None
    ) -> np.ndarray:
        """(len(texts), encoder.dim) float32: read back where computed before, else computed (chunk by chunk)."""
        texts = list(texts)
        folder = self.folder(encoder, texts)
        folder.mkdir(parents=True, exist_ok=True)
        if not (folder / "meta.json").exists():
            write_json_atomic(folder / "meta.json", _meta(encoder, texts, label))
        chunks = [_chunk(encoder, texts, start, folder) for start in _starts(len(texts), progress)]
        return np.concatenate(chunks) if chunks else np.zeros((0, encoder.dim), np.float32)

    def is_cached(self, encoder: SentenceEncoder, texts: Sequence[str]) -> bool:
        folder = self.folder(encoder, list(texts))
        return all((folder / _chunk_name(start)).exists() for start in range(0, len(texts), CHUNK))


def _starts(n: int, progress: Progress | None):
    for start in range(0, n, CHUNK):
        yield start
        if progress:
            progress(min(n, start + CHUNK), n)


def _chunk_name(start: int) -> str:
    return f"chunk_{start // CHUNK:05d}.npy"


def _chunk(encoder: SentenceEncoder, texts: list[str], start: int, folder: Path) -> np.ndarray:
    path = folder / _chunk_name(start)
    rows = min(CHUNK, len(texts) - start)
    if path.exists():
        saved = np.load(path)
        if saved.shape == (rows, encoder.dim):
            return saved
    vectors = encoder.embed(texts[start : start + rows]).astype(np.float32, copy=False)
    buffer = io.BytesIO()
    np.save(buffer, vectors)
    write_atomic(path, buffer.getvalue())
    return vectors


def _meta(encoder: SentenceEncoder, texts: list[str], label: str) -> dict:
    return {
        "encoder": encoder.name,
        "version": encoder.version,
        "dim": encoder.dim,
        "rows": len(texts),
        "label": label,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def cached_embeddings(
    encoder: SentenceEncoder, texts: Sequence[str], label: str = "", progress: Progress | None = None
) -> np.ndarray:
    """The embeddings of `texts` under the artifacts folder (see the module's note)."""
    return EmbeddingCache().embeddings(encoder, texts, label, progress)
