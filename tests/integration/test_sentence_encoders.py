"""The real encoders, on a handful of tweets: shapes, norms, and that they read sentiment and (e5) French."""

from __future__ import annotations

import numpy as np
import pytest

from core.embedding.encoders import E5, MINILM, load_encoder

TWEETS = [
    "worst airline ever, lost my bag again",
    "thank you for the lovely crew and a smooth flight",
    "vol annulé, personne pour nous aider, honteux",
    "merci pour ce vol magnifique, équipage adorable",
    "",
    "😞",
]


@pytest.mark.parametrize("name", [E5, MINILM])
def test_a_real_encoder_embeds_tweets_once_per_process(name):
    encoder = load_encoder(name)
    assert load_encoder(name) is encoder and encoder.version
    vectors = encoder.embed(TWEETS)
    assert vectors.shape == (len(TWEETS), encoder.dim) == (6, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)
    assert np.allclose(encoder.embed(TWEETS[:1])[0], vectors[0], atol=1e-4)  # batching changes nothing
    similarity = vectors @ vectors.T
    if name == E5:  # reads French: an English complaint is nearer a French complaint than French praise
        assert similarity[0, 2] > similarity[0, 3]
    assert similarity[0, 1] < 0.9
