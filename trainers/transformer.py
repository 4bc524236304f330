"""Fine-tune a Hugging Face encoder (DistilBERT, MiniLM, ...) for tweet sentiment, on PyTorch.

    python -m trainers.transformer --data CSV --output RUN_DIR [--base-model NAME_OR_PATH] [--max-length auto|N]
        [--epochs E] [--lr LR] [--batch-size B] [--max-train-samples N] [--sample N] [--seed S]

The study's recipe (DistilBERT, 2 labels, Adam eps 1e-8, cross-entropy, best weights by validation loss,
max length = 95th percentile of tweet length) with a linear warm-up/decay schedule, length-grouped batches
with dynamic padding, bf16 autocast on CPUs that run bf16 natively and TF32 (fp16 autocast before Ampere)
on GPUs: see docs/transformer.md for the measurements behind these defaults. The best checkpoint is
saved with save_pretrained in RUN_DIR/model, exported to ONNX in RUN_DIR/onnx, and scored on the shared
test split through the backend the loader will use.
"""
from __future__ import annotations

import argparse
import math
import os
import platform
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from core.models.transformer import (DEFAULT_BASE_MODEL, MINILM_ALIAS, BaseModelError, check_base_model,
                                    cpu_threads, load_pretrained, load_run, pad,
                                    resolve_base_model)
from core.training.runner import base_parser, run_trainer

# Waiting OpenMP threads that spin stall each other when the CPU is shared (training steps 3-10x slower and
# erratic); passive waiting costs little on an idle machine. Read once, when PyTorch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
PROGRESS_EVERY_S = 3.0
MEGABATCH = 50  # batches sorted together by length; larger = less padding, less randomness


def auto_max_length(lengths, limit: int) -> int:
    """The study's rule: the 95th percentile of tokens per training tweet (special tokens included)."""
    return int(min(limit, max(8, math.ceil(np.percentile(lengths, 95)))))


def length_grouped_batches(lengths, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of similar lengths: shuffle, sort within mega-batches, chunk, shuffle the chunks."""
    order = rng.permutation(len(lengths))
    lengths = np.asarray(lengths)
    batches = []
    for start in range(0, len(order), batch_size * MEGABATCH):
        mega = order[start:start + batch_size * MEGABATCH]
        mega = mega[np.argsort(-lengths[mega], kind="stable")]
        batches += [mega[i:i + batch_size] for i in range(0, len(mega), batch_size)]
    rng.shuffle(batches)
    return batches


def cpu_has_native_bf16() -> bool:
    """AMX or AVX512-BF16: bf16 matmuls run natively (2-3x faster than fp32); elsewhere they are emulated."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def pick_device(requested: str, precision: str):
    import torch
    if requested == "cuda" and not torch.cuda.is_available():
        raise BaseModelError("--device cuda: no CUDA GPU is visible to PyTorch")
    device = torch.device("cuda" if requested in ("auto", "cuda") and torch.cuda.is_available() else "cpu")
    if precision == "auto":
        if device.type == "cuda":
            # Measured on an H200 (docs/transformer.md): at tweet-sized batches TF32 trains 2-3x faster than
            # bf16/fp16 autocast, whose casts cost more than they save; pre-Ampere GPUs have no TF32.
            precision = "tf32" if torch.cuda.get_device_capability(device)[0] >= 8 else "fp16"
        else:
            precision = "bf16" if cpu_has_native_bf16() else "fp32"
    if precision in ("fp16", "tf32") and device.type != "cuda":
        raise BaseModelError(f"--precision {precision} needs a CUDA GPU; on a CPU use bf16 or fp32")
    return device, precision


def describe_device(device, precision: str, threads: int) -> dict:
    import torch
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        name = _cpu_name() + f" ({threads} threads)"
    return {"type": device.type, "name": name, "where": "local", "precision": precision, "threads": threads}


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "CPU"


def subsample(frame, n: int | None, seed: int):
    if not n or n >= len(frame):
        return frame
    part, _ = train_test_split(frame, train_size=n, stratify=frame["label"], random_state=seed)
    return part


class Batcher:
    """Token ids of a split, turned into padded tensors batch by batch."""

    def __init__(self, ids: list[list[int]], labels: np.ndarray, pad_id: int, device):
        self.ids, self.labels, self.pad_id, self.device = ids, labels, pad_id, device
        self.lengths = np.array([len(x) for x in ids])

    def tensors(self, rows: np.ndarray):
        import torch
        input_ids, mask = pad([self.ids[i] for i in rows], self.pad_id)
        return (torch.from_numpy(input_ids).to(self.device), torch.from_numpy(mask).to(self.device),
                torch.from_numpy(self.labels[rows]).to(self.device))


def evaluate_loss(model, batcher: Batcher, autocast, batch_size: int) -> tuple[float, float]:
    """Mean cross-entropy and accuracy on a whole split."""
    import torch
    model.eval()
    order = np.argsort(batcher.lengths, kind="stable")
    total_loss, correct = 0.0, 0
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            input_ids, mask, labels = batcher.tensors(order[start:start + batch_size])
            with autocast():
                logits = model(input_ids=input_ids, attention_mask=mask).logits.float()
            total_loss += torch.nn.functional.cross_entropy(logits, labels, reduction="sum").item()
            correct += (logits.argmax(-1) == labels).sum().item()
    model.train()
    return total_loss / len(order), correct / len(order)


def optimizer_for(model, lr: float, weight_decay: float, fused: bool = False):
    import torch
    decay, no_decay = [], []
    for param in model.parameters():
        (no_decay if param.ndim < 2 else decay).append(param)  # no decay on biases and LayerNorm weights
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=lr, eps=1e-8,
                             fused=fused or None)


