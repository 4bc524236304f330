"""The gauge measured against the truth: a run's negative share per group and time window on a labelled file.

A gauge file is any CSV with a text, a three-way label (negative / neutral / positive, or 0/2/4, 0/1/2, -1/0/1)
and a time column, optionally a group column (airline, brand, candidate). Per group and window (`window`, a pandas
frequency: 1D, 1h, 15min) with at least `min_tweets` tweets, the true negative share (negatives ÷ all tweets,
neutral included) is set against the estimate (core.evaluation.share) and its interval; the figures are the mean
absolute error, the bias and the worst error (points), the interval's coverage, and the recall and precision of the
alert at the monitor's threshold.

Protocols: with `labels` = 0 the run's own P(negative) is averaged (out of the box: a binary Sentiment140 run has no
neutral class, so this counts its calibrated P(negative) of neutral tweets too, and the result says so). With
`labels` = k > 0 the k earliest labelled tweets (`protocol` "time": as an analyst lives it) or k drawn at random
("random") train the in-domain mapping (three-class logistic regression on [sentence embedding, the run's
log-odds]); the windows are made of the other tweets only.

The result goes to `<run>/evaluations/<slug>/gauge.json` and `gauge_windows.csv` (one row per window), beside
the evaluation set of the same name.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.columns import parse_timestamps, time_columns
from core.data.csv_reader import LABEL_COLUMNS, MAX_TEXT_CHARS, TIME_COLUMNS, CsvFormatError, open_csv
from core.evaluation import share
from core.files import write_atomic, write_json_atomic

log = logging.getLogger(__name__)

GAUGE_FILE = "gauge.json"
WINDOWS_FILE = "gauge_windows.csv"
THRESHOLD = 0.6  # the monitor's default alert threshold (core.monitor.rules.Rules.threshold)
MIN_TWEETS = 50
WORDS = {"negative": 0, "neg": 0, "neutral": 1, "neu": 1, "positive": 2, "pos": 2}
CODINGS = ({"0": 0, "2": 1, "4": 2}, {"0": 0, "1": 1, "2": 2}, {"-1": 0, "0": 1, "1": 2})  # S140, 0/1/2, -1/0/1


class GaugeError(ValueError):
    """A gauge file or setting that cannot be used (one line, says what to do, never quotes the file)."""


@dataclass
class GaugeSettings:
    window: str = "1D"
    min_tweets: int = MIN_TWEETS
    threshold: float = THRESHOLD
    level: float = share.LEVEL
    labels: int = 0  # in-domain labels given to the mapping (0: the run's probabilities alone)
    protocol: str = "time"  # "time" (the earliest labels) or "random"
    pool: int = 0  # tweets set aside for labelling, never evaluated on (at least `labels`): a learning curve keeps
    # the same windows at every number of labels
    seed: int = 0
    encoder: str | None = "multilingual-e5-small"  # None: the mapping sees the run's log-odds only
    refits: int = share.REFITS
    c_grid: tuple = share.C_GRID  # the mapping's C values, chosen by out-of-fold log-loss
    text_column: str | None = None
    label_column: str | None = None
    time_column: str | None = None
    group_column: str | None = None


@dataclass
class GaugeFile:
    """A labelled, timed file read once: `frame` has line, text, label (0 negative, 1 neutral, 2 positive), time
    (UTC) and group; `report` counts every record (kept, malformed, without a label, a time or a text)."""

    name: str
    source: str
    fingerprint: str
    frame: pd.DataFrame
    columns: dict
    report: dict = field(default_factory=dict)


# ------------------------------------------------------------------ reading


def read_gauge_file(path: str | Path, settings: GaugeSettings, name: str | None = None) -> GaugeFile:
    path = Path(path)
    if not path.is_file():
        raise GaugeError(f"{path.name}: no such file (a gauge file is a labelled CSV with a time column)")
    try:
        with open_csv(path, name=path.name) as table:
            raw = pd.concat(list(table.frames(50_000)) or [pd.DataFrame(columns=table.layout.columns)])
            read = table.report
            columns = resolve_columns(table, raw, settings)
    except CsvFormatError as exc:
        raise GaugeError(str(exc)) from None
    frame, dropped = clean_rows(raw, columns)
    if frame.empty:
        raise GaugeError(f"{path.name}: no row has a text, a three-way label and a readable time")
    report = {"records": read.records, "malformed": read.malformed, "kept": len(frame), **dropped}
    report["label_shares"] = {c: float((frame["label"] == i).mean()) for c, i in WORDS.items() if len(c) > 3}
    return GaugeFile(name or path.stem, path.name, _sha256(path), frame, columns, report)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve_columns(table, raw: pd.DataFrame, settings: GaugeSettings) -> dict:
    """The text, label, time and group columns: the names given, else found by name (label) or values (time)."""
    names = {c.lower(): c for c in raw.columns}

    def named(wanted: str | None, what: str) -> str | None:
        if wanted is None:
            return None
        if wanted.strip().lower() not in names:
            raise GaugeError(f"{table.name}: no column named {wanted!r} for the {what}")
        return names[wanted.strip().lower()]

    label = named(settings.label_column, "label") or _label_column(names)
    found_time = named(settings.time_column, "time") or _time_column(raw, names)
    if label is None or found_time is None:
        missing = "a label column (--label-column)" if label is None else "a time column (--time-column)"
        raise GaugeError(f"{table.name}: found no {missing}; name it on the command line")
    text = table.column(settings.text_column)
    return {"text": text, "label": label, "time": found_time, "group": named(settings.group_column, "group")}


def _time_column(raw: pd.DataFrame, names: dict[str, str]) -> str | None:
    """The column whose values read as dates, else one named like a time (its odd values are counted apart)."""
    by_values = time_columns(raw.head(500))
    if by_values:
        return by_values[0]
    named_like = [original for low, original in names.items() if low in TIME_COLUMNS or "created" in low]
    return next(iter(named_like), None)


def _label_column(names: dict[str, str]) -> str | None:
    for name in LABEL_COLUMNS:
        if name in names:
            return names[name]
    return next((original for low, original in names.items() if low.endswith("sentiment")), None)


def label_codes(values: pd.Series) -> pd.Series:
    """Three-way codes (0 negative, 1 neutral, 2 positive; NaN when unknown) from words or numbers."""
    clean = values.fillna("").astype(str).str.strip().str.lower()
    words = clean.map(WORDS)
    numbers = clean[words.isna() & clean.ne("")]
    if len(numbers):
        coding = next((c for c in CODINGS if numbers.isin(list(c)).all()), CODINGS[0])
        words = words.fillna(clean.map(coding))
    return words


def clean_rows(raw: pd.DataFrame, columns: dict) -> tuple[pd.DataFrame, dict]:
    text = raw[columns["text"]].fillna("").astype(str)
    frame = pd.DataFrame(
        {
            "line": raw.index.to_numpy(),
            "text": text.str.slice(0, MAX_TEXT_CHARS).to_numpy(),
            "label": label_codes(raw[columns["label"]]).to_numpy(),
            "time": parse_timestamps(raw[columns["time"]]).to_numpy(),
            "group": (raw[columns["group"]].fillna("").astype(str).to_numpy() if columns["group"] else "all"),
        }
    )
    no_text = frame["text"].str.strip().eq("")
    no_label = frame["label"].isna() & ~no_text
    no_time = frame["time"].isna() & ~no_text & ~no_label
    kept = frame[~(no_text | no_label | no_time)].reset_index(drop=True)
    dropped = {"empty_text": int(no_text.sum()), "no_label": int(no_label.sum()), "no_time": int(no_time.sum())}
    dropped["examples"] = [f"line {n}: no three-way label" for n in frame.loc[no_label, "line"].head(3)]
    dropped["examples"] += [f"line {n}: no readable time" for n in frame.loc[no_time, "line"].head(3)]
    return kept.astype({"label": int}), dropped


# ------------------------------------------------------------------ protocol and windows


def split(frame: pd.DataFrame, settings: GaugeSettings) -> tuple[np.ndarray, np.ndarray]:
    """(labelled rows for the mapping, rows to evaluate on): the earliest `labels` tweets, or drawn at random."""
    k, pool = int(settings.labels), max(int(settings.labels), int(settings.pool))
    if pool <= 0:
        return np.zeros(0, int), np.arange(len(frame))
    if pool >= len(frame):
        raise GaugeError(f"{pool} labels leave no tweet to evaluate on ({len(frame)} rows)")
    if settings.protocol == "time":
        order = frame.sort_values(["time", "line"], kind="stable").index.to_numpy()
    elif settings.protocol == "random":
        order = np.random.default_rng(settings.seed).permutation(len(frame))
    else:
        raise GaugeError(f"unknown protocol {settings.protocol!r}: time or random")
    return np.sort(order[:k]), np.sort(order[pool:])


def windows(
    frame: pd.DataFrame, rows: np.ndarray, settings: GaugeSettings
) -> list[tuple[str, pd.Timestamp, np.ndarray]]:
    """(group, window start, row indices) of each group-window of `rows` holding at least `min_tweets` tweets."""
    sub = frame.iloc[rows]
    try:
        starts = sub["time"].dt.floor(settings.window)
    except ValueError:
        raise GaugeError(f"--window {settings.window!r} is not a fixed pandas frequency (1D, 6h, 15min)") from None
    out = []
    for (group, start), part in sub.groupby([sub["group"], starts], sort=True):
        if len(part) >= settings.min_tweets:
            out.append((str(group), start, part.index.to_numpy()))
    return out


# ------------------------------------------------------------------ figures


def gauge_metrics(table: pd.DataFrame, threshold: float) -> dict:
    """MAE, bias, worst error (points), coverage, width, alert recall/precision (estimate and lower-bound rules)."""
    truth, estimate = table["true_share"].to_numpy(float), table["estimate"].to_numpy(float)
    error = estimate - truth
    bad = truth >= threshold
    out = {
        "windows": len(table),
        "bad_windows": int(bad.sum()),
        "mae": _round(100 * np.abs(error).mean()),
        "bias": _round(100 * error.mean()),
        "worst": _round(100 * np.abs(error).max()),
        "coverage": _round(((table["low"] <= truth) & (truth <= table["high"])).mean()),
        "width": _round(100 * (table["high"] - table["low"]).mean()),
    }
    for rule, fired in (("alert", estimate >= threshold), ("alert_lower", table["low"].to_numpy() >= threshold)):
        hits = int((fired & bad).sum())
        out[f"{rule}_recall"] = _round(hits / bad.sum()) if bad.any() else None
        out[f"{rule}_precision"] = _round(hits / fired.sum()) if fired.any() else None
    return out


def _round(value, digits: int = 4):
    value = float(value)
    return round(value, digits) if math.isfinite(value) else None


def window_table(frame, wins, p_negative: np.ndarray, model_sd: np.ndarray, settings: GaugeSettings) -> pd.DataFrame:
    rows = []
    for (group, start, idx), extra in zip(wins, model_sd, strict=True):
        est = share.estimate_share(p_negative[idx], settings.threshold, float(extra), settings.level)
        truth = float((frame["label"].to_numpy()[idx] == share.NEGATIVE).mean())
        rows.append(
            {"group": group, "window_start": start.isoformat(), "n": len(idx), "true_share": round(truth, 6)}
            | {"estimate": round(est.share, 6), "low": round(est.low, 6), "high": round(est.high, 6)}
            | {"p_over": round(est.p_over, 6), "model_sd": round(float(extra), 6)}
        )
    columns = ["group", "window_start", "n", "true_share", "estimate", "low", "high", "p_over", "model_sd"]
    return pd.DataFrame(rows, columns=columns)


# ------------------------------------------------------------------ the run on the file


def run_log_odds(proba: np.ndarray) -> np.ndarray:
    """The scoring run's knowledge as features: log(P(class) / P(positive)) per other class, scaled to ~±1."""
    p = np.clip(np.asarray(proba, dtype=float), 1e-4, 1.0)
    return np.log(p[:, :-1] / p[:, -1:]) / 4.0


