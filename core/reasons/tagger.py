"""One object that tags negative tweets with a complaint reason: zero-shot, or the learned head once the measured
switch says so (core.reasons.learned), built from an encoder, the taxonomy and the analysts' tags."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.reasons.learned import MIN_TAGS, LearnedHead, SwitchDecision, decide
from core.reasons.taxonomy import Taxonomy, load_taxonomy
from core.reasons.text import clean
from core.reasons.zeroshot import ZeroShot


@dataclass
class Tagger:
    encoder: object
    taxonomy: Taxonomy
    zero_shot: ZeroShot
    decision: SwitchDecision
    head: LearnedHead | None = None

    @property
    def names(self) -> list[str]:
        return self.taxonomy.names

    @property
    def method(self) -> str:
        return self.decision.describe()

    def embed(self, texts: list[str]) -> np.ndarray:
        """The tweets' embeddings (cleaned text), float32 (n, dim)."""
        if not len(texts):
            return np.zeros((0, self.encoder.dim), dtype=np.float32)
        return np.asarray(self.encoder.embed([clean(t) for t in texts]), dtype=np.float32)

    def tag(self, x: np.ndarray) -> list[str]:
        """A reason per embedding row."""
        if len(x) == 0:
            return []
        if self.head is None:
            return self.zero_shot.tag(x)
        return list(self.head.predict(x, self.zero_shot.cosines(x)))

    def tag_texts(self, texts: list[str]) -> list[str]:
        return self.tag(self.embed(texts))


def build_tagger(encoder, taxonomy: Taxonomy, tags: pd.DataFrame | None = None, min_tags: int = MIN_TAGS) -> Tagger:
    """`tags`: columns text, reason (the analysts'); tags whose reason is not in the taxonomy are left out."""
    zero_shot = ZeroShot(taxonomy, encoder)
    tags = tags if tags is not None else pd.DataFrame(columns=["text", "reason"])
    tags = tags[tags["reason"].isin(taxonomy.names)]
    tagger = Tagger(encoder, taxonomy, zero_shot, SwitchDecision(len(tags), None, None, False, min_tags))
    if len(tags) < min_tags:
        return tagger
    x = tagger.embed(tags["text"].tolist())
    reasons = tags["reason"].to_numpy()
    cosines = zero_shot.cosines(x)
    tagger.decision = decide(taxonomy.names, x, reasons, cosines, min_tags)
    if tagger.decision.use_learned:
        tagger.head = LearnedHead(taxonomy.names).fit(x, reasons, cosines)
    return tagger


def load_tagger(encoder=None) -> Tagger:
    """The product's tagger: the configured taxonomy, the analysts' tags, core.embedding's default encoder."""
    from core.data.corrections import reason_tags

    if encoder is None:
        from core.embedding.encoders import load_encoder

        encoder = load_encoder()
    return build_tagger(encoder, load_taxonomy(), reason_tags())
