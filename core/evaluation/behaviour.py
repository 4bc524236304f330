"""Behavioural tests in the spirit of CheckList (Ribeiro et al., 2020, "Beyond Accuracy: Behavioral Testing of
NLP Models with CheckList"): where an approach breaks, beyond one accuracy figure.

The suite is data (`core/evaluation/behaviour_suite/`): `lexicon.json` holds word lists for an airline's tweets
(airlines, cities, flight numbers, names, staff, complaints, praise, emoticons...) and `tests.json` the tests,
each made of templates whose `{slot}`s take the lexicon's values. Three types:

- MFT (minimum functionality): each case must get the expected label (`core.models.base.label_for`);
- INV (invariance): a case and its perturbed copy (another @mention, city, flight number or name, a URL, case,
  a typo) must get the same label;
- DIR (direction): after the perturbation (a complaint, praise, an emoji appended) P(positive) must not move
  the wrong way by more than the test's tolerance.

Cases are drawn deterministically: every combination of a test's templates and slot values when there are at
most `max_cases` of them, else a sample seeded by the suite's seed and the test's name. `run_suite` scores the
distinct texts once, in batches, with any `SentimentModel`; `write_results` keeps the outcome in
`<run>/behaviour/results.json`. `python -m core.commands.behaviour --run RUN` is the command.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.labels import THREE_CLASSES
from core.files import write_json_atomic
from core.models.base import CLASS_NAMES, THRESHOLD, labels_for, labels_from_proba
from core.tracking.runs import read_json

SUITE_DIR = Path(__file__).with_name("behaviour_suite")
RESULTS_FILE = Path("behaviour") / "results.json"
DEFAULT_MAX_CASES = 200
MAX_EXAMPLES = 10
BATCH_SIZE = 256
TYPES = ("MFT", "INV", "DIR")
TRANSFORMS = ("upper", "lower", "typo")
DIRECTIONS = ("not_up", "not_down")
SLOT = re.compile(r"\{([a-z_]+?)\d*\}")  # {pos_adj} and {pos_adj2} both draw from the list pos_adj
TYPO_WORD = re.compile(r"(?<![\w@#/.])[A-Za-z]{4,}\b")  # a word, not an @mention, #hashtag or URL part


class SuiteError(ValueError):
    """The suite's data files are not usable, with why."""


@dataclass(frozen=True)
class BehaviourTest:
    name: str
    type: str
    capability: str
    description: str
    templates: tuple[str, ...]
    expect: str | None = None  # MFT
    perturb: dict = field(default_factory=dict)  # INV, DIR
    direction: str | None = None  # DIR
    tolerance: float = 0.0  # DIR

    def expectation(self) -> str:
        """What a case must do, in words."""
        if self.type == "MFT":
            return f"label {self.expect}"
        change = ", ".join(f"{key} {value}" for key, value in self.perturb.items())
        if self.type == "INV":
            return f"same label after: {change}"
        way = "up" if self.direction == "not_up" else "down"
        return f"P(positive) not {way} by more than {self.tolerance:g} after: {change}"


@dataclass(frozen=True)
class Suite:
    version: int
    seed: int
    fingerprint: str
    lexicon: dict[str, tuple[str, ...]]
    tests: tuple[BehaviourTest, ...]


@dataclass(frozen=True)
class Case:
    text: str
    perturbed: str | None = None  # INV and DIR only


# ------------------------------------------------------------------ the suite


