"""The cloud services by key (`core.score --service`, the dashboard), and their budget around a whole file."""

from __future__ import annotations

from contextlib import contextmanager

from core.azure.errors import ServiceError  # noqa: F401  (the services' error, importable from here too)
from core.azure.protocol import CloudService, ServiceResult  # noqa: F401

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
