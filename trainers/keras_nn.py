"""Keras neural networks on word embeddings: a base model (embedding + pooling + dense), an LSTM, a BiLSTM.

    python -m trainers.keras_nn --data CSV --output RUN_DIR --arch base|lstm|bilstm
        --embedding word2vec|fasttext|<vectors file>|<gensim-data name> [--trainable-embeddings]
        [--vocab-size N] [--max-len L] [--epochs E] [--batch-size B] [--preset study] [--sample N] [--seed S]

Defaults aim at accuracy; `--preset study` reproduces the study (docs/keras.md).
Options: core.training.options.KerasOptions; fit code: core.training.keras.
"""

from core.training import runner


def main(argv: list[str] | None = None):
    return runner.main("keras", argv, __doc__)


if __name__ == "__main__":
    main()
