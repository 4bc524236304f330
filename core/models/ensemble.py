"""Ensembles: one model that combines the P(positive) of other runs' models (run kind `ensemble`).

run.json's `ensemble` holds the recipe (written by core.training.ensemble):
`{"method": "mean" | "fitted", "weights": [...], "intercept": b, "members": [{"run", "id", "kind", "approach",
"started_unix", "split_id"}, ...], "validation": ...}`. `run` is the member's folder relative to the runs folder
when it was inside it (so a copied runs folder still loads), else absolute; a relative one is looked for next to
the ensemble first, then in the configured runs folder.

- `mean`: the average of the members' P(positive) (weights 1/k, recorded too).
- `fitted`: stacking, a logistic regression on the members' logits fitted on the validation split:
  P = sigmoid(intercept + sum_i weight_i * logit(p_i)).

Members share their classes (core.data.labels): a three-way ensemble averages the members' class probabilities
(`mean`), or (`fitted`) takes P = softmax(intercepts + sum_i weight_i * log p_i), one intercept per class (the
first 0) and one non-negative weight per member: the same model as the binary one, whose two-class softmax is the
sigmoid of the logits above.

A member that is missing, no longer loads, or was trained again since the ensemble was made (its run.json's start
time differs) is a one-line ModelLoadError. Cloud runs (core.run_kinds: azure-language, azure-endpoint) are never
members: every call would be billed once per tweet and member.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core import config, run_kinds
from core.models.base import ModelLoadError, SentimentModel, load
from core.tracking.runs import read_json

METHODS = ("mean", "fitted")
EPS = 1e-6  # P(positive) is clipped to [EPS, 1 - EPS] before its logit


def logits(p_pos: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p_pos, dtype=float), EPS, 1 - EPS)
    return np.log(p / (1 - p))


def combine_classes(
    member_proba: np.ndarray, method: str, weights: Sequence[float], intercepts: Sequence[float] | float = 0.0
) -> np.ndarray:
    """A three-way ensemble's (n, c) class probabilities from the members' (n, k members, c classes)."""
    member_proba = np.asarray(member_proba, dtype=float)
    weights = np.asarray(weights, dtype=float)
    if method == "mean":
        return np.einsum("nkc,k->nc", member_proba, weights)
    if method == "fitted":
        z = np.asarray(intercepts, dtype=float) + np.einsum("nkc,k->nc", np.log(np.clip(member_proba, EPS, 1)), weights)
        z -= z.max(axis=1, keepdims=True)
        return np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    raise ValueError(f"unknown ensemble method {method!r}; known: {', '.join(METHODS)}")


def combine(member_p: np.ndarray, method: str, weights: Sequence[float], intercept: float = 0.0) -> np.ndarray:
    """The ensemble's P(positive) from the members' (one column per member)."""
    member_p = np.asarray(member_p, dtype=float)
    weights = np.asarray(weights, dtype=float)
    if method == "mean":
        return member_p @ weights
    if method == "fitted":
        return 1.0 / (1.0 + np.exp(-(intercept + logits(member_p) @ weights)))
    raise ValueError(f"unknown ensemble method {method!r}; known: {', '.join(METHODS)}")


class EnsembleModel(SentimentModel):
    kind = "ensemble"

    def __init__(
        self,
        members: list[SentimentModel],
        method: str,
        weights: Sequence[float],
        intercept: float | Sequence[float] = 0.0,
        name: str = "ensemble",
    ):
        super().__init__(name)
        if method not in METHODS:
            raise ModelLoadError(f"unknown ensemble method {method!r}; known: {', '.join(METHODS)}")
        if len(weights) != len(members):
            raise ModelLoadError(f"{len(weights)} weights for {len(members)} ensemble members")
        classes = {tuple(member.classes) for member in members}
        if len(classes) > 1:
            raise ModelLoadError(f"the ensemble's members learn different classes ({sorted(classes)})")
        self.classes = classes.pop()
        self.members, self.method = members, method
        self.weights = [float(w) for w in weights]
        # binary: one intercept; three-way: one per class (a list, the first 0)
        self.intercept = [float(b) for b in intercept] if isinstance(intercept, (list, tuple)) else float(intercept)

    def member_probabilities(self, texts: list[str]) -> np.ndarray:
        """(n texts, k members) P(positive), each member scoring every text."""
        return np.column_stack([member.predict_proba(texts) for member in self.members])

    def member_class_probabilities(self, texts: list[str]) -> np.ndarray:
        """(n texts, k members, c classes): each member's class probabilities of every text."""
        return np.stack([member.predict_class_proba(texts) for member in self.members], axis=1)

    def _predict(self, texts: list[str]) -> np.ndarray:
        return combine(self.member_probabilities(texts), self.method, self.weights, self.intercept)

    def _predict_classes(self, texts: list[str]) -> np.ndarray:
        return combine_classes(self.member_class_probabilities(texts), self.method, self.weights, self.intercept)

    @property
    def backend_label(self) -> str:
        """Live scoring's 'backend' column: the members', in order ("scikit-learn + ONNX int8")."""
        return " + ".join(dict.fromkeys(m.backend_label or m.kind for m in self.members))


# ---------------------------------------------------------------- run folders


def recorded_member_path(entry: dict, ensemble_dir: Path) -> Path:
    """Where a recorded member is: an absolute path as is; a relative one next to the ensemble (a copied runs
    folder) or else in the configured runs folder."""
    path = Path(str(entry.get("run") or ""))
    if path.is_absolute():
        return path
    candidates = [Path(ensemble_dir).resolve().parent / path, config.runs_dir() / path]
    return next((c for c in candidates if (c / "run.json").is_file()), candidates[-1])


def load_member(entry: dict, ensemble_dir: Path) -> SentimentModel:
    """One member's model, or a one-line ModelLoadError that names the member and says what to do."""
    name = entry.get("id") or entry.get("run")
    where = f"ensemble {ensemble_dir.name}: member {name}"
    if run_kinds.is_cloud(entry.get("kind")):  # billed per call: never a member
        raise ModelLoadError(f"{where} is a cloud service run ({entry['kind']}): it cannot be an ensemble member")
    path = recorded_member_path(entry, ensemble_dir)
    meta = read_json(path / "run.json")
    if not isinstance(meta, dict):
        raise ModelLoadError(
            f"{where} is missing (no run folder at {path}): copy it into the runs folder next to the ensemble, "
            "or make the ensemble again"
        )
    started = (meta.get("timings") or {}).get("started_unix")
    if entry.get("started_unix") and started != entry["started_unix"]:
        raise ModelLoadError(f"{where} was trained again since the ensemble was made: make the ensemble again")
    try:
        return load(path)
    except ModelLoadError as exc:
        raise ModelLoadError(f"{where}: {exc}") from None


def load_run(run_dir: Path, meta: dict) -> EnsembleModel:
    """The loader of `ensemble` runs (named by its RunKind, core.run_kinds)."""
    recipe = meta.get("ensemble")
    if not isinstance(recipe, dict) or not recipe.get("members"):
        raise ModelLoadError(f"run {run_dir.name} records no ensemble members in run.json; make the ensemble again")
    members = [load_member(entry, run_dir) for entry in recipe["members"]]
    return EnsembleModel(
        members,
        recipe.get("method", "mean"),
        recipe.get("weights") or [1 / len(members)] * len(members),
        recipe.get("intercept", 0.0),
        meta.get("approach", "ensemble"),
    )
