"""One interface for every approach: `predict_proba(texts) -> P(positive)`, `predict_class_proba(texts) -> (n, k)` in
the model's `classes` (core.data.labels: binary or three-way), and `load(run_dir)`.

Loaders are imported lazily by run kind (core.run_kinds names each kind's loader), so loading a
logistic-regression run never pulls in TensorFlow or PyTorch.
"""

from __future__ import annotations

import copy
import importlib
import pickle
from collections.abc import Sequence
from pathlib import Path

import joblib
import numpy as np

from core import run_kinds
from core.data.labels import BINARY_CLASSES, NEGATIVE, binary_proba, classes_for, is_three_way, positive_index
from core.tracking.runs import effective_status, read_json

CLASS_NAMES = BINARY_CLASSES  # label 0, label 1 of a binary run
# The decision rule of the model contract: P(positive) at or above it reads "positive". Metrics, batch and live
# scoring, the monitor, the endpoint and the pages all label through label_for / labels_for (a binary run) or
# labels_from_proba (any run), so they agree. A three-way run's label is its most probable class.
THRESHOLD = 0.5


def is_positive(p_pos) -> np.ndarray:
    """True where P(positive) reads as positive (NaN reads as not positive: mask missing scores first)."""
    return np.asarray(p_pos, dtype=float) >= THRESHOLD


def label_for(p_pos: float) -> str:
    """'positive' or 'negative' for one P(positive)."""
    return CLASS_NAMES[int(p_pos >= THRESHOLD)]


def labels_for(p_pos, missing: str = "") -> np.ndarray:
    """The label of each P(positive); `missing` where there is no score (NaN)."""
    p_pos = np.asarray(p_pos, dtype=float)
    return np.where(np.isnan(p_pos), missing, np.where(p_pos >= THRESHOLD, CLASS_NAMES[1], CLASS_NAMES[0]))


def class_codes(proba, classes=BINARY_CLASSES) -> np.ndarray:
    """The predicted label code (index in `classes`) per row of (n, k) class probabilities: a binary run by the
    THRESHOLD on P(positive), a three-way run by its most probable class (-1 where the row has no score)."""
    proba = np.asarray(proba, dtype=float).reshape(-1, len(classes))
    missing = np.isnan(proba).any(axis=1)
    if is_three_way(classes):
        codes = np.argmax(np.where(np.isnan(proba), -np.inf, proba), axis=1)
    else:
        codes = is_positive(proba[:, 1]).astype(int)
    return np.where(missing, -1, codes)


def labels_from_proba(proba, classes=BINARY_CLASSES, missing: str = "") -> np.ndarray:
    """The label of each row of (n, k) class probabilities; `missing` where there is no score. For a binary run it
    is `labels_for(P(positive))`, so every existing output keeps its labels."""
    codes = class_codes(proba, classes)
    names = np.array([*classes, missing], dtype=object)
    return names[np.where(codes < 0, len(classes), codes)].astype(str)


class ModelLoadError(Exception):
    """A run folder that cannot be turned into a model, with the reason."""