def run_p_negative(proba: np.ndarray) -> np.ndarray:
    return np.asarray(proba, dtype=float)[:, 0]


def embed(texts: list[str], encoder_name: str, label: str) -> np.ndarray:
    from core.embedding.cache import cached_embeddings
    from core.embedding.encoders import load_encoder

    return cached_embeddings(load_encoder(encoder_name), texts, label=label)


def mapping_features(data: GaugeFile, proba: np.ndarray, settings: GaugeSettings) -> np.ndarray:
    """What the in-domain mapping sees of every row: [sentence embedding, the run's log-odds] (log-odds alone
    without an encoder)."""
    X = run_log_odds(proba)
    if not settings.encoder:
        return X
    return np.hstack([embed(data.frame["text"].tolist(), settings.encoder, f"gauge/{data.fingerprint[:12]}"), X])


def estimate(
    data: GaugeFile,
    proba: np.ndarray,
    settings: GaugeSettings,
    features: np.ndarray | None = None,
    labelled: np.ndarray | None = None,
) -> tuple[pd.DataFrame, dict, np.ndarray]:
    """The window table, the method's record and every row's P(negative) for the run's class probabilities.
    `features`: mapping_features, when already computed; `labelled`: the rows to train on instead of the split's
    (a labelling strategy), the evaluated rows staying the split's."""
    frame = data.frame
    split_labelled, rest = split(frame, settings)
    labelled = split_labelled if labelled is None else np.asarray(labelled)
    wins = windows(frame, rest, settings)
    if not wins:
        raise GaugeError(f"no group-window of the evaluated tweets holds {settings.min_tweets} tweets or more")
    if not len(labelled):
        method = {"mapping": "none: the run's own P(negative)", "interval": "window (Poisson-binomial)"}
        if proba.shape[1] == 2:
            method["note"] = "binary run: no neutral class, neutral tweets get the run's calibrated P(negative)"
        p_negative = run_p_negative(proba)
        return window_table(frame, wins, p_negative, np.zeros(len(wins)), settings), method, p_negative
    X = mapping_features(data, proba, settings) if features is None else features
    mapping = share.InDomainMapping(settings.seed, settings.c_grid).fit(
        X[labelled], frame["label"].to_numpy()[labelled]
    )
    p_negative = mapping.predict_proba(X)[:, share.NEGATIVE]
    spread = mapping.refit_spread(X[rest], [np.searchsorted(rest, idx) for _, _, idx in wins], settings.refits)
    in_time = frame.iloc[labelled].sort_values(["time", "line"], kind="stable").index.to_numpy()
    forward, blocks = share.forward_sd(
        X[in_time], frame["label"].to_numpy()[in_time], frame["group"].to_numpy()[in_time], mapping.C
    )
    inputs = f"[{settings.encoder} embedding, run log-odds]" if settings.encoder else "[run log-odds]"
    method = {
        "mapping": f"in-domain 3-class logistic regression on {inputs}",
        "interval": f"window (Poisson-binomial) + mapping refit on {settings.refits} bootstrap resamples "
        f"+ forward model term (labels in {share.BLOCKS} time blocks)",
        "forward_sd": round(forward, 6),
        "forward_group_blocks": blocks,
        **mapping.describe(),
    }
    spread = np.sqrt(spread**2 + forward**2)
    return window_table(frame, wins, p_negative, spread, settings), method, p_negative


