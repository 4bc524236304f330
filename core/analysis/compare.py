"""Side-by-side comparison of runs: the tables and curve points behind the Overview and Compare pages.

Everything reads the run folders (run.json, metrics.json, history.json, test_predictions.csv) through
core.tracking.runs.RunInfo; test texts are joined back through the run's persisted split (core.data.split.split_for_run).
The per-tweet views take an evaluation set (core.evaluation.eval_sets): TEST_SPLIT, the default, is the run's own
test split; any other name reads `<run>/evaluations/<slug>/` (metrics and predictions with their texts).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from core.analysis.lineage import describe as describe_lineage
from core.data.labels import PROBABILITY_COLUMNS, is_three_way, label_names, predictions_proba, run_classes
from core.evaluation import eval_sets
from core.evaluation.eval_sets import TEST_SPLIT
from core.models.base import CLASS_NAMES, THRESHOLD, is_positive, labels_for, labels_from_proba


def train_commands(data_path: str | Path | None = None) -> dict[str, str]:
    """The exact command that trains each approach family on the data in use, into the runs folder (the families,
    their options and run folders: core.training.registry)."""
    from core.training.registry import train_commands as registry_commands

    return registry_commands(data_path)


def run_label(run) -> str:
    """A short unique name for charts and columns: the approach plus the run folder name."""
    return f"{run.approach} · {run.id}"


def comparable(runs: list) -> list:
    """Runs that can be compared: succeeded, with test metrics."""
    return [run for run in runs if run.status == "succeeded" and (run.metrics.get("test") or {})]


def default_selection(runs: list) -> list:
    """The newest comparable run of each approach (runs as core.tracking.runs.list_runs returns them, newest first)."""
    chosen: dict[str, object] = {}
    for run in comparable(runs):
        chosen.setdefault(run.approach, run)
    return list(chosen.values())


def split_id(run) -> str | None:
    return (run.meta.get("data") or {}).get("split_id")


def ranked_by_accuracy(runs: list) -> list:
    """The runs on the most shared test split first, most accurate first, then the others: an accuracy measured on
    another file's small split (a fine-tune on 500 tweets) must not put its run ahead of the rest."""
    counts = Counter(split_id(r) for r in runs)
    accuracy = lambda r: (r.metrics.get("test") or {}).get("accuracy") or 0  # noqa: E731
    return sorted(runs, key=lambda r: (-counts[split_id(r)], split_id(r) or "", -accuracy(r)))


def mixed_splits(runs: list) -> dict[str, str | None]:
    """{run id: split id} when the runs were not scored on the same test split (their numbers are then not
    strictly comparable), else {}."""
    ids = {run.id: split_id(run) for run in runs}
    return ids if len(set(ids.values())) > 1 else {}


def same_data(runs: list) -> tuple[list, list]:
    """(runs read from the most common data source, the others): row ids only line up within one source."""
    fingerprints = [(run.meta.get("data") or {}).get("fingerprint") for run in runs]
    if not runs:
        return [], []
    common = max(set(fingerprints), key=fingerprints.count)
    return (
        [r for r, f in zip(runs, fingerprints) if f == common],
        [r for r, f in zip(runs, fingerprints) if f != common],
    )


def _train_seconds(run) -> float | None:
    seconds = (run.meta.get("timings") or {}).get("train_seconds")
    if seconds is None:
        seconds = (run.metrics.get("training") or {}).get("seconds")
    return seconds


def device_label(run) -> str:
    device = run.meta.get("device")
    if isinstance(device, dict):
        parts = [str(device.get(k)) for k in ("type", "name", "where") if device.get(k)]
        return " · ".join(parts) or ", ".join(f"{k}={v}" for k, v in device.items())
    return str(device) if device else "—"


