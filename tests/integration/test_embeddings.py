"""core.text.embeddings: trained vectors, every pretrained file format, gensim-data names, the embedding matrix."""

from __future__ import annotations

import gzip
from collections import Counter

import numpy as np
import pytest
from gensim.models import FastText, KeyedVectors
from gensim.models.fasttext import save_facebook_model

from core.text import embeddings as E

SENTENCES = [
    ["i", "love", "this", "flight"],
    ["i", "hate", "this", "delay"],
    ["love", "the", "crew"],
    ["hate", "the", "delay", "again"],
] * 30
WORDS = ["love", "hate", "flight", "<user>"]


@pytest.fixture(scope="module")
def keyed() -> KeyedVectors:
    kv = KeyedVectors(vector_size=4)
    kv.add_vectors(WORDS, np.arange(16, dtype=np.float32).reshape(4, 4) / 8 - 1)
    return kv


def write_glove(path, kv):
    with open(path, "w", encoding="utf-8") as fh:
        for word in kv.index_to_key:
            fh.write(word + " " + " ".join(f"{v:.6f}" for v in kv[word]) + "\n")
    return path


@pytest.mark.parametrize("kind", ["word2vec", "fasttext"])
def test_train_vectors_on_tokens(kind):
    vectors = E.train_vectors(kind, SENTENCES, dim=12, epochs=2, min_count=2)
    assert vectors.dim == 12 and vectors.origin == "trained" and vectors.source == kind
    assert {"love", "hate", "delay"} <= set(vectors.keyed.key_to_index)
    assert vectors.subword == (kind == "fasttext")
    assert vectors.info["sentences"] == len(SENTENCES)


def test_training_needs_tokens():
    with pytest.raises(E.EmbeddingError, match="no tokens"):
        E.train_vectors("word2vec", [[], []])
    with pytest.raises(E.EmbeddingError, match="cannot train"):
        E.train_vectors("glove", SENTENCES)


@pytest.mark.parametrize("fmt", ["glove.txt", "glove.txt.gz", "w2v.txt", "w2v.bin", "ft.vec", "vectors.kv"])
def test_every_pretrained_file_format(tmp_path, keyed, fmt):
    path = tmp_path / fmt
    if fmt == "glove.txt":
        write_glove(path, keyed)
    elif fmt == "glove.txt.gz":
        text = write_glove(tmp_path / "plain.txt", keyed).read_bytes()
        path.write_bytes(gzip.compress(text))
    elif fmt in ("w2v.txt", "ft.vec"):
        keyed.save_word2vec_format(str(path), binary=False)
    elif fmt == "w2v.bin":
        keyed.save_word2vec_format(str(path), binary=True)
    else:
        keyed.save(str(path))
    vectors = E.load_vectors(path, cache_dir=tmp_path / "cache")
    assert vectors.origin == "file" and vectors.dim == 4
    assert vectors.keyed.index_to_key == WORDS
    np.testing.assert_allclose(vectors.keyed[WORDS], keyed[WORDS], atol=1e-6)


def test_fasttext_bin_gives_subword_vectors(tmp_path):
    model = FastText(sentences=SENTENCES, vector_size=8, min_count=1, epochs=2, seed=1, workers=1)
    save_facebook_model(model, str(tmp_path / "tiny.bin"))
    vectors = E.load_vectors(tmp_path / "tiny.bin", cache_dir=tmp_path / "cache")
    assert vectors.subword and vectors.dim == 8
    np.testing.assert_allclose(vectors.keyed["love"], model.wv["love"], atol=1e-6)
    vector, how = vectors.lookup("lovely")  # never seen: built from character n-grams
    assert how == "subword" and vector.shape == (8,)