def evaluate_gauge(model, run_dir: str | Path, data: GaugeFile, settings: GaugeSettings) -> dict:
    """Score the file with `model`, estimate and measure the gauge, store gauge.json and gauge_windows.csv."""
    started = time.perf_counter()
    proba = np.asarray(model.predict_class_proba(data.frame["text"].tolist()), dtype=float)
    if not np.isfinite(proba).all():
        raise GaugeError(f"{getattr(model, 'name', 'the model')} gave no score for some tweets of {data.source}")
    table, method, _ = estimate(data, proba, settings)
    result = {
        "name": data.name,
        "source": data.source,
        "fingerprint": data.fingerprint,
        "run": Path(run_dir).name,
        "model": getattr(model, "name", ""),
        "settings": asdict(settings),
        "columns": data.columns,
        "data": data.report,
        "method": {"estimator": "PCC (mean P(negative))", "alert_rule": "estimate ≥ threshold", **method},
        "metrics": gauge_metrics(table, settings.threshold),
        "evaluated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    result["seconds"] = round(time.perf_counter() - started, 3)
    store(Path(run_dir), result, table)
    return result


# ------------------------------------------------------------------ storing and reading back


def folder_of(run_dir: Path, name: str) -> Path:
    from core.evaluation.eval_sets import EVALUATIONS_DIR, slug

    return Path(run_dir) / EVALUATIONS_DIR / slug(name)


def store(run_dir: Path, result: dict, table: pd.DataFrame) -> None:
    folder = folder_of(run_dir, result["name"])
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / WINDOWS_FILE, table.to_csv(index=False))
    write_json_atomic(folder / GAUGE_FILE, result)