def train(args, split, run):
    import torch

    threads = args.threads or cpu_threads()
    torch.set_num_threads(threads)
    torch.manual_seed(args.seed)
    device, precision = pick_device(args.device, args.precision)
    run.update(device=describe_device(device, precision, threads))
    run.progress(phase="setup", message=f"loading {args.base_model}")
    model, tokenizer = load_pretrained(args.base_model)
    model.to(device).train()

    train_df = subsample(split.train, args.max_train_samples, args.seed)
    val_df = subsample(split.val, args.max_val_samples, args.seed)
    run.progress(phase="setup", message=f"tokenising {len(train_df):,} train and {len(val_df):,} val tweets")
    limit = min(tokenizer.model_max_length, getattr(model.config, "max_position_embeddings", 512))
    full_lengths = [len(x) for x in tokenizer(train_df["text"].tolist())["input_ids"]]
    max_length = auto_max_length(full_lengths, limit) if args.max_length == "auto" else int(args.max_length)
    if not 2 < max_length <= limit:
        raise BaseModelError(f"--max-length {max_length} is outside 3..{limit} for this model")

    def batcher(frame):
        ids = tokenizer(frame["text"].tolist(), truncation=True, max_length=max_length)["input_ids"]
        return Batcher(ids, frame["label"].to_numpy(dtype=np.int64), tokenizer.pad_token_id or 0, device)

    train_data, val_data = batcher(train_df), (batcher(val_df) if len(val_df) else None)
    truncated = float(np.mean(np.array(full_lengths) > max_length))
    print(f"max length {max_length} tokens ({args.max_length}; {truncated:.1%} of train tweets truncated), "
          f"{len(train_df):,} train / {len(val_df):,} val tweets, device {device.type}, {precision}", flush=True)
    settings = {"base_model": args.base_model, "resolved_base_model": resolve_base_model(args.base_model),
                "architecture": type(model).__name__, "parameters": sum(p.numel() for p in model.parameters()),
                "max_length": max_length, "max_length_rule": args.max_length, "truncated_fraction": truncated,
                "train_tweets": len(train_df), "val_tweets": len(val_df), "epochs": args.epochs,
                "steps": math.ceil(len(train_df) / args.batch_size) * args.epochs, "batch_size": args.batch_size,
                "lr": args.lr, "precision": precision}
    run.update(transformer=settings)

    fit = fit_loop(model, train_data, val_data, args, run, device, precision)
    model.load_state_dict(fit["best_state"])
    model.to("cpu").save_pretrained(run.path / "model")
    tokenizer.save_pretrained(run.path / "model")
    best = fit["best"]
    settings.update(best=best, train_seconds=round(fit["train_seconds"], 2), tweets_seen=fit["seen"],
                    validation_seconds=round(fit["eval_seconds"], 2))
    run.update(transformer=settings)
    print(f"best checkpoint: step {best['step']} (epoch {best['epoch']}), val loss {best['val_loss']:.4f}; "
          f"training {fit['train_seconds']:.0f} s + validation {fit['eval_seconds']:.0f} s", flush=True)

    if args.onnx:
        from core.models.onnx_export import export_run, summary
        run.progress(phase="export", message="exporting to ONNX and checking it against PyTorch")
        check = (val_df if len(val_df) else split.test).head(args.onnx_check_texts)
        manifest = export_run(run.path, check["text"].tolist(), max_length, quantize=args.int8,
                              check_labels=check["label"].to_numpy())
        run.update(onnx=summary(manifest))
        print(f"serving backend: {manifest['preferred']}", flush=True)
    served = load_run(run.path, name=approach_name(args))
    detail = {"epochs": args.epochs, "tweets_seen": fit["seen"], "train_seconds": fit["train_seconds"],
              "validation_seconds": fit["eval_seconds"], "train_tweets_per_s": fit["seen"] / fit["train_seconds"],
              "serving_backend": served.backend_name}
    return served, fit["train_seconds"] + fit["eval_seconds"], fit["seen"], {"transformer": detail}


