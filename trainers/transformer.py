"""Fine-tune a Hugging Face encoder (DistilBERT, MiniLM, ...) for tweet sentiment, on PyTorch.

    python -m trainers.transformer --data CSV --output RUN_DIR [--base-model NAME_OR_PATH] [--max-length auto|N]
        [--epochs E] [--lr LR] [--batch-size B] [--max-train-samples N] [--sample N] [--seed S]

Options: core.training.options.TransformerOptions; fit code: core.training.transformer (docs/transformer.md).
"""

from core.training import runner


def main(argv: list[str] | None = None):
    return runner.main("transformer", argv, __doc__)


if __name__ == "__main__":
    main()
