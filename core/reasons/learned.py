"""Learned reasons: a head trained on the analysts' reason tags, and the measured rule that switches to it.

The head (measured best at 500 tags on the airline export; benchmarks/reasons.py): the standardised embedding into a
class-balanced logistic regression (C = 0.01), whose log-probabilities are added to the zero-shot prior
log-softmax(cosine / 0.01) (a product of experts), so reasons the tags rarely show still come from the prototypes.

The switch: the head replaces zero-shot once there are MIN_TAGS tags and its k-fold cross-validated accuracy on
the tags beats zero-shot's accuracy on the same tags (both measured on what the product has: the tags alone).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import log_softmax
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

MIN_TAGS = 500  # below it the head's macro-F1 was not reliably above zero-shot's (README)
FOLDS = 5
C = 0.01
PRIOR_TEMPERATURE = 0.01  # e5's cosines to the prototypes all lie within ~0.85-0.90: a sharp softmax


class LearnedHead:
    """fit(x, reasons, cosines) then predict(x, cosines): `cosines` are the zero-shot ones of the same rows,
    columns in `names` order."""

    def __init__(self, names: list[str], c: float = C, temperature: float = PRIOR_TEMPERATURE):
        self.names = list(names)
        self.temperature = temperature
        self.model = make_pipeline(StandardScaler(), LogisticRegression(C=c, class_weight="balanced", max_iter=3000))

    def fit(self, x: np.ndarray, reasons, cosines: np.ndarray) -> LearnedHead:
        reasons = np.asarray(reasons)
        if len(set(reasons)) < 2:
            raise ValueError("a learned head needs tags of at least two reasons")
        self.model.fit(x, reasons)
        self.columns = [self.names.index(c) for c in self.model.classes_]
        return self

    def predict(self, x: np.ndarray, cosines: np.ndarray) -> np.ndarray:
        prior = log_softmax(np.asarray(cosines)[:, self.columns] / self.temperature, axis=1)
        return self.model.classes_[(self.model.predict_log_proba(x) + prior).argmax(1)]


@dataclass(frozen=True)
class SwitchDecision:
    tags: int
    learned_accuracy: float | None  # the head's k-fold accuracy on the tags (None: not measured, too few)
    zero_shot_accuracy: float | None  # zero-shot's accuracy on the same tags
    use_learned: bool
    min_tags: int = MIN_TAGS

    def describe(self) -> str:
        if self.learned_accuracy is None:
            return f"zero-shot ({self.tags} reason tags; the learned head is tried from {self.min_tags})"
        figures = f"cross-validated {self.learned_accuracy:.1%} against zero-shot {self.zero_shot_accuracy:.1%}"
        if self.use_learned:
            return f"learned from {self.tags} reason tags ({figures} on the tags)"
        return f"zero-shot: the head learned from {self.tags} tags does not beat it ({figures})"


def cv_accuracy(names: list[str], x: np.ndarray, reasons, cosines: np.ndarray, folds: int = FOLDS, seed=0) -> float:
    """k-fold accuracy of the head on the tags (stratified when every reason has k tags)."""
    reasons = np.asarray(reasons)
    _, counts = np.unique(reasons, return_counts=True)
    split = StratifiedKFold if counts.min() >= folds else KFold
    right = 0
    for train, test in split(folds, shuffle=True, random_state=seed).split(x, reasons):
        if len(set(reasons[train])) < 2:
            continue  # a fold with one reason: nothing to learn; its rows count as wrong
        head = LearnedHead(names).fit(x[train], reasons[train], cosines[train])
        right += int((head.predict(x[test], cosines[test]) == reasons[test]).sum())
    return right / len(reasons)


def decide(names: list[str], x: np.ndarray, reasons, cosines: np.ndarray, min_tags: int = MIN_TAGS) -> SwitchDecision:
    """The measured switch: enough tags, and the head's cross-validated accuracy beats zero-shot's on them."""
    reasons = np.asarray(reasons)
    if len(reasons) < min_tags or len(set(reasons)) < 2:
        return SwitchDecision(len(reasons), None, None, False, min_tags)
    learned = cv_accuracy(names, x, reasons, cosines)
    zero_shot = float((np.asarray(names)[cosines.argmax(1)] == reasons).mean())
    return SwitchDecision(len(reasons), learned, zero_shot, learned > zero_shot, min_tags)
