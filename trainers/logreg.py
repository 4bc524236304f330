"""TF-IDF or feature-hashing logistic regression: the study's two "Azure ML designer" pipelines.

    python -m trainers.logreg --data CSV --output RUN_DIR [--features tfidf|hashing] [--sample N] [--seed S]

Options: core.training.options.LogregOptions; fit code: core.training.logreg.
"""

from core.training import runner


def main(argv: list[str] | None = None):
    return runner.main("logreg", argv, __doc__)


if __name__ == "__main__":
    main()
