"""The negative share of a window, estimated from per-tweet probabilities, with its interval.

The gauge's quantity is the negative share of a window: negative tweets ÷ all tweets, neutral ones included.
Counting the tweets a model calls negative (classify and count) is biased whenever the model's errors do not
cancel; with calibrated probabilities the mean P(negative) of the window (probabilistic classify and count,
PCC) is unbiased, and measured best: on the airline set under the time-split protocol (issue 22; QuaPy 0.2.3's
CC, PCC, ACC, PACC, EMQ/SLD and HDy compared on the same posteriors) PCC on an in-domain mapping gave 3.9 points
of error with 300 labels where ACC, PACC, EMQ and HDy gave 10–17, because the adjusted methods amplify the
noise of a misclassification rate measured on a few hundred labels.

The interval ("pb+refit", normal approximation at `LEVEL`):
- the window's own noise: given calibrated p_i, the true count is Poisson-binomial, variance Σ p_i (1 − p_i) / n²;
- the mapping's noise: the in-domain classifier refit on `REFITS` bootstrap resamples of its labels, the spread
  of the window's PCC over those refits (`InDomainMapping.refit_spread`);
- the mapping's own error with time in it (`forward_sd`): the labels in time order, cut in `BLOCKS`; each later
  block's share per group estimated by a fit on the blocks before it; what that error holds beyond the
  Poisson-binomial noise. Refits alone see sampling noise, not drift: with them only, the airline intervals covered
  0.865 of the windows with 300 labels but 0.757 with 1,000 (narrower, the bias unchanged); with the forward
  term, 0.919 and 0.865 (research check on the same windows, /work/research/gauge/final/fwd_check.py).

`InDomainMapping` is the three-class logistic regression trained on labelled in-domain tweets (features: a
sentence embedding and the scoring run's own log-odds), C chosen by out-of-fold log-loss: the share estimate
needs good probabilities more than accuracy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold

LEVEL = 0.9  # the interval's nominal coverage
REFITS = 30  # bootstrap refits of the mapping behind the interval's model term
BLOCKS = 4  # time blocks of the labels behind the forward model term
MIN_BLOCK_TWEETS = 25  # a group's tweets in a block needed for its error to count
C_GRID = (3.0, 10.0, 30.0, 100.0)
FOLDS = 5
NEGATIVE, NEUTRAL, POSITIVE = 0, 1, 2


@dataclass(frozen=True)
class ShareEstimate:
    """A window's negative share: the estimate, its interval at `LEVEL`, and P(true share ≥ threshold)."""

    n: int
    share: float
    low: float
    high: float
    sd: float
    p_over: float


def poisson_binomial_sd(p_negative) -> float:
    """Standard deviation of a window's true negative share given calibrated per-tweet P(negative)."""
    p = np.asarray(p_negative, dtype=float)
    return float(math.sqrt(float((p * (1 - p)).sum())) / len(p)) if len(p) else 0.0


def estimate_share(p_negative, threshold: float, model_sd: float = 0.0, level: float = LEVEL) -> ShareEstimate:
    """PCC estimate of one window from its tweets' P(negative) (NaN rows ignored), with the interval from the
    window's Poisson-binomial noise and `model_sd` (the mapping's own spread) added in quadrature."""
    p = np.asarray(p_negative, dtype=float)
    p = p[np.isfinite(p)]
    if not len(p):
        return ShareEstimate(0, math.nan, math.nan, math.nan, math.nan, math.nan)
    share = float(p.mean())
    sd = math.sqrt(poisson_binomial_sd(p) ** 2 + float(model_sd) ** 2)
    low, high = interval(share, sd, level)
    return ShareEstimate(len(p), share, low, high, sd, probability_over(share, sd, threshold))


def interval(share: float, sd: float, level: float = LEVEL) -> tuple[float, float]:
    z = float(norm.ppf(0.5 + level / 2))
    return max(0.0, share - z * sd), min(1.0, share + z * sd)


def probability_over(share: float, sd: float, threshold: float) -> float:
    """P(true share ≥ threshold) under the normal approximation (a step when sd is 0)."""
    if sd <= 0:
        return float(share >= threshold)
    return float(1.0 - norm.cdf((threshold - share) / sd))


# ------------------------------------------------------------------ the in-domain mapping


def classifier(C: float) -> LogisticRegression:
    return LogisticRegression(C=C, max_iter=3000)


