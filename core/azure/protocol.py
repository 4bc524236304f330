"""What a cloud sentiment service answers, and the small interface every client keeps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from core.data.csv_reader import MAX_FIELD_CHARS
from core.data.labels import BINARY_CLASSES, binary_proba

# The Bad Buzz endpoint's request limits, kept by its client (core.azure.endpoint) and its scoring script
# (core.azure_ml.score_script): at most ENDPOINT_MAX_TEXTS texts a request (400 above), and per text what the CSV
# reader reads as one field (413 above), so that any text core.inference.batch answers gets the same answer there.
ENDPOINT_MAX_TEXTS = 1000
ENDPOINT_MAX_CHARS = MAX_FIELD_CHARS


@dataclass
class ServiceResult:
    p_pos: list[float | None]  # P(positive) per input text, None where there is no answer (Language: folded)
    labels: list[str | None]  # the service's own label ('positive'/'neutral'/'negative'/'mixed' for Language)
    errors: list[str | None]  # per-row reason when p_pos is None
    cost_usd: float = 0.0  # estimated cost of the requests actually made (0.0 when served from cache)
    requests: int = 0  # HTTP requests made
    cached: int = 0  # rows answered from the cache
    details: list[dict | None] = field(default_factory=list)  # per-row extras (confidence scores, truncated flag)
    # A service that answers three ways (Azure AI Language; an endpoint serving a three-way run): its classes and
    # per row the class probabilities in that order (None where there is no answer); empty for a binary one.
    classes: tuple[str, ...] = BINARY_CLASSES
    proba: list[list[float] | None] = field(default_factory=list)

    def class_proba(self) -> np.ndarray:
        """(n, k) class probabilities in `classes` order, NaN rows where there is no answer: the three-way
        answers, or [1 - p, p] of a binary service's P(positive)."""
        if not self.proba:
            return binary_proba([np.nan if p is None else p for p in self.p_pos])
        k = len(self.classes)
        return np.array([[np.nan] * k if row is None else row for row in self.proba], dtype=float).reshape(-1, k)


class CloudService(Protocol):
    key: str
    name: str

    def status(self) -> tuple[bool, str]: ...

    def score(self, texts: list[str]) -> ServiceResult: ...