def overview_table(runs: list) -> pd.DataFrame:
    """One row per run: approach, kind, status, accuracy, macro F1, training time, device, latency."""
    rows = []
    for run in runs:
        test = run.metrics.get("test") or {}
        latency = run.metrics.get("latency") or {}
        rows.append(
            {
                "approach": run.approach,
                "run": run.id,
                "kind": run.kind,
                "status": run.status + (f" ({run.status_reason})" if run.status_reason else ""),
                "accuracy (%)": _pct(test.get("accuracy")),
                "macro F1 (%)": _pct(test.get("f1_macro", (test.get("macro") or {}).get("f1"))),
                "training time (s)": _round(_train_seconds(run), 1),
                "device": device_label(run),
                "single tweet latency p50 (ms)": _round(latency.get("single_p50_ms"), 2),
                "started": (run.meta.get("timings") or {}).get("started", ""),
            }
        )
    return pd.DataFrame(rows)


def metrics_table(runs: list) -> pd.DataFrame:
    """Every headline metric of every run, one row per run (percentages, seconds, ms, tweets/s, USD).

    Columns no picked run records (cost for local runs, training for cloud ones) are left out; one column per
    evaluation set that any of them was measured on (`set_column`)."""
    rows, names = [], evaluation_sets(runs)[1:]
    for run in runs:
        test = run.metrics.get("test") or {}
        macro = test.get("macro") or {}
        latency = run.metrics.get("latency") or {}
        training = run.metrics.get("training") or {}
        cost = run.metrics.get("cost") or {}
        rows.append(
            {
                "run": run_label(run),
                "kind": run.kind,
                "accuracy (%)": _pct(test.get("accuracy")),
                "macro precision (%)": _pct(macro.get("precision")),
                "macro recall (%)": _pct(macro.get("recall")),
                "macro F1 (%)": _pct(test.get("f1_macro", macro.get("f1"))),
                # a three-way run (neutral as a class): its classes and the neutral class's F1; none for a binary run
                "classes": "/".join(run_classes(run.meta)) if is_three_way(run_classes(run.meta)) else None,
                "neutral F1 (%)": _pct(((test.get("per_class") or {}).get("neutral") or {}).get("f1")),
                **set_accuracies(run, names),
                "ROC AUC": _round(test.get("roc_auc"), 4),
                "average precision": _round(test.get("average_precision"), 4),
                "test tweets": test.get("n"),
                "training (s)": _round(_train_seconds(run), 1),
                "training (tweets/s)": _round(training.get("tweets_per_s"), 0),
                "latency p50 (ms)": _round(latency.get("single_p50_ms"), 2),
                "latency p95 (ms)": _round(latency.get("single_p95_ms"), 2),
                "batch (tweets/s)": _round(latency.get("batch_tweets_per_s"), 0),
                "cost (USD)": _round(cost.get("usd"), 4),
                "cost per 1,000 tweets at the paid rate (USD)": _round(cost.get("usd_per_1000_tweets_at_paid_rate"), 4),
                "split id": split_id(run),
                "lineage": describe_lineage(run.meta) or None,  # fine-tuned from, extra data (core.analysis.lineage)
            }
        )
    return pd.DataFrame(rows).dropna(axis=1, how="all")  # e.g. no cost columns when no run is a cloud one


def _pct(value) -> float | None:
    return None if value is None else round(100 * float(value), 2)


def _round(value, digits: int):
    return None if value is None else round(float(value), digits)


def confusion(run, normalize: bool = False, set_name: str = TEST_SPLIT) -> pd.DataFrame | None:
    """The confusion matrix on a set (rows: true class, columns: predicted), counts or row-normalised (%)."""
    report = set_report(run, set_name)
    matrix = report.get("confusion_matrix")
    if matrix is None:
        return None
    names = report.get("labels") or list(CLASS_NAMES)  # a three-way run's matrix is 3x3
    values = np.asarray(matrix, dtype=float)
    if normalize:
        values = 100 * values / np.clip(values.sum(axis=1, keepdims=True), 1, None)
        values = values.round(1)
    else:
        values = values.astype(int)
    return pd.DataFrame(values, index=[f"true {c}" for c in names], columns=[f"predicted {c}" for c in names])


