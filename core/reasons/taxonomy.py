"""The complaint taxonomy: each reason's name, a description and a few example phrases.

The default is the airline reasons of the public Twitter US Airline export (its `negativereason` column, "Can't
Tell" left out); descriptions and examples were written by hand from general knowledge of airline complaints, none
taken from that export's tweets. An operator edits the taxonomy as a JSON file (`taxonomy_path()`, or
$BADBUZZ_REASONS_FILE):

    {"reasons": [{"name": "Late Flight", "description": "...", "examples": ["...", "..."]}, ...]}

`parse_taxonomy` checks it and says what is wrong in one line, by the reason's position (never quoting the file).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from core import config
from core.files import write_json_atomic

FILE_ENV = "BADBUZZ_REASONS_FILE"
MIN_REASONS, MAX_REASONS = 2, 50
MAX_NAME_CHARS, MAX_DESCRIPTION_CHARS, MAX_EXAMPLE_CHARS, MAX_EXAMPLES = 60, 600, 300, 30


class TaxonomyError(ValueError):
    """A taxonomy file that cannot be used; the message is one line."""


@dataclass(frozen=True)
class Reason:
    name: str
    description: str
    examples: tuple[str, ...] = ()

    def texts(self) -> list[str]:
        """What its prototype is made of: the description and every example."""
        return [t for t in (self.description, *self.examples) if t]


@dataclass(frozen=True)
class Taxonomy:
    reasons: tuple[Reason, ...]

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.reasons]

    def to_json(self) -> dict:
        return {"reasons": [{"name": r.name, "description": r.description, "examples": list(r.examples)}
                            for r in self.reasons]}  # fmt: skip


def _reason(name: str, description: str, *examples: str) -> Reason:
    return Reason(name, description, tuple(examples))


DEFAULT = Taxonomy((
    _reason(
        "Late Flight",
        "The flight is delayed or late: a late departure or arrival, hours of waiting at the gate or on the plane, "
        "a missed connection because of the delay.",
        "my flight is delayed again", "we have been stuck at the gate for three hours",
        "the delay made me miss my connecting flight", "sitting on the tarmac for an hour with no update",
        "departure pushed back twice, now arriving very late", "why is every flight out of this airport running late",
    ),
    _reason(
        "Cancelled Flight",
        "The flight was cancelled and the passenger is stranded or has to be rebooked on another flight.",
        "you cancelled my flight with no warning", "flight cancelled, now I'm stranded overnight",
        "my flight got canceled and the next seat is in two days", "rebook me, my flight was cancelled",
        "cancellation email at midnight, nobody can rebook us", "all flights cancelled because of the weather and no hotel",
    ),
    _reason(
        "Lost Luggage",
        "Checked baggage is lost, missing or delayed: the bag did not arrive, nobody knows where it is.",
        "my bag never arrived", "you lost my luggage", "still no sign of my suitcase after two days",
        "baggage claim says my bag is somewhere else", "where is my checked bag? the tracking shows nothing",
        "landed but our luggage stayed behind",
    ),
    _reason(
        "Customer Service Issue",
        "Bad customer service: long hold times on the phone, no answer from agents, unhelpful or rude staff, "
        "refunds and compensation refused.",
        "on hold for two hours and nobody answers", "your customer service is useless", "the agent hung up on me",
        "no one replies to my emails or messages", "still waiting for my refund",
        "the call center keeps disconnecting me",
    ),
    _reason(
        "Flight Booking Problems",
        "Problems booking or changing a reservation: the website or app fails, tickets, seats, miles or payment do "
        "not go through, a reservation or confirmation is wrong.",
        "your website won't let me book a ticket", "the app crashes when I try to change my reservation",
        "I was charged twice for one ticket", "can't use my miles to book this flight",
        "my confirmation number doesn't work", "trying to select seats online gives an error",
    ),
    _reason(
        "Bad Flight",
        "An unpleasant flight: uncomfortable seats, no legroom, broken entertainment or wifi, bad food, a dirty "
        "cabin, a rough or crowded flight.",
        "the seats are so cramped, no legroom at all", "the wifi didn't work the whole flight",
        "the entertainment screen was broken", "the food on board was terrible", "the cabin was dirty and freezing",
        "worst flight I have ever been on",
    ),
    _reason(
        "Flight Attendant Complaints",
        "Complaints about the cabin crew: rude, unfriendly or unprofessional flight attendants.",
        "the flight attendant was so rude to me", "the crew ignored us for the whole flight",
        "a flight attendant yelled at a passenger", "your stewardess was unprofessional",
        "cabin crew refused to help with my bag", "the attendants were chatting instead of serving",
    ),
    _reason(
        "Damaged Luggage",
        "Checked baggage arrived damaged or broken: a broken suitcase, a torn bag, damaged or missing contents.",
        "my suitcase came back broken", "you destroyed my luggage", "the handle of my bag was ripped off",
        "my guitar arrived damaged", "the wheels on my suitcase are broken",
        "our bag was torn open and things were missing",
    ),
    _reason(
        "longlines",
        "Long lines and queues at the airport: check-in, security, the ticket counter or the baggage drop.",
        "the line at check-in is huge", "waited an hour in line at the ticket counter",
        "the security line is not moving", "only one agent for a queue of a hundred people",
        "the bag drop line is out the door", "standing in this line forever",
    ),
))  # fmt: skip


def taxonomy_path() -> Path:
    """Where the operator's taxonomy lives: $BADBUZZ_REASONS_FILE, else the data folder's reasons/taxonomy.json."""
    return Path(os.environ.get(FILE_ENV) or config.data_dir() / "reasons" / "taxonomy.json")


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """The operator's taxonomy file when there is one (or `path`), else DEFAULT; TaxonomyError when unusable."""
    path = Path(path) if path is not None else taxonomy_path()
    if not path.is_file():
        if path != taxonomy_path():
            raise TaxonomyError(f"no taxonomy file at {path}")
        return DEFAULT
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise TaxonomyError(f"taxonomy file {path.name}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise TaxonomyError(f"taxonomy file {path.name}: not JSON (line {exc.lineno}, column {exc.colno})") from None
    except OSError as exc:
        raise TaxonomyError(f"taxonomy file {path.name} cannot be read ({type(exc).__name__})") from None
    return parse_taxonomy(data, where=f"taxonomy file {path.name}")


def save_taxonomy(taxonomy: Taxonomy, path: str | Path | None = None) -> Path:
    """Write the taxonomy as the operator's file (a starting point to edit)."""
    path = Path(path) if path is not None else taxonomy_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, taxonomy.to_json())
    return path


