"""The Keras trainer's input pipeline: tweets -> ragged word ids -> shuffled batches padded per batch.

No padded matrix of a whole split is built. A split's word ids are kept ragged (`RaggedIds`: one flat int32
array and the row lengths, ~4 bytes a token), and each batch is padded when it is made:

- to its own longest tweet where the model masks padding (right padding, the default preset): the same output
  as padding to `max_len`, for less work;
- to `max_len` where it does not (the study preset's left-padded, unmasked LSTM): it must see as many leading
  zeros in training as at scoring, where the encoder pads to `max_len`.

Texts are tokenised in chunks (`CHUNK` tweets), so the only per-token Python objects alive are a few chunks';
with many texts, worker processes tokenise the chunks while this process numbers their tokens (keras_tokens).
The training split is read once: its tokens become provisional ids in order of first appearance (a
`TokenisedCorpus`), which give the word counts (the vocabulary, the vectors' coverage), feed gensim without a
list of token lists (`sentences()`), and are remapped to the fitted vocabulary with one array lookup.

On the TensorFlow backend (the trainer's) the batches come from `tf.data` (a seeded permutation per epoch,
ragged gather, padding, prefetch); on another backend (the lent GPU machines have PyTorch but no TensorFlow)
a `keras.utils.PyDataset` yields the same batches from NumPy.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import chain

import numpy as np

from core.models.keras import RESERVED, keras  # keras as that module sets it up (backend, log level)
from core.training.keras_tokens import CHUNK, token_lists

OOV_ID = RESERVED - 1  # core.models.keras: rows 0 (padding) and 1 (out-of-vocabulary words)


@dataclass
class RaggedIds:
    """Word ids of a split without padding: row i is values[offsets[i]:offsets[i + 1]]."""

    values: np.ndarray  # int32
    lengths: np.ndarray  # int32

    def __len__(self) -> int:
        return len(self.lengths)

    @cached_property
    def offsets(self) -> np.ndarray:
        """Where each row starts, and the end (computed once: a batch needs it, and 1.6 M rows take ms)."""
        return np.concatenate([[0], np.cumsum(self.lengths, dtype=np.int64)])

    def row(self, i: int) -> np.ndarray:
        offsets = self.offsets
        return self.values[offsets[i] : offsets[i + 1]]

    def truncated(self, max_len: int) -> RaggedIds:
        """The first `max_len` ids of each row; an empty row becomes one out-of-vocabulary id, as in
        TextEncoder.encode_tokens (a tweet is never all padding)."""
        lengths = np.minimum(self.lengths, max_len)
        values = self.values
        over = np.flatnonzero(self.lengths > max_len)
        if len(over):  # +1 where a row's cut starts, -1 where it ends: 3 bytes a token while it runs
            edges = np.zeros(len(values) + 1, dtype=np.int8)
            edges[self.offsets[over] + max_len] = 1
            edges[self.offsets[over + 1]] = -1
            values = values[np.cumsum(edges[:-1], dtype=np.int8) == 0]
        empty = np.flatnonzero(lengths == 0)
        if len(empty):
            at = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)])[empty]
            values = np.insert(values, at, OOV_ID)
            lengths = np.maximum(lengths, 1)
        return RaggedIds(values.astype(np.int32, copy=False), lengths.astype(np.int32, copy=False))

    def padded(self, rows: np.ndarray, width: int | None = None, padding: str = "post") -> np.ndarray:
        """Rows `rows` as one zero-padded matrix, `width` wide (default: the longest of them)."""
        lengths = self.lengths[rows].astype(np.int64)
        width = int(width or (lengths.max() if len(lengths) else 1))
        out = np.zeros((len(rows), width), dtype=np.int32)
        row_of = np.repeat(np.arange(len(rows)), lengths)
        within = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        column = within + (np.repeat(width - lengths, lengths) if padding == "pre" else 0)
        out[row_of, column] = self.values[np.repeat(self.offsets[rows], lengths) + within]
        return out


def _concat(chunks: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(chunks).astype(np.int32, copy=False) if chunks else np.zeros(0, np.int32)


@dataclass
class TokenisedCorpus:
    """The training split's tokens as provisional ids: word i of `words` was the i-th distinct word seen."""

    words: list[str]
    index: dict[str, int]
    ids: RaggedIds

    def counts(self) -> np.ndarray:
        """Occurrences of each word, a block at a time (bincount of the whole would copy the ids as int64)."""
        counts, values, block = np.zeros(len(self.words), dtype=np.int64), self.ids.values, 1 << 22
        for start in range(0, len(values), block):
            counts += np.bincount(values[start : start + block], minlength=len(self.words))
        return counts

    def token_counts(self) -> Counter:
        return Counter(dict(zip(self.words, self.counts().tolist(), strict=True)))

    def sentences(self) -> Sentences:
        return Sentences(self)

    def remapped(self, vocabulary: Sequence[str], max_len: int) -> RaggedIds:
        """The ids in a fitted vocabulary (a word outside it -> out-of-vocabulary), truncated to `max_len`."""
        lookup = np.full(len(self.words), OOV_ID, dtype=np.int32)
        for final_id, word in enumerate(vocabulary):
            provisional = self.index.get(word)
            if provisional is not None and final_id > OOV_ID:
                lookup[provisional] = final_id
        return RaggedIds(lookup[self.ids.values], self.ids.lengths).truncated(max_len)