def test_missing_or_bad_files_say_what_to_pass(tmp_path):
    for spec in (tmp_path / "nope.txt", "vectors/glove.6B.50d.txt", "missing.bin"):
        with pytest.raises(E.EmbeddingError, match="vectors file not found"):
            E.load_vectors(spec)
    with pytest.raises(E.EmbeddingError, match="not a file"):
        E.check_spec(str(tmp_path))
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(E.EmbeddingError, match="empty"):
        E.load_vectors(tmp_path / "empty.txt", cache_dir=tmp_path / "cache")
    (tmp_path / "broken.txt").write_text("love 0.1 0.2\nhate x y\n")
    with pytest.raises(E.EmbeddingError, match="cannot read vectors"):
        E.load_vectors(tmp_path / "broken.txt", cache_dir=tmp_path / "cache")
    E.check_spec("word2vec")
    E.check_spec("glove-twitter-100")  # a name: checked when loaded


def test_gensim_data_name_offline_names_the_file_to_pass(tmp_path, monkeypatch):
    import urllib.error

    import gensim.downloader

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(gensim.downloader, "urlopen", offline)
    monkeypatch.delenv("BADBUZZ_NO_DOWNLOAD")
    with pytest.raises(E.EmbeddingError) as err:
        E.load_vectors("glove-twitter-100", cache_dir=tmp_path)
    message = str(err.value)
    assert "offline" in message and "glove.twitter.27B.100d.txt" in message and "--embedding" in message


def test_gensim_data_downloads_can_be_disabled(tmp_path, monkeypatch):
    monkeypatch.setenv("BADBUZZ_NO_DOWNLOAD", "1")
    with pytest.raises(E.EmbeddingError, match="BADBUZZ_NO_DOWNLOAD"):
        E.load_vectors("glove-wiki-gigaword-50", cache_dir=tmp_path)


def test_gensim_data_name_loads_from_the_cache(tmp_path, keyed):
    (tmp_path / "gensim-data").mkdir()
    keyed.save(str(tmp_path / "gensim-data" / "glove-twitter-25.kv"))
    vectors = E.load_vectors("glove-twitter-25", cache_dir=tmp_path)
    assert vectors.origin == "gensim-data" and vectors.source == "glove-twitter-25"
    np.testing.assert_allclose(vectors.keyed["love"], keyed["love"])


def test_large_files_are_cached_as_gensim_vectors(tmp_path, keyed, monkeypatch):
    monkeypatch.setattr(E, "CACHE_FILES_OVER_BYTES", 0)
    path = write_glove(tmp_path / "glove.txt", keyed)
    first = E.load_vectors(path, cache_dir=tmp_path / "cache")
    cached = list((tmp_path / "cache" / "files").glob("glove-*.kv"))
    assert len(cached) == 1
    second = E.load_vectors(path, cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(first.keyed[WORDS], second.keyed[WORDS])
    path.write_text(path.read_text() + "extra " + " ".join(["0.5"] * 4) + "\n")  # changed file: new cache entry
    assert "extra" in E.load_vectors(path, cache_dir=tmp_path / "cache").keyed.key_to_index


def test_embedding_matrix_rows_and_coverage(keyed):
    vectors = E.Vectors(keyed, source="test", origin="file")
    vocabulary = ["<pad>", "<oov>", "love", "hate", "@user", "unknownword"]
    counts = Counter({"love": 5, "hate": 3, "@user": 1, "unknownword": 1, "not-in-vocabulary": 10})
    matrix, coverage = E.embedding_matrix(vectors, vocabulary, counts, seed=0)
    assert matrix.shape == (6, 4) and matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix[0], 0)  # padding
    np.testing.assert_array_equal(matrix[2], keyed["love"])
    np.testing.assert_array_equal(matrix[3], keyed["hate"])
    np.testing.assert_array_equal(matrix[4], keyed["<user>"])  # the normaliser's placeholder, GloVe's spelling
    assert np.abs(matrix[5]).sum() > 0  # a word without a vector starts random, not zero
    assert coverage["vocab_coverage"] == 0.75 and coverage["found_words"] == 3
    assert coverage["found_by"] == {"exact": 2, "alias": 1}
    assert coverage["missing_examples"] == ["unknownword"]
    assert coverage["token_coverage"] == round(9 / 20, 4) and coverage["tokens"] == 20
    again, _ = E.embedding_matrix(vectors, vocabulary, counts, seed=0)
    np.testing.assert_array_equal(matrix, again)
