"""The full Sentiment140 and its fractions: the cost of every step at 100 k, 400 k and 1.6 M tweets.

    python -m benchmarks.scale [--sizes 100000,400000,1600000] [--work /tmp/badbuzz-scale]
                               [--only data,logreg,keras,transformer,score,pages] [--json scale.json]
    python -m benchmarks.scale --markdown-from scale.json      # the README's table

For each size it builds an official-format file from the shared sample (benchmarks.official_format: distinct
texts, so the cleaned set has exactly that many rows) and measures, each step in a child process as a user
would run it (wall seconds and that process's own peak memory):

- data: a bare pyarrow read of the file, load + report (core.data.loading), the split built and read back,
  the Data page's first render (AppTest), cold and with its statistics cached on disk;
- logreg: `python -m trainers.logreg` with TF-IDF and with feature hashing (accuracy and the C curve too);
- keras: one LSTM epoch projected from a fixed number of steps (benchmarks.keras_scale);
- transformer: tokenising the training split, and the epoch projected from a small fine-tuning run's speed
  (benchmarks.transformer_scale);
- score: `python -m core.score` with the TF-IDF run on the whole file, and with an ONNX transformer run on its
  first 20 k rows (projected to the file's size: ONNX scoring is linear in the rows);
- pages: the Compare page's first render with the two logistic-regression runs (each with its test predictions).

It prints a table per size and one table of how each cost grows from the smallest size to the largest, and
writes everything to `--json`. The copies of a tweet in the built files differ only by an @mention, so
accuracies here are optimistic (near-copies fall on both sides of the split): read them as a check that the
model trains, and the shared 90k sample's figures for accuracy.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from pathlib import Path

from benchmarks.measure import PYTHON, child_env, python_code, timed

SIZES = (100_000, 400_000, 1_600_000)
STEP_GROUPS = ("data", "logreg", "keras", "transformer", "score", "pages")
ONNX_SCORE_ROWS = 20_000
KERAS_STEPS = 50

DATA_STEP_NAMES = {
    "bare_read": "bare pyarrow read (Latin-1 decoded)",
    "binary_read": "bare pyarrow read (bytes, no decoding)",
    "load_cold": "load + report",
    "load_warm": "load + report (fingerprint cached)",
    "split_first": "split, first build",
    "split_reload": "split, read back",
    "page_cold": "Data page, first render",
    "page_warm": "Data page, after a restart (stats on disk)",
}
COMPARE_PAGE = """
import time
from streamlit.testing.v1 import AppTest
start = time.perf_counter()
at = AppTest.from_file("views/compare.py", default_timeout=900).run()
assert not at.exception, [e.value for e in at.exception]
print(round(time.perf_counter() - start, 2))
"""


class Bench:
    """One size: its file, its scratch folders and what was measured so far."""

    def __init__(self, rows: int, work: Path):
        self.rows, self.work = rows, work / f"{rows // 1000}k"
        self.work.mkdir(parents=True, exist_ok=True)
        self.path = work / f"s140_{rows // 1000}k.csv"
        # Built in a child: a child's peak memory starts from its parent's size at fork, so this process stays small.
        timed([PYTHON, "-m", "benchmarks.official_format", "--rows", str(rows), "--out", str(self.path)])
        self.env = child_env(
            BADBUZZ_DATA_DIR=str(self.work / "data"),
            BADBUZZ_RUNS_DIR=str(self.work / "runs"),
            BADBUZZ_DATA=str(self.path),
            BADBUZZ_NO_DOWNLOAD="1",
        )
        self.results: dict[str, dict] = {}

    def record(self, name: str, seconds: float, peak_mib: float | None = None, **extra) -> None:
        row = {"seconds": round(seconds, 2), **({"peak_mib": round(peak_mib)} if peak_mib else {}), **extra}
        self.results[name] = row
        shown = ", ".join(f"{k} {v}" for k, v in extra.items() if not isinstance(v, (dict, list)))
        peak = f"{peak_mib:7.0f} MiB" if peak_mib else " " * 11
        print(f"  {name:<44} {seconds:9.2f} s {peak}  {shown}", flush=True)

    def run_dir(self, name: str) -> Path:
        return self.work / "runs" / name


# ---------------------------------------------------------------- the steps


def data_steps(bench: Bench) -> None:
    from benchmarks import data_scale

    for name, row in data_scale.measure(bench.path, env=bench.env).items():
        bench.record(DATA_STEP_NAMES.get(name, name), row.pop("seconds"), row.pop("peak_mib", None), **row)


def logreg_steps(bench: Bench) -> None:
    for features in ("tfidf", "hashing"):
        out = bench.run_dir(f"logreg-{features}")
        cmd = [PYTHON, "-m", "trainers.logreg", "--data", str(bench.path), "--output", str(out)]
        wall, peak, _ = timed([*cmd, "--features", features], env=bench.env)
        meta = json.loads((out / "run.json").read_text())
        model, metrics = meta["model"], json.loads((out / "metrics.json").read_text())
        bench.record(
            f"logreg {features} (train + evaluate)",
            wall,
            peak,
            accuracy=round(metrics["test"]["accuracy"], 4),
            C=model["C"],
            n_features=model["n_features"],
            val_accuracy_by_C=model["val_accuracy_by_C"],
            fit_seconds_by_C=model["fit_seconds_by_C"],
            train_seconds=round(meta.get("timings", {}).get("train_seconds", 0.0), 1),
        )


def keras_steps(bench: Bench) -> None:
    from benchmarks import keras_scale

    found = keras_scale.measure(bench.path, KERAS_STEPS)
    bench.record(
        f"keras LSTM: {KERAS_STEPS} steps (CPU)",
        found["trainer"]["seconds"],
        found["trainer"]["peak_rss_mib"],
        preprocess_s=found["preprocess_s"],
        embedding_s=found["embedding_s"],
        tweets_per_s=found["train_tweets_per_s"],
    )
    bench.record("keras LSTM: projected epoch", found["projected_epoch_s"])


def transformer_steps(bench: Bench) -> None:
    from benchmarks import transformer_scale

    found = transformer_scale.measure(bench.path, env=bench.env, work=bench.work.parent / "transformer-onnx")
    for name, row in found.items():
        bench.record(name, row.pop("seconds"), row.pop("peak_mib", None), **row)


def score_steps(bench: Bench) -> None:
    run = bench.run_dir("logreg-tfidf")
    out = bench.work / "scored.csv"
    cmd = [PYTHON, "-m", "core.score", "--run", str(run), "--input", str(bench.path), "--output", str(out)]
    wall, peak, _ = timed(cmd, env=bench.env)
    bench.record("core.score, logreg (all rows)", wall, peak, rows_per_s=round(bench.rows / wall))
    out.unlink(missing_ok=True)
    onnx_run = transformer_run(bench)
    if onnx_run is None:
        return
    head = bench.work / f"head_{ONNX_SCORE_ROWS}.csv"
    with open(bench.path, encoding="latin-1") as src, open(head, "w", encoding="latin-1") as dst:
        dst.writelines(line for _, line in zip(range(ONNX_SCORE_ROWS), src, strict=False))
    cmd = [PYTHON, "-m", "core.score", "--run", str(onnx_run), "--input", str(head), "--output", str(out)]
    wall, peak, _ = timed(cmd, env=bench.env)
    rate = ONNX_SCORE_ROWS / wall
    bench.record(f"core.score, ONNX transformer ({ONNX_SCORE_ROWS // 1000}k rows)", wall, peak, rows_per_s=round(rate))
    bench.record("core.score, ONNX transformer (projected)", bench.rows / rate)


def transformer_run(bench: Bench) -> Path | None:
    """A small fine-tuned MiniLM run with its ONNX export, trained once and shared by every size."""
    from benchmarks import transformer_scale

    return transformer_scale.small_onnx_run(bench.work.parent / "transformer-onnx", bench.env)


def page_steps(bench: Bench) -> None:
    wall, peak, out = python_code(COMPARE_PAGE, env=bench.env)
    bench.record("Compare page, first render", float(out.strip().splitlines()[-1]), peak, process_s=round(wall, 1))


STEPS: dict[str, Callable[[Bench], None]] = {
    "data": data_steps,
    "logreg": logreg_steps,
    "keras": keras_steps,
    "transformer": transformer_steps,
    "score": score_steps,
    "pages": page_steps,
}


# ---------------------------------------------------------------- the tables


def growth_table(benches: list[Bench]) -> list[dict]:
    """Per step: seconds at each size and the exponent k of seconds ~ rows^k between the smallest and largest."""
    first, last = benches[0], benches[-1]
    rows = []
    for name in last.results:
        seconds = [b.results.get(name, {}).get("seconds") for b in benches]
        if seconds[0] and seconds[-1] and last.rows > first.rows:
            k = math.log(seconds[-1] / seconds[0]) / math.log(last.rows / first.rows)
            rows.append({"step": name, "seconds": seconds, "exponent": round(k, 2)})
    return rows


def print_growth(growth: list[dict], sizes: list[int]) -> None:
    header = "".join(f"{s // 1000:>9}k" for s in sizes)
    print(f"\n{'step':<44}{header}   growth (seconds ~ rows^k)")
    for row in growth:
        cells = "".join(f"{s:10.1f}" if s is not None else f"{'-':>10}" for s in row["seconds"])
        print(f"{row['step']:<44}{cells}   k = {row['exponent']}")


def markdown(report: dict) -> str:
    """The README's table: seconds (and peak MiB) per step and size, and the growth exponent."""
    sizes = sorted(report["sizes"], key=int)
    growth = {row["step"]: row["exponent"] for row in report.get("growth", [])}
    names = list(dict.fromkeys(name for size in sizes for name in report["sizes"][size]))
    head = " | ".join(f"{int(size) // 1000}k" for size in sizes)
    lines = [f"| step | {head} | growth k (s ~ rows^k) |", "| --- |" + " --- |" * (len(sizes) + 1)]
    for name in names:
        cells = []
        for size in sizes:
            row = report["sizes"][size].get(name)
            peak = f" / {row['peak_mib']:,} MiB" if row and row.get("peak_mib") else ""
            cells.append(f"{row['seconds']:,.2f} s{peak}" if row else "–")
        lines.append(f"| {name} | {' | '.join(cells)} | {growth.get(name, '–')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--work", type=Path, default=Path("/tmp/badbuzz-scale"))
    parser.add_argument("--only", default=",".join(STEP_GROUPS), help=f"step groups among {STEP_GROUPS}")
    parser.add_argument("--json", type=Path, default=Path("artifacts/benchmarks/scale.json"))
    parser.add_argument("--markdown-from", type=Path, help="print the table of an earlier --json and stop")
    args = parser.parse_args(argv)
    if args.markdown_from:
        print(markdown(json.loads(args.markdown_from.read_text())))
        return {}
    groups = [g for g in args.only.split(",") if g]
    benches = []
    for rows in sorted(int(s) for s in args.sizes.split(",")):
        bench = Bench(rows, args.work)
        print(f"\n{rows:,} rows ({bench.path}, {bench.path.stat().st_size / 1e6:.0f} MB)", flush=True)
        for group in groups:
            STEPS[group](bench)
        benches.append(bench)
    growth = growth_table(benches)
    print_growth(growth, [b.rows for b in benches])
    report = {"sizes": {b.rows: b.results for b in benches}, "growth": growth}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    print(f"\nwritten: {args.json}")
    return report


if __name__ == "__main__":
    main()
