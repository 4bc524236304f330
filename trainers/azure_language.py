"""Evaluate Azure AI Language sentiment on a balanced sample of the shared test split, stored as a run.

    python -m trainers.azure_language --data CSV --output RUN_DIR [--n 500] [--seed S]

Nothing is trained; the spend guard refuses a run that would exceed the monthly budget (docs/azure.md).
Options: core.training.options.AzureLanguageOptions; code: core.training.azure_language.
"""

from core.training import runner


def main(argv: list[str] | None = None):
    return runner.main("azure-language", argv, __doc__)


if __name__ == "__main__":
    main()
