"""Fine-tuning speed of a DistilBERT-sized model: seconds per 10,000 tweets, on a GPU (or a CPU, tiny).

    python -m benchmarks.gpu_transformer                      # DistilBERT-base size (66 M), every precision
    python -m benchmarks.gpu_transformer --size tiny --tweets 512 --device cpu   # smoke check anywhere

No download: random weights from DistilBertConfig and random token ids with tweet-like lengths, trained by the
trainer's own units (core.training.transformer_loop: length-grouped batches with dynamic padding, and `TrainStep`:
AdamW, linear schedule, autocast, gradient clipping), which import only numpy, PyTorch and transformers.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from transformers import DistilBertConfig, DistilBertForSequenceClassification

from core.training.transformer_loop import TrainStep, length_grouped_batches

PRECISIONS = ("fp32", "tf32", "bf16", "fp16")
GPU_ONLY = {"tf32", "fp16"}
SIZES = {
    "distilbert": {},  # DistilBertConfig defaults = distilbert-base-uncased: 6 layers, dim 768, 66 M parameters
    "tiny": {"dim": 64, "n_layers": 2, "n_heads": 2, "hidden_dim": 128},
}


def tweet_lengths(n: int, rng: np.random.Generator, max_length: int) -> np.ndarray:
    """Token counts shaped like Sentiment140's (median ~21, 95th percentile ~41 with special tokens)."""
    return np.clip(rng.gamma(shape=5.0, scale=4.6, size=n).round().astype(int), 4, max_length)


def synthetic_batch(ids: np.ndarray, lengths: np.ndarray, labels: torch.Tensor, rows: np.ndarray, device):
    """Token ids cut to the batch's longest tweet, its attention mask and labels, on the device."""
    width = int(lengths[rows].max())
    input_ids = torch.from_numpy(ids[rows, :width]).to(device, non_blocking=True)
    mask = (torch.arange(width)[None, :] < torch.from_numpy(lengths[rows])[:, None]).long()
    return input_ids, mask.to(device, non_blocking=True), labels[rows].to(device)


def run(
    size: str,
    device: torch.device,
    precision: str,
    tweets: int,
    batch_size: int,
    max_length: int,
    warmup_steps: int,
    seed: int,
    fused: bool = False,
) -> dict:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    config = DistilBertConfig(**SIZES[size])
    model = DistilBertForSequenceClassification(config).to(device).train()
    n = tweets + warmup_steps * batch_size
    lengths = tweet_lengths(n, rng, max_length)
    ids = rng.integers(1000, config.vocab_size, size=(n, max_length))
    labels = torch.from_numpy(rng.integers(0, 2, size=n))
    plan = length_grouped_batches(lengths, batch_size, rng)
    train_step = TrainStep(
        model,
        device,
        precision,
        lr=5e-5,
        weight_decay=0.01,
        warmup_steps=len(plan) // 16,
        total_steps=len(plan),
        fused=fused,
    )
    seen, seconds, loss = timed_steps(
        train_step, plan, warmup_steps, lambda rows: synthetic_batch(ids, lengths, labels, rows, device)
    )
    result = {
        "size": size,
        "parameters": sum(p.numel() for p in model.parameters()),
        "device": _device_name(device),
        "precision": precision,
        "fused_adamw": fused,
        "batch_size": batch_size,
        "timed_tweets": seen,
        "seconds": round(seconds, 3),
        "final_loss": round(loss.item(), 4),
        **speed(seen, seconds),
        "mean_padded_length": round(float(np.mean([lengths[r].max() for r in plan])), 1),
    }
    if device.type == "cuda":
        result["peak_gpu_memory_gib"] = round(torch.cuda.max_memory_allocated(device) / 2**30, 2)
    return result


def timed_steps(train_step: TrainStep, plan: list, warmup_steps: int, batch_of) -> tuple[int, float, torch.Tensor]:
    """Train on every batch of `plan`; the tweets and seconds after the first `warmup_steps`, and the last loss."""
    if train_step.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(train_step.device)
    seen, start = 0, None
    for step, rows in enumerate(plan):
        if step == warmup_steps:
            train_step.sync()
            start, seen = time.perf_counter(), 0
        loss, _ = train_step(*batch_of(rows))
        seen += len(rows)
    train_step.sync()
    return seen, time.perf_counter() - start, loss


def speed(tweets: int, seconds: float) -> dict:
    return {"tweets_per_s": round(tweets / seconds, 1), "seconds_per_10k_tweets": round(10_000 * seconds / tweets, 2)}


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({torch.get_num_threads()} threads)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="distilbert")
    parser.add_argument("--device", choices=["auto", "cuda", "cpu"], default="auto")
    parser.add_argument(
        "--precision",
        nargs="+",
        choices=PRECISIONS,
        default=None,
        help="fp32, TF32 matmuls (GPU), bf16 or fp16 (GPU) autocast; default: all that apply",
    )
    parser.add_argument("--tweets", type=int, default=10_000, help="tweets in the timed part")
    parser.add_argument("--batch-size", type=int, nargs="+", default=[32, 64, 256])
    parser.add_argument("--max-length", type=int, default=48)
    parser.add_argument("--warmup-steps", type=int, default=10, help="untimed steps first (kernels, allocator)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--fused",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="fused AdamW kernel on a GPU (one launch instead of one per tensor group)",
    )
    parser.add_argument("--json", help="also write the figures to this JSON file")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    device = torch.device("cuda" if args.device != "cpu" and torch.cuda.is_available() else "cpu")
    if args.device == "cuda" and device.type != "cuda":
        parser.error("--device cuda: PyTorch sees no CUDA GPU")
    print(f"torch {torch.__version__}, device {_device_name(device)}", flush=True)
    results = [
        measure(args, device, precision, batch_size)
        for batch_size in args.batch_size
        for precision in args.precision or PRECISIONS
        if precision not in GPU_ONLY or device.type == "cuda"
    ]
    if results:
        best = min(results, key=lambda r: r["seconds_per_10k_tweets"])
        per_epoch = best["seconds_per_10k_tweets"] * 160
        print(
            f"fastest: {best['precision']} batch {best['batch_size']}; at that rate one epoch of the full "
            f"Sentiment140 (1.6 M tweets) takes ~{per_epoch / 60:.1f} min"
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)


def measure(args, device: torch.device, precision: str, batch_size: int) -> dict:
    """One timed run, printed as one line."""
    r = run(
        args.size,
        device,
        precision,
        args.tweets,
        batch_size,
        args.max_length,
        args.warmup_steps,
        args.seed,
        fused=args.fused and device.type == "cuda",
    )
    peak = f", peak {r['peak_gpu_memory_gib']} GiB" if "peak_gpu_memory_gib" in r else ""
    print(
        f"{r['size']} ({r['parameters'] / 1e6:.1f} M params) {r['precision']:>4} batch {batch_size:>3}: "
        f"{r['seconds_per_10k_tweets']:8.2f} s per 10k tweets = {r['tweets_per_s']:9.1f} tweets/s{peak}",
        flush=True,
    )
    return r


if __name__ == "__main__":
    main()
