"""Complaint-reason test material: a stand-in sentence encoder and small feeds with known topics.

Every tweet here is written for the tests (templates + a seeded RNG), none comes from a data set.
The stand-in encoder is TF-IDF (1-2 grams) then a 20-dimension SVD fitted once on a corpus, plus one constant
dimension that makes every cosine lie close to 1 as e5's do (0.85-0.90: what the zero-shot prior's temperature is
set for; distances between tweets keep their order), rows L2-normalised: deterministic, the interface of
core.embedding's encoders (`.name`, `.dim`, `.embed`), milliseconds.
"""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from core.reasons.clusters import STOP, TOKEN

OPENERS = ["", "ugh", "seriously", "come on", "unbelievable", "again?", "really", "great,", "wow", "so"]
ENDINGS = ["", "!!", "...", "#fail", "never again", "fix this", "thanks for nothing", ":(", "what a mess", "help"]
TOPICS = {
    "tarmac": [
        "stuck on the tarmac at ORD for two hours",
        "still stuck on the tarmac at ORD, no gate available",
        "we have been sitting on the tarmac at ORD forever",
        "stuck on the tarmac at ORD and the pilot says nothing",
        "three hours stuck on the tarmac at ORD with kids",
    ],
    "denver": [
        "my bag is lost at baggage claim in Denver",
        "baggage claim in Denver has no idea where my bag is",
        "lost bag in Denver, nobody at baggage claim helps",
        "two hours at baggage claim in Denver and my bag is lost",
        "Denver baggage claim lost my bag again",
    ],
    "wifi": [
        "the wifi on board is not working at all",
        "paid for wifi on board and it is not working",
        "wifi not working on board the whole flight",
        "why is the onboard wifi never working",
        "no wifi on board again, it is not working",
    ],
}
BACKGROUND = [
    "customer service put me on hold for an hour",
    "my flight was delayed this morning",
    "the seat was broken and nobody cared",
    "your app logged me out during check in",
    "the agent at the counter was rude",
    "refund still not processed after a month",
    "connection missed because of the delay",
    "the plane was dirty",
    "they charged me for a carry on",
    "the boarding process was chaos",
    "my flight got cancelled yesterday",
    "no food for sale on a five hour flight",
]
UNRELATED = ["why is my upgrade not showing", "the gate agent changed my seat", "boarding pass will not print"]


class StandInEncoder:
    """TF-IDF + SVD(20) fitted on `corpus`; embed() any text after that."""

    name = "stand-in tfidf-svd"

    def __init__(self, corpus: list[str], dim: int = 20, spread: float = 0.2):
        self.vectorizer = TfidfVectorizer(ngram_range=(1, 2), stop_words=STOP, token_pattern=TOKEN, sublinear_tf=True)
        self.svd = TruncatedSVD(dim, random_state=0).fit(self.vectorizer.fit_transform(corpus))
        self.dim = dim + 1
        self.spread = spread
        self.calls = 0

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        v = normalize(self.svd.transform(self.vectorizer.transform(list(texts))))
        return normalize(np.hstack([self.spread * v, np.ones((len(v), 1))])).astype(np.float32)


def decorate(rng: np.random.Generator, base: str) -> str:
    return " ".join(p for p in [rng.choice(OPENERS), base, rng.choice(ENDINGS)] if p)


def topic_feed(seed: int = 0, per_topic: int = 15, previous_n: int = 60) -> tuple[list[str], np.ndarray, list[str]]:
    """(window texts, each one's topic or 'unrelated', the previous windows' texts)."""
    rng = np.random.default_rng(seed)
    window, truth = [], []
    for topic, bases in TOPICS.items():
        window += [decorate(rng, bases[i % len(bases)]) for i in range(per_topic)]
        truth += [topic] * per_topic
    window += [decorate(rng, base) for base in UNRELATED]
    truth += ["unrelated"] * len(UNRELATED)
    previous = [decorate(rng, BACKGROUND[i % len(BACKGROUND)]) for i in range(previous_n)]
    return window, np.array(truth), previous
