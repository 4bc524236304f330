"""Fine-tune a Hugging Face encoder (DistilBERT, MiniLM, ...) for tweet sentiment, on PyTorch.

    python -m trainers.transformer --data CSV --output RUN_DIR [--base-model NAME_OR_PATH] [--max-length auto|N]
        [--epochs E] [--lr LR] [--batch-size B] [--max-train-samples N] [--sample N] [--seed S]

Options: core.training.options.TransformerOptions; fit code: core.training.transformer (docs/transformer.md).
"""

from core.training import distributed, runner


def main(argv: list[str] | None = None):
    if distributed.is_worker():  # a rank > 0 of torchrun / accelerate launch: trains its share, writes no run
        return distributed.worker_main("transformer", argv, __doc__)
    return runner.main("transformer", argv, __doc__)


if __name__ == "__main__":
    main()
