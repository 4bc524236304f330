"""Keras models of tweets: the text encoder (preprocessing + vocabulary + padding), the model builder
shared by the trainer and the GPU benchmark, and the `keras` run loader.

A keras run folder holds `model.keras` (the network, float32) and `preprocessing.json` (the preprocessor
config, the vocabulary, the sequence length and padding side): everything needed to score raw tweets.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

from core.data.labels import classes_for
from core.files import write_atomic
from core.models.base import ModelLoadError, SentimentModel  # noqa: E402

if TYPE_CHECKING:  # NLTK stays out of the import: the GPU benchmark uses build_model alone
    from core.text.preprocess import Preprocessor

ARCHS = ("base", "lstm", "bilstm")
PAD, OOV = "<pad>", "<oov>"
RESERVED = 2  # rows 0 (padding) and 1 (out-of-vocabulary words) of every embedding matrix
PREPROCESSING_FILE = "preprocessing.json"
MODEL_FILE = "model.keras"
PREDICT_BATCH = 1024


class TextEncoder:
    """Raw tweets -> fixed-length rows of word ids, exactly as at training time."""

    def __init__(self, preprocessor: Preprocessor, vocabulary: Sequence[str], max_len: int, padding: str = "post"):
        if padding not in ("pre", "post"):
            raise ValueError("padding must be 'pre' or 'post'")
        if list(vocabulary[:RESERVED]) != [PAD, OOV]:
            raise ValueError(f"a vocabulary starts with {PAD!r}, {OOV!r}")
        self.preprocessor = preprocessor
        self.vocabulary = list(vocabulary)
        self.max_len = int(max_len)
        self.padding = padding
        self.index = {word: i for i, word in enumerate(self.vocabulary)}

    @classmethod
    def fit(
        cls,
        preprocessor: Preprocessor,
        token_lists: Sequence[Sequence[str]],
        max_words: int | None = None,
        min_count: int = 1,
        max_len: int | None = None,
        padding: str = "post",
    ) -> TextEncoder:
        """Vocabulary of the most frequent training words (at most `max_words` rows, reserved ones included,
        each seen at least `min_count` times); `max_len` defaults to the 99th percentile of tweet lengths."""
        counts = Counter(word for tokens in token_lists for word in tokens)
        lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=len(token_lists))
        return cls.from_counts(
            preprocessor, list(counts), np.fromiter(counts.values(), dtype=np.int64, count=len(counts)), lengths,
            max_words=max_words, min_count=min_count, max_len=max_len, padding=padding,
        )  # fmt: skip

    @classmethod
    def from_counts(
        cls,
        preprocessor: Preprocessor,
        words: Sequence[str],
        counts: np.ndarray,
        lengths: np.ndarray,
        max_words: int | None = None,
        min_count: int = 1,
        max_len: int | None = None,
        padding: str = "post",
    ) -> TextEncoder:
        """`fit` from word counts (`words` in order of first appearance) and tweet lengths in tokens: the
        streaming trainer counts without keeping token lists. Ties rank by first appearance, as Counter does."""
        limit = None if max_words is None else max(max_words - RESERVED, 0)
        ranked = np.argsort(-np.asarray(counts), kind="stable")[:limit]
        vocabulary = [words[i] for i in ranked if counts[i] >= min_count and words[i] not in (PAD, OOV)]
        if max_len is None:
            max_len = int(np.clip(np.ceil(np.percentile(lengths if len(lengths) else [1], 99)), 8, 100))
        return cls(preprocessor, [PAD, OOV, *vocabulary], max_len, padding)

    def encode_tokens(self, token_lists: Sequence[Sequence[str]]) -> np.ndarray:
        rows = np.zeros((len(token_lists), self.max_len), dtype=np.int32)
        for r, tokens in enumerate(token_lists):
            ids = [self.index.get(word, 1) for word in tokens[: self.max_len]] or [1]  # never all padding
            if self.padding == "post":
                rows[r, : len(ids)] = ids
            else:
                rows[r, self.max_len - len(ids) :] = ids
        return rows

    def tokens(self, texts: Sequence[str]) -> list[list[str]]:
        return [self.preprocessor.tokens(text) for text in texts]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode_tokens(self.tokens(texts))

    def to_config(self) -> dict:
        return {
            "preprocessor": self.preprocessor.to_config(),
            "max_len": self.max_len,
            "padding": self.padding,
            "vocabulary_size": len(self.vocabulary),
            "vocabulary": self.vocabulary,
        }

    @classmethod
    def from_config(cls, cfg: dict) -> TextEncoder:
        from core.text.preprocess import Preprocessor

        return cls(
            Preprocessor.from_config(cfg["preprocessor"]), cfg["vocabulary"], cfg["max_len"], cfg.get("padding", "post")
        )

    def save(self, folder: Path) -> None:
        write_atomic(Path(folder) / PREPROCESSING_FILE, json.dumps(self.to_config(), ensure_ascii=False))

    @classmethod
    def load(cls, folder: Path) -> TextEncoder:
        return cls.from_config(json.loads((Path(folder) / PREPROCESSING_FILE).read_text()))


def build_model(
    arch: str,
    vocab_rows: int,
    dim: int,
    max_len: int,
    matrix: np.ndarray | None = None,
    trainable: bool = True,
    units: int = 64,
    dropout: float = 0.0,
    mask: bool = True,
    hidden: int = 64,
    n_classes: int = 2,
) -> keras.Model:
    """Embedding -> (pooling + dense | LSTM | bidirectional LSTM) -> Dense(n_classes, softmax): 2 classes, or 3 for a
    three-way run (core.data.labels).

    The LSTM keeps the cuDNN-compatible defaults (tanh/sigmoid, no recurrent dropout, not unrolled; a mask
    only with right padding) so it runs on the fast kernel when TensorFlow sees a GPU."""
    if arch not in ARCHS:
        raise ValueError(f"unknown arch {arch!r}; choose one of {', '.join(ARCHS)}")
    # Any length: the trainer pads each batch to its longest tweet; scoring pads to max_len (TextEncoder).
    inputs = keras.Input((None,), dtype="int32", name="word_ids")
    embedding = layers.Embedding(vocab_rows, dim, mask_zero=mask, trainable=trainable, name="embedding")
    x = embedding(inputs)
    if dropout:
        x = layers.SpatialDropout1D(dropout, name="word_dropout")(x)
    if arch == "base":
        x = layers.GlobalAveragePooling1D(name="average")(x)
        x = layers.Dense(hidden, activation="relu", name="hidden")(x)
    else:
        lstm = layers.LSTM(units, name="lstm")
        x = layers.Bidirectional(lstm, name="bilstm")(x) if arch == "bilstm" else lstm(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(n_classes, activation="softmax", dtype="float32", name="sentiment")(x)
    model = keras.Model(inputs, outputs, name=f"tweets_{arch}")
    if matrix is not None:
        if matrix.shape != (vocab_rows, dim):
            raise ValueError(f"embedding matrix is {matrix.shape}, expected {(vocab_rows, dim)}")
        embedding.set_weights([matrix])
    return model


def parameter_counts(model: keras.Model) -> dict:
    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    total = int(model.count_params())
    return {
        "total": total,
        "trainable": trainable,
        "non_trainable": total - trainable,
        "layers": {layer.name: int(layer.count_params()) for layer in model.layers if layer.count_params()},
    }


def study_parameter_count(vocab_rows: int, dim: int) -> int:
    """The study's Embedding(V, d) -> LSTM(d) -> Dense(2): V*d + 4*(2*d*d + d) + 2*d + 2 parameters."""
    return vocab_rows * dim + 4 * (2 * dim * dim + dim) + 2 * dim + 2