def fit_loop(model, train_data: Batcher, val_data: Batcher | None, args, run, device, precision: str) -> dict:
    """The training loop: validation every epoch (or --eval-every steps), best weights by validation loss.

    Loss and accuracy stay on the device between reports, so a GPU is not synchronised every step."""
    import torch
    from transformers import get_linear_schedule_with_warmup

    rng = np.random.default_rng(args.seed)
    steps_per_epoch = math.ceil(len(train_data.ids) / args.batch_size)
    total_steps = steps_per_epoch * args.epochs
    optimizer = optimizer_for(model, args.lr, args.weight_decay, fused=device.type == "cuda")
    scheduler = get_linear_schedule_with_warmup(optimizer, int(args.warmup_ratio * total_steps), total_steps)
    autocast_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    scaler = torch.amp.GradScaler("cuda", enabled=precision == "fp16")
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = precision == "tf32"

    def autocast():
        return torch.autocast(device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    state = {"history": [], "best": {"val_loss": math.inf}, "best_state": None, "eval_seconds": 0.0, "seen": 0}
    window = {"loss": torch.zeros((), device=device), "correct": torch.zeros((), device=device, dtype=torch.long),
              "seen": 0, "start": time.perf_counter()}
    started = time.perf_counter()

    def train_seconds() -> float:
        return time.perf_counter() - started - state["eval_seconds"]

    def checkpoint(step: int, epoch_float: float) -> None:
        sync()
        window_seconds = time.perf_counter() - window["start"]
        t0 = time.perf_counter()
        run.progress(phase="validate", message=f"validation at step {step}", epoch=round(epoch_float, 3),
                     step=step, steps=total_steps)
        val_loss, val_acc = (evaluate_loss(model, val_data, autocast, args.batch_size * 2) if val_data
                             else (float("nan"), float("nan")))
        n = max(window["seen"], 1)
        entry = {"epoch": round(epoch_float, 4), "step": step, "loss": window["loss"].item() / n,
                 "val_loss": val_loss, "accuracy": window["correct"].item() / n, "val_accuracy": val_acc,
                 "seconds": round(train_seconds(), 2), "tweets_per_s": window["seen"] / window_seconds}
        best = state["best"]
        if val_data is None or val_loss < best["val_loss"]:
            best.update(val_loss=val_loss, val_accuracy=val_acc, step=step, epoch=entry["epoch"])
            state["best_state"] = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        state["history"].append(entry)
        run.save_history(state["history"])
        print(f"epoch {entry['epoch']:.2f} step {step}: loss {entry['loss']:.4f} acc {entry['accuracy']:.4f} | "
              f"val loss {val_loss:.4f} val acc {val_acc:.4f}" + ("  (best)" if best["step"] == step else ""),
              flush=True)
        state["eval_seconds"] += time.perf_counter() - t0
        window.update(loss=torch.zeros_like(window["loss"]), correct=torch.zeros_like(window["correct"]), seen=0,
                      start=time.perf_counter())

    step, last_report = 0, 0.0
    for epoch in range(args.epochs):
        for rows in length_grouped_batches(train_data.lengths, args.batch_size, rng):
            input_ids, mask, labels = train_data.tensors(rows)
            with autocast():
                logits = model(input_ids=input_ids, attention_mask=mask).logits.float()
            loss = torch.nn.functional.cross_entropy(logits, labels)
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            state["seen"] += len(rows)
            window["seen"] += len(rows)
            window["loss"] += loss.detach() * len(rows)
            window["correct"] += (logits.detach().argmax(-1) == labels).sum()
            epoch_float = step / steps_per_epoch
            if train_seconds() - last_report >= PROGRESS_EVERY_S or step == total_steps:
                report_progress(run, state, step, total_steps, epoch, epoch_float, args, loss.item(),
                                train_seconds())
                last_report = train_seconds()
            if args.eval_every and step % args.eval_every == 0 and step < total_steps:
                checkpoint(step, epoch_float)
        checkpoint(step, float(epoch + 1))
    return {**state, "train_seconds": train_seconds()}


def report_progress(run, state: dict, step: int, total_steps: int, epoch: int, epoch_float: float, args,
                    loss: float, seconds: float) -> None:
    evals_left = (math.ceil((total_steps - step) / args.eval_every) if args.eval_every else args.epochs - epoch)
    eval_cost = state["eval_seconds"] / len(state["history"]) if state["history"] else 0.0
    run.progress(phase="train", epoch=round(epoch_float, 3), epochs=args.epochs, step=step, steps=total_steps,
                 loss=round(loss, 4), tweets_per_s=round(state["seen"] / seconds, 1),
                 eta_s=round((total_steps - step) * seconds / step + evals_left * eval_cost))


def approach_name(args) -> str:
    base = Path(args.base_model).name if Path(args.base_model).expanduser().is_dir() else args.base_model
    return f"Fine-tuned {'MiniLM-L6' if base == MINILM_ALIAS else base}"


def max_length_arg(value: str) -> str:
    if value != "auto" and not value.isdigit():
        raise argparse.ArgumentTypeError(f"expected 'auto' or a number of tokens, got {value!r}")
    return value


def parser():
    p = base_parser(__doc__.split("\n\n")[0])
    model = p.add_argument_group("model")
    model.add_argument("--base-model", default=DEFAULT_BASE_MODEL,
                       help=f"Hugging Face hub name (needs internet once), a local model folder, or "
                            f"'{MINILM_ALIAS}' (bundled MiniLM-L6, offline)")
    model.add_argument("--max-length", type=max_length_arg, default="auto",
                       help="tokens per tweet; 'auto' = 95th percentile on the training split")
    model.add_argument("--epochs", type=int, default=2, help="passes over the training tweets")
    model.add_argument("--lr", type=float, default=5e-5, help="peak learning rate (AdamW, eps 1e-8)")
    model.add_argument("--batch-size", type=int, default=32, help="tweets per step")
    model.add_argument("--warmup-ratio", type=float, default=0.06, help="fraction of steps of linear warm-up")
    model.add_argument("--weight-decay", type=float, default=0.01, help="AdamW weight decay")
    model.add_argument("--max-train-samples", type=int, default=None,
                       help="train on a stratified subset of N training tweets (default: all)")
    model.add_argument("--max-val-samples", type=int, default=None,
                       help="validate on a stratified subset of N validation tweets (default: all)")
    model.add_argument("--eval-every", type=int, default=0,
                       help="validate every N steps (0: at the end of each epoch)")
    hardware = p.add_argument_group("hardware and export")
    hardware.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help="where to train")
    hardware.add_argument("--precision", choices=["auto", "fp32", "tf32", "bf16", "fp16"], default="auto",
                          help="auto = TF32 on Ampere+ GPUs, fp16 autocast on older GPUs, bf16 autocast on CPUs "
                               "with native bf16 (AMX/AVX512-BF16), else fp32")
    hardware.add_argument("--threads", type=int, default=None, help="CPU threads (default: all available)")
    hardware.add_argument("--onnx", action=argparse.BooleanOptionalAction, default=True,
                          help="export to ONNX (fp32) for fast CPU scoring")
    hardware.add_argument("--int8", action=argparse.BooleanOptionalAction, default=True,
                          help="also write an int8 dynamically quantized ONNX model")
    hardware.add_argument("--onnx-check-texts", type=int, default=1000,
                          help="validation tweets the ONNX models are checked against PyTorch on")
    return p


def validate(args) -> None:
    """Fail before any run folder is touched: bad numbers, a base model that cannot be had."""
    if args.device == "cpu" and args.precision in ("fp16", "tf32"):
        raise BaseModelError(f"--precision {args.precision} needs a CUDA GPU; with --device cpu use bf16 or fp32")
    for name in ("epochs", "batch_size"):
        if getattr(args, name) < 1:
            raise BaseModelError(f"--{name.replace('_', '-')} must be at least 1")
    for name in ("max_train_samples", "max_val_samples", "eval_every", "threads"):
        if getattr(args, name) is not None and getattr(args, name) < 0:
            raise BaseModelError(f"--{name.replace('_', '-')} must not be negative")
    if not args.lr > 0:
        raise BaseModelError("--lr must be positive")
    check_base_model(args.base_model)


def main(argv=None):
    return run_trainer("transformer", approach_name, parser(), train, argv, validate=validate,
                       expected=(BaseModelError,))


if __name__ == "__main__":
    main()
