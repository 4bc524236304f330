"""Evaluate Azure AI Language sentiment on a balanced sample of the shared test split, stored as a run (options:
core.training.options.AzureLanguageOptions).

Nothing is trained: the run folder (kind `azure-language`) holds the evaluation, the cost and the answers, so
the service sits in every comparison table next to the local models. The spend guard refuses the run before
any request when it would exceed the monthly budget (`python -m core.commands.azure_spend`); answers already cached are
not billed again.
"""

from __future__ import annotations

import logging
import time
from collections import Counter

import numpy as np
import pandas as pd

from core.azure.errors import ServiceError
from core.azure.language import API_VERSION, LanguageClient, evaluate_three_class
from core.data.labels import BINARY_CLASSES, is_three_way, probability_columns
from core.evaluation.metrics import classification_report
from core.pricing import language_cost_usd, load_pricing, text_records
from core.training.options import AzureLanguageOptions
from core.training.runner import OptionError, load_run_split

log = logging.getLogger(__name__)
APPROACH = "Azure AI Language"
EXPECTED_ERRORS = (ServiceError,)


def approach(options: AzureLanguageOptions) -> str:
    return APPROACH


def validate(options: AzureLanguageOptions) -> None:
    if options.n < 2:
        raise OptionError("--n must be at least 2 (one tweet per class)")


def run_in(options: AzureLanguageOptions, run, service: LanguageClient | None = None) -> None:
    """Score the balanced sample inside the run (the runner's body for a trainer with nothing to fit)."""
    service = service or LanguageClient()
    configured, why = service.status()
    if not configured:
        raise ServiceError(f"Azure AI Language is not configured: {why}")
    split = load_run_split(options, run)
    sample = balanced_sample(split.test, options.n, options.seed, len(split.classes))
    texts = sample["text"].tolist()
    records = sum(text_records(t) for t, _ in service.prepare(texts) if t)
    estimate = service.estimate(texts)
    log.info(f"{len(sample):,} tweets (balanced) from split {split.split_id}; not cached yet: {estimate.describe()}")
    run.update(device="Azure AI Language (cloud)", estimate=vars(estimate))
    times = [time.perf_counter()]

    def on_progress(done: int, total: int) -> None:
        times.append(time.perf_counter())
        run.progress(phase="score", message=f"{done:,} / {total:,} new tweets scored", step=done, steps=total)

    result = service.score(texts, on_progress=on_progress)
    write_answers(run, sample, result, split.classes)
    metrics = build_metrics(sample, result, times, records, split.classes)
    run.update(cost=metrics["cost"])
    run.finish(metrics)
    log_summary(metrics, result, run)


def log_summary(metrics: dict, result, run) -> None:
    test = metrics["test"]
    if "three_class" not in metrics:  # a three-way split: the service's labels are measured as they are
        log.info(
            f"done: {metrics['evaluation']['answered']:,} answered; three-way accuracy {test['accuracy']:.4f}, "
            f"macro F1 {test['f1_macro']:.4f}; {result.requests} requests, {result.cached} cached, "
            f"≈ ${result.cost_usd:.4f} -> {run.path}"
        )
        return
    three = metrics["three_class"]["neutral_as_class"]
    log.info(
        f"done: {metrics['evaluation']['answered']:,} answered; accuracy with neutral as its own class "
        f"{three['accuracy']:.4f}, neutral folded {test['accuracy']:.4f}, ROC AUC "
        f"{test.get('roc_auc', float('nan')):.4f}; {result.requests} requests, {result.cached} cached, "
        f"≈ ${result.cost_usd:.4f} -> {run.path}"
    )


def balanced_sample(test: pd.DataFrame, n: int, seed: int, classes: int = 2) -> pd.DataFrame:
    per_class = n // classes
    parts = [group.sample(min(per_class, len(group)), random_state=seed) for _, group in test.groupby("label")]
    return pd.concat(parts).sort_values("row_id").reset_index(drop=True)


