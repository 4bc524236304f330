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
from dataclasses import dataclass, field
from pathlib import Path

from core.text.embeddings import EmbeddingError
from core.training.options import KERAS_ARCHS, KerasOptions, with_presets

log = logging.getLogger(__name__)
EXPECTED_ERRORS = (EmbeddingError,)
PRESET_LAYOUT = {"default": {"padding": "post", "mask": True}, "study": {"padding": "pre", "mask": False}}


def resolved_options(options: KerasOptions) -> dict:
    """The preset's values, overridden by every option given on the command line."""
    return {**with_presets(options, options.preset), **PRESET_LAYOUT[options.preset]}


def approach(options: KerasOptions) -> str:
    source = options.embedding if options.embedding in ("word2vec", "fasttext") else Path(options.embedding).name
    suffix = ", study preset" if options.preset == "study" else ""
    return f"Keras {KERAS_ARCHS[options.arch]} ({source}{suffix})"


def validate(options: KerasOptions) -> None:
    from core.text.embeddings import check_spec

    check_spec(options.embedding)  # a missing vectors file fails here, before a run folder is made


@dataclass
class Prepared:
    """The tokenised splits, the vocabulary and the embedding matrix, with the seconds each phase took."""

    preprocessor: object
    train_tokens: list
    val_tokens: list
    encoder: object
    vectors: object
    matrix: object
    coverage: dict
    phases: dict = field(default_factory=dict)


def train(options: KerasOptions, split, run):
    import keras

    from core.models import keras as km

    opts = resolved_options(options)
    start = time.perf_counter()
    keras.utils.set_random_seed(options.seed)
    data = prepare(options, opts, split, run, start)
    device = km.device_info(options.mixed_precision)
    mixed = options.mixed_precision and device["type"] == "gpu"
    if mixed:
        keras.mixed_precision.set_global_policy("mixed_float16")
    model, arch_kwargs = compiled_model(options, opts, data)
    run.update(
        device=device,
        embedding=data.coverage,
        vectors=data.vectors.info,
        model={
            **arch_kwargs,
            "parameters": km.parameter_counts(model),
            "preset": options.preset,
            "options": opts,
            "preprocessing": data.preprocessor.to_config(),
        },
    )
    history, monitor, x_train = fit(model, options, opts, data, split, run)
    seconds = time.perf_counter() - start
    if mixed:  # save a float32 copy so the run loads and scores on any machine
        model = float32_copy(model, arch_kwargs)
    model.save(run.path / km.MODEL_FILE)
    data.encoder.save(run.path)
    # metrics.training counts the whole training (tokens, vectors, all epochs); these say where it went.
    extra = {
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
    # Training throughput counts every tweet seen, over all epochs (metrics.training.tweets_per_s).
    served = km.KerasSentimentModel(model, data.encoder, approach(options))
    return served, seconds, len(x_train) * len(history.epochs), extra


def prepare(options: KerasOptions, opts: dict, split, run, start: float) -> Prepared:
    """Tokens, vocabulary and embedding matrix (the vectors trained here or loaded)."""
    from core.models import keras as km
    from core.text import embeddings
    from core.text.preprocess import Preprocessor

    preprocessor = Preprocessor.study() if options.preset == "study" else Preprocessor()
    run.progress(
        phase="preprocess",
        message=f"tokenising {len(split.train):,} + {len(split.val):,} tweets ({', '.join(preprocessor.steps)})",
    )
    train_tokens = [preprocessor.tokens(t) for t in split.train["text"]]
    val_tokens = [preprocessor.tokens(t) for t in split.val["text"]]
    phases = {"preprocess": time.perf_counter() - start}
    encoder = km.TextEncoder.fit(
        preprocessor,
        train_tokens,
        max_words=options.vocab_size,
        min_count=opts["min_count"],
        max_len=opts["max_len"],
        padding=opts["padding"],
    )
    verb = "training" if options.embedding in embeddings.TRAINED_KINDS else "loading"
    run.progress(phase="embeddings", message=f"{verb} {options.embedding} vectors")
    vectors = embeddings.resolve(
        options.embedding, sentences=train_tokens, dim=options.dim, seed=options.seed, epochs=options.vector_epochs
    )
    matrix, coverage = embeddings.embedding_matrix(
        vectors, encoder.vocabulary, embeddings.token_counts(train_tokens), seed=options.seed
    )
    coverage["trainable"] = bool(opts["trainable_embeddings"])
    phases["embedding"] = time.perf_counter() - start - sum(phases.values())
    log.info(
        f"embedding {vectors.source}: {vectors.dim}d, vocabulary {len(encoder.vocabulary):,} rows, "
        f"{coverage['vocab_coverage']:.1%} of the words and {coverage.get('token_coverage', 0):.1%} of the "
        f"training tokens have a vector"
    )
    return Prepared(preprocessor, train_tokens, val_tokens, encoder, vectors, matrix, coverage, phases)


def compiled_model(options: KerasOptions, opts: dict, data: Prepared):
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
    model = km.build_model(matrix=data.matrix, **arch_kwargs)
    model.compile(
        optimizer=keras.optimizers.Adam(opts["learning_rate"]),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.summary(print_fn=lambda line, **_: log.info(line))
    return model, arch_kwargs


def fit(model, options: KerasOptions, opts: dict, data: Prepared, split, run):
    """Epochs with early stopping on the validation loss (the training loss without validation)."""
    import keras

    from core.models import keras as km

    x_train, y_train = data.encoder.encode_tokens(data.train_tokens), split.train["label"].to_numpy()
    validation = (
        (data.encoder.encode_tokens(data.val_tokens), split.val["label"].to_numpy()) if len(split.val) else None
    )
    monitor = "val_loss" if validation else "loss"
    history = km.EpochHistory(run, n_train=len(x_train), batch_size=opts["batch_size"], epochs=opts["epochs"])
    stopper = keras.callbacks.EarlyStopping(monitor=monitor, patience=opts["patience"], restore_best_weights=True)
    fit_start = time.perf_counter()
    model.fit(
        x_train,
        y_train,
        validation_data=validation,
        epochs=opts["epochs"],
        batch_size=opts["batch_size"],
        callbacks=[history, stopper],
        verbose=0,
    )
    data.phases["fit"] = time.perf_counter() - fit_start
    run.save_history(history.epochs)
    return history, monitor, x_train


def float32_copy(model, arch_kwargs: dict):
    import keras

    from core.models import keras as km

    keras.mixed_precision.set_global_policy("float32")
    float_model = km.build_model(**arch_kwargs)
    float_model.set_weights(model.get_weights())
    return float_model
