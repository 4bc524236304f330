"""The cloud approaches behind one small interface, used by `core.score --service` and the dashboard."""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from core.models import SentimentModel


class ServiceError(Exception):
    """The whole call failed (down, bad key, quota, budget). The message says what to fix and never holds a key."""


@dataclass
class ServiceResult:
    p_pos: list[float | None]      # P(positive) per input text, None where there is no answer
    labels: list[str | None]       # the service's own label ('positive'/'neutral'/'negative'/'mixed' for Language)
    errors: list[str | None]       # per-row reason when p_pos is None
    cost_usd: float = 0.0          # estimated cost of the requests actually made (0.0 when served from cache)
    requests: int = 0              # HTTP requests made
    cached: int = 0                # rows answered from the cache
    details: list[dict | None] = field(default_factory=list)  # per-row extras (confidence scores, truncated flag)


class CloudService(Protocol):
    key: str
    name: str

    def status(self) -> tuple[bool, str]: ...

    def score(self, texts: list[str]) -> ServiceResult: ...


SERVICE_KEYS = ("azure-language", "azure-endpoint")


def get_service(key: str, **overrides) -> CloudService:
    """`overrides` go to the client constructor (endpoint, key, credential, client_options, cache, spend, ...)."""
    if key == "azure-language":
        from core.azure.language import LanguageClient
        return LanguageClient(**overrides)
    if key == "azure-endpoint":
        from core.azure.endpoint import EndpointClient
        return EndpointClient(**overrides)
    raise ValueError(f"unknown cloud service {key!r}; choose one of {', '.join(SERVICE_KEYS)}")


def list_services() -> list[CloudService]:
    return [get_service(key) for key in SERVICE_KEYS]


class ServiceModel(SentimentModel):
    """A cloud service behind the SentimentModel interface; rows the service cannot answer give NaN."""

    def __init__(self, service: CloudService, name: str | None = None):
        super().__init__(name or service.name)
        self.service = service
        self.kind = service.key

    def _predict(self, texts: list[str]) -> np.ndarray:
        result = self.service.score(texts)
        return np.array([np.nan if p is None else p for p in result.p_pos], dtype=float)


def load_run(run_dir, meta: dict) -> ServiceModel:
    """`core.models` loader for `azure-language` / `azure-endpoint` evaluation runs: the run folder holds the
    evaluation, not a model, so the model asks the live service."""
    return ServiceModel(get_service(meta["kind"]), meta.get("approach"))


def check_budget(key: str, texts) -> None:
    """Raise BudgetExceeded (a ServiceError) when scoring all `texts` would exceed the service's budget now.
    Advisory only (another process may spend meanwhile): `reserve_budget` is what holds the budget. Services
    without a spend guard accept anything."""
    service = get_service(key)
    if hasattr(service, "estimate"):
        service.spend.check(service.estimate(list(texts)))


@contextmanager
def reserve_budget(service: CloudService, texts):
    """Hold the service's budget for all `texts` before the first request, in one step under the spend guard's
    inter-process lock (BudgetExceeded when they do not fit); the service's `score()` calls made by this thread
    inside the block draw on it, and what they did not bill is released at the end. Services without a spend
    guard accept anything."""
    if not hasattr(service, "reserve"):
        yield
        return
    with service.reserve(list(texts)):
        yield