def latency_from(progress_times: list[float], tweets: int) -> dict:
    """Per-request timings recorded while scoring (one request = up to 10 tweets, retries included)."""
    durations = np.diff(progress_times) * 1000
    if not len(durations):
        return {"note": "every answer came from the local cache: no request was timed"}
    total_s = progress_times[-1] - progress_times[0]
    return {
        "request_p50_ms": float(np.percentile(durations, 50)),
        "request_p95_ms": float(np.percentile(durations, 95)),
        "requests_timed": int(len(durations)),
        "batch_tweets_per_s": tweets / total_s if total_s > 0 else None,
        "note": "per HTTP request of up to 10 tweets, measured while scoring (retries and waits included)",
    }


def build_metrics(
    sample: pd.DataFrame, result, progress_times: list[float], records: int, classes=BINARY_CLASSES
) -> dict:
    """On a binary split: the folded P(positive) as `test`, the service's own labels in `three_class`; on a
    three-way split (neutral tweets in the truth) the service's three scores as they are (`test` is three-way)."""
    answered = np.array([p is not None for p in result.p_pos])
    if not answered.any():
        reasons = Counter(e for e in result.errors if e)
        raise ServiceError(f"no tweet got an answer: {dict(reasons)}")
    y = sample["label"].to_numpy()[answered]
    if is_three_way(classes):
        test = classification_report(y, result.class_proba()[answered], classes=classes)
        return {"test": test, **service_figures(sample, result, progress_times, records, answered)}
    p_pos = np.array([p for p in result.p_pos if p is not None], dtype=float)
    labels = [label for label, ok in zip(result.labels, answered) if ok]
    test = classification_report(y, p_pos)
    return {
        "test": test,
        "three_class": {
            "neutral_as_class": evaluate_three_class(y.tolist(), labels),
            "neutral_folded": {
                "n": test["n"],
                "accuracy": test["accuracy"],
                "rule": "neutral and mixed answers go to the larger of the positive / negative "
                "confidence scores (P(positive) = pos / (pos + neg) >= 0.5)",
            },
        },
        **service_figures(sample, result, progress_times, records, answered),
    }


def service_figures(sample: pd.DataFrame, result, progress_times: list[float], records: int, answered) -> dict:
    """What the sample cost and how long it took, the answers counted."""
    pricing = load_pricing()["azure_language"]
    return {
        "evaluation": {
            "sample": "balanced from the shared test split",
            "requested": int(len(sample)),
            "answered": int(answered.sum()),
            "without_answer": int((~answered).sum()),
            "reasons": dict(Counter(e for e in result.errors if e)),
            "truncated": sum(1 for d in result.details if d and d.get("truncated")),
            "api_version": API_VERSION,
        },
        "cost": {
            "usd": result.cost_usd,
            "text_records": records,
            "requests": result.requests,
            "cached_answers": result.cached,
            "usd_at_paid_rate": language_cost_usd(records),
            "usd_per_1000_tweets_at_paid_rate": language_cost_usd(records) * 1000 / max(1, len(sample)),
            "per_1000_text_records": pricing["per_1000_text_records"],
            "free_text_records_per_month": pricing["free_text_records_per_month"],
            "pricing_source": pricing.get("source"),
            "pricing_as_of": pricing.get("as_of"),
        },
        "latency": latency_from(progress_times, int(answered.sum())),
    }


def write_answers(run, sample: pd.DataFrame, result, classes=BINARY_CLASSES) -> None:
    """test_predictions.csv (a three-way split: the service's three scores, its P(positive) unfolded) and
    service_answers.csv (every answer as the service gave it)."""
    answered = np.array([p is not None for p in result.p_pos])
    scored = sample.loc[answered]
    proba = result.class_proba()[answered]
    p_pos = proba[:, -1] if is_three_way(classes) else [p for p in result.p_pos if p is not None]
    pd.DataFrame(
        {
            "row_id": scored["row_id"],
            "label": scored["label"],
            "p_pos": np.round(p_pos, 6),
            **probability_columns(proba, classes),
        }
    ).to_csv(run.path / "test_predictions.csv", index=False)
    details = [d or {} for d in result.details]
    pd.DataFrame(
        {
            "row_id": sample["row_id"],
            "label": sample["label"],
            "service_label": result.labels,
            "positive": [d.get("positive") for d in details],
            "neutral": [d.get("neutral") for d in details],
            "negative": [d.get("negative") for d in details],
            "truncated": [d.get("truncated", False) for d in details],
            "error": result.errors,
        }
    ).to_csv(run.path / "service_answers.csv", index=False)
