"""The spend guard for Azure AI Language: cost estimated and budget reserved before any call, usage recorded after.

Azure bills Language per text record: ceil(characters / 1,000) per document. The budget is in text records per
calendar month (UTC) and persisted with the usage in `artifacts/azure/language_usage.json`. Until someone sets a
budget it is the free monthly quota, so by default nothing is ever billed. Only this project's calls are
counted: other apps using the same Azure resource are invisible here.

Several processes (the dashboard, `core.inference.batch`, a trainer) share that file, so checking the budget and holding
the records happen in one step under an inter-process lock (`flock` on `language_usage.lock`): a call
*reserves* its text records before its first request, each request then *bills* what it actually used out of
the reservation, and the call releases what it did not use when it ends, however it ends. A reservation
records its process (host, pid and start time): one whose process is gone no longer counts, and one from
another host that has not been touched for RESERVATION_TTL_S expires.

    python -m core.commands.azure_spend                     # usage this month, budget, price, reservations held
    python -m core.commands.azure_spend --set-budget 20000  # text records per month
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from core import config
from core.azure.errors import ServiceError
from core.files import write_json_atomic
from core.pricing import load_pricing
from core.tracking.runs import process_alive, read_json

log = logging.getLogger(__name__)

# A reservation made on another host cannot be checked for a live process: it expires when its holder has not
# billed from it for this long (longer than one request with all its retries and back-offs).
RESERVATION_TTL_S = 30 * 60


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
    return LanguagePrice(
        float(entry["per_1000_text_records"]),
        int(entry["free_text_records_per_month"]),
        entry.get("source", ""),
        entry.get("as_of", ""),
    )


def month_key(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y-%m")


@dataclass
class Estimate:
    documents: int
    text_records: int
    used_this_month: int
    budget: int
    free_left: int
    billable_records: int
    cost_usd: float
    reserved_elsewhere: int = 0  # held by other calls still running (their records are not billed yet)

    @property
    def left(self) -> int:
        return max(0, self.budget - self.used_this_month - self.reserved_elsewhere)

    @property
    def fits(self) -> bool:
        return self.text_records <= self.left

    def describe(self) -> str:
        reserved = f", {self.reserved_elsewhere:,} reserved by running calls" if self.reserved_elsewhere else ""
        return (
            f"{self.documents:,} documents = {self.text_records:,} text records (≈ ${self.cost_usd:.4f}, "
            f"{self.free_left:,} free records left this month); used {self.used_this_month:,}{reserved} of a "
            f"{self.budget:,}-record monthly budget"
        )


def default_usage_path() -> Path:
    return config.artifacts_dir() / "azure" / "language_usage.json"


def _empty_usage() -> dict:
    return {"text_records": 0, "documents": 0, "requests": 0, "cost_usd": 0.0}


# ---------------------------------------------------------------------------------------- who holds a reservation


def _process_start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (/proc/PID/stat field 22): tells a reused pid apart."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _this_process() -> dict:
    pid = os.getpid()
    return {"pid": pid, "host": socket.gethostname(), "pid_started": _process_start_ticks(pid)}


def reservation_is_live(entry: dict, now: float | None = None) -> bool:
    """Whether a reservation's process may still bill from it."""
    if entry.get("host") != socket.gethostname():
        return (now or time.time()) - float(entry.get("touched", 0)) < RESERVATION_TTL_S
    if not process_alive(entry):
        return False
    started = entry.get("pid_started")
    return started is None or started == _process_start_ticks(int(entry["pid"]))


# ---------------------------------------------------------------------------------------- the guard


