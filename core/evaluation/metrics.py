"""Quality and speed measurements, the same for every approach."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from core.data.labels import BINARY_CLASSES, NEGATIVE, is_three_way, probability_columns
from core.models.base import CLASS_NAMES, THRESHOLD, class_codes

CURVE_POINTS = 200


def _downsample(*arrays: np.ndarray, n: int = CURVE_POINTS) -> list[list[float]]:
    idx = np.unique(np.linspace(0, len(arrays[0]) - 1, min(n, len(arrays[0]))).round().astype(int))
    return [np.round(a[idx], 5).tolist() for a in arrays]


def classification_report(
    y_true: Sequence[int], p_pos, threshold: float = THRESHOLD, classes: Sequence[str] = BINARY_CLASSES
) -> dict:
    """Accuracy, per-class and macro precision/recall/F1, ROC AUC, confusion matrix and curve points. A binary run
    gives P(positive) per tweet; a three-way run (`classes`) its (n, 3) class probabilities (three_way_report)."""
    if is_three_way(classes):
        return three_way_report(y_true, p_pos, classes)
    y_true = np.asarray(y_true, dtype=int)
    p_pos = np.asarray(p_pos, dtype=float)
    y_pred = (p_pos >= threshold).astype(int)
    report = {"n": int(len(y_true)), "threshold": threshold} | label_figures(y_true, y_pred, CLASS_NAMES)
    if len(np.unique(y_true)) == 2:
        fpr, tpr, _ = skm.roc_curve(y_true, p_pos)
        prec, rec, _ = skm.precision_recall_curve(y_true, p_pos)
        report["roc_auc"] = float(skm.roc_auc_score(y_true, p_pos))
        report["average_precision"] = float(skm.average_precision_score(y_true, p_pos))
        report["roc_curve"] = dict(zip(("fpr", "tpr"), _downsample(fpr, tpr)))
        report["pr_curve"] = dict(zip(("recall", "precision"), _downsample(rec, prec)))
    return report


def label_figures(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str]) -> dict:
    """Accuracy, per-class and macro precision/recall/F1 and the confusion matrix (rows: truth) of class codes
    0..len(classes)-1: the part a binary and a three-way report share."""
    codes = list(range(len(classes)))
    precision, recall, f1, support = skm.precision_recall_fscore_support(y_true, y_pred, labels=codes, zero_division=0)
    per_class = {
        name: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, name in enumerate(classes)
    }
    macro = {"precision": float(precision.mean()), "recall": float(recall.mean()), "f1": float(f1.mean())}
    return {
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "per_class": per_class,
        "macro": macro,
        "confusion_matrix": skm.confusion_matrix(y_true, y_pred, labels=codes).tolist(),
        "labels": list(classes),
        "f1_macro": macro["f1"],
    }


def three_way_report(y_true: Sequence[int], proba, classes: Sequence[str]) -> dict:
    """The report of a three-way run: labels by its most probable class, a 3x3 confusion matrix (rows: truth),
    per-class and macro precision/recall/F1, one-vs-rest macro ROC AUC, and the ROC AUC of P(negative) for
    negative against the rest (what the monitor's share reads), when the truth has the classes it needs."""
    y_true = np.asarray(y_true, dtype=int)
    proba = np.asarray(proba, dtype=float).reshape(len(y_true), len(classes))
    y_pred = class_codes(proba, classes)
    codes = list(range(len(classes)))
    report = {"n": int(len(y_true)), "decision": "most probable class"} | label_figures(y_true, y_pred, classes)
    if len(np.unique(y_true)) == len(classes):
        report["roc_auc"] = float(skm.roc_auc_score(y_true, proba, multi_class="ovr", labels=codes))
    negative = (y_true == NEGATIVE).astype(int)
    if 0 < negative.sum() < len(negative):
        report["negative_roc_auc"] = float(skm.roc_auc_score(negative, proba[:, NEGATIVE]))
    return report


def measure_latency(
    predict_proba: Callable[[list[str]], np.ndarray],
    texts: Sequence[str],
    n_single: int = 50,
    batch_size: int = 256,
    max_batch_texts: int = 2048,
    max_seconds: float = 20.0,
) -> dict:
    """Single-tweet latency (p50/p95, ms) and batched throughput (tweets/s) of a predict function."""
    texts = [t for t in texts if isinstance(t, str) and t.strip()]
    if not texts:
        return {}
    predict_proba(texts[:2])  # warm-up: lazy loading, graph tracing, thread pools
    singles = []
    deadline = time.perf_counter() + max_seconds / 2
    for text in texts[:n_single]:
        start = time.perf_counter()
        predict_proba([text])
        singles.append((time.perf_counter() - start) * 1000)
        if time.perf_counter() > deadline:
            break
    batch_texts = (texts * (max_batch_texts // len(texts) + 1))[:max_batch_texts]
    done, start = 0, time.perf_counter()
    for i in range(0, len(batch_texts), batch_size):
        predict_proba(batch_texts[i : i + batch_size])
        done += len(batch_texts[i : i + batch_size])
        if time.perf_counter() - start > max_seconds / 2:
            break
    elapsed = time.perf_counter() - start
    return {
        "single_p50_ms": float(np.percentile(singles, 50)),
        "single_p95_ms": float(np.percentile(singles, 95)),
        "single_n": len(singles),
        "batch_size": batch_size,
        "batch_n": done,
        "batch_tweets_per_s": done / elapsed if elapsed > 0 else None,
    }


def evaluate(
    model, split, run, train_seconds: float | None = None, n_train: int | None = None, extra: dict | None = None
) -> dict:
    """Score the shared test split, write test_predictions.csv, and return the metrics.json content. A three-way
    run's file adds p_negative, p_neutral, p_positive (core.data.labels) and its report is three_way_report."""
    test = split.test
    classes = check_classes(model, getattr(split, "classes", BINARY_CLASSES))
    proba = np.asarray(model.predict_class_proba(test["text"].tolist()), dtype=float)
    p_pos = proba[:, -1]
    pd.DataFrame(
        {
            "row_id": test["row_id"].to_numpy(),
            "label": test["label"].to_numpy(),
            "p_pos": np.round(p_pos, 6),
            **probability_columns(proba, classes),
        }
    ).to_csv(run.path / "test_predictions.csv", index=False)
    metrics = {
        "test": classification_report(test["label"], proba if is_three_way(classes) else p_pos, classes=classes),
        "latency": measure_latency(model.predict_proba, test["text"].tolist()[:500]),
    }
    if train_seconds is not None:
        n_train = n_train if n_train is not None else len(split.train)
        metrics["training"] = {
            "seconds": float(train_seconds),
            "tweets": int(n_train),
            "tweets_per_s": n_train / train_seconds if train_seconds else None,
        }
        run.set_timing(train_seconds=float(train_seconds))
    metrics.update(extra or {})
    return metrics


def check_classes(model, classes: Sequence[str]) -> tuple[str, ...]:
    """The classes a model and the labels it is measured on share; a mismatch is a bug of the trainer."""
    if tuple(model.classes) != tuple(classes):
        raise ValueError(f"the model learns {model.classes}, its test split is labelled {tuple(classes)}")
    return tuple(classes)
