"""What scores a batch of texts for the monitor (the page's uploads and the watcher): a loaded run or a cloud
service behind one `Scorer` interface, whose answers say, per text, P(positive) (and a three-way scorer's class
probabilities) or why there is none."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from core.data.labels import BINARY_CLASSES, binary_proba, is_three_way


@dataclass
class ScoredBatch:
    p_pos: np.ndarray  # NaN where the scorer gave no answer
    errors: dict[int, str]  # index in the batch -> why
    cost_usd: float = 0.0
    proba: np.ndarray | None = None  # (n, k) class probabilities in `classes` order; None: [1 - p_pos, p_pos]
    classes: tuple[str, ...] = BINARY_CLASSES

    def class_proba(self) -> np.ndarray:
        return binary_proba(self.p_pos) if self.proba is None else np.asarray(self.proba, dtype=float)


class Scorer(Protocol):
    name: str
    batch_size: int

    def score(self, texts: list[str]) -> ScoredBatch: ...


class ModelScorer:
    """Any object with predict_proba(texts) -> P(positive) (a loaded run); a three-way model's class
    probabilities too (core.models.base.SentimentModel.predict_class_proba)."""

    def __init__(self, model, name: str, batch_size: int = 512):
        self.model, self.name, self.batch_size = model, name, batch_size
        self.classes = tuple(getattr(model, "classes", BINARY_CLASSES))

    def score(self, texts: list[str]) -> ScoredBatch:
        if not is_three_way(self.classes):
            return ScoredBatch(np.asarray(self.model.predict_proba(texts), dtype=float), {})
        proba = np.asarray(self.model.predict_class_proba(texts), dtype=float)
        return ScoredBatch(proba[:, -1], {}, proba=proba, classes=self.classes)


class ServiceScorer:
    """A cloud service from core.azure.services (score(texts) -> ServiceResult); failures become per-row reasons."""

    def __init__(self, service, batch_size: int = 100):
        self.service, self.name, self.batch_size = service, service.name, batch_size
        self.classes = tuple(getattr(service, "classes", BINARY_CLASSES))

    def score(self, texts: list[str]) -> ScoredBatch:
        result = self.service.score(texts)
        p_pos = np.array([np.nan if p is None else float(p) for p in result.p_pos], dtype=float)
        errors = result.errors or {}
        if not isinstance(errors, dict):  # a list aligned with texts
            errors = {i: str(e) for i, e in enumerate(errors) if e}
        errors = {int(i): str(e) for i, e in errors.items()}
        classes = tuple(getattr(result, "classes", BINARY_CLASSES))
        if not is_three_way(classes):
            return ScoredBatch(p_pos, errors, float(result.cost_usd or 0.0))
        self.classes = classes  # an endpoint says its run's classes with its answers
        proba = result.class_proba()
        return ScoredBatch(proba[:, -1], errors, float(result.cost_usd or 0.0), proba=proba, classes=classes)


def scorer_for_run(run_dir, name: str | None = None) -> ModelScorer:
    from core.models.base import load

    model = load(run_dir)
    return ModelScorer(model, name or getattr(model, "name", str(run_dir)))