def proba3(model: LogisticRegression, X) -> np.ndarray:
    """(n, 3) probabilities in negative, neutral, positive order (a class the labels lack stays at 0)."""
    out = np.zeros((X.shape[0], 3))
    out[:, model.classes_] = model.predict_proba(X)
    return out


def out_of_fold_proba(X, y, C: float, seed: int = 0) -> np.ndarray:
    """Out-of-fold (n, 3) probabilities of the labelled tweets."""
    counts = np.bincount(y, minlength=3)
    folds = int(min(FOLDS, counts[counts > 0].min()))
    out = np.zeros((len(y), 3))
    if folds < 2:
        return np.tile(counts / counts.sum(), (len(y), 1))
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(X, y):
        out[test] = proba3(classifier(C).fit(X[train], y[train]), X[test])
    return out


def pick_c(X, y, seed: int = 0, grid=C_GRID) -> tuple[float, dict[float, float]]:
    """C of the grid with the lowest out-of-fold log-loss."""
    losses = {C: float(log_loss(y, _normalised(out_of_fold_proba(X, y, C, seed)), labels=[0, 1, 2])) for C in grid}
    return min(losses, key=losses.get), losses


def _normalised(proba: np.ndarray) -> np.ndarray:
    clipped = proba.clip(1e-6, 1)
    return clipped / clipped.sum(axis=1, keepdims=True)


def forward_sd(X, y, groups, C: float, blocks: int = BLOCKS) -> tuple[float, int]:
    """The mapping's error with time in it, from labels in time order: block j (per group with MIN_BLOCK_TWEETS
    tweets) estimated by a fit on blocks < j; sd² = mean(error² − Poisson-binomial variance), floored at 0.
    Returns the sd and how many group-blocks it rests on (0: no term)."""
    X, y, groups = np.asarray(X, dtype=float), np.asarray(y, dtype=int), np.asarray(groups)
    edges = np.linspace(0, len(y), blocks + 1).astype(int)
    excess = []
    for j in range(1, blocks):
        train, test = slice(0, edges[j]), slice(edges[j], edges[j + 1])
        if len(np.unique(y[train])) < 2:
            continue
        p_negative = proba3(classifier(C).fit(X[train], y[train]), X[test])[:, NEGATIVE]
        for group in np.unique(groups[test]):
            rows = groups[test] == group
            if rows.sum() >= MIN_BLOCK_TWEETS:
                error = p_negative[rows].mean() - (y[test][rows] == NEGATIVE).mean()
                excess.append(error**2 - poisson_binomial_sd(p_negative[rows]) ** 2)
    return (math.sqrt(max(float(np.mean(excess)), 0.0)), len(excess)) if excess else (0.0, 0)


class InDomainMapping:
    """Three-class logistic regression from features to P(negative, neutral, positive), fit on labelled tweets."""

    def __init__(self, seed: int = 0, grid=C_GRID):
        self.seed, self.grid = seed, tuple(grid)
        self.C: float | None = None
        self.losses: dict[float, float] = {}
        self.model: LogisticRegression | None = None
        self._X = self._y = None

    def fit(self, X, y) -> InDomainMapping:
        X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=int)
        if len(np.unique(y)) < 2:
            raise ValueError("the in-domain labels need at least two classes")
        self.C, self.losses = pick_c(X, y, self.seed, self.grid)
        self.model = classifier(self.C).fit(X, y)
        self._X, self._y = X, y
        return self

    def predict_proba(self, X) -> np.ndarray:
        return proba3(self.model, np.asarray(X, dtype=float))

    def refit_spread(self, X, windows: list[np.ndarray], refits: int = REFITS) -> np.ndarray:
        """Per window, the standard deviation of its PCC over `refits` fits on bootstrap resamples of the labels."""
        rng = np.random.default_rng(self.seed)
        X = np.asarray(X, dtype=float)
        draws = np.zeros((refits, len(windows)))
        for b in range(refits):
            pick = rng.integers(0, len(self._y), len(self._y))
            if len(np.unique(self._y[pick])) < 2:
                pick = np.arange(len(self._y))
            p_negative = proba3(classifier(self.C).fit(self._X[pick], self._y[pick]), X)[:, NEGATIVE]
            draws[b] = [p_negative[w].mean() for w in windows]
        return draws.std(axis=0, ddof=1) if refits > 1 else np.zeros(len(windows))

    def describe(self) -> dict:
        return {"C": self.C, "labels": int(len(self._y)), "label_counts": np.bincount(self._y, minlength=3).tolist()}
