"""Before/after of a fine-tune on in-domain labelled tweets (corrections), measured on a held-out half of them.

    python -m benchmarks.finetune_corrections --run artifacts/runs/minilm --data corrections.csv [--seed 42]
        [--mode data|extra] [--out FOLDER] [--child RUN_DIR] [--name SET_NAME] [trainer options, e.g. --epochs 3]

1. The labelled file is read like training data and split in two halves, stratified and seeded, written to --out
   (default: <data folder>/finetune/<file>-s<seed>/): `<file>-tune.csv` and `<file>-heldout.csv`.
2. The parent run (a transformer or keras run) is evaluated on the held-out half.
3. A child is trained with `--init-from PARENT` on the first half: `--mode data` (default) trains on it alone
   (`--data <first half>`: its own split keeps 20 % of it for its test split and 10 % of the rest for validation);
   `--mode extra` trains on the parent's data and split (its `--data` and `--sample`: the child's test split is the
   parent's) plus the first half as `--extra-data` (add `--extra-repeat N` to oversample it). Any other option is
   passed to the trainer as given (`--epochs 3`, `--lr 2e-5`, `--device cuda`, ...).
4. The child is evaluated on the held-out half, and a before/after table is printed (accuracy, macro F1, n).

Both evaluations are stored in the run folders (core.evaluation.eval_sets.evaluate_set, under --name, default
"<file> held-out half"), so Résumé and Compare show them. The child trains in a child process, as a user would
run it; its command is printed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from benchmarks.measure import ROOT
from core import config

TRAINER_MODULES = {"transformer": "trainers.transformer", "keras": "trainers.keras_nn"}
SPLIT_PARAMS = ("sample", "seed", "test_size", "val_size")  # the parent's split, for --mode extra


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, required=True, help="the parent run (transformer or keras)")
    parser.add_argument("--data", required=True, help="a labelled CSV of in-domain tweets")
    parser.add_argument("--seed", type=int, default=42, help="seed of the halves")
    parser.add_argument("--mode", choices=("data", "extra"), default="data")
    parser.add_argument("--out", type=Path, help="where the halves are written")
    parser.add_argument("--child", type=Path, help="the child's run folder (default: <parent>-ft-<file>)")
    parser.add_argument("--name", help="the evaluation set's name (default: '<file> held-out half')")
    return parser.parse_known_args(argv)


def write_halves(data: str, out: Path, seed: int) -> tuple[Path, Path, int]:
    """The labelled file's kept rows in two stratified halves (text, label as negative/positive): (tune, held-out,
    neutral rows left out)."""
    from core.data.loading import DataError, load_dataset

    loaded = load_dataset(data)
    frame = loaded.frame[["text", "label"]]
    if frame["label"].value_counts().min() < 2 or frame["label"].nunique() < 2:
        raise DataError(f"{Path(data).name}: too few tweets of each class to split in two halves")
    tune, held = train_test_split(frame, test_size=0.5, stratify=frame["label"], random_state=seed)
    out.mkdir(parents=True, exist_ok=True)
    stem = Path(data.split(".zip:")[-1]).stem
    paths = out / f"{stem}-tune.csv", out / f"{stem}-heldout.csv"
    for part, path in zip((tune, held), paths, strict=True):
        part.assign(label=part["label"].map({0: "negative", 1: "positive"})).to_csv(path, index=False)
    return *paths, loaded.report.neutral_dropped


def parent_meta(run: Path) -> dict:
    meta = json.loads((run / "run.json").read_text())
    if meta.get("kind") not in TRAINER_MODULES:
        raise SystemExit(f"error: {run.name} is a {meta.get('kind')} run; --run takes a transformer or keras run")
    return meta


def child_command(parent: Path, meta: dict, tune: Path, child: Path, mode: str, passed: list[str]) -> list[str]:
    """The trainer's command line for the child."""
    command = [sys.executable, "-m", TRAINER_MODULES[meta["kind"]], "--init-from", str(parent), "--output", str(child)]
    if mode == "data":
        return [*command, "--data", str(tune), *passed]
    params = meta.get("params") or {}
    split = [a for p in SPLIT_PARAMS if params.get(p) is not None for a in (f"--{p.replace('_', '-')}", str(params[p]))]
    base = params.get("data") or (meta.get("data") or {}).get("source")
    if not base:
        raise SystemExit(f"error: {parent.name} records no training data for --mode extra; use --mode data")
    return [*command, "--data", str(base), *split, "--extra-data", str(tune), *passed]


def evaluate(run: Path, held: Path, name: str) -> dict:
    """The run measured on the held-out half, stored in its folder under `name`."""
    from core.evaluation.eval_sets import evaluate_set
    from core.models.base import load

    return evaluate_set(load(run), run, held, name=name)


def row(role: str, run: Path, evaluation: dict) -> dict:
    metrics = evaluation["metrics"]
    return {
        "model": role,
        "run": run.name,
        "accuracy (%)": round(100 * metrics["accuracy"], 2),
        "macro F1 (%)": round(100 * metrics["f1_macro"], 2),
        "n": evaluation["counts"]["scored"],
    }


def free_folder(path: Path) -> Path:
    """`path`, or `path-2`, `path-3`, ... when it exists."""
    candidates = [path, *(path.with_name(f"{path.name}-{n}") for n in range(2, 1000))]
    return next(p for p in candidates if not p.exists())


def main(argv: list[str] | None = None) -> pd.DataFrame:
    args, passed = parse_args(argv)
    meta = parent_meta(args.run)
    stem = Path(args.data.split(".zip:")[-1]).stem
    out = args.out or config.data_dir() / "finetune" / f"{stem}-s{args.seed}"
    tune, held, neutral = write_halves(args.data, out, args.seed)
    name = args.name or f"{stem} held-out half"
    print(f"halves of {Path(args.data).name} (seed {args.seed}, {neutral:,} neutral left out): {tune} | {held}")
    before = evaluate(args.run, held, name)
    child = args.child or free_folder(config.runs_dir() / f"{args.run.name}-ft-{stem}")
    command = child_command(args.run, meta, tune, child, args.mode, passed)
    print("child:", subprocess.list2cmdline(["python", *command[1:]]))
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL)
    if done.returncode:
        raise SystemExit(f"error: the child's training failed (exit status {done.returncode}; see above)")
    after = evaluate(child, held, name)
    table = pd.DataFrame([row("parent", args.run, before), row("fine-tuned", child, after)])
    print(f"\non the held-out half '{name}' ({held.name}):")
    print(table.to_string(index=False))
    gain = table["accuracy (%)"].iloc[1] - table["accuracy (%)"].iloc[0]
    print(f"accuracy {gain:+.2f} points; stored in both run folders (Résumé: evaluation set '{name}')")
    return table


if __name__ == "__main__":
    main()
