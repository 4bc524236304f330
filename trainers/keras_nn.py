"""Keras neural networks on word embeddings: a base model (embedding + pooling + dense), an LSTM, a BiLSTM.

    python -m trainers.keras_nn --data CSV --output RUN_DIR --arch base|lstm|bilstm
        --embedding word2vec|fasttext|<vectors file>|<gensim-data name> [--trainable-embeddings]
        [--vocab-size N] [--max-len L] [--epochs E] [--batch-size B] [--preset study] [--sample N] [--seed S]

Defaults aim at accuracy (tweet-aware tokens with negations kept, embeddings initialised from the vectors
and fine-tuned, sequence length from the data, dropout). `--preset study` reproduces the study instead: its
cleaning steps, frozen embeddings, padding to 25, an LSTM as wide as the embeddings, no dropout, early
stopping with patience 5.
"""
from __future__ import annotations

import argparse
import time

from core.training.runner import base_parser, run_trainer

ARCH_LABELS = {"base": "base model", "lstm": "LSTM", "bilstm": "BiLSTM"}
# Values the options take when left unset, per preset.
PRESETS = {
    "default": dict(trainable_embeddings=True, max_len=None, epochs=10, batch_size=128, patience=2, units=64,
                    dropout=0.2, min_count=2, learning_rate=1e-3, padding="post", mask=True),
    "study": dict(trainable_embeddings=False, max_len=25, epochs=50, batch_size=128, patience=5, units=None,
                  dropout=0.0, min_count=2, learning_rate=1e-3, padding="pre", mask=False),
}


def parser() -> argparse.ArgumentParser:
    p = base_parser(__doc__)
    model = p.add_argument_group("model")
    model.add_argument("--arch", choices=list(ARCH_LABELS), default="lstm",
                       help="base = embedding + average pooling + dense; lstm; bilstm (bidirectional LSTM)")
    model.add_argument("--embedding", default="word2vec",
                       help="word2vec or fasttext (trained with gensim on the training split, offline), a "
                            "vectors file (GloVe .txt, word2vec .bin/.txt, fastText .vec/.bin), or a gensim-data "
                            "name such as glove-twitter-100 (downloaded once, needs the internet)")
    model.add_argument("--preset", choices=list(PRESETS), default="default",
                       help="default: tuned for accuracy; study: the study's pipeline (see docs/keras.md)")
    model.add_argument("--trainable-embeddings", action=argparse.BooleanOptionalAction, default=None,
                       help="fine-tune the embeddings (default: yes; frozen with --preset study)")
    model.add_argument("--dim", type=int, default=100, help="dimension of word2vec/fastText trained here")
    model.add_argument("--vector-epochs", type=int, default=10, help="gensim training epochs for word2vec/fasttext")
    model.add_argument("--vocab-size", type=int, default=None,
                       help="keep the N most frequent training words (default: every word seen --min-count times)")
    model.add_argument("--min-count", type=int, default=None, help="least occurrences for a vocabulary word (2)")
    model.add_argument("--max-len", type=int, default=None,
                       help="tokens per tweet (default: the 99th percentile of training lengths; study: 25)")
    model.add_argument("--units", type=int, default=None,
                       help="LSTM units / dense units of the base model (default 64; study: the embedding dim)")
    model.add_argument("--dropout", type=float, default=None, help="word and output dropout (0.2; study: 0)")
    fit = p.add_argument_group("training")
    fit.add_argument("--epochs", type=int, default=None, help="most epochs (10; study: 50), early stopping ends sooner")
    fit.add_argument("--patience", type=int, default=None, help="epochs without a better val_loss (2; study: 5)")
    fit.add_argument("--batch-size", type=int, default=None, help="tweets per step (128)")
    fit.add_argument("--learning-rate", type=float, default=None, help="Adam learning rate (0.001)")
    fit.add_argument("--mixed-precision", action="store_true",
                     help="float16 compute on a GPU (ignored on CPU); the saved model is float32")
    return p


def options(args: argparse.Namespace) -> dict:
    """The preset's values, overridden by every option given on the command line."""
    resolved = dict(PRESETS[args.preset])
    for key in resolved:
        if getattr(args, key, None) is not None:
            resolved[key] = getattr(args, key)
    return resolved


def approach(args: argparse.Namespace) -> str:
    from pathlib import Path

    source = args.embedding if args.embedding in ("word2vec", "fasttext") else Path(args.embedding).name
    suffix = ", study preset" if args.preset == "study" else ""
    return f"Keras {ARCH_LABELS[args.arch]} ({source}{suffix})"


