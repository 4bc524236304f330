"""Zero-shot reasons: the cosine between a tweet's embedding and each reason's prototype, the unit mean of the
embeddings of the reason's description and examples (measured best of the variants tried: benchmarks/reasons.py,
README "Complaint reasons"); the reason is the closest prototype."""

from __future__ import annotations

import numpy as np

from core.reasons.taxonomy import Taxonomy


def unit_rows(m: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(m, axis=-1, keepdims=True)
    return m / np.where(norms == 0, 1.0, norms)


class ZeroShot:
    """Prototypes of a taxonomy under one encoder; `cosines(x)` (n, reasons) and `tag(x)` (a name per row)."""

    def __init__(self, taxonomy: Taxonomy, embed):
        """`embed(texts) -> (n, dim)`: the encoder's (or a cached copy of its answers)."""
        self.names = taxonomy.names
        texts = [reason.texts() for reason in taxonomy.reasons]
        flat = embed([t for group in texts for t in group])
        bounds = np.cumsum([0, *(len(group) for group in texts)])
        self.prototypes = unit_rows(np.stack([flat[a:b].mean(0) for a, b in zip(bounds[:-1], bounds[1:])]))

    def cosines(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=np.float32) @ self.prototypes.T

    def tag(self, x: np.ndarray) -> list[str]:
        if len(x) == 0:
            return []
        return [self.names[i] for i in self.cosines(x).argmax(1)]
