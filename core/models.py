"""One interface for every approach: `predict_proba(texts) -> P(positive)`, and `load(run_dir)`.

Loaders are imported lazily by run kind, so loading a logistic-regression run never pulls in TensorFlow
or PyTorch.
"""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import Sequence

import joblib
import numpy as np

from core.runs import read_json

LOADERS = {
    "logreg": "core.models:load_sklearn",
    "keras": "core.keras_model:load",
    "transformer": "core.transformer_model:load",
    "azure-language": "core.azure.services:load_run",
    "azure-endpoint": "core.azure.services:load_run",
}


class ModelLoadError(Exception):
    """A run folder that cannot be turned into a model, with the reason."""


class SentimentModel:
    """Base class: subclasses implement `_predict(texts)` on non-empty input."""

    kind = "?"

    def __init__(self, name: str):
        self.name = name

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """P(positive) per text, shape (n,)."""
        texts = ["" if t is None or (isinstance(t, float) and np.isnan(t)) else str(t) for t in texts]
        if not texts:
            return np.zeros(0)
        return np.asarray(self._predict(texts), dtype=float).reshape(-1)

    def predict(self, texts: Sequence[str], threshold: float = 0.5) -> np.ndarray:
        return (self.predict_proba(texts) >= threshold).astype(int)

    def _predict(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError


class SklearnModel(SentimentModel):
    kind = "logreg"

    def __init__(self, pipeline, name: str):
        super().__init__(name)
        self.pipeline = pipeline

    def _predict(self, texts: list[str]) -> np.ndarray:
        return self.pipeline.predict_proba(texts)[:, 1]


def load_sklearn(run_dir: Path, meta: dict) -> SklearnModel:
    return SklearnModel(joblib.load(run_dir / "model.joblib"), meta.get("approach", "logreg"))


def load(run_dir: str | Path) -> SentimentModel:
    """The model of a run folder, whatever its kind."""
    run_dir = Path(run_dir)
    meta = read_json(run_dir / "run.json")
    if not isinstance(meta, dict):
        raise ModelLoadError(f"{run_dir} is not a run folder (no readable run.json)")
    if meta.get("status") != "succeeded":
        raise ModelLoadError(f"run {run_dir.name} is {meta.get('status')}, not succeeded")
    kind = meta.get("kind")
    if kind not in LOADERS:
        raise ModelLoadError(f"run {run_dir.name} has unknown kind {kind!r}; known: {sorted(LOADERS)}")
    module_name, func_name = LOADERS[kind].split(":")
    try:
        loader = getattr(importlib.import_module(module_name), func_name)
    except ImportError as exc:
        raise ModelLoadError(f"cannot load {kind} runs: {exc}") from exc
    return loader(run_dir, meta)
