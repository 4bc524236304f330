"""The Keras trainer's input pipeline (core.training.keras_data): ragged ids, batches padded per batch, every
training row once per epoch with its label, the streaming tokeniser equal to the list-based encoder, the float32
copy of a mixed-precision model, and the scale benchmark's `measure` on a tiny file."""

from __future__ import annotations

import numpy as np
import pytest

from core.models import keras as km
from core.text.preprocess import Preprocessor
from core.training import keras_data as kd

pytestmark = pytest.mark.slow  # TensorFlow

TEXTS = [
    "I love this airline!!!",
    "worst flight ever, lost my bag",
    "",
    "not bad at all @united http://t.co/x",
    "soooo tired of waiting at the gate, never again",
    "thanks",
] * 3


def numbered_rows(n: int = 203, seed: int = 0) -> tuple[kd.RaggedIds, np.ndarray]:
    """Row i holds `2 + i` repeated 1..30 times (so a batch row says which row it is); its label is i % 2."""
    lengths = np.random.default_rng(seed).integers(1, 31, size=n).astype(np.int32)
    values = np.repeat(np.arange(n, dtype=np.int32) + 2, lengths)
    return kd.RaggedIds(values, lengths), np.arange(n) % 2


def epoch_rows(batches, ids: kd.RaggedIds, labels: np.ndarray, pad_to: int | None, padding: str) -> list[int]:
    """The rows of one pass, checking each batch's width, padding side and labels on the way."""
    seen = []
    for x, y in batches:
        x, y = np.asarray(x), np.asarray(y)
        rows = x.max(axis=1) - 2
        assert x.shape[1] == (pad_to or ids.lengths[rows].max())  # padded to this batch's longest only
        assert np.array_equal((x != 0).sum(axis=1), ids.lengths[rows])
        first_id = x[:, 0] if padding == "post" else x[np.arange(len(x)), x.shape[1] - ids.lengths[rows]]
        assert np.array_equal(first_id - 2, rows)  # the ids sit at the padding's other end
        assert np.array_equal(y, labels[rows])  # labels stay with their rows
        seen.extend(rows.tolist())
    return seen


@pytest.mark.parametrize("backend", ["tf.data", "PyDataset"])
@pytest.mark.parametrize(("pad_to", "padding"), [(None, "post"), (30, "pre")])
def test_every_row_once_per_epoch_with_its_label_padded_per_batch(backend, pad_to, padding):
    ids, labels = numbered_rows()
    batching = kd.Batching(16, pad_to=pad_to, padding=padding, seed=7)
    make = kd.tf_batches if backend == "tf.data" else kd.NumpyBatches
    batches = make(ids, labels.astype(np.int32), batching)
    assert len(batches) == 13
    if backend == "tf.data":
        first, second = (epoch_rows(batches, ids, labels, pad_to, padding) for _ in range(2))
    else:
        first = epoch_rows([batches[i] for i in range(len(batches))], ids, labels, pad_to, padding)
        batches.on_epoch_end()
        second = epoch_rows([batches[i] for i in range(len(batches))], ids, labels, pad_to, padding)
    assert sorted(first) == sorted(second) == list(range(len(ids)))
    assert first != second and first != sorted(first)  # reshuffled every epoch
    again = make(ids, labels.astype(np.int32), batching)  # the same seed, the same order
    again = again if backend == "tf.data" else [again[i] for i in range(len(again))]
    assert epoch_rows(again, ids, labels, pad_to, padding) == first


def test_unshuffled_batches_keep_the_order_and_match_numpy():
    ids, labels = numbered_rows(50)
    for padding, pad_to in (("post", None), ("pre", 30)):
        batching = kd.Batching(8, pad_to=pad_to, padding=padding)
        tf_rows = [np.asarray(x) for x, _ in kd.tf_batches(ids, labels.astype(np.int32), batching)]
        np_rows = [kd.NumpyBatches(ids, labels, batching)[i][0] for i in range(7)]
        assert all(np.array_equal(a, b) for a, b in zip(tf_rows, np_rows, strict=True))
        assert epoch_rows(zip(tf_rows, np.split(labels, range(8, 50, 8))), ids, labels, pad_to, padding) == list(
            range(50)
        )