def device_info(mixed_precision: bool = False) -> dict:
    """Where Keras runs: the first GPU if its backend sees one, else the CPU."""
    backend = keras.backend.backend()
    if backend != "tensorflow":  # e.g. KERAS_BACKEND=torch on a machine without TensorFlow
        return _torch_device_info(mixed_precision)
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    info = {"backend": backend, "tensorflow": tf.__version__}
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        info.update(
            type="gpu",
            name=details.get("device_name", gpus[0].name),
            count=len(gpus),
            compute_capability=details.get("compute_capability"),
            mixed_precision=mixed_precision,
        )
    else:
        info.update(type="cpu", name=f"{os.cpu_count()} CPU cores", mixed_precision=False)
    return info


def _torch_device_info(mixed_precision: bool) -> dict:
    import torch

    info = {"backend": keras.backend.backend(), "torch": torch.__version__}
    if torch.cuda.is_available():
        name = torch.cuda.get_device_name(0)
        return {
            **info,
            "type": "gpu",
            "name": name,
            "count": torch.cuda.device_count(),
            "mixed_precision": mixed_precision,
        }
    return {**info, "type": "cpu", "name": f"{os.cpu_count()} CPU cores", "mixed_precision": False}


class EpochHistory(keras.callbacks.Callback):
    """Per-epoch curves and training speed (history.json), and progress lines the dashboard follows.

    `tweets_per_s` counts the training part of an epoch only; `seconds` is the whole epoch, validation included."""

    def __init__(self, run, n_train: int, batch_size: int, epochs: int, every_s: float = 2.0):
        super().__init__()
        self.run, self.n_train, self.batch_size, self.total_epochs = run, n_train, batch_size, epochs
        self.steps = max(1, -(-n_train // batch_size))
        self.every_s = every_s
        self.epochs: list[dict] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.epoch_start = self.last_report = self.train_end = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        now = self.train_end = time.perf_counter()
        step = batch + 1
        if now - self.last_report < self.every_s and step < self.steps:
            return
        self.last_report = now
        elapsed = now - self.epoch_start
        per_step = elapsed / step
        done_epochs = [e["seconds"] for e in self.epochs]
        epoch_s = np.mean(done_epochs) if done_epochs else per_step * self.steps
        eta = per_step * (self.steps - step) + epoch_s * (self.total_epochs - self.epoch - 1)
        logs = logs or {}
        self.run.progress(
            phase="train",
            message=f"epoch {self.epoch + 1}/{self.total_epochs}, step {step}/{self.steps}",
            epoch=self.epoch + 1,
            epochs=self.total_epochs,
            step=step,
            steps=self.steps,
            loss=_float(logs.get("loss")),
            accuracy=_float(logs.get("accuracy")),
            tweets_per_s=round(min(step * self.batch_size, self.n_train) / elapsed, 1),
            eta_s=round(float(eta), 1),
        )

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        now = time.perf_counter()
        train_s = max(self.train_end - self.epoch_start, 1e-9)
        entry = {
            "epoch": epoch + 1,
            "loss": _float(logs.get("loss")),
            "val_loss": _float(logs.get("val_loss")),
            "accuracy": _float(logs.get("accuracy")),
            "val_accuracy": _float(logs.get("val_accuracy")),
            "seconds": round(now - self.epoch_start, 3),
            "tweets_per_s": round(self.n_train / train_s, 1),
        }
        self.epochs.append(entry)
        self.run.save_history(self.epochs)
        shown = ", ".join(
            f"{k} {v:.4f}" for k, v in entry.items() if k.endswith(("loss", "accuracy")) and v is not None
        )
        self.run.progress(
            phase="train",
            message=f"epoch {epoch + 1} done: {shown}",
            epoch=epoch + 1,
            epochs=self.total_epochs,
            step=self.steps,
            steps=self.steps,
            loss=entry["loss"],
            tweets_per_s=entry["tweets_per_s"],
        )

    def best(self, monitor: str) -> int | None:
        scored = [e for e in self.epochs if e.get(monitor) is not None]
        return min(scored, key=lambda e: e[monitor])["epoch"] if scored else None

    def mean_tweets_per_s(self) -> float | None:
        return round(float(np.mean([e["tweets_per_s"] for e in self.epochs])), 1) if self.epochs else None


def _float(value) -> float | None:
    return None if value is None else round(float(value), 6)


class KerasSentimentModel(SentimentModel):
    kind = "keras"

    def __init__(self, model: keras.Model, encoder: TextEncoder, name: str):
        super().__init__(name)
        self.model = model
        self.encoder = encoder
        self.classes = classes_for(int(model.output_shape[-1]))  # its softmax's width
        self._forward = None

    def class_probabilities(self, ids: np.ndarray) -> np.ndarray:
        """(n, k) class probabilities for rows of word ids."""
        if self._forward is None:
            import tensorflow as tf

            # One traced graph for every batch size: model.predict() costs ~10x more per single tweet.
            spec = tf.TensorSpec([None, self.encoder.max_len], tf.int32)
            self._forward = tf.function(lambda x: self.model(x, training=False), input_signature=[spec])
        out = [self._forward(ids[i : i + PREDICT_BATCH]).numpy() for i in range(0, len(ids), PREDICT_BATCH)]
        return np.concatenate(out) if out else np.zeros((0, len(self.classes)))

    def probabilities(self, ids: np.ndarray) -> np.ndarray:
        """P(positive) for rows of word ids."""
        return self.class_probabilities(ids)[:, -1]

    def _predict(self, texts: list[str]) -> np.ndarray:
        return self._predict_classes(texts)[:, 1]

    def _predict_classes(self, texts: list[str]) -> np.ndarray:
        """Encoded a chunk at a time: a 1.6 M-row file never becomes one padded matrix."""
        chunk = PREDICT_BATCH * 16
        out = [self.class_probabilities(self.encoder.encode(texts[i : i + chunk])) for i in range(0, len(texts), chunk)]
        return np.concatenate(out) if out else np.zeros((0, len(self.classes)))


def load(run_dir: str | Path, meta: dict | None = None) -> KerasSentimentModel:
    run_dir = Path(run_dir)
    meta = meta or {}  # core.models.base.load checked the model files (core.run_kinds)
    if keras.backend.backend() != "tensorflow":
        raise ModelLoadError(
            f"keras runs need the TensorFlow backend, not {keras.backend.backend()!r} (unset KERAS_BACKEND)"
        )
    model = keras.saving.load_model(run_dir / MODEL_FILE, compile=False)
    return KerasSentimentModel(model, TextEncoder.load(run_dir), meta.get("approach", "Keras"))
