"""An ensemble of finished runs, evaluated on their shared test split like any run.

    python -m trainers.ensemble --members RUN RUN [RUN ...] [--method mean|fitted] --output RUN_DIR

Options: core.training.options.EnsembleOptions; fit code: core.training.ensemble; model: core.models.ensemble.
"""

from core.training import runner


def main(argv: list[str] | None = None):
    return runner.main("ensemble", argv, __doc__)


if __name__ == "__main__":
    main()
