"""The spend guard for Azure AI Language: cost estimated before any call, a monthly budget, usage recorded after.

Azure bills Language per text record: ceil(characters / 1,000) per document. The budget is in text records per
calendar month (UTC) and persisted with the usage in `artifacts/azure/language_usage.json`. Until someone sets a
budget it is the free monthly quota, so by default nothing is ever billed. Only this project's calls are
counted: other apps using the same Azure resource are invisible here.

    python -m core.azure.spend                     # usage this month, budget, price
    python -m core.azure.spend --set-budget 20000  # text records per month
"""
from __future__ import annotations

import argparse
import fcntl
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from core import config
from core.azure.services import ServiceError
from core.pricing import load_pricing
from core.runs import read_json, write_json_atomic


class BudgetExceeded(ServiceError):
    pass


@dataclass(frozen=True)
class LanguagePrice:
    usd_per_1000_records: float
    free_records_per_month: int
    source: str
    as_of: str


def language_price() -> LanguagePrice:
    entry = load_pricing()["azure_language"]
    return LanguagePrice(float(entry["per_1000_text_records"]), int(entry["free_text_records_per_month"]),
                         entry.get("source", ""), entry.get("as_of", ""))


def month_key(now: datetime | None = None) -> str:
    return (now or datetime.now(timezone.utc)).strftime("%Y-%m")


@dataclass
class Estimate:
    documents: int
    text_records: int
    used_this_month: int
    budget: int
    free_left: int
    billable_records: int
    cost_usd: float

    @property
    def fits(self) -> bool:
        return self.used_this_month + self.text_records <= self.budget

    def describe(self) -> str:
        return (f"{self.documents:,} documents = {self.text_records:,} text records (≈ ${self.cost_usd:.4f}, "
                f"{self.free_left:,} free records left this month); used {self.used_this_month:,} of a "
                f"{self.budget:,}-record monthly budget")


def default_usage_path() -> Path:
    return config.artifacts_dir() / "azure" / "language_usage.json"


class SpendGuard:
    def __init__(self, path: Path | str | None = None, price: LanguagePrice | None = None):
        self.path = Path(path) if path else default_usage_path()
        self.price = price or language_price()
        self._thread_lock = threading.Lock()

    @contextmanager
    def _locked(self):
        """One writer at a time across threads and processes (dashboard + CLI)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._thread_lock, open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield read_json(self.path, {}) or {}
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def budget(self) -> int:
        value = (read_json(self.path, {}) or {}).get("budget_text_records")
        return int(value) if value is not None else self.price.free_records_per_month

    def set_budget(self, text_records_per_month: int) -> None:
        if int(text_records_per_month) < 0:
            raise ValueError("the budget is a number of text records, 0 or more")
        with self._locked() as state:
            state["budget_text_records"] = int(text_records_per_month)
            write_json_atomic(self.path, state)

    def usage(self, month: str | None = None) -> dict:
        months = (read_json(self.path, {}) or {}).get("months", {})
        return {"text_records": 0, "documents": 0, "requests": 0, "cost_usd": 0.0,
                **months.get(month or month_key(), {})}

    def cost(self, records: int, used_before: int) -> float:
        free_left = max(0, self.price.free_records_per_month - used_before)
        return max(0, records - free_left) * self.price.usd_per_1000_records / 1000

    def estimate(self, records: int, documents: int) -> Estimate:
        used = self.usage()["text_records"]
        free_left = max(0, self.price.free_records_per_month - used)
        return Estimate(documents=documents, text_records=records, used_this_month=used, budget=self.budget(),
                        free_left=free_left, billable_records=max(0, records - free_left),
                        cost_usd=self.cost(records, used))

    def check(self, estimate: Estimate) -> None:
        if not estimate.fits:
            left = max(0, estimate.budget - estimate.used_this_month)
            raise BudgetExceeded(
                f"refused before any request: this batch needs {estimate.text_records:,} text records but only "
                f"{left:,} are left of the {estimate.budget:,}-record monthly budget "
                f"({estimate.used_this_month:,} used). Raise it with `python -m core.azure.spend --set-budget N` "
                "or score fewer tweets.")

    def record(self, records: int, documents: int, requests: int) -> float:
        """Add a finished request's usage to this month; returns its estimated cost."""
        with self._locked() as state:
            month = month_key()
            current = {"text_records": 0, "documents": 0, "requests": 0, "cost_usd": 0.0,
                       **state.get("months", {}).get(month, {})}
            cost = self.cost(records, current["text_records"])
            current.update(text_records=current["text_records"] + records,
                           documents=current["documents"] + documents,
                           requests=current["requests"] + requests,
                           cost_usd=round(current["cost_usd"] + cost, 6))
            state.setdefault("months", {})[month] = current
            write_json_atomic(self.path, state)
        return cost


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Azure AI Language usage and monthly budget (text records).")
    parser.add_argument("--set-budget", type=int, metavar="N", help="monthly budget in text records")
    args = parser.parse_args(argv)
    guard = SpendGuard()
    if args.set_budget is not None:
        if args.set_budget < 0:
            parser.error("--set-budget must be 0 or more")
        guard.set_budget(args.set_budget)
    usage, price = guard.usage(), guard.price
    print(f"month {month_key()}: {usage['text_records']:,} text records, {usage['documents']:,} documents, "
          f"{usage['requests']:,} requests, ≈ ${usage['cost_usd']:.4f}")
    print(f"budget: {guard.budget():,} text records per month ({guard.path})")
    print(f"price: ${price.usd_per_1000_records} per 1,000 text records after {price.free_records_per_month:,} "
          f"free per month (source: {price.source}, {price.as_of})")


if __name__ == "__main__":
    main()
