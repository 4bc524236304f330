"""The quick baselines: TF-IDF and feature-hashing logistic regression, launched like any dashboard run.

Seconds each on the 90k sample, so a newcomer gets models that Live scoring can use right after adding data.

    python -m core.commands.quickstart [--if-no-runs] [--data SOURCE]

`scripts/start.sh --demo` runs it in the background with `--if-no-runs` on the dashboard's data source.
"""

from __future__ import annotations

from core.tracking.runs import list_runs
from core.training import launcher

BASELINES = ({"features": "tfidf"}, {"features": "hashing"})


def launch_baselines(data: str) -> list[launcher.Launch]:
    """Start both logistic-regression trainers on `data` (in parallel: two cores, seconds each)."""
    return [launcher.launch("logreg", dict(values), data) for values in BASELINES]


def has_runs() -> bool:
    return bool(list_runs())
