"""core.embedding with the fake encoder: names, one instance per process, batches, odd texts, the disk cache."""

from __future__ import annotations

import numpy as np
import pytest

from core.embedding import cache, encoders
from core.embedding.cache import EmbeddingCache, cached_embeddings
from core.embedding.encoders import EncoderError, load_encoder


def test_names_resolve_in_any_case_and_unknown_names_are_one_sentence(fake_encoder):
    assert load_encoder() is fake_encoder and load_encoder("Multilingual-E5-Small") is fake_encoder
    assert load_encoder("all-minilm-l6-v2").name == "all-minilm-l6-v2"
    with pytest.raises(EncoderError, match="unknown encoder 'bert'; known: multilingual-e5-small, all-minilm-l6-v2"):
        load_encoder("bert")


def test_embed_gives_normalised_rows_in_order_in_batches_whatever_the_text(fake_encoder, monkeypatch):
    monkeypatch.setattr(encoders, "BATCH", 3)
    texts = ["great flight", "", "   ", None, "x" * 100_000, "😞", "great flight", "vol annulé"]
    vectors = fake_encoder.embed(texts)
    assert vectors.shape == (8, fake_encoder.dim) and vectors.dtype == np.float32
    nonzero = np.linalg.norm(vectors, axis=1) > 0
    assert np.allclose(np.linalg.norm(vectors[nonzero], axis=1), 1, atol=1e-5)
    assert np.array_equal(vectors[0], vectors[6]) and not np.array_equal(vectors[0], vectors[7])
    assert fake_encoder.embed([]).shape == (0, fake_encoder.dim)


def test_the_cache_computes_once_and_reads_back(fake_encoder, isolated_artifacts):
    texts = [f"tweet number {i}" for i in range(5)]
    first = cached_embeddings(fake_encoder, texts, label="split/train")
    assert fake_encoder.calls == [5]
    again = cached_embeddings(fake_encoder, texts)
    assert fake_encoder.calls == [5] and np.array_equal(first, again)
    folder = EmbeddingCache().folder(fake_encoder, texts)
    assert (
        folder.is_relative_to(isolated_artifacts / "embeddings") and "split/train" in (folder / "meta.json").read_text()
    )
    cached_embeddings(fake_encoder, texts[:4] + ["another tweet"])  # other texts: another key, computed
    assert fake_encoder.calls == [5, 5]


def test_an_interrupted_embedding_resumes_from_its_last_chunk(fake_encoder, monkeypatch):
    monkeypatch.setattr(cache, "CHUNK", 4)
    texts = [f"tweet {i}" for i in range(10)]
    store = EmbeddingCache()
    full = store.embeddings(fake_encoder, texts)
    (store.folder(fake_encoder, texts) / "chunk_00002.npy").unlink()
    assert not store.is_cached(fake_encoder, texts)
    fake_encoder.calls.clear()
    assert np.array_equal(store.embeddings(fake_encoder, texts), full) and fake_encoder.calls == [2]
    assert store.is_cached(fake_encoder, texts)
