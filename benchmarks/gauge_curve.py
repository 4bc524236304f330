"""The gauge's learning curve: its error and alert recall/precision against the number of in-domain labels.

    python -m benchmarks.gauge_curve --run RUN --data /work/datasets/airline/Tweets.csv --group-column airline
        [--labels 0,100,300,1000,1500] [--protocols time,random] [--seeds 0] [--pool 1500] [--window 1D]
        [--encoder multilingual-e5-small | none] [--strategies order,active] [--quick] [--out curve.csv]

Per protocol, seed, number of labels k and labelling strategy, core.evaluation.gauge estimates the negative share
of every group-window of the evaluated tweets and prints MAE, bias, worst error (points), 90 % interval coverage
and width, alert recall and precision at the monitor's 60 % threshold. The `pool` (the earliest tweets under the
time protocol, drawn at random under the random one) is set aside for labelling at every k, so each curve point
is measured on the same windows. Strategies: `order` labels the first k of the pool (the earliest: as an analyst
lives it); `active` labels the 50 first, then batches of 50 chosen by core.analysis.labelling.gauge_suggestions
(per group, uncertain on P(negative), diverse by k-means on the embeddings) with the mapping refit between batches.
`--quick`: k in 0 and 300, the time protocol, 5 refits behind the interval (minutes on 2 cores, with the
embeddings cached). The sentence embeddings are computed once per file and encoder and cached (hours for 15,000
tweets with e5 on 2 cores the first time).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np
import pandas as pd

from core.analysis.labelling import gauge_suggestions
from core.evaluation import gauge, share
from core.models.base import load

SEED_LABELS, BATCH = 50, 50
SHOWN = ["protocol", "seed", "strategy", "k", "windows", "bad_windows", "mae", "bias", "worst", "coverage", "width"]
SHOWN += ["alert_recall", "alert_precision", "seconds"]


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--group-column")
    parser.add_argument("--time-column")
    parser.add_argument("--window", default="1D")
    parser.add_argument("--labels", default="0,100,300,1000,1500")
    parser.add_argument("--protocols", default="time,random")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--pool", type=int, default=1500)
    parser.add_argument("--encoder", default="multilingual-e5-small")
    parser.add_argument("--strategies", default="order")
    parser.add_argument("--refits", type=int, default=share.REFITS)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", help="also write the rows to this CSV")
    args = parser.parse_args()
    if args.quick:
        args.labels, args.protocols, args.refits = "0,300", "time", 5
    return args


def active_labels(data, proba, X, settings, k: int) -> np.ndarray:
    """k rows of the pool: the first SEED_LABELS, then batches chosen by gauge_suggestions on the mapping's
    P(negative) (its C chosen once, on the seed labels)."""
    pool = gauge.split(data.frame, replace(settings, labels=settings.pool))[0]
    if settings.protocol == "time":
        pool = data.frame.iloc[pool].sort_values(["time", "line"], kind="stable").index.to_numpy()
    chosen = list(pool[: min(SEED_LABELS, k)])
    y = data.frame["label"].to_numpy()
    mapping = share.InDomainMapping(settings.seed, settings.c_grid).fit(X[chosen], y[chosen])
    while len(chosen) < k:
        model = share.classifier(mapping.C).fit(X[chosen], y[chosen])
        left = np.setdiff1d(pool, chosen)
        frame = data.frame.iloc[left].assign(p_negative=share.proba3(model, X[left])[:, share.NEGATIVE])
        picked = gauge_suggestions(frame, min(BATCH, k - len(chosen)), vectors=X[left], seed=settings.seed)
        chosen += list(picked.index)
    return np.array(chosen)


def curve_point(data, proba, X, settings, strategy: str) -> dict:
    started = time.perf_counter()
    labelled = None
    if strategy == "active" and settings.labels:
        labelled = active_labels(data, proba, X, settings, settings.labels)
    table, method, _ = gauge.estimate(data, proba, settings, features=X, labelled=labelled)
    figures = gauge.gauge_metrics(table, settings.threshold)
    row = {"protocol": settings.protocol, "seed": settings.seed, "strategy": strategy, "k": settings.labels}
    return row | figures | {"C": method.get("C"), "seconds": round(time.perf_counter() - started, 1)}


def main() -> None:
    args = parse()
    base = gauge.GaugeSettings(
        window=args.window, pool=args.pool, encoder=None if args.encoder == "none" else args.encoder
    )
    base = replace(base, refits=args.refits, group_column=args.group_column, time_column=args.time_column)
    data = gauge.read_gauge_file(args.data, base)
    model = load(args.run)
    proba = np.asarray(model.predict_class_proba(data.frame["text"].tolist()), dtype=float)
    X = gauge.mapping_features(data, proba, base)
    print(f"{data.name}: {len(data.frame):,} tweets, run {model.name}, features {X.shape[1]}", flush=True)
    rows = []
    for protocol in args.protocols.split(","):
        for seed in [int(s) for s in args.seeds.split(",")]:
            for k in [int(v) for v in args.labels.split(",")]:
                for strategy in args.strategies.split(",") if k else ["order"]:
                    settings = replace(base, protocol=protocol, seed=seed, labels=k)
                    rows.append(curve_point(data, proba, X, settings, strategy))
                    print(" ".join(f"{c}={rows[-1][c]}" for c in SHOWN), flush=True)
    table = pd.DataFrame(rows)
    print(table[SHOWN].to_string(index=False))
    if args.out:
        table.to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
