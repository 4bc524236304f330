"""The quick baselines: TF-IDF and feature-hashing logistic regression, launched like any dashboard run
(core.training.quickstart). Seconds each on the 90k sample, so a newcomer gets models that Live scoring can use
right after adding data.

    python -m core.commands.quickstart [--if-no-runs] [--data SOURCE]

`scripts/start.sh --demo` runs it in the background with `--if-no-runs` on the dashboard's data source.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from core.cli.fields import option
from core.cli.parser import parse_options
from core.training.quickstart import has_runs, launch_baselines


@dataclass(kw_only=True)
class QuickstartOptions:
    if_no_runs: bool = option(False, "do nothing when a run already exists")
    data: str | None = option(None, "data source (default: the dashboard's: remembered, configured or downloaded)")


def main(argv: list[str] | None = None) -> int:
    options = parse_options(QuickstartOptions, argv, __doc__)
    if options.if_no_runs and has_runs():
        print("quick baselines: runs exist already, nothing to do")
        return 0
    data = options.data
    if not data:
        from core.data.sources import dashboard_source

        source = dashboard_source()
        if source is None:
            print(
                "quick baselines: no data yet; upload a CSV or download Sentiment140 from the Overview page, "
                "then press 'Train the quick baselines'",
                file=sys.stderr,
            )
            return 0
        data = source.key
    for started in launch_baselines(data):
        print(f"quick baselines: launched {started.run_id} (pid {started.pid})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
