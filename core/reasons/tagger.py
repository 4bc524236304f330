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


def build_tagger(
    encoder, taxonomy: Taxonomy, tags: pd.DataFrame | None = None, min_tags: int = MIN_TAGS, cached=None
) -> Tagger:
    """`tags`: columns text, reason (the analysts'); tags whose reason is not in the taxonomy are left out.
    `cached(texts) -> (n, dim)`: the encoder's answers kept on disk, for the taxonomy's texts and the tags."""
    zero_shot = ZeroShot(taxonomy, cached or encoder.embed)
    tags = tags if tags is not None else pd.DataFrame(columns=["text", "reason"])
    tags = tags[tags["reason"].isin(taxonomy.names)]
    tagger = Tagger(encoder, taxonomy, zero_shot, SwitchDecision(len(tags), None, None, False, min_tags))
    if len(tags) < min_tags:
        return tagger
    x = np.asarray((cached or encoder.embed)([clean(t) for t in tags["text"]]), dtype=np.float32)
    reasons = tags["reason"].to_numpy()
    cosines = zero_shot.cosines(x)
    tagger.decision = decide(taxonomy.names, x, reasons, cosines, min_tags)
    if tagger.decision.use_learned:
        tagger.head = LearnedHead(taxonomy.names).fit(x, reasons, cosines)
    return tagger


def load_tagger(encoder=None) -> Tagger:
    """The product's tagger: the configured taxonomy, the analysts' tags, core.embedding's default encoder (the
    taxonomy's and the tags' embeddings kept in its on-disk cache, so a restart does not embed them again)."""
    from core.data.corrections import reason_tags
    from core.embedding.cache import cached_embeddings
    from core.embedding.encoders import load_encoder

    encoder = encoder or load_encoder()
    return build_tagger(
        encoder, load_taxonomy(), reason_tags(), cached=lambda texts: cached_embeddings(encoder, texts, "reasons")
    )


def reason_table(reasons: list[str], groups: list[str] | None = None) -> pd.DataFrame:
    """Tweets per complaint reason (most first), per group when `groups` are given: columns reason, [group],
    tweets, share (of the group's tagged tweets)."""
    frame = pd.DataFrame({"reason": reasons, "group": groups if groups is not None else ""})
    counts = frame.groupby(["group", "reason"]).size().reset_index(name="tweets")
    counts["share"] = counts["tweets"] / counts.groupby("group")["tweets"].transform("sum")
    counts = counts.sort_values(["group", "tweets"], ascending=[True, False]).reset_index(drop=True)
    return counts if groups is not None else counts.drop(columns="group")