class SentimentModel:
    """Base class. `classes` is BINARY_CLASSES or THREE_CLASSES (core.data.labels). A binary model implements
    `_predict(texts)` -> P(positive), (n,); a three-way one `_predict_classes(texts)` -> (n, 3) class
    probabilities in `classes` order; both on non-empty input (None/NaN read as "")."""

    kind = "?"
    classes: tuple[str, ...] = BINARY_CLASSES
    # what it reads: "multilingual", the languages of its training tweets (run.json `languages`), or None (not
    # known: a run made before they were recorded); set by `load` (core.text.language.other_language_note)
    languages: str | tuple[str, ...] | None = None

    def __init__(self, name: str):
        self.name = name

    @staticmethod
    def _texts(texts: Sequence[str]) -> list[str]:
        return ["" if t is None or (isinstance(t, float) and np.isnan(t)) else str(t) for t in texts]

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """P(positive) per text, shape (n,), for every model (a three-way model's positive column)."""
        texts = self._texts(texts)
        if not texts:
            return np.zeros(0)
        if is_three_way(self.classes):
            return self.predict_class_proba(texts)[:, positive_index(self.classes)]
        return np.asarray(self._predict(texts), dtype=float).reshape(-1)

    def predict_class_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities per text, shape (n, k), columns in `self.classes` order (a binary model:
        [1 - P(positive), P(positive)]); NaN rows where the model has no answer (a cloud service)."""
        texts = self._texts(texts)
        if not is_three_way(self.classes):
            return binary_proba(self.predict_proba(texts))
        if not texts:
            return np.zeros((0, len(self.classes)))
        return np.asarray(self._predict_classes(texts), dtype=float).reshape(len(texts), len(self.classes))

    def predict_negative(self, texts: Sequence[str]) -> np.ndarray:
        """P(negative) per text, shape (n,), for any model (what the monitor's negative share is built from)."""
        return self.predict_class_proba(texts)[:, NEGATIVE]

    def predict_labels(self, texts: Sequence[str], missing: str = "") -> np.ndarray:
        """The label of each text by the one decision rule (labels_from_proba)."""
        return labels_from_proba(self.predict_class_proba(texts), self.classes, missing)

    @property
    def three_way(self) -> bool:
        return is_three_way(self.classes)

    @property
    def backend_label(self) -> str:
        """What serves the model, for people (Live scoring's and Résumé's "backend"): its kind's library or
        service (core.run_kinds); a transformer names its ONNX or PyTorch backend, an ensemble its members'."""
        return run_kinds.backend_label(self.kind)

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """Label codes as ints (the index in `classes`: 1 = positive for a binary model), by the decision rule."""
        if not self.three_way:
            return is_positive(self.predict_proba(texts)).astype(int)
        return class_codes(self.predict_class_proba(texts), self.classes)

    def _predict(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def _predict_classes(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError


def p_negative(model: SentimentModel, texts: Sequence[str]) -> np.ndarray:
    """P(negative) per text for any run's model, binary or three-way."""
    return model.predict_negative(texts)


class SklearnModel(SentimentModel):
    """A scikit-learn pipeline ending in a classifier fitted on label codes (0/1, or 0/1/2 for three classes)."""

    kind = "logreg"

    def __init__(self, pipeline, name: str, parallel_from: int | None = None):
        from core.text.tokens import PARALLEL_MIN_TEXTS

        super().__init__(name)
        self.pipeline = pipeline
        self.classes = classes_for(len(pipeline.steps[-1][1].classes_))
        self.parallel_from = parallel_from or PARALLEL_MIN_TEXTS  # texts at once from which tokenising goes parallel

    def _predict(self, texts: list[str]) -> np.ndarray:
        return self._predict_classes(texts)[:, 1]

    def _predict_classes(self, texts: list[str]) -> np.ndarray:
        from sklearn.pipeline import Pipeline

        from core.text.tokens import tweet_token_strings

        if len(texts) < self.parallel_from or not tokenises_tweets(self.pipeline.steps[0][1]):
            return self.pipeline.predict_proba(texts)
        # Many texts: the tokeniser runs on every core, the rest of the pipeline on the pre-tokenised strings.
        steps = [("tokens", pretokenised(self.pipeline.steps[0][1])), *self.pipeline.steps[1:]]
        tokenizer = self.pipeline.steps[0][1].tokenizer
        return Pipeline(steps).predict_proba(
            tweet_token_strings(texts, parallel_from=self.parallel_from, tokenizer=tokenizer)
        )


def tokenises_tweets(vectorizer) -> bool:
    from core.text.preprocess import TWEET_TOKENIZERS

    return any(getattr(vectorizer, "tokenizer", None) is tokenizer for tokenizer in TWEET_TOKENIZERS)


def pretokenised(vectorizer):
    """The fitted vectorizer, reading `tweet_token_strings` output instead of raw texts (a shallow copy: the
    vocabulary and weights are shared, the model in use is untouched)."""
    from core.text.tokens import split_tokens

    reader = copy.copy(vectorizer)
    reader.tokenizer = split_tokens
    return reader


def load_sklearn(run_dir: Path, meta: dict) -> SklearnModel:
    path = run_dir / "model.joblib"
    try:
        pipeline = joblib.load(path)
    except Exception as exc:  # noqa: BLE001 - truncated or corrupt: EOFError, UnpicklingError, ... (never quoted)
        raise ModelLoadError(
            f"{path} cannot be read: the file is truncated or corrupt ({type(exc).__name__}); "
            "copy the run folder again or train it again"
        ) from None
    return SklearnModel(pipeline, meta.get("approach", "logreg"))


def load(run_dir: str | Path) -> SentimentModel:
    """The model of a run folder, whatever its kind; ModelLoadError says why it cannot be used."""
    run_dir = Path(run_dir)
    meta = read_json(run_dir / "run.json")
    if not isinstance(meta, dict):
        raise ModelLoadError(f"{run_dir} is not a run folder (no readable run.json)")
    _check_status(run_dir, meta)
    kind = meta.get("kind")
    facts = run_kinds.run_kind(kind)
    if facts is None:
        raise ModelLoadError(f"run {run_dir.name} has unknown kind {kind!r}; known: {sorted(run_kinds.RUN_KINDS)}")
    missing = [name for name in facts.model_files if not (run_dir / name).is_file()]
    if missing:
        raise ModelLoadError(
            f"run {run_dir.name}: {', '.join(missing)} missing, the run folder is incomplete; copy it again or "
            "train it again"
        )
    module_name, func_name = facts.loader.split(":")
    try:
        loader = getattr(importlib.import_module(module_name), func_name)
    except ImportError as exc:
        raise ModelLoadError(f"cannot load {kind} runs: {exc}") from exc
    try:
        model = loader(run_dir, meta)
        model.languages = model_languages(meta, model)
        return model
    except ModelLoadError:
        raise
    except (OSError, EOFError, ValueError, KeyError, pickle.UnpicklingError) as exc:
        raise ModelLoadError(
            f"the {kind} model files in {run_dir} cannot be read ({type(exc).__name__}): a file is "
            "missing, truncated or corrupt; copy the run folder again or train it again"
        ) from None


def model_languages(meta: dict, model: SentimentModel) -> str | tuple[str, ...] | None:
    """A multilingual encoder or a cloud service reads every language; other models the languages they were
    trained on (core.text.language.languages_read), None when the run did not record them."""
    from core.text.language import languages_read

    encoder = getattr(model, "encoder", None)
    if run_kinds.is_cloud(meta.get("kind")) or getattr(encoder, "languages", "") == "multilingual":
        return "multilingual"
    return languages_read(meta.get("languages") if isinstance(meta.get("languages"), dict) else None)


def _check_status(run_dir: Path, meta: dict) -> None:
    """Only a succeeded run loads; a run whose process died while 'running' is reported as failed, with why."""
    status, reason = effective_status(run_dir, meta)
    if status == "succeeded":
        return
    if status == "running":
        raise ModelLoadError(f"run {run_dir.name} is still running: wait until it succeeds")
    why = f": {' '.join(str(reason).split())}" if reason else ""
    raise ModelLoadError(f"run {run_dir.name} {status}{why}; it has no model to load")
