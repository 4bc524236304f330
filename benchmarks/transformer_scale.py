"""The transformer at 100 k / 400 k / 1.6 M tweets on this machine: tokenising the training split (the trainer's
own cached tokenisation) and the epoch time projected from a bounded fine-tuning run.

    python -m benchmarks.transformer_scale /tmp/s140_100k.csv /tmp/s140_1600k.csv

Training speed does not depend on the file's size, so one small fine-tuning run of the bundled MiniLM (the
shared sample, `--sample 4000`, one epoch, with its ONNX export) gives the tweets/s, and each size's epoch is its
training split over that rate. The same run serves the scale benchmark's ONNX scoring. Each step runs in a
child process (wall seconds, that process's own peak memory).
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from benchmarks.measure import PYTHON, child_env, python_code, timed
from benchmarks.official_format import SAMPLE

SMALL_RUN_SAMPLE = 4_000
MAX_LENGTH = 64

TOKENISE = f"""
import sys, time
from core.data.split import load_split
from core.models.transformer import resolve_base_model
from core.training.transformer_data import tokenize_frame
from transformers import AutoTokenizer
split = load_split(sys.argv[1])
tokenizer = AutoTokenizer.from_pretrained(resolve_base_model("minilm"))
start = time.perf_counter()
tokenize_frame(split.train, tokenizer, {MAX_LENGTH})
print(len(split.train), round(time.perf_counter() - start, 2))
"""


def small_onnx_run(folder: Path, env: dict | None = None) -> Path:
    """A MiniLM run fine-tuned on SMALL_RUN_SAMPLE tweets of the shared sample, with ONNX; trained once."""
    run = folder / "minilm-small"
    meta = run / "run.json"
    if meta.exists() and json.loads(meta.read_text()).get("status") == "succeeded":
        return run
    shutil.rmtree(run, ignore_errors=True)
    cmd = [PYTHON, "-m", "trainers.transformer", "--data", str(SAMPLE), "--output", str(run), "--base-model"]
    cmd += ["minilm", "--sample", str(SMALL_RUN_SAMPLE), "--epochs", "1", "--max-length", str(MAX_LENGTH)]
    timed(cmd, env=env or child_env(BADBUZZ_DATA_DIR=str(folder / "data")))
    return run


def training_rate(run: Path) -> float:
    metrics = json.loads((run / "metrics.json").read_text())
    return float(metrics["training"]["tweets_per_s"])


def measure(path: str | Path, env: dict | None = None, work: Path | None = None) -> dict[str, dict]:
    """Per step: seconds, peak MiB and extras, for the scale benchmark's table."""
    env = env or child_env()
    wall, peak, out = python_code(TOKENISE, str(path), env=env)
    train_rows, seconds = out.split()[-2:]
    run = small_onnx_run(work or Path(env.get("BADBUZZ_DATA_DIR", "/tmp")).parent / "transformer-onnx", env)
    rate = training_rate(run)
    return {
        "transformer: tokenise the training split": {
            "seconds": float(seconds),
            "peak_mib": peak,
            "tweets_per_s": round(int(train_rows) / float(seconds)),
            "process_s": round(wall, 1),
        },
        "transformer: projected epoch (CPU)": {
            "seconds": int(train_rows) / rate,
            "train_tweets_per_s": round(rate, 1),
            "measured_on": f"{SMALL_RUN_SAMPLE:,}-tweet run",
        },
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+")
    parser.add_argument("--work", type=Path, default=Path("/tmp/badbuzz-transformer-scale"))
    args = parser.parse_args(argv)
    env = child_env(BADBUZZ_DATA_DIR=str(args.work / "data"), BADBUZZ_NO_DOWNLOAD="1")
    for path in args.files:
        print(json.dumps({"data": path, **measure(path, env, args.work)}), flush=True)


if __name__ == "__main__":
    main()
