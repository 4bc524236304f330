"""Fine-tuning speed of a DistilBERT-sized model: seconds per 10,000 tweets, on a GPU (or a CPU, tiny).

    python benchmarks/gpu_transformer.py                      # DistilBERT-base size (66 M), every precision
    python benchmarks/gpu_transformer.py --size tiny --tweets 512 --device cpu   # smoke check anywhere

Self-contained (PyTorch + transformers only, no download): random weights from DistilBertConfig and random
token ids with tweet-like lengths, trained the way trainers/transformer.py trains (AdamW, linear schedule,
length-grouped batches with dynamic padding, autocast, gradient clipping). Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from transformers import DistilBertConfig, DistilBertForSequenceClassification, get_linear_schedule_with_warmup

SIZES = {
    "distilbert": {},  # DistilBertConfig defaults = distilbert-base-uncased: 6 layers, dim 768, 66 M parameters
    "tiny": {"dim": 64, "n_layers": 2, "n_heads": 2, "hidden_dim": 128},
}


def tweet_lengths(n: int, rng: np.random.Generator, max_length: int) -> np.ndarray:
    """Token counts shaped like Sentiment140's (median ~21, 95th percentile ~41 with special tokens)."""
    return np.clip(rng.gamma(shape=5.0, scale=4.6, size=n).round().astype(int), 4, max_length)


def batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    order = rng.permutation(len(lengths))
    out = []
    for start in range(0, len(order), batch_size * 50):
        mega = order[start:start + batch_size * 50]
        mega = mega[np.argsort(-lengths[mega], kind="stable")]
        out += [mega[i:i + batch_size] for i in range(0, len(mega), batch_size)]
    rng.shuffle(out)
    return out


def run(size: str, device: torch.device, precision: str, tweets: int, batch_size: int, max_length: int,
        warmup_steps: int, seed: int, fused: bool = False) -> dict:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    config = DistilBertConfig(**SIZES[size])
    model = DistilBertForSequenceClassification(config).to(device).train()
    params = sum(p.numel() for p in model.parameters())
    n = tweets + warmup_steps * batch_size
    lengths = tweet_lengths(n, rng, max_length)
    ids = rng.integers(1000, config.vocab_size, size=(n, max_length))
    labels = torch.from_numpy(rng.integers(0, 2, size=n))
    plan = batches(lengths, batch_size, rng)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5, eps=1e-8, weight_decay=0.01, fused=fused or None)
    scheduler = get_linear_schedule_with_warmup(optimizer, len(plan) // 16, len(plan))
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    seen, start = 0, None
    for step, rows in enumerate(plan):
        if step == warmup_steps:
            sync()
            start, seen = time.perf_counter(), 0
        width = int(lengths[rows].max())
        input_ids = torch.from_numpy(ids[rows, :width]).to(device, non_blocking=True)
        positions = torch.arange(width)
        mask = (positions[None, :] < torch.from_numpy(lengths[rows])[:, None]).long().to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            logits = model(input_ids=input_ids, attention_mask=mask).logits.float()
        loss = torch.nn.functional.cross_entropy(logits, labels[rows].to(device))
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        seen += len(rows)
    sync()
    seconds = time.perf_counter() - start
    result = {"size": size, "parameters": params, "device": _device_name(device), "precision": precision,
              "fused_adamw": fused,
              "batch_size": batch_size, "timed_tweets": seen, "seconds": round(seconds, 3),
              "tweets_per_s": round(seen / seconds, 1), "seconds_per_10k_tweets": round(10_000 * seconds / seen, 2),
              "mean_padded_length": round(float(np.mean([lengths[r].max() for r in plan])), 1),
              "final_loss": round(loss.item(), 4)}
    if device.type == "cuda":
        result["peak_gpu_memory_gib"] = round(torch.cuda.max_memory_allocated(device) / 2**30, 2)
    return result


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({torch.get_num_threads()} threads)"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="distilbert")
    parser.add_argument("--device", choices=["auto", "cuda", "cpu"], default="auto")
    parser.add_argument("--precision", nargs="+", choices=["fp32", "tf32", "bf16", "fp16"], default=None,
                        help="fp32, TF32 matmuls (GPU), bf16 or fp16 (GPU) autocast; default: all that apply")
    parser.add_argument("--tweets", type=int, default=10_000, help="tweets in the timed part")
    parser.add_argument("--batch-size", type=int, nargs="+", default=[32, 64, 256])
    parser.add_argument("--max-length", type=int, default=48)
    parser.add_argument("--warmup-steps", type=int, default=10, help="untimed steps first (kernels, allocator)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fused", action=argparse.BooleanOptionalAction, default=True,
                        help="fused AdamW kernel on a GPU (one launch instead of one per tensor group)")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    device = torch.device("cuda" if args.device != "cpu" and torch.cuda.is_available() else "cpu")
    if args.device == "cuda" and device.type != "cuda":
        parser.error("--device cuda: PyTorch sees no CUDA GPU")
    gpu_only = {"tf32", "fp16"}
    precisions = args.precision or ["fp32", "tf32", "bf16", "fp16"]
    print(f"torch {torch.__version__}, device {_device_name(device)}", flush=True)
    results = []
    for batch_size in args.batch_size:
        for precision in precisions:
            if precision in gpu_only and device.type != "cuda":
                continue
            r = run(args.size, device, precision, args.tweets, batch_size, args.max_length, args.warmup_steps,
                    args.seed, fused=args.fused and device.type == "cuda")
            results.append(r)
            print(f"{r['size']} ({r['parameters'] / 1e6:.1f} M params) {r['precision']:>4} batch {batch_size:>3}: "
                  f"{r['seconds_per_10k_tweets']:8.2f} s per 10k tweets = {r['tweets_per_s']:9.1f} tweets/s"
                  + (f", peak {r['peak_gpu_memory_gib']} GiB" if "peak_gpu_memory_gib" in r else ""), flush=True)
    if results:
        best = min(results, key=lambda r: r["seconds_per_10k_tweets"])
        per_epoch = best["seconds_per_10k_tweets"] * 160
        print(f"fastest: {best['precision']} batch {best['batch_size']}; at that rate one epoch of the full "
              f"Sentiment140 (1.6 M tweets) takes ~{per_epoch / 60:.1f} min")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
