"""A run's lineage in words: the run it was fine-tuned from (`--init-from`) and the data it was trained on
(`--data`, `--extra-data`), from run.json's `lineage` (written by core.training.extra_data.lineage_record).

Pure functions of run.json: file names only (run.json keeps no folder of the server in `lineage`)."""

from __future__ import annotations


def _extra_part(dataset: dict) -> str:
    """`corrections.csv (+120 tweets ×5, 3 dropped as test/validation leaks)`."""
    used, repeat = int(dataset.get("rows_used") or 0), int(dataset.get("repeat") or 1)
    leaks = sum(int(n or 0) for n in (dataset.get("leaks_dropped") or {}).values())
    detail = f"+{used:,} tweets" + (f" ×{repeat}" if repeat > 1 else "")
    if leaks:
        detail += f", {leaks:,} dropped as test/validation leaks"
    return f"{dataset.get('file') or '?'} ({detail})"


def describe(meta: dict) -> str:
    """One line: 'fine-tuned from minilm on corrections.csv (+120 tweets ×5)'; '' for a run trained from scratch
    on its --data alone (or one made before lineage was recorded)."""
    lineage = meta.get("lineage") if isinstance(meta, dict) else None
    if not isinstance(lineage, dict):
        return ""
    datasets = [d for d in lineage.get("datasets") or [] if isinstance(d, dict)]
    data = [d.get("file") or "?" for d in datasets if d.get("role") == "data"]
    extras = [_extra_part(d) for d in datasets if d.get("role") == "extra"]
    parent = lineage.get("parent") if isinstance(lineage.get("parent"), dict) else None
    head = f"fine-tuned from {parent.get('run') or parent.get('id') or '?'}" if parent else "trained"
    if parent and extras:  # the typical fine-tune on corrections names them first
        return f"{head} on {' + '.join(extras)}" + (f", with {', '.join(data)}" if data else "")
    return f"{head} on {' + '.join([*data, *extras]) or '?'}"


def parent_run(meta: dict) -> str | None:
    """The name of the run this one was fine-tuned from, if any."""
    lineage = meta.get("lineage") if isinstance(meta, dict) else None
    parent = lineage.get("parent") if isinstance(lineage, dict) else None
    return (parent.get("run") or parent.get("id")) if isinstance(parent, dict) else None
