"""The quick baselines: TF-IDF and feature-hashing logistic regression, launched like any dashboard run.

Seconds each on the 90k sample, so a newcomer gets models that Live scoring can use right after adding data.

    python -m core.training.quickstart [--if-no-runs] [--data SOURCE]

`scripts/start.sh --demo` runs it in the background with `--if-no-runs` on the dashboard's data source.
"""

from __future__ import annotations

import argparse
import sys

from core.tracking.runs import list_runs
from core.training import launcher

BASELINES = ({"features": "tfidf"}, {"features": "hashing"})


def launch_baselines(data: str) -> list[launcher.Launch]:
    """Start both logistic-regression trainers on `data` (in parallel: two cores, seconds each)."""
    return [launcher.launch("logreg", dict(values), data) for values in BASELINES]


def has_runs() -> bool:
    return bool(list_runs())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--if-no-runs", action="store_true", help="do nothing when a run already exists")
    parser.add_argument("--data", help="data source (default: the dashboard's: remembered, configured or downloaded)")
    args = parser.parse_args(argv)
    if args.if_no_runs and has_runs():
        print("quick baselines: runs exist already, nothing to do")
        return 0
    data = args.data
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