def test_streaming_tokeniser_gives_the_list_encoder_s_vocabulary_and_ids():
    pre = Preprocessor()
    token_lists = [pre.tokens(t) for t in TEXTS]
    corpus = kd.tokenise(pre, TEXTS, chunk=4)  # chunks smaller than the data
    assert list(corpus.sentences()) == token_lists
    expected = km.TextEncoder.fit(pre, token_lists, max_words=12, min_count=2, max_len=5)
    fitted = km.TextEncoder.from_counts(
        pre, corpus.words, corpus.counts(), corpus.ids.lengths, max_words=12, min_count=2, max_len=5
    )
    assert fitted.vocabulary == expected.vocabulary and fitted.max_len == 5
    dense = expected.encode_tokens(token_lists)  # post padding: the ids, then zeros
    for ragged in (corpus.remapped(fitted.vocabulary, 5), kd.encode(fitted, TEXTS, chunk=5)):
        assert np.array_equal(ragged.padded(np.arange(len(TEXTS)), 5), dense)
    auto = km.TextEncoder.from_counts(pre, corpus.words, corpus.counts(), corpus.ids.lengths)
    assert auto.max_len == km.TextEncoder.fit(pre, token_lists).max_len


def test_worker_processes_give_the_same_tokens_in_the_same_order():
    from core.training.keras_tokens import release_workers, token_lists

    texts = [*TEXTS, "&#31;split &amp; me", "a\x1fb c", None, "   ", "ok"]
    for pre in (Preprocessor(), Preprocessor(["lowercase", "punctuation"])):
        expected = [pre.tokens(t) for t in texts]
        chunks = list(token_lists(pre, texts, chunk=4, workers=2, parallel_from=1))
        assert [len(c) for c in chunks] == [4] * 5 + [3]
        assert [tokens for chunk in chunks for tokens in chunk] == expected
    release_workers()


def test_token_counts_match_every_training_token():
    from collections import Counter

    pre = Preprocessor()
    corpus = kd.tokenise(pre, TEXTS, chunk=5)
    assert corpus.token_counts() == Counter(w for t in TEXTS for w in pre.tokens(t))


def test_float32_copy_of_a_mixed_precision_model_scores_like_it():
    import keras

    from core.training.keras import float32_copy

    kwargs = dict(arch="lstm", vocab_rows=20, dim=8, max_len=6, units=4, hidden=4, dropout=0.0, mask=True)
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        mixed = km.build_model(**kwargs)
        assert mixed.get_layer("lstm").compute_dtype == "float16"
        assert mixed.get_layer("sentiment").compute_dtype == "float32"  # the output layer
        copy = float32_copy(mixed, kwargs)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert all(w.dtype == "float32" for w in copy.weights)
    x = np.array([[2, 3, 4, 0, 0, 0], [5, 6, 7, 8, 9, 10]], dtype=np.int32)
    np.testing.assert_allclose(np.asarray(copy(x)), np.asarray(mixed(x)), atol=2e-3)


def test_scale_benchmark_measures_a_bounded_run(tiny_csv, tmp_path, monkeypatch):
    from benchmarks.keras_scale import measure

    monkeypatch.setenv("BADBUZZ_DATA_DIR", str(tmp_path / "data"))
    found = measure(tiny_csv, steps=2, trainer_args=["--dim", "8", "--vector-epochs", "1", "--batch-size", "32"])
    assert found["rows_train"] == 432 and found["steps"] == 2
    assert found["trainer"]["peak_rss_mib"] > 100 and found["split"]["seconds"] > 0
    assert found["train_tweets_per_s"] > 0 and found["projected_epoch_s"] > 0
    assert found["model"]["max_len"] == 25 and found["model"]["mask"] is False  # the study's LSTM
    assert found["device"]["type"] == "cpu"