def list_gauges(run_dir: str | Path) -> dict[str, dict]:
    """name -> gauge.json of every gauge evaluation of a run."""
    from core.evaluation.eval_sets import EVALUATIONS_DIR
    from core.tracking.runs import read_json

    found = {}
    for path in sorted((Path(run_dir) / EVALUATIONS_DIR).glob(f"*/{GAUGE_FILE}")):
        result = read_json(path)
        if isinstance(result, dict) and result.get("name") and isinstance(result.get("metrics"), dict):
            found[result["name"]] = result
    return found


def gauge_windows(run_dir: str | Path, name: str) -> pd.DataFrame | None:
    path = folder_of(Path(run_dir), name) / WINDOWS_FILE
    return pd.read_csv(path) if path.exists() else None


def describe(result: dict) -> str:
    m, s = result["metrics"], result["settings"]
    labels = f"{s['labels']} {s['protocol']}-split labels" if s["labels"] else "no in-domain labels"
    alert = f"alert recall {_fmt(m['alert_recall'])}, precision {_fmt(m['alert_precision'])}"
    return (
        f"gauge on {result['name']} ({labels}, {m['windows']} windows of {s['window']}, {m['bad_windows']} at or over "
        f"{s['threshold']:.0%}): MAE {m['mae']:.2f} points, bias {m['bias']:+.2f}, worst {m['worst']:.2f}, "
        f"{s['level']:.0%} interval coverage {_fmt(m['coverage'])} (width {m['width']:.1f}), {alert}"
    )


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"