def load_suite(folder: str | Path = SUITE_DIR) -> Suite:
    """The suite in `folder` (lexicon.json + tests.json), checked; SuiteError says what is wrong."""
    folder = Path(folder)
    try:
        lexicon_raw = json.loads((folder / "lexicon.json").read_text(encoding="utf-8"))
        tests_raw = json.loads((folder / "tests.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SuiteError(f"the behavioural test suite in {folder} cannot be read ({type(exc).__name__})") from None
    lexicon = {k: tuple(v) for k, v in lexicon_raw.items() if not k.startswith("_")}
    template_sets = tests_raw.get("template_sets", {})
    tests = tuple(_parse_test(raw, template_sets, lexicon) for raw in tests_raw.get("tests", []))
    names = [t.name for t in tests]
    if len(set(names)) != len(names) or not tests:
        raise SuiteError("the behavioural tests need distinct names, and at least one test")
    canonical = json.dumps([lexicon_raw, tests_raw], sort_keys=True, ensure_ascii=False).encode("utf-8")
    return Suite(
        version=int(tests_raw.get("version", 0)),
        seed=int(tests_raw.get("seed", 0)),
        fingerprint=hashlib.sha256(canonical).hexdigest()[:16],
        lexicon=lexicon,
        tests=tests,
    )


def _parse_test(raw: dict, template_sets: dict, lexicon: dict) -> BehaviourTest:
    name = raw.get("name", "?")
    templates = tuple(raw.get("templates") or template_sets.get(raw.get("template_set"), ()))
    test = BehaviourTest(
        name=name,
        type=raw.get("type", ""),
        capability=raw.get("capability", ""),
        description=raw.get("description", ""),
        templates=templates,
        expect=raw.get("expect"),
        perturb=dict(raw.get("perturb") or {}),
        direction=raw.get("direction"),
        tolerance=float(raw.get("tolerance", 0.0)),
    )
    problem = _problem(test, lexicon)
    if problem:
        raise SuiteError(f"behavioural test {name!r}: {problem}")
    return test


def _problem(test: BehaviourTest, lexicon: dict) -> str:
    """Why the test cannot run ('' when it can)."""
    if test.type not in TYPES:
        return f"type must be one of {', '.join(TYPES)}"
    if not test.templates:
        return "no templates"
    unknown = {s for t in test.templates for s in SLOT.findall(t)} - set(lexicon)
    if unknown:
        return f"no word list for {', '.join(sorted(unknown))}"
    if test.type == "MFT":
        return "" if test.expect in CLASS_NAMES else f"expect must be one of {', '.join(CLASS_NAMES)}"
    if test.type == "DIR" and test.direction not in DIRECTIONS:
        return f"direction must be one of {', '.join(DIRECTIONS)}"
    return _perturb_problem(test, lexicon)


def _perturb_problem(test: BehaviourTest, lexicon: dict) -> str:
    if len(test.perturb) != 1:
        return "perturb needs exactly one of swap, append, transform"
    ((how, what),) = test.perturb.items()
    if how == "swap":
        missing = [t for t in test.templates if "{" + what + "}" not in t]
        return f"swap {what!r}: {len(missing)} template(s) have no {{{what}}}" if missing else ""
    if how == "append":
        return "" if what in lexicon else f"append: no word list {what!r}"
    if how == "transform":
        return "" if what in TRANSFORMS else f"transform must be one of {', '.join(TRANSFORMS)}"
    return f"unknown perturbation {how!r}"


# ------------------------------------------------------------------ cases


def _slots(template: str) -> list[str]:
    """The distinct slots of a template, in order ({pos_adj} and {pos_adj2} are two slots)."""
    return list(dict.fromkeys(m.group(0)[1:-1] for m in SLOT.finditer(template)))


def _list_name(slot: str) -> str:
    return slot.rstrip("0123456789")


def _fill(template: str, values: dict[str, str]) -> str:
    return re.sub(r"\{([a-z_]+\d*)\}", lambda m: values[m.group(1)], template)


def _test_seed(suite_seed: int, name: str) -> int:
    return suite_seed * 1_000_003 + zlib.crc32(name.encode("utf-8"))  # stable across processes (not hash())


def _sample_fills(templates, lexicon, n: int, rng: random.Random) -> list[tuple[str, dict[str, str]]]:
    """Up to n (template, slot values): all combinations when they are few, else a seeded sample of them."""
    sizes = [math.prod(len(lexicon[_list_name(s)]) for s in _slots(t)) for t in templates]
    total = sum(sizes)
    picks = range(total) if total <= n else sorted(rng.sample(range(total), n))
    fills = []
    for index in picks:
        which = 0
        while index >= sizes[which]:
            index -= sizes[which]
            which += 1
        values = {}
        for slot in _slots(templates[which]):  # mixed-radix decoding of the combination's index
            words = lexicon[_list_name(slot)]
            index, position = divmod(index, len(words))
            values[slot] = words[position]
        fills.append((templates[which], values))
    return fills


def typo(text: str, rng: random.Random) -> str:
    """Two adjacent (different) letters swapped in one word of four letters or more (the text when none has)."""
    spots = [(m.start() + i) for m in TYPO_WORD.finditer(text) for i in range(len(m.group()) - 1)]
    spots = [i for i in spots if text[i] != text[i + 1]]
    if not spots:
        return text
    i = rng.choice(spots)
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def _perturbed(test: BehaviourTest, template: str, values: dict, lexicon: dict, rng: random.Random) -> str:
    ((how, what),) = test.perturb.items()
    text = _fill(template, values)
    if how == "swap":
        others = [w for w in lexicon[_list_name(what)] if w != values[what]]
        return _fill(template, {**values, what: rng.choice(others)})
    if how == "append":
        added = rng.choice(lexicon[what])
        stop = "." if added[:1].isupper() and text[-1:].isalnum() else ""  # a sentence after a sentence
        return f"{text}{stop} {added}"
    if what == "typo":
        return typo(text, rng)
    return text.upper() if what == "upper" else text.lower()


def expand(test: BehaviourTest, suite: Suite, max_cases: int = DEFAULT_MAX_CASES) -> list[Case]:
    """The test's cases (at most `max_cases`), the same on every call and machine."""
    rng = random.Random(_test_seed(suite.seed, test.name))
    cases = []
    for template, values in _sample_fills(test.templates, suite.lexicon, max_cases, rng):
        perturbed = None if test.type == "MFT" else _perturbed(test, template, values, suite.lexicon, rng)
        cases.append(Case(_fill(template, values), perturbed))
    return cases


def expand_suite(suite: Suite, max_cases: int = DEFAULT_MAX_CASES) -> dict[str, list[Case]]:
    return {test.name: expand(test, suite, max_cases) for test in suite.tests}


def unique_texts(cases: dict[str, list[Case]]) -> list[str]:
    """Every distinct text to score (originals and perturbed copies), in order of first appearance."""
    texts = (t for group in cases.values() for case in group for t in (case.text, case.perturbed) if t is not None)
    return list(dict.fromkeys(texts))


# ------------------------------------------------------------------ scoring and judging


class Scores(dict):
    """P(positive) per text; a three-way model's answers also keep each text's label and the margin by which its
    label wins (its probability minus the runner-up's), which the MFT and INV tests judge on."""

    labels: dict[str, str] | None = None
    proba: dict[str, np.ndarray] | None = None


def score_texts(
    model, texts: list[str], batch_size: int = BATCH_SIZE, on_progress: Callable[[int, int], None] | None = None
) -> Scores:
    """P(positive) of each text (NaN where the model gave none), `batch_size` texts per call; a three-way model's
    labels (its most probable class, core.models.base.labels_from_proba) and class probabilities too."""
    scores = Scores()
    three_way = getattr(model, "three_way", False)
    if three_way:
        scores.labels, scores.proba = {}, {}
    for start in range(0, len(texts), batch_size):
        batch = texts[start : start + batch_size]
        if three_way:
            proba = model.predict_class_proba(batch)
            scores.update(zip(batch, (float(p) for p in proba[:, -1])))
            scores.labels.update(zip(batch, labels_from_proba(proba, model.classes)))
            scores.proba.update(zip(batch, proba))
        else:
            scores.update(zip(batch, (float(p) for p in model.predict_proba(batch))))
        if on_progress:
            on_progress(min(start + batch_size, len(texts)), len(texts))
    return scores


def _violations(
    test: BehaviourTest, p: np.ndarray, q: np.ndarray, labels: tuple | None = None, margin: np.ndarray | None = None
) -> np.ndarray:
    """How far each case goes the wrong way (> 0: it fails; NaN: not scored). `labels` (p's and q's) and `margin`
    (how far p's expected class is from winning) come with a three-way model, whose labels are not P(positive)'s."""
    p_labels, q_labels = labels if labels is not None else (labels_for(p), labels_for(q))
    if test.type == "MFT":
        wrong = p_labels != test.expect  # p exactly at THRESHOLD reads positive: the tiny term keeps it failing
        return np.where(wrong, (np.abs(p - THRESHOLD) if margin is None else margin) + 1e-12, 0.0)
    if test.type == "INV":
        changed = p_labels != q_labels
        return np.where(np.isnan(p) | np.isnan(q), np.nan, np.where(changed, np.abs(q - p), 0.0))
    delta = q - p if test.direction == "not_up" else p - q
    return delta - test.tolerance


def judge(test: BehaviourTest, cases: list[Case], scores: dict[str, float]) -> dict:
    """The test's outcome: cases, failures, failure rate and the worst failing examples."""
    p = np.array([scores.get(c.text, np.nan) for c in cases], dtype=float)
    q = np.array([np.nan if c.perturbed is None else scores.get(c.perturbed, np.nan) for c in cases], dtype=float)
    if test.type == "MFT":
        q = np.zeros_like(p)  # no perturbed copy: only p may be missing
    labels, margin = _three_way_view(test, cases, scores)
    violation = _violations(test, p, q, labels, margin)
    scored = ~(np.isnan(p) | np.isnan(q) | np.isnan(violation))
    failing = scored & (np.nan_to_num(violation, nan=0.0) > 0)
    worst = sorted(np.flatnonzero(failing), key=lambda i: -violation[i])[:MAX_EXAMPLES]
    n, failures = int(scored.sum()), int(failing.sum())
    return {
        "name": test.name,
        "type": test.type,
        "capability": test.capability,
        "description": test.description,
        "expectation": test.expectation(),
        "cases": n,
        "unscored": len(cases) - n,
        "failures": failures,
        "failure_rate": failures / n if n else None,
        "examples": [_example(cases[i], p[i], q[i], test.type) for i in worst],
    }


def _three_way_view(test: BehaviourTest, cases: list[Case], scores: dict) -> tuple[tuple | None, np.ndarray | None]:
    """A three-way model's labels of the cases (and of their perturbed copies) and, for an MFT, how far the
    expected class is below the winning one; (None, None) for a binary model."""
    labels, proba = getattr(scores, "labels", None), getattr(scores, "proba", None)
    if labels is None or proba is None:
        return None, None
    p_labels = np.array([labels.get(c.text, "") for c in cases], dtype=object)
    q_labels = np.array([labels.get(c.perturbed, "") if c.perturbed else "" for c in cases], dtype=object)
    margin = None
    if test.type == "MFT" and test.expect in THREE_CLASSES:
        expected = THREE_CLASSES.index(test.expect)
        rows = [proba.get(c.text, np.full(3, np.nan)) for c in cases]
        margin = np.array([np.nanmax(r) - r[expected] for r in rows], dtype=float)
    return (p_labels, q_labels), margin


def _example(case: Case, p: float, q: float, kind: str) -> dict:
    example = {"text": case.text, "p_pos": round(float(p), 4)}
    if kind != "MFT":
        example.update(perturbed=case.perturbed, p_pos_perturbed=round(float(q), 4))
    return example


def run_suite(
    model,
    suite: Suite | None = None,
    max_cases: int = DEFAULT_MAX_CASES,
    batch_size: int = BATCH_SIZE,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Every test of the suite on `model` (a SentimentModel): the dict results.json holds."""
    suite = suite or load_suite()
    cases = expand_suite(suite, max_cases)
    texts = unique_texts(cases)
    started = time.perf_counter()
    scores = score_texts(model, texts, batch_size, on_progress)
    seconds = time.perf_counter() - started
    return {
        "suite": {"version": suite.version, "fingerprint": suite.fingerprint, "seed": suite.seed},
        "max_cases": max_cases,
        "model": model.name,
        "texts_scored": len(texts),
        "seconds": round(seconds, 3),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "tests": [judge(test, cases[test.name], scores) for test in suite.tests],
    }


# ------------------------------------------------------------------ results in the run folder


def results_path(run_dir: str | Path) -> Path:
    return Path(run_dir) / RESULTS_FILE


def write_results(run_dir: str | Path, results: dict) -> Path:
    path = results_path(run_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, results)
    return path


def read_results(run_dir: str | Path) -> dict | None:
    """The run's results.json, or None when it has none (or an unreadable one)."""
    results = read_json(results_path(run_dir))
    return results if isinstance(results, dict) and isinstance(results.get("tests"), list) else None


def summary_table(results: dict) -> pd.DataFrame:
    """One row per test: test, type, capability, cases, failures, failure rate (%)."""
    rows = [
        {
            "test": t["name"],
            "type": t["type"],
            "capability": t["capability"],
            "cases": t["cases"],
            "failures": t["failures"],
            "failure rate (%)": None if t["failure_rate"] is None else round(100 * t["failure_rate"], 1),
        }
        for t in results["tests"]
    ]
    return pd.DataFrame(rows, columns=["test", "type", "capability", "cases", "failures", "failure rate (%)"])


def failure_rates(results_by_run: dict[str, dict]) -> pd.DataFrame:
    """Failure rate (%) per test (rows, in suite order) and run (columns), with each test's type and capability."""
    tests: dict[str, dict] = {}
    for label, results in results_by_run.items():
        for t in results["tests"]:
            row = tests.setdefault(t["name"], {"test": t["name"], "type": t["type"], "capability": t["capability"]})
            row[label] = None if t["failure_rate"] is None else round(100 * t["failure_rate"], 1)
    return pd.DataFrame(list(tests.values()), columns=["test", "type", "capability", *results_by_run])


def failing_examples(results: dict, test_name: str) -> pd.DataFrame:
    """The recorded failing examples of one test (worst first); empty when it has none."""
    test = next((t for t in results["tests"] if t["name"] == test_name), None)
    return pd.DataFrame(test["examples"] if test else [])


def is_current(results: dict, suite: Suite) -> bool:
    """True when the results were computed with this suite (same fingerprint)."""
    return (results.get("suite") or {}).get("fingerprint") == suite.fingerprint