def train(args, split, run):
    from core.text import embeddings
    from core.models import keras as km
    from core.text.preprocess import Preprocessor
    import keras

    opts = options(args)
    start = time.perf_counter()
    keras.utils.set_random_seed(args.seed)
    preprocessor = Preprocessor.study() if args.preset == "study" else Preprocessor()
    run.progress(phase="preprocess", message=f"tokenising {len(split.train):,} + {len(split.val):,} tweets "
                                             f"({', '.join(preprocessor.steps)})")
    train_tokens = [preprocessor.tokens(t) for t in split.train["text"]]
    val_tokens = [preprocessor.tokens(t) for t in split.val["text"]]
    phases = {"preprocess": time.perf_counter() - start}
    encoder = km.TextEncoder.fit(preprocessor, train_tokens, max_words=args.vocab_size,
                                 min_count=opts["min_count"], max_len=opts["max_len"], padding=opts["padding"])
    run.progress(phase="embeddings", message=f"{'training' if args.embedding in embeddings.TRAINED_KINDS else 'loading'}"
                                             f" {args.embedding} vectors")
    vectors = embeddings.resolve(args.embedding, sentences=train_tokens, dim=args.dim, seed=args.seed,
                                 epochs=args.vector_epochs)
    matrix, coverage = embeddings.embedding_matrix(vectors, encoder.vocabulary,
                                                   embeddings.token_counts(train_tokens), seed=args.seed)
    coverage["trainable"] = bool(opts["trainable_embeddings"])
    phases["embedding"] = time.perf_counter() - start - sum(phases.values())
    print(f"embedding {vectors.source}: {vectors.dim}d, vocabulary {len(encoder.vocabulary):,} rows, "
          f"{coverage['vocab_coverage']:.1%} of the words and {coverage.get('token_coverage', 0):.1%} of the "
          f"training tokens have a vector", flush=True)

    device = km.device_info(args.mixed_precision)
    mixed = args.mixed_precision and device["type"] == "gpu"
    if mixed:
        keras.mixed_precision.set_global_policy("mixed_float16")
    units = opts["units"] or vectors.dim
    arch_kwargs = dict(arch=args.arch, vocab_rows=len(encoder.vocabulary), dim=vectors.dim,
                       max_len=encoder.max_len, trainable=opts["trainable_embeddings"], units=units,
                       hidden=units, dropout=opts["dropout"], mask=opts["mask"])
    model = km.build_model(matrix=matrix, **arch_kwargs)
    model.compile(optimizer=keras.optimizers.Adam(opts["learning_rate"]), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.summary(print_fn=lambda line, **_: print(line, flush=True))
    params = km.parameter_counts(model)
    run.update(device=device, embedding=coverage, vectors=vectors.info,
               model={**arch_kwargs, "parameters": params, "preset": args.preset,
                      "options": opts, "preprocessing": preprocessor.to_config()})

    x_train, y_train = encoder.encode_tokens(train_tokens), split.train["label"].to_numpy()
    validation = (encoder.encode_tokens(val_tokens), split.val["label"].to_numpy()) if len(split.val) else None
    monitor = "val_loss" if validation else "loss"
    history = km.EpochHistory(run, n_train=len(x_train), batch_size=opts["batch_size"], epochs=opts["epochs"])
    stopper = keras.callbacks.EarlyStopping(monitor=monitor, patience=opts["patience"], restore_best_weights=True)
    fit_start = time.perf_counter()
    model.fit(x_train, y_train, validation_data=validation, epochs=opts["epochs"], batch_size=opts["batch_size"],
              callbacks=[history, stopper], verbose=0)
    phases["fit"] = time.perf_counter() - fit_start
    run.save_history(history.epochs)
    seconds = time.perf_counter() - start

    if mixed:  # save a float32 copy so the run loads and scores on any machine
        keras.mixed_precision.set_global_policy("float32")
        float_model = km.build_model(**arch_kwargs)
        float_model.set_weights(model.get_weights())
        model = float_model
    model.save(run.path / km.MODEL_FILE)
    encoder.save(run.path)
    # metrics.training counts the whole training (tokens, vectors, all epochs); these say where it went.
    extra = {"keras": {"epochs_run": len(history.epochs), "best_epoch": history.best(monitor), "monitor": monitor,
                       "train_tweets_per_s": history.mean_tweets_per_s(),
                       "epoch_tweets_per_s": [e["tweets_per_s"] for e in history.epochs],
                       "epoch_seconds": [e["seconds"] for e in history.epochs],
                       "phase_seconds": {k: round(v, 3) for k, v in phases.items()}}}
    # Training throughput counts every tweet seen, over all epochs (metrics.training.tweets_per_s).
    return km.KerasSentimentModel(model, encoder, approach(args)), seconds, len(x_train) * len(history.epochs), extra


def validate(args: argparse.Namespace) -> None:
    from core.text.embeddings import check_spec
    check_spec(args.embedding)  # a missing vectors file fails here, before a run folder is made


def main(argv: list[str] | None = None):
    from core.text.embeddings import EmbeddingError
    return run_trainer("keras", approach, parser(), train, argv, validate=validate, expected=(EmbeddingError,))


if __name__ == "__main__":
    main()
