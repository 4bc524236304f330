"""Prices behind every cost the dashboard shows, read from an editable JSON file with sources and dates."""

from __future__ import annotations

import json
import math
import os
from functools import lru_cache
from pathlib import Path

DEFAULT_PRICING = Path(__file__).with_name("pricing.json")


def pricing_path() -> Path:
    return Path(os.environ.get("BADBUZZ_PRICING", DEFAULT_PRICING))


def load_pricing(path: str | Path | None = None) -> dict:
    path = Path(path or pricing_path())
    return _load(path, path.stat().st_mtime_ns)


@lru_cache(maxsize=4)
def _load(path: Path, _mtime: int) -> dict:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def text_records(text: str, characters_per_record: int = 1000) -> int:
    """Azure AI Language bills ceil(characters / 1,000) text records per document (0 for an empty one)."""
    return math.ceil(len(text) / characters_per_record) if text else 0


def language_cost_usd(records: int, pricing: dict | None = None) -> float:
    """Cost of `records` text records at the paid rate (the free monthly quota is handled by the spend guard)."""
    lang = (pricing or load_pricing())["azure_language"]
    return records * lang["per_1000_text_records"] / 1000


def instance_hourly_usd(instance: str, pricing: dict | None = None) -> float | None:
    entry = (pricing or load_pricing())["azure_ml_instances"].get(instance)
    return entry["per_hour"] if entry else None