def curve_points(runs: list, curve: str, set_name: str = TEST_SPLIT) -> pd.DataFrame:
    """Long table of ROC ('roc': fpr, tpr) or precision-recall ('pr': recall, precision) points per run."""
    keys = {"roc": ("fpr", "tpr", "roc_auc", "AUC"), "pr": ("recall", "precision", "average_precision", "AP")}
    x, y, score_key, score_name = keys[curve]
    parts = []
    for run in runs:
        test = set_report(run, set_name)
        points = test.get(f"{curve}_curve")
        if not points:
            continue
        score = test.get(score_key)
        name = run_label(run) + (f" ({score_name} {score:.3f})" if score is not None else "")
        parts.append(pd.DataFrame({"run": name, x: points[x], y: points[y]}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["run", x, y])


def learning_curves(runs: list) -> pd.DataFrame:
    """Long table (run, epoch, metric, split, value) of loss and accuracy per epoch, for runs with history."""
    rows = []
    for run in runs:
        for entry in run.history or []:
            epoch = entry.get("epoch")
            for metric in ("loss", "accuracy"):
                for split, key in (("train", metric), ("validation", f"val_{metric}")):
                    if entry.get(key) is not None:
                        rows.append(
                            {
                                "run": run_label(run),
                                "epoch": epoch,
                                "metric": metric,
                                "split": split,
                                "value": float(entry[key]),
                            }
                        )
    return pd.DataFrame(rows, columns=["run", "epoch", "metric", "split", "value"])


def embedding_coverage(runs: list) -> pd.DataFrame:
    """For keras runs: which embedding, and how much of the vocabulary / the tokens it covers."""
    rows = []
    for run in runs:
        if run.kind != "keras":
            continue
        info = run.meta.get("embedding") or run.meta.get("embedding_coverage") or {}
        if not isinstance(info, dict):
            info = {"coverage": info}
        row = {"run": run_label(run)}
        for key, value in info.items():
            if isinstance(value, (int, float, str, bool)) or value is None:
                row[key] = value
            elif isinstance(value, dict):
                row.update({f"{key} {k}": v for k, v in value.items() if not isinstance(v, (dict, list))})
        rows.append(row)
    return pd.DataFrame(rows)


# -------------------------------------------------------- tweet-by-tweet views


def load_predictions(run, set_name: str = TEST_SPLIT) -> pd.DataFrame | None:
    """row_id, label, p_pos (and a three-way run's p_negative, p_neutral, p_positive) of a run on a set
    (test_predictions.csv for the test split), or None when it has none."""
    preds = eval_sets.set_predictions(Path(run.path), set_name)
    if preds is None:
        return None
    return preds[["row_id", "label", "p_pos", *(c for c in PROBABILITY_COLUMNS.values() if c in preds)]]


def named_labels(run, preds: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(true label, predicted label) names of a run's predictions, by its classes (binary or three-way)."""
    classes = run_classes(run.meta)
    if not is_three_way(classes) or PROBABILITY_COLUMNS["neutral"] not in preds:
        classes = CLASS_NAMES
    return label_names(preds["label"], classes), labels_from_proba(predictions_proba(preds, classes), classes)


def test_texts(runs: list) -> tuple[pd.Series | None, str | None]:
    """Texts of the test tweets by row_id (from the runs' splits), or None with the reason."""
    from core.data.loading import DataError
    from core.data.split import split_for_run

    texts, problems = [], []
    for meta in {split_id(r): r.meta for r in runs}.values():
        try:
            test = split_for_run(meta).test
        except (DataError, OSError, ValueError) as exc:
            problems.append(str(exc))
            continue
        texts.append(test.set_index("row_id")["text"])
    if not texts:
        return None, "; ".join(problems) or "no run records its data"
    merged = pd.concat(texts)
    return merged[~merged.index.duplicated()], ("; ".join(problems) or None)


PREDICTED = "predicted label · "  # the aligned table's hidden label columns (moved to its attrs)


def aligned_predictions(runs: list, set_name: str = TEST_SPLIT) -> pd.DataFrame:
    """Wide table: row_id, label (the true class's name), then P(positive) per run, on the tweets of the set every
    run scored (binary and three-way runs meet on the tweets both have). Each run's predicted labels are in
    `attrs["predicted"]` ({run label: names, row-aligned}): a three-way run's label is not P(positive)'s."""
    table = None
    for run in runs:
        preds = load_predictions(run, set_name)
        if preds is None:
            continue
        truth, predicted = named_labels(run, preds)
        name = run_label(run)
        frame = pd.DataFrame(
            {"row_id": preds["row_id"], "label": truth, name: preds["p_pos"], PREDICTED + name: predicted}
        )
        table = frame if table is None else table.merge(frame, on=["row_id", "label"], how="inner")
    if table is None:
        return pd.DataFrame(columns=["row_id", "label"])
    hidden = [c for c in table.columns if c.startswith(PREDICTED)]
    predicted = {c[len(PREDICTED) :]: table[c].to_numpy() for c in hidden}
    table = table.drop(columns=hidden)
    table.attrs["predicted"] = predicted
    return table


def _with_text(frame: pd.DataFrame, texts: pd.Series | None) -> pd.DataFrame:
    frame = frame.copy()
    frame.insert(1, "text", frame["row_id"].map(texts) if texts is not None else None)
    labels = frame.pop("label")
    numeric = pd.api.types.is_numeric_dtype(labels)
    frame["true label"] = labels.map(dict(enumerate(CLASS_NAMES))) if numeric else labels
    return frame


def disagreements(
    aligned: pd.DataFrame, texts: pd.Series | None = None, true_label: str | None = None, limit: int = 200
) -> tuple[pd.DataFrame, int]:
    """Test tweets where the runs predict different labels, most contested first, and how many there are.

    `true_label` ('negative' / 'positive') keeps only tweets of that true class.
    """
    prob_cols = [c for c in aligned.columns if c not in ("row_id", "label")]
    if len(prob_cols) < 2:
        return pd.DataFrame(columns=["row_id", "text", *prob_cols, "true label"]), 0
    labels = aligned.attrs.get("predicted") or {}
    if all(c in labels for c in prob_cols):  # each run's own decision (a three-way run's most probable class)
        predicted = np.column_stack([labels[c] for c in prob_cols])
        differ = (predicted != predicted[:, :1]).any(axis=1)
    else:
        positive = is_positive(aligned[prob_cols].to_numpy())
        differ = positive.any(axis=1) & ~positive.all(axis=1)
    found = aligned[differ]
    if true_label is not None:
        wanted = CLASS_NAMES.index(true_label) if pd.api.types.is_numeric_dtype(found["label"]) else true_label
        found = found[found["label"] == wanted]
    spread = found[prob_cols].max(axis=1) - found[prob_cols].min(axis=1)
    found = found.assign(spread=spread.round(4)).sort_values("spread", ascending=False)
    return _with_text(found.head(limit), texts).reset_index(drop=True), int(len(found))


def confident_mistakes(
    run, texts: pd.Series | None = None, n: int = 10, set_name: str = TEST_SPLIT
) -> pd.DataFrame | None:
    """The run's n wrong predictions on a set with the most confidence (P(positive) furthest from THRESHOLD; a
    three-way run: the probability of the class it predicted)."""
    preds = load_predictions(run, set_name)
    if preds is None:
        return None
    if PROBABILITY_COLUMNS["neutral"] not in preds:  # binary: as it always was
        wrong = preds[is_positive(preds["p_pos"]) != (preds["label"] == 1)]
        wrong = wrong.assign(confidence=(wrong["p_pos"] - THRESHOLD).abs() * 2)  # 0 = undecided, 1 = fully sure
        top = wrong.sort_values("confidence", ascending=False).head(n)
        top = top.assign(predicted=labels_for(top["p_pos"]))
        return _with_text(top, texts).rename(columns={"p_pos": "P(positive)"}).reset_index(drop=True)
    truth, predicted = named_labels(run, preds)
    confidence = preds[list(PROBABILITY_COLUMNS.values())].max(axis=1)
    frame = preds.assign(label=truth, predicted=predicted, confidence=confidence)
    top = frame[truth != predicted].sort_values("confidence", ascending=False).head(n)
    top = top.drop(columns=list(PROBABILITY_COLUMNS.values()))
    return _with_text(top, texts).rename(columns={"p_pos": "P(positive)"}).reset_index(drop=True)


# -------------------------------------------------------- evaluation sets


SET_COLUMN_PREFIX = "accuracy on "


def set_column(name: str) -> str:
    """The metrics and summary tables' column for a set's accuracy."""
    return f"{SET_COLUMN_PREFIX}{name} (%)"


def evaluation_sets(runs: list) -> list[str]:
    """TEST_SPLIT, then every set any of the runs was evaluated on (the official set first, then by name)."""
    names = {name for run in runs for name in eval_sets.list_evaluations(run.path)}
    return [TEST_SPLIT, *sorted(names, key=lambda name: (name != eval_sets.OFFICIAL_SET, name.lower()))]


def set_accuracies(run, names: list[str]) -> dict:
    """{set_column(name): accuracy (%) or None} of a run on each named set."""
    stored = eval_sets.list_evaluations(run.path)
    return {set_column(name): _pct(eval_sets.accuracy_on(stored.get(name))) for name in names}


def set_report(run, set_name: str = TEST_SPLIT) -> dict:
    """The classification report of a run on a set ({} when it was not evaluated on it)."""
    if set_name == TEST_SPLIT:
        return run.metrics.get("test") or {}
    return (eval_sets.list_evaluations(run.path).get(set_name) or {}).get("metrics") or {}


def with_set(runs: list, set_name: str) -> tuple[list, list]:
    """(the runs evaluated on the set, the runs missing it)."""
    if set_name == TEST_SPLIT:
        return list(runs), []
    having = [run for run in runs if set_name in eval_sets.list_evaluations(run.path)]
    return having, [run for run in runs if run not in having]


def same_set_version(runs: list, set_name: str) -> tuple[list, list]:
    """(runs evaluated on the most common version of the set's file, the others): row ids line up within one file."""
    if set_name == TEST_SPLIT:
        return same_data(runs)
    prints = [(eval_sets.list_evaluations(run.path).get(set_name) or {}).get("fingerprint") for run in runs]
    if not runs:
        return [], []
    common = max(set(prints), key=prints.count)
    return [r for r, f in zip(runs, prints) if f == common], [r for r, f in zip(runs, prints) if f != common]


def set_texts(runs: list, set_name: str) -> tuple[pd.Series | None, str | None]:
    """Texts by row_id of a set's tweets (the test split's come from the runs' splits), or None with why."""
    if set_name == TEST_SPLIT:
        return test_texts(runs)
    for run in runs:
        preds = eval_sets.set_predictions(run.path, set_name)
        if preds is not None and "text" in preds.columns:
            return preds.set_index("row_id")["text"], None
    return None, f"no run stored the texts of {set_name}"


def set_prediction_frames(runs: list, set_name: str = TEST_SPLIT) -> dict[str, pd.DataFrame]:
    """{run label: DataFrame(label, p_pos)} of the runs that have predictions on the set (e.g. for calibration)."""
    frames = {}
    for run in runs:
        preds = load_predictions(run, set_name)
        if preds is not None and len(preds):
            keep = ["label", "p_pos", *(c for c in PROBABILITY_COLUMNS.values() if c in preds)]  # three-way: all
            frames[run_label(run)] = preds[keep].reset_index(drop=True)
    return frames


def set_table(runs: list, set_name: str) -> pd.DataFrame:
    """One row per run evaluated on a stored set: its figures there, the neutral tweets, the file and when."""
    rows = []
    for run in runs:
        evaluation = eval_sets.list_evaluations(run.path).get(set_name)
        if not evaluation:
            continue
        metrics, neutral = evaluation.get("metrics") or {}, evaluation.get("neutral") or {}
        rows.append(
            {
                "run": run_label(run),
                "accuracy (%)": _pct(metrics.get("accuracy")),
                "macro F1 (%)": _pct(metrics.get("f1_macro")),
                "ROC AUC": _round(metrics.get("roc_auc"), 4),
                "tweets": metrics.get("n"),
                "neutral tweets": neutral.get("n"),
                "neutral called positive (%)": _pct(neutral.get("predicted_positive")),
                "mean P(positive) on neutral": _round(neutral.get("mean_p_pos"), 4),
                "file": evaluation.get("source"),
                "sha256": str(evaluation.get("fingerprint") or "")[:12],
                "evaluated": str(evaluation.get("evaluated_at") or "")[:16].replace("T", " "),
            }
        )
    table = pd.DataFrame(rows)
    counts = {c: "Int64" for c in ("tweets", "neutral tweets") if c in table}
    figures = {c: float for c in table.columns if c not in ("run", "file", "sha256", "evaluated", *counts)}
    return table.astype({**figures, **counts})  # a missing figure is a blank cell, never "None"


# ------------------------------------------------------------------ the gauge (python -m core.evaluate --gauge)

GAUGE_COLUMN_PREFIX = "gauge error on "


def gauge_column(name: str) -> str:
    """The summary tables' column for a run's gauge error (MAE, points) on a gauge file."""
    return f"{GAUGE_COLUMN_PREFIX}{name} (points)"


def gauge_errors(run) -> dict:
    """{gauge_column(name): MAE} of every gauge evaluation of a run."""
    from core.evaluation import gauge

    return {
        gauge_column(name): (result.get("metrics") or {}).get("mae")
        for name, result in gauge.list_gauges(run.path).items()
    }


def gauge_table(runs: list) -> pd.DataFrame:
    """One row per run and gauge evaluation: the protocol, the windows and the figures (the error table)."""
    from core.evaluation import gauge

    rows = []
    for run in runs:
        for name, result in gauge.list_gauges(run.path).items():
            m, s = result.get("metrics") or {}, result.get("settings") or {}
            labels = f"{s.get('labels', 0):,} ({s.get('protocol', 'time')} split)" if s.get("labels") else "none"
            rows.append(
                {"run": run_label(run), "gauge file": name, "in-domain labels": labels, "window": s.get("window")}
                | {
                    "windows": m.get("windows"),
                    "windows ≥ threshold": m.get("bad_windows"),
                    "MAE (points)": m.get("mae"),
                }
                | {
                    "bias (points)": m.get("bias"),
                    "worst (points)": m.get("worst"),
                    "coverage (%)": _pct(m.get("coverage")),
                }
                | {"alert recall": m.get("alert_recall"), "alert precision": m.get("alert_precision")}
                | {"threshold": s.get("threshold", 0.6), "method": (result.get("method") or {}).get("mapping", "")}
            )
    return pd.DataFrame(rows)


def gauge_windows(run, name: str) -> pd.DataFrame | None:
    """A gauge evaluation's windows (group, start, n, true share, estimate, interval), start as UTC times."""
    from core.evaluation import gauge

    windows = gauge.gauge_windows(run.path, name)
    if windows is None:
        return None
    return windows.assign(window_start=pd.to_datetime(windows["window_start"], utc=True, format="ISO8601"))