class SpendGuard:
    def __init__(self, path: Path | str | None = None, price: LanguagePrice | None = None):
        self.path = Path(path) if path else default_usage_path()
        self.price = price or language_price()
        self._thread_lock = threading.Lock()

    @contextmanager
    def _locked(self):
        """One reader-writer at a time across threads and processes (dashboard + CLI): yields the state to edit;
        the caller writes it back with `self._save(state)` before leaving."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._thread_lock, open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield read_json(self.path, {}) or {}
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _save(self, state: dict) -> None:
        write_json_atomic(self.path, state)

    def _state(self) -> dict:
        return read_json(self.path, {}) or {}

    def budget(self) -> int:
        return self._budget_in(self._state())

    def _budget_in(self, state: dict) -> int:
        value = state.get("budget_text_records")
        return int(value) if value is not None else self.price.free_records_per_month

    def set_budget(self, text_records_per_month: int) -> None:
        if int(text_records_per_month) < 0:
            raise ValueError("the budget is a number of text records, 0 or more")
        with self._locked() as state:
            state["budget_text_records"] = int(text_records_per_month)
            self._save(state)

    def usage(self, month: str | None = None) -> dict:
        return {**_empty_usage(), **self._state().get("months", {}).get(month or month_key(), {})}

    def reservations(self) -> dict[str, dict]:
        """The live reservations (id -> entry) as last written; expired and orphaned ones are left out."""
        return {rid: e for rid, e in self._state().get("reservations", {}).items() if reservation_is_live(e)}

    def cost(self, records: int, used_before: int) -> float:
        free_left = max(0, self.price.free_records_per_month - used_before)
        return max(0, records - free_left) * self.price.usd_per_1000_records / 1000

    def estimate(self, records: int, documents: int) -> Estimate:
        """What `records` more text records would cost and whether they fit now (advisory: `reserve` decides)."""
        state = self._state()
        reserved = sum(e["text_records"] for e in state.get("reservations", {}).values() if reservation_is_live(e))
        return self._estimate_in(state, records, documents, reserved)

    def _estimate_in(self, state: dict, records: int, documents: int, reserved_elsewhere: int) -> Estimate:
        used = {**_empty_usage(), **state.get("months", {}).get(month_key(), {})}["text_records"]
        free_left = max(0, self.price.free_records_per_month - used)
        return Estimate(
            documents=documents,
            text_records=records,
            used_this_month=used,
            budget=self._budget_in(state),
            free_left=free_left,
            billable_records=max(0, records - free_left),
            cost_usd=self.cost(records, used),
            reserved_elsewhere=reserved_elsewhere,
        )

    def check(self, estimate: Estimate) -> None:
        if not estimate.fits:
            reserved = (
                f", {estimate.reserved_elsewhere:,} reserved by other running calls"
                if estimate.reserved_elsewhere
                else ""
            )
            raise BudgetExceeded(
                f"refused before any request: this batch needs {estimate.text_records:,} text records but only "
                f"{estimate.left:,} are left of the {estimate.budget:,}-record monthly budget "
                f"({estimate.used_this_month:,} used{reserved}). Raise it with "
                "`python -m core.commands.azure_spend --set-budget N` or score fewer tweets."
            )

    # ------------------------------------------------------------------ reservations
    def reserve(self, records: int, documents: int) -> Reservation:
        """Check the budget and hold `records` in one locked step; raises BudgetExceeded when they do not fit.

        Use the result as a context manager, so what is not billed is released however the call ends."""
        rid = uuid.uuid4().hex
        with self._locked() as state:
            reservations = self._live_reservations(state)
            self.check(self._estimate_in(state, records, documents, _total(reservations)))
            reservations[rid] = {
                **_this_process(),
                "text_records": int(records),
                "documents": int(documents),
                "created": time.time(),
                "touched": time.time(),
            }
            self._save(state)
        return Reservation(self, rid, int(records))

    def _live_reservations(self, state: dict) -> dict[str, dict]:
        """state["reservations"] without those whose process is gone or that expired (logged once, here)."""
        held = state.setdefault("reservations", {})
        for rid in [rid for rid, entry in held.items() if not reservation_is_live(entry)]:
            entry = held.pop(rid)
            log.warning(
                "released %s text records reserved by pid %s on %s: that process is gone or silent",
                entry.get("text_records"),
                entry.get("pid"),
                entry.get("host"),
            )
        return held

    def _extend(self, rid: str, held: int, records: int) -> None:
        """Hold `records` more for reservation `rid` (which holds `held`, unless it expired meanwhile)."""
        with self._locked() as state:
            reservations = self._live_reservations(state)
            mine = reservations.pop(rid, None) or {**_this_process(), "created": time.time(), "text_records": held}
            total = int(mine["text_records"]) + int(records)
            self.check(self._estimate_in(state, total, 0, _total(reservations)))
            reservations[rid] = {**mine, "text_records": total, "touched": time.time()}
            self._save(state)

    def _bill(self, rid: str | None, records: int, documents: int, requests: int) -> float:
        """Add a finished request's usage to this month and take it out of the reservation; returns its cost."""
        with self._locked() as state:
            month = month_key()
            current = {**_empty_usage(), **state.get("months", {}).get(month, {})}
            cost = self.cost(records, current["text_records"])
            current.update(
                text_records=current["text_records"] + records,
                documents=current["documents"] + documents,
                requests=current["requests"] + requests,
                cost_usd=round(current["cost_usd"] + cost, 6),
            )
            state.setdefault("months", {})[month] = current
            mine = state.get("reservations", {}).get(rid) if rid else None
            if mine:
                mine.update(text_records=max(0, mine["text_records"] - records), touched=time.time())
            self._save(state)
        return cost

    def _release(self, rid: str) -> None:
        with self._locked() as state:
            if state.get("reservations", {}).pop(rid, None) is not None:
                self._save(state)

    def record(self, records: int, documents: int, requests: int) -> float:
        """Add a finished request's usage to this month (outside any reservation); returns its estimated cost."""
        return self._bill(None, records, documents, requests)


def _total(reservations: dict[str, dict]) -> int:
    return sum(int(e.get("text_records", 0)) for e in reservations.values())


class Reservation:
    """Text records held against the monthly budget for one call (see SpendGuard.reserve)."""

    def __init__(self, guard: SpendGuard, rid: str, records: int):
        self.guard, self.id, self.remaining = guard, rid, records
        self.closed = False

    def bill(self, records: int, documents: int, requests: int) -> float:
        """Record a finished request's usage, drawn from this reservation; returns its estimated cost."""
        cost = self.guard._bill(self.id, records, documents, requests)
        self.remaining = max(0, self.remaining - records)
        return cost

    def ensure(self, records: int) -> None:
        """Make sure `records` more are held (a later chunk may need more than estimated): BudgetExceeded if not."""
        if records > self.remaining:
            self.guard._extend(self.id, self.remaining, records - self.remaining)
            self.remaining = records

    def release(self) -> None:
        if not self.closed:
            self.closed = True
            self.guard._release(self.id)

    def __enter__(self) -> Reservation:
        return self

    def __exit__(self, *exc) -> None:
        self.release()
