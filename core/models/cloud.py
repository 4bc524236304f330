"""Cloud services behind the SentimentModel interface, and the loader of their evaluation runs."""

from __future__ import annotations

import numpy as np

from core.azure.protocol import CloudService
from core.azure.services import get_service
from core.models.base import SentimentModel


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
    """Loader for `azure-language` / `azure-endpoint` evaluation runs: the run folder holds the evaluation, not a
    model, so the model asks the live service."""
    return ServiceModel(get_service(meta["kind"]), meta.get("approach"))
