"""`python -m core.commands.data [--download] [--data SOURCE]`: fetch the official Sentiment140 archive into the data
folder, or report on a data source (what the reader kept, dropped and why)."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from core.cli.fields import option
from core.cli.parser import expected_failures, parse_options
from core.data.loading import DataError, download_sentiment140, load_dataset
from core.logs import configure_cli_logging


@dataclass(kw_only=True)
class DataCommandOptions:
    download: bool = option(False, "download the official archive (resumed if a part is there)")
    data: str | None = option(None, "a CSV or zip to check")


def terminal_progress():
    """A tqdm bar on stderr for the download's (bytes so far, total) callback."""
    from tqdm import tqdm

    bar = tqdm(unit="B", unit_scale=True, desc="Sentiment140", file=sys.stderr)

    def show(done: int, total: int | None) -> None:
        bar.total = total
        bar.update(done - bar.n)

    return show


def main(argv: list[str] | None = None) -> None:
    options = parse_options(DataCommandOptions, argv, __doc__)
    configure_cli_logging()
    with expected_failures(DataError):
        if options.download:
            print(download_sentiment140(progress=terminal_progress()))
        if options.data:
            print(load_dataset(options.data).report.summary())


if __name__ == "__main__":
    main()
