"""The Keras trainer at 100k / 400k / 1.6 M rows: one LSTM epoch projected from a fixed number of steps, with the
time of the split, the tokenising and the word vectors, and each child process's peak memory.

    python -m benchmarks.keras_scale /tmp/s140_100k.csv /tmp/s140_400k.csv /tmp/s140_1600k.csv --steps 100

For each file, `measure(path, steps)` runs two child processes (each one's own peak RSS, as in
benchmarks.logreg_baseline, and the trainer's with its tokenising workers, sampled): the persisted split, built or read back (`load_split`), then
`benchmarks.gpu_keras_epoch` on that split (the trainer's code, bounded to `steps` batches). Splits are cached
in BADBUZZ_DATA_DIR (default: a folder under the system temp dir, so the project's artifacts stay as they are).
Trainer options after `--` replace the study preset's defaults, e.g. `-- --preset default --vector-epochs 5`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
SPLIT_CODE = "import sys; from core.data.split import load_split; load_split(sys.argv[1])"


def timed(cmd: list[str], env: dict) -> tuple[float, float, float, str]:
    """(wall seconds, peak RSS in MiB, peak RSS of it and its workers together in MiB, stdout) of a child."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    tree = TreeMemory(proc.pid)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak memory, not the max over all children
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if proc.returncode:
        raise RuntimeError(f"failed ({proc.returncode}): {' '.join(cmd)}")
    return wall, usage.ru_maxrss / 1024, tree.stop() / 2**20, out


class TreeMemory(threading.Thread):
    """The largest sum of RSS over a process and its descendants (the tokenising workers), sampled every 0.2 s."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.root, self.peak, self.done = psutil.Process(pid), 0, threading.Event()
        self.start()

    def run(self):
        while not self.done.wait(0.2):
            try:
                processes = [self.root, *self.root.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in processes))
            except psutil.Error:  # a worker ended between listing and reading
                continue

    def stop(self) -> int:
        self.done.set()
        self.join()
        return self.peak


def child_env() -> dict:
    env = dict(os.environ)
    env.setdefault("BADBUZZ_DATA_DIR", str(Path(tempfile.gettempdir()) / "badbuzz-keras-scale"))
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def measure(path: str | Path, steps: int, trainer_args: list[str] | tuple = ()) -> dict:
    """The split, then `steps` training batches of the trainer on `path`: seconds, peak RSS, projected epoch."""
    env = child_env()
    split_s, split_rss, _, _ = timed([sys.executable, "-c", SPLIT_CODE, str(path)], env)
    cmd = [sys.executable, "-m", "benchmarks.gpu_keras_epoch", "--data", str(path), "--steps", str(steps)]
    wall, rss, tree_rss, out = timed([*cmd, *trainer_args], env)
    result = json.loads(next(line for line in out.splitlines() if line.startswith("RESULT "))[len("RESULT ") :])
    return {
        "data": str(path),
        "rows_train": result["sizes"]["train"],
        "split": {"seconds": round(split_s, 1), "peak_rss_mib": round(split_rss)},
        "trainer": {
            "seconds": round(wall, 1),
            "peak_rss_mib": round(rss),
            "with_workers_peak_rss_mib": round(tree_rss),
        },
        "split_read_back_s": result["split_s"],
        "preprocess_s": result["phases"].get("preprocess"),
        "embedding_s": result["phases"].get("embedding"),
        "train_tweets_per_s": result["train_tweets_per_s"],
        "val_tweets_per_s": result["val_tweets_per_s"],
        "projected_epoch_s": result["projected_epoch_s"],
        "projected_first_epoch_total_s": result["projected_first_epoch_total_s"],
        "device": result["device"],
        "model": result["model"],
        "steps": steps,
    }


def main(argv: list[str] | None = None) -> list[dict]:
    argv = sys.argv[1:] if argv is None else argv
    trainer_args = argv[argv.index("--") + 1 :] if "--" in argv else []
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+")
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    results = []
    for path in args.files:
        found = measure(path, args.steps, trainer_args)
        results.append(found)
        print(json.dumps(found), flush=True)
    return results


if __name__ == "__main__":
    main()
