"""What scores a batch of texts for the monitor (the page's uploads and the watcher): a loaded run or a cloud
service behind one `Scorer` interface, whose answers say, per text, P(positive) or why there is none."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass
class ScoredBatch:
    p_pos: np.ndarray  # NaN where the scorer gave no answer
    errors: dict[int, str]  # index in the batch -> why
    cost_usd: float = 0.0


class Scorer(Protocol):
    name: str
    batch_size: int

    def score(self, texts: list[str]) -> ScoredBatch: ...


class ModelScorer:
    """Any object with predict_proba(texts) -> P(positive): a loaded run."""

    def __init__(self, model, name: str, batch_size: int = 512):
        self.model, self.name, self.batch_size = model, name, batch_size

    def score(self, texts: list[str]) -> ScoredBatch:
        return ScoredBatch(np.asarray(self.model.predict_proba(texts), dtype=float), {})


class ServiceScorer:
    """A cloud service from core.azure.services (score(texts) -> ServiceResult); failures become per-row reasons."""

    def __init__(self, service, batch_size: int = 100):
        self.service, self.name, self.batch_size = service, service.name, batch_size

    def score(self, texts: list[str]) -> ScoredBatch:
        result = self.service.score(texts)
        p_pos = np.array([np.nan if p is None else float(p) for p in result.p_pos], dtype=float)
        errors = result.errors or {}
        if not isinstance(errors, dict):  # a list aligned with texts
            errors = {i: str(e) for i, e in enumerate(errors) if e}
        return ScoredBatch(p_pos, {int(i): str(e) for i, e in errors.items()}, float(result.cost_usd or 0.0))


def scorer_for_run(run_dir, name: str | None = None) -> ModelScorer:
    from core.models.base import load

    model = load(run_dir)
    return ModelScorer(model, name or getattr(model, "name", str(run_dir)))
