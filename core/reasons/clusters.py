"""What an alert window's negative tweets are about: clusters of their embeddings (HDBSCAN, after UMAP for windows
of UMAP_FROM tweets or more, as BERTopic does), each named by its distinctive phrases (class-based TF-IDF where the
previous windows of the same group are one more class, so what was said before scores low), its size and
representative tweets; what is new (a cluster phrase far more frequent than before, from several authors); and the
alert's one line: "mostly: Late Flight (46 %), Cancelled Flight (21 %); new: 'stuck on the tarmac at ORD'".

Measured choices (README "Complaint reasons"): HDBSCAN on raw or PCA-reduced e5 vectors of 200 real tweets puts
most of them in noise, UMAP(5, cosine) before it finds 5-15 clusters; "new" needs lift >= 5 and >= 3 authors (or
distinct texts), else weak phrases ('status', 'tonight') are shown as news.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np
from sklearn.cluster import HDBSCAN
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

from core.reasons.text import clean

# words that say nothing about a complaint on an airline's (or any brand's) account; mentions are stripped before
EXTRA_STOP = {"flight", "flights", "amp", "just", "im", "dont", "thanks", "thank", "get", "got", "u", "rt"}
STOP = sorted(ENGLISH_STOP_WORDS | EXTRA_STOP)
TOKEN = r"(?u)\b\w[\w']+\b"
GAP = r"\W+(?:[\w']+\W+){0,3}?"  # how an n-gram's words are found in a text: up to 3 stop words between them
UMAP_FROM = 30  # windows smaller than this are clustered on the embeddings themselves
MIN_CLUSTER_SIZE, MIN_SAMPLES = 8, 3
PHRASES, REPRESENTATIVES = 3, 3
MIN_LIFT, MIN_AUTHORS = 5.0, 3
SHOWN_REASONS = 2
SHOWN_CLUSTERS = 3
MAX_PHRASE_CHARS = 60


@dataclass
class Cluster:
    size: int
    phrases: list[str]
    representatives: list[str]
    reason: str = ""  # its most common complaint reason
    reason_share: float = 0.0


@dataclass
class Explanation:
    tweets: int
    reasons: dict[str, int]  # complaint reason -> tweets, most first
    clusters: list[Cluster] = field(default_factory=list)  # largest first
    unclustered: int = 0
    new: str = ""  # the phrase that is new against the previous windows ('' when nothing is)
    new_lift: float = 0.0
    new_tweets: int = 0
    method: str = ""  # how the reasons were tagged

    def summary(self) -> str:
        """The alert's line: the top reasons with their share of the window's negative tweets, and what is new."""
        if not self.tweets:
            return "no negative tweet to explain"
        top = list(self.reasons.items())[:SHOWN_REASONS]
        mostly = ", ".join(f"{name} ({100 * n / self.tweets:.0f} %)" for name, n in top)
        new = f"new: '{self.new}'" if self.new else "nothing new against the previous windows"
        return f"mostly: {mostly}; {new}"

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Explanation:
        clusters = [Cluster(**c) for c in data.get("clusters", [])]
        return cls(**{**data, "clusters": clusters})

    @classmethod
    def parse(cls, text: str | None) -> Explanation | None:
        """The explanation stored as JSON text (an alert's), or None when there is none or it cannot be read."""
        if not text:
            return None
        try:
            return cls.from_json(json.loads(text))
        except (ValueError, TypeError, KeyError):
            return None

    def cluster_lines(self, top: int = SHOWN_CLUSTERS, chars: int = MAX_PHRASE_CHARS) -> list[str]:
        """One line per cluster, largest first: its size and phrases."""
        lines = []
        for c in self.clusters[:top]:
            phrases = ", ".join(f"'{p[:chars]}'" for p in c.phrases) or "(no distinctive phrase)"
            lines.append(f"{c.size} tweets: {phrases}" + (f" — mostly {c.reason}" if c.reason else ""))
        return lines


def cluster_labels(x: np.ndarray, seed: int = 0) -> np.ndarray:
    """HDBSCAN labels (-1 = noise) of unit embeddings; UMAP to 5 dimensions first for UMAP_FROM rows or more."""
    if len(x) < MIN_CLUSTER_SIZE:
        return np.full(len(x), -1)
    z = reduced(x, seed) if len(x) >= UMAP_FROM else x
    return HDBSCAN(min_cluster_size=MIN_CLUSTER_SIZE, min_samples=MIN_SAMPLES, copy=True).fit_predict(z)


def reduced(x: np.ndarray, seed: int = 0) -> np.ndarray:
    """UMAP to 5 dimensions (cosine, 15 neighbours, min_dist 0: BERTopic's settings)."""
    from umap import UMAP  # numba: compiled once per process (minutes on a loaded small CPU), then ~1 s per window

    umap = UMAP(n_neighbors=min(15, len(x) - 1), n_components=5, min_dist=0.0, metric="cosine", random_state=seed)
    return umap.fit_transform(x)


def class_tfidf(counts: np.ndarray) -> np.ndarray:
    """BERTopic's c-TF-IDF (reduce_frequent_words): sqrt term counts L1-normalised per class, times
    log(1 + mean words per class / the term's count over all classes)."""
    idf = np.log(1 + int(counts.sum(1).mean()) / np.maximum(counts.sum(0), 1e-9))
    tf = np.sqrt(counts)
    return tf / np.maximum(tf.sum(1, keepdims=True), 1e-12) * idf


def name_clusters(texts: list[str], labels: np.ndarray, previous: list[str], top: int = PHRASES) -> dict[int, list]:
    """Each cluster's distinctive phrases (1-3 grams in >= 2 of its tweets), as people wrote them. Classes: each
    cluster, the window's unclustered tweets, and the previous windows."""
    ids = sorted(set(labels) - {-1})
    vectorizer = CountVectorizer(ngram_range=(1, 3), stop_words=STOP, token_pattern=TOKEN)
    try:
        vectorizer.fit(list(texts) + list(previous))
    except ValueError:  # nothing but stop words
        return {c: [] for c in ids}
    terms = vectorizer.transform(texts)
    rows = [np.asarray(terms[labels == c].sum(0)).ravel() for c in [*ids, -1]]
    rows.append(np.asarray(vectorizer.transform(previous).sum(0)).ravel() if previous else np.zeros(terms.shape[1]))
    scores = class_tfidf(np.vstack(rows).astype(float))
    vocabulary = vectorizer.get_feature_names_out()
    names = {}
    for i, c in enumerate(ids):
        docs_with = np.asarray((terms[labels == c] > 0).sum(0)).ravel()
        score = np.where(docs_with >= 2, scores[i], -1)
        order = [j for j in np.argsort(-score)[: top * 10] if score[j] > 0]
        picked = _without_overlap([vocabulary[j] for j in order], [docs_with[j] for j in order], top)
        names[c] = [surface_form(t, texts) for t in picked]
    return names


def _contains(longer: str, shorter: str) -> bool:
    return re.search(rf"\b{re.escape(shorter)}\b", longer) is not None


def _without_overlap(terms: list[str], support: list[int], k: int, keep_longer: float = 0.7) -> list[str]:
    """The best terms, none inside another; a longer phrase replaces a kept one it contains when it is in at least
    keep_longer x as many tweets ('baggage claim' over 'baggage')."""
    kept: list[tuple[str, int]] = []
    for term, n in zip(terms, support):
        clash = [i for i, (s, _) in enumerate(kept) if _contains(s, term) or _contains(term, s)]
        if not clash:
            if len(kept) < k:
                kept.append((term, n))
        elif len(clash) == 1 and _contains(term, kept[clash[0]][0]) and n >= keep_longer * kept[clash[0]][1]:
            kept[clash[0]] = (term, kept[clash[0]][1])
    return [t for t, _ in kept]


def phrase_pattern(phrase: str) -> re.Pattern:
    """The phrase's content words in order, with up to 3 other words between them."""
    words = [w for w in re.findall(TOKEN, phrase.lower()) if w not in STOP] or [phrase.lower()]
    return re.compile(r"\b" + GAP.join(re.escape(w) for w in words) + r"\b", re.I)


def surface_form(term: str, texts: list[str]) -> str:
    """The n-gram as most often written ('stuck tarmac ord' -> 'stuck on the tarmac at ORD'), capped in length."""
    pattern = re.compile(r"\b" + GAP.join(re.escape(t) for t in term.split()) + r"\b", re.I)
    found = Counter(m.group(0) for t in texts for m in pattern.finditer(t))
    shown = found.most_common(1)[0][0] if found else term
    return shown if len(shown) <= MAX_PHRASE_CHARS else term


def whats_new(texts, labels, previous, names, authors=None) -> tuple[str, float, int] | None:
    """The cluster phrase most over-represented against the previous windows, best by share x log(lift):
    (phrase, lift, tweets), or None. lift = share of the window's distinct tweets holding it (in its cluster) /
    smoothed share (+0.5 tweet) of the previous windows' distinct tweets; needs lift >= MIN_LIFT and MIN_AUTHORS
    distinct authors (distinct texts when authors are unknown)."""
    before = list(dict.fromkeys(t.lower() for t in previous))
    window = len({t.lower() for t in texts}) or 1
    best, best_score = None, 0.0
    for c, phrases in names.items():
        members = np.flatnonzero(labels == c)
        for phrase in phrases:
            pattern = phrase_pattern(phrase)
            hits = [i for i in members if pattern.search(texts[i])]
            people = {authors[i] for i in hits} if authors is not None else {texts[i].lower() for i in hits}
            n = min(len({texts[i].lower() for i in hits}), len(people))
            lift = (n / window) / ((sum(bool(pattern.search(t)) for t in before) + 0.5) / (len(before) + 1))
            score = n / window * np.log(lift) if lift > 1 else 0.0
            if n >= MIN_AUTHORS and lift >= MIN_LIFT and score > best_score:
                best, best_score = (phrase, float(lift), n), score
    return best


def representatives(x: np.ndarray, labels: np.ndarray, shown: list[str], k: int = REPRESENTATIVES) -> dict:
    """The k distinct tweets closest to each cluster's mean embedding."""
    out = {}
    for c in sorted(set(labels) - {-1}):
        members = np.flatnonzero(labels == c)
        order = members[np.argsort(-(x[members] @ x[members].mean(0)))]
        out[c] = list(dict.fromkeys(shown[i] for i in order))[:k]
    return out


def explain_window(x, texts, reasons, previous, authors=None, method: str = "", seed: int = 0) -> Explanation:
    """x: the window's negative tweets' embeddings; texts: those tweets; reasons: their complaint reasons;
    previous: the texts of the previous windows' negative tweets of the same group; authors: who wrote each."""
    x = np.asarray(x, dtype=np.float32)
    cleaned, prior = [clean(t) for t in texts], [clean(t) for t in previous]
    labels = cluster_labels(x, seed)
    names = name_clusters(cleaned, labels, prior)
    shown = [" ".join(str(t).split()) for t in texts]
    reps = representatives(x, labels, shown)
    clusters = [_cluster(names[c], reps[c], [r for r, lab in zip(reasons, labels) if lab == c]) for c in names]
    new = whats_new(cleaned, labels, prior, names, authors)
    explanation = Explanation(len(texts), dict(Counter(reasons).most_common()), method=method)
    explanation.clusters = sorted(clusters, key=lambda c: -c.size)
    explanation.unclustered = int((labels == -1).sum())
    if new:
        explanation.new, explanation.new_lift, explanation.new_tweets = new
    return explanation


def _cluster(phrases: list[str], reps: list[str], reasons: list[str]) -> Cluster:
    top = Counter(reasons).most_common(1)
    reason, n = top[0] if top else ("", 0)
    return Cluster(len(reasons), phrases, reps, reason, n / len(reasons) if reasons else 0.0)


def warm_up() -> None:
    """Compile UMAP's numba code now (tens of seconds, once per process) rather than at the first alert."""
    reduced(np.random.default_rng(0).normal(size=(40, 8)).astype(np.float32))
