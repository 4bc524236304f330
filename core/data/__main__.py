"""`python -m core.data [--download] [--data SOURCE]`: fetch the official set, or report on a data source."""

from __future__ import annotations

import sys

from core.data.loading import DataError, download_sentiment140, load_dataset
from core.logs import configure_cli_logging


def terminal_progress():
    """A tqdm bar on stderr for the download's (bytes so far, total) callback."""
    from tqdm import tqdm

    bar = tqdm(unit="B", unit_scale=True, desc="Sentiment140", file=sys.stderr)

    def show(done: int, total: int | None) -> None:
        bar.total = total
        bar.update(done - bar.n)

    return show


def main(argv: list[str] | None = None) -> None:
    """`python -m core.data [--download] [--data SOURCE]`: fetch the official set or report on a source."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--download", action="store_true", help="download the official archive")
    parser.add_argument("--data", help="a CSV or zip to check")
    args = parser.parse_args(argv)
    configure_cli_logging()
    try:
        if args.download:
            print(download_sentiment140(progress=terminal_progress()))
        if args.data:
            print(load_dataset(args.data).report.summary())
    except DataError as exc:
        sys.exit(f"error: {exc}")


if __name__ == "__main__":
    main()
