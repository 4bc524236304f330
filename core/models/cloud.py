"""Cloud services behind the SentimentModel interface, and the loader of their evaluation runs."""

from __future__ import annotations

import numpy as np

from core.azure.protocol import CloudService
from core.azure.services import get_service
from core.data.labels import BINARY_CLASSES
from core.models.base import SentimentModel


class ServiceModel(SentimentModel):
    """A cloud service behind the SentimentModel interface; rows the service cannot answer give NaN. Its classes
    are the service's: Azure AI Language answers three ways (its neutral stays neutral), an Azure ML endpoint as
    the run it serves (known from its first answer)."""

    def __init__(self, service: CloudService, name: str | None = None):
        super().__init__(name or service.name)
        self.service = service
        self.kind = service.key
        self.classes = tuple(getattr(service, "classes", BINARY_CLASSES))

    def predict_class_proba(self, texts) -> np.ndarray:
        texts = self._texts(texts)
        if not texts:
            return np.zeros((0, len(self.classes)))
        result = self.service.score(texts)
        self.classes = tuple(result.classes)
        return result.class_proba()

    def predict_proba(self, texts) -> np.ndarray:
        """P(positive): a binary service's own, a three-way service's positive class probability."""
        return self.predict_class_proba(texts)[:, -1] if len(texts) else np.zeros(0)


def load_run(run_dir, meta: dict) -> ServiceModel:
    """Loader for `azure-language` / `azure-endpoint` evaluation runs: the run folder holds the evaluation, not a
    model, so the model asks the live service."""
    return ServiceModel(get_service(meta["kind"]), meta.get("approach"))