class Sentences:
    """A restartable iterable of token lists over a TokenisedCorpus (what gensim reads, once per epoch)."""

    def __init__(self, corpus: TokenisedCorpus):
        self.corpus = corpus

    def __len__(self) -> int:
        return len(self.corpus.ids)

    def __iter__(self) -> Iterator[list[str]]:
        words, values = self.corpus.words, self.corpus.ids.values
        offsets = self.corpus.ids.offsets.tolist()
        for start, end in zip(offsets[:-1], offsets[1:], strict=True):
            yield [words[i] for i in values[start:end].tolist()]


def tokenise(preprocessor, texts: Sequence, chunk: int = CHUNK, workers: int | None = None) -> TokenisedCorpus:
    """Pass over the training texts: every token to a provisional id, chunk by chunk."""
    index: dict[str, int] = {}
    values, lengths = [], []
    for lists in token_lists(preprocessor, texts, chunk, workers):
        ids = [index.setdefault(word, len(index)) for word in chain.from_iterable(lists)]
        values.append(np.asarray(ids, dtype=np.int32))
        lengths.append(np.fromiter(map(len, lists), dtype=np.int32, count=len(lists)))
    return TokenisedCorpus(list(index), index, RaggedIds(_concat(values), _concat(lengths)))


def encode(encoder, texts: Sequence, chunk: int = CHUNK, workers: int | None = None) -> RaggedIds:
    """Texts -> ids in the encoder's vocabulary, truncated to its max_len, chunk by chunk (validation, test)."""
    get, max_len = encoder.index.get, encoder.max_len
    values, lengths = [], []
    for lists in token_lists(encoder.preprocessor, texts, chunk, workers):
        rows = [[get(w, OOV_ID) for w in tokens[:max_len]] or [OOV_ID] for tokens in lists]
        values.append(np.fromiter(chain.from_iterable(rows), dtype=np.int32))
        lengths.append(np.fromiter(map(len, rows), dtype=np.int32, count=len(rows)))
    return RaggedIds(_concat(values), _concat(lengths))


# ---------------------------------------------------------------- batches


@dataclass
class Batching:
    """How a split becomes batches: `pad_to` None pads each batch to its longest row; `seed` None keeps order."""

    batch_size: int
    pad_to: int | None = None
    padding: str = "post"
    seed: int | None = None

    def steps(self, n: int) -> int:
        return -(-n // self.batch_size)


def batches(ids: RaggedIds, labels: np.ndarray, batching: Batching):
    """What model.fit reads: a tf.data.Dataset on the TensorFlow backend, else a PyDataset of the same batches."""
    labels = np.asarray(labels, dtype=np.int32)
    if len(labels) != len(ids):
        raise ValueError(f"{len(ids)} rows of ids but {len(labels)} labels")
    if keras.backend.backend() == "tensorflow":
        return tf_batches(ids, labels, batching)
    return NumpyBatches(ids, labels, batching)


def tf_batches(ids: RaggedIds, labels: np.ndarray, batching: Batching):
    import tensorflow as tf

    n, size = len(ids), batching.batch_size
    ragged = tf.RaggedTensor.from_row_lengths(ids.values, ids.lengths.astype(np.int64), validate=False)
    y = tf.constant(labels)
    if batching.seed is None:
        order = tf.data.Dataset.range(n).batch(size)
    else:  # a new permutation each time Keras starts an epoch, the same sequence for the same seed
        order = (
            tf.data.Dataset.random(seed=batching.seed, rerandomize_each_iteration=True)
            .take(1)
            .flat_map(lambda r: _permutation(n, r).batch(size))
        )

    def gather(rows):
        return _pad(tf.gather(ragged, rows), batching), tf.gather(y, rows)

    dataset = order.map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    # flat_map hides the length: stated, Keras knows each epoch's steps and starts a new iterator every epoch
    steps = tf.data.experimental.assert_cardinality(batching.steps(n))
    return dataset.apply(steps).prefetch(tf.data.AUTOTUNE)


def _permutation(n: int, seed):
    import tensorflow as tf

    shuffled = tf.random.experimental.stateless_shuffle(tf.range(n, dtype=tf.int64), seed=tf.stack([seed, 0]))
    return tf.data.Dataset.from_tensor_slices(shuffled)


def _pad(rows, batching: Batching):
    """A ragged batch as a dense one. Left padding: reverse every row, pad on the right, reverse back."""
    import tensorflow as tf

    shape = [None, batching.pad_to]
    if batching.padding == "post":
        return rows.to_tensor(0, shape=shape)
    flipped = tf.RaggedTensor.from_row_lengths(tf.reverse(rows.flat_values, [0]), tf.reverse(rows.row_lengths(), [0]))
    return tf.reverse(flipped.to_tensor(0, shape=shape), [0, 1])


class NumpyBatches(keras.utils.PyDataset):
    """The tf.data batches without TensorFlow: a seeded NumPy permutation per epoch, padding per batch."""

    def __init__(self, ids: RaggedIds, labels: np.ndarray, batching: Batching):
        super().__init__()
        self.ids, self.labels, self.batching, self.epoch = ids, labels, batching, 0
        self.order = self._order()

    def _order(self) -> np.ndarray:
        if self.batching.seed is None:
            return np.arange(len(self.ids))
        return np.random.default_rng([self.batching.seed, self.epoch]).permutation(len(self.ids))

    def __len__(self) -> int:
        return self.batching.steps(len(self.ids))

    def __getitem__(self, i: int):
        size = self.batching.batch_size
        rows = self.order[i * size : (i + 1) * size]
        return self.ids.padded(rows, self.batching.pad_to, self.batching.padding), self.labels[rows]

    def on_epoch_end(self):
        self.epoch += 1
        self.order = self._order()
