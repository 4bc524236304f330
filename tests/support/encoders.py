"""A fake sentence encoder for unit tests: no model, microseconds per text, yet informative.

Each word gets a fixed pseudo-random vector (from a hash of the word, so every process agrees); a text is the
L2-normalised sum of its words' vectors. A logistic-regression head learns the tiny data sets of
tests/support/data.py from it, as it would from a real encoder. `install_fake_encoder(monkeypatch)` puts it in
place of every real encoder name, so code under test calls `load_encoder(...)` as in production.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

from core.embedding import encoders

DIM = 32


def word_vector(word: str) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
    return np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)


class FakeEncoder(encoders.SentenceEncoder):
    dim, version, languages, runtime = DIM, "fake==1", "multilingual", "word hashing"

    def __init__(self, name: str = encoders.E5):
        super().__init__(threads=1)
        self.name = name
        self.calls: list[int] = []  # how many texts each embed() call was given

    def embed(self, texts):
        self.calls.append(len(texts))
        return super().embed(texts)

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIM), np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[row] += word_vector(word)
        return out


def install_fake_encoder(monkeypatch) -> dict[str, FakeEncoder]:
    """Every known encoder name builds a FakeEncoder of that name (once per test); returns them by name."""
    fakes = {name: FakeEncoder(name) for name in encoders.ENCODERS}
    for name, fake in fakes.items():
        monkeypatch.setitem(encoders.ENCODERS, name, lambda fake=fake: fake)
    encoders.forget_loaded_encoders()
    return fakes
