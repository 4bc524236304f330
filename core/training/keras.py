"""Keras neural networks on word embeddings: a base model (embedding + pooling + dense), an LSTM, a BiLSTM
(fit code; options: core.training.options.KerasOptions).

Defaults aim at accuracy (tweet-aware tokens with negations kept, embeddings initialised from the vectors
and fine-tuned, sequence length from the data, dropout). `--preset study` reproduces the study instead: its
cleaning steps, frozen embeddings, padding to 25, an LSTM as wide as the embeddings, no dropout, early
stopping with patience 5. The options' own preset values are in their declarations; these are the rest.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from core.text.embeddings import EmbeddingError
from core.training.options import KERAS_ARCHS, KerasOptions, with_presets
from core.training.parent_run import ParentRun, parent_of

if TYPE_CHECKING:  # TensorFlow loads when training starts, after validate() has checked the options
    from core.training.keras_data import RaggedIds

log = logging.getLogger(__name__)
EXPECTED_ERRORS = (EmbeddingError,)
VALIDATION_BATCH = 1024  # validation only predicts: bigger batches, same numbers
PRESET_LAYOUT = {"default": {"padding": "post", "mask": True}, "study": {"padding": "pre", "mask": False}}
ARCH_KEYS = ("arch", "vocab_rows", "dim", "max_len", "trainable", "units", "hidden", "dropout", "mask", "n_classes")


def wants_mixed_precision(requested: bool | None, backend: str) -> bool:
    """The flag when given; by default on with TensorFlow (cuDNN's float16 LSTM) and off on the PyTorch
    backend, where it measured slower on an H100 (12,141 vs 14,285 tweets/s at batch 128)."""
    return requested if requested is not None else backend == "tensorflow"


def resolved_options(options: KerasOptions) -> dict:
    """The preset's values, overridden by every option given on the command line."""
    return {**with_presets(options, options.preset), **PRESET_LAYOUT[options.preset]}


def approach(options: KerasOptions) -> str:
    source = options.embedding if options.embedding in ("word2vec", "fasttext") else Path(options.embedding).name
    suffix = ", study preset" if options.preset == "study" else ""
    return f"Keras {KERAS_ARCHS[options.arch]} ({source}{suffix})"


def validate(options: KerasOptions) -> None:
    """After the runner took the parent's model options (--init-from), whose vocabulary and weights are the start:
    then there are no vectors to find."""
    from core.text.embeddings import check_spec

    if not options.init_from:
        check_spec(options.embedding)  # a missing vectors file fails here, before a run folder is made


@dataclass
class Prepared:
    """The splits as ragged word ids, the vocabulary and the embedding matrix, with the seconds each phase took."""

    preprocessor: object
    train_ids: RaggedIds
    val_ids: RaggedIds
    encoder: object
    vectors: object
    matrix: object
    coverage: dict
    phases: dict = field(default_factory=dict)


def train(options: KerasOptions, split, run, steps: int | None = None, callbacks: Sequence = ()):
    """Fit, save the model files into the run. `steps` (benchmarks) ends every epoch, and its validation, after
    that many batches; `callbacks` are added to Keras's."""
    import keras

    from core.models import keras as km

    parent = parent_of(options, "keras")  # the options are already the parent's where they must be (the runner)
    opts = resolved_options(options)
    start = time.perf_counter()
    keras.utils.set_random_seed(options.seed)
    data = prepare(options, opts, split, run, start) if parent is None else reuse_parent(parent, split, run, start)
    # A fine-tune keeps its parent's float32 network (a small data set gains nothing from float16).
    mixed = wants_mixed_precision(options.mixed_precision, keras.backend.backend()) and parent is None
    device = km.device_info(mixed)
    mixed = mixed and device["type"] == "gpu"
    if mixed:  # the output layer stays float32 (build_model); the loss is scaled by compile()
        keras.mixed_precision.set_global_policy("mixed_float16")
    n_classes = len(split.classes)  # softmax over 2 or 3 (a fine-tune keeps its parent's: the runner checked)
    model, arch_kwargs = (
        compiled_model(options, opts, data, n_classes) if parent is None else parent_model(parent, opts)
    )
    run.update(device=device, **model_record(options, opts, data, model, arch_kwargs, parent))
    history, monitor = fit(model, options, opts, data, split, run, steps, callbacks)
    seconds = time.perf_counter() - start
    if mixed:  # save a float32 copy so the run loads and scores on any machine
        model = float32_copy(model, arch_kwargs)
    model.save(run.path / km.MODEL_FILE)
    data.encoder.save(run.path)
    served = km.KerasSentimentModel(model, data.encoder, approach(options))
    # Training throughput counts every tweet seen, over all epochs (metrics.training.tweets_per_s).
    return served, seconds, history.n_train * len(history.epochs), summary(history, monitor, data)


def model_record(options: KerasOptions, opts: dict, data: Prepared, model, arch_kwargs: dict, parent) -> dict:
    """run.json's embedding, vectors and model: a fine-tune's are its parent's, with its own training options."""
    from core.models import keras as km

    if parent is not None:
        return {
            "embedding": parent.meta.get("embedding"),
            "vectors": parent.meta.get("vectors"),
            "model": {
                **(parent.meta.get("model") or {}),
                "parameters": km.parameter_counts(model),
                "options": opts,
                "init_from": parent.name,
            },
        }
    described = {"preset": options.preset, "options": opts, "preprocessing": data.preprocessor.to_config()}
    return {
        "embedding": data.coverage,
        "vectors": data.vectors.info,
        "model": {**arch_kwargs, "parameters": km.parameter_counts(model), **described},
    }


def reuse_parent(parent: ParentRun, split, run, start: float) -> Prepared:
    """A fine-tune's word ids: the parent's encoder (preprocessing, vocabulary, length), so ids mean what they
    meant to its weights; no vectors are made."""
    from core.models import keras as km
    from core.training import keras_data
    from core.training.keras_tokens import release_workers

    encoder = km.TextEncoder.load(parent.path)
    run.progress(
        phase="preprocess",
        message=f"encoding {len(split.train):,} + {len(split.val):,} tweets with the vocabulary of {parent.name}",
    )
    train_ids = keras_data.encode(encoder, split.train["text"])
    val_ids = keras_data.encode(encoder, split.val["text"])
    release_workers()
    phases = {"preprocess": time.perf_counter() - start}
    coverage = parent.meta.get("embedding") or {}
    return Prepared(encoder.preprocessor, train_ids, val_ids, encoder, None, None, coverage, phases)


def parent_model(parent: ParentRun, opts: dict):
    """The parent's network with its weights, compiled for this training; with its build arguments."""
    import keras

    from core.models import keras as km

    model = keras.saving.load_model(parent.path / km.MODEL_FILE, compile=False)
    model.compile(
        optimizer=keras.optimizers.Adam(opts["learning_rate"]),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    log.info(f"starting from the weights of {parent.name} ({model.count_params():,} parameters)")
    arch_kwargs = {k: v for k, v in (parent.meta.get("model") or {}).items() if k in ARCH_KEYS}
    return model, arch_kwargs


def summary(history, monitor: str, data: Prepared) -> dict:
    """metrics.training counts the whole training (tokens, vectors, all epochs); these say where it went."""
    return {
        "keras": {
            "epochs_run": len(history.epochs),
            "best_epoch": history.best(monitor),
            "monitor": monitor,
            "train_tweets_per_s": history.mean_tweets_per_s(),
            "epoch_tweets_per_s": [e["tweets_per_s"] for e in history.epochs],
            "epoch_seconds": [e["seconds"] for e in history.epochs],
            "phase_seconds": {k: round(v, 3) for k, v in data.phases.items()},
        }
    }


def prepare(options: KerasOptions, opts: dict, split, run, start: float) -> Prepared:
    """Word ids, vocabulary and embedding matrix (the vectors trained here or loaded), texts read in chunks."""
    from core.models import keras as km
    from core.text import embeddings
    from core.text.preprocess import Preprocessor
    from core.training import keras_data
    from core.training.keras_tokens import release_workers

    # emoji as words, then the tweet tokens (a run's preprocessing.json keeps its steps: older runs stay as they were)
    preprocessor = Preprocessor.study() if options.preset == "study" else Preprocessor(("emoji", "tweet"))
    run.progress(
        phase="preprocess",
        message=f"tokenising {len(split.train):,} + {len(split.val):,} tweets ({', '.join(preprocessor.steps)})",
    )
    corpus = keras_data.tokenise(preprocessor, split.train["text"])
    encoder = km.TextEncoder.from_counts(
        preprocessor,
        corpus.words,
        corpus.counts(),
        corpus.ids.lengths,
        max_words=options.vocab_size,
        min_count=opts["min_count"],
        max_len=opts["max_len"],
        padding=opts["padding"],
    )
    train_ids = corpus.remapped(encoder.vocabulary, encoder.max_len)
    val_ids = keras_data.encode(encoder, split.val["text"])
    release_workers()
    phases = {"preprocess": time.perf_counter() - start}
    verb = "training" if options.embedding in embeddings.TRAINED_KINDS else "loading"
    run.progress(phase="embeddings", message=f"{verb} {options.embedding} vectors")
    vectors = embeddings.resolve(
        options.embedding,
        sentences=corpus.sentences(),
        dim=options.dim,
        seed=options.seed,
        epochs=options.vector_epochs,
    )
    matrix, coverage = embeddings.embedding_matrix(
        vectors, encoder.vocabulary, corpus.token_counts(), seed=options.seed
    )
    coverage["trainable"] = bool(opts["trainable_embeddings"])
    phases["embedding"] = time.perf_counter() - start - sum(phases.values())
    log.info(
        f"embedding {vectors.source}: {vectors.dim}d, vocabulary {len(encoder.vocabulary):,} rows, "
        f"{coverage['vocab_coverage']:.1%} of the words and {coverage.get('token_coverage', 0):.1%} of the "
        f"training tokens have a vector"
    )
    return Prepared(preprocessor, train_ids, val_ids, encoder, vectors, matrix, coverage, phases)


def compiled_model(options: KerasOptions, opts: dict, data: Prepared, n_classes: int = 2):
    """The network, compiled and summarised; with the arguments that rebuild it (float32_copy)."""
    import keras

    from core.models import keras as km

    units = opts["units"] or data.vectors.dim
    arch_kwargs = dict(
        arch=options.arch,
        vocab_rows=len(data.encoder.vocabulary),
        dim=data.vectors.dim,
        max_len=data.encoder.max_len,
        trainable=opts["trainable_embeddings"],
        units=units,
        hidden=units,
        dropout=opts["dropout"],
        mask=opts["mask"],
    )
    if n_classes != 2:  # a binary run's record stays as it was
        arch_kwargs["n_classes"] = n_classes
    model = km.build_model(matrix=data.matrix, **arch_kwargs)
    model.compile(
        optimizer=keras.optimizers.Adam(opts["learning_rate"]),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.summary(print_fn=lambda line, **_: log.info(line))
    return model, arch_kwargs


def fit(model, options: KerasOptions, opts: dict, data: Prepared, split, run, steps=None, callbacks=()):
    """Epochs over shuffled batches, with early stopping on the validation loss (the training loss without
    validation)."""
    import keras

    from core.models import keras as km
    from core.training import keras_data

    layout = {"padding": opts["padding"], "pad_to": None if opts["mask"] else data.encoder.max_len}
    batch_size = opts["batch_size"]
    train = keras_data.batches(
        data.train_ids, split.train["label"].to_numpy(), keras_data.Batching(batch_size, seed=options.seed, **layout)
    )
    validation = None
    if len(split.val):
        batching = keras_data.Batching(max(batch_size, VALIDATION_BATCH), **layout)
        validation = keras_data.batches(data.val_ids, split.val["label"].to_numpy(), batching)
    monitor = "val_loss" if validation else "loss"
    n_train = min(len(data.train_ids), steps * batch_size) if steps else len(data.train_ids)
    history = km.EpochHistory(run, n_train=n_train, batch_size=batch_size, epochs=opts["epochs"])
    stopper = keras.callbacks.EarlyStopping(monitor=monitor, patience=opts["patience"], restore_best_weights=True)
    fit_start = time.perf_counter()
    model.fit(
        train,
        validation_data=validation,
        epochs=opts["epochs"],
        steps_per_epoch=steps,
        validation_steps=min(steps, len(validation)) if steps and validation else None,
        callbacks=[history, stopper, *callbacks],
        shuffle=False,  # the batches come shuffled, with the seed (keras_data)
        verbose=0,
    )
    data.phases["fit"] = time.perf_counter() - fit_start
    run.save_history(history.epochs)
    return history, monitor


def float32_copy(model, arch_kwargs: dict):
    import keras

    from core.models import keras as km

    keras.mixed_precision.set_global_policy("float32")
    float_model = km.build_model(**arch_kwargs)
    float_model.set_weights(model.get_weights())
    return float_model