def parse_taxonomy(data, where: str = "taxonomy") -> Taxonomy:
    """A Taxonomy from its JSON form; TaxonomyError saying which reason and what is wrong."""
    items = data.get("reasons") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise TaxonomyError(
            f'{where}: expected {{"reasons": [{{"name": ..., "description": ..., "examples": [...]}}]}}'
        )
    if not MIN_REASONS <= len(items) <= MAX_REASONS:
        raise TaxonomyError(f"{where}: {len(items)} reasons; give {MIN_REASONS} to {MAX_REASONS}")
    reasons = [_parse_reason(item, f"{where}: reason {i}") for i, item in enumerate(items, start=1)]
    seen: dict[str, int] = {}
    for i, reason in enumerate(reasons, start=1):
        key = reason.name.casefold()
        if key in seen:
            raise TaxonomyError(f"{where}: reason {i} has the same name as reason {seen[key]}")
        seen[key] = i
    return Taxonomy(tuple(reasons))


def _parse_reason(item, where: str) -> Reason:
    if not isinstance(item, dict):
        raise TaxonomyError(f"{where} is not an object with name, description and examples")
    unknown = sorted(set(item) - {"name", "description", "examples"})
    if unknown:
        raise TaxonomyError(f"{where}: unknown field(s) {', '.join(map(repr, unknown))[:80]}")
    name = _text(item.get("name"), f"{where}: name", MAX_NAME_CHARS, required=True)
    description = _text(item.get("description", ""), f"{where}: description", MAX_DESCRIPTION_CHARS)
    examples = item.get("examples", [])
    if not isinstance(examples, list) or len(examples) > MAX_EXAMPLES:
        raise TaxonomyError(f"{where}: examples must be a list of at most {MAX_EXAMPLES} texts")
    examples = [_text(e, f"{where}: example {j}", MAX_EXAMPLE_CHARS, required=True) for j, e in enumerate(examples, 1)]
    if not description and not examples:
        raise TaxonomyError(f"{where} needs a description or at least one example")
    return Reason(name, description, tuple(examples))


def _text(value, where: str, limit: int, required: bool = False) -> str:
    if not isinstance(value, str):
        raise TaxonomyError(f"{where} must be a text")
    value = " ".join(value.split())
    if required and not value:
        raise TaxonomyError(f"{where} is empty")
    if len(value) > limit:
        raise TaxonomyError(f"{where} is longer than {limit} characters")
    return value
