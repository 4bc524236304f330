"""Fine-tune a Hugging Face encoder (DistilBERT, MiniLM, ...) for tweet sentiment, on PyTorch (fit code;
options: core.training.options.TransformerOptions; the loop itself: core.training.transformer_loop).

The study's recipe (DistilBERT, 2 labels, Adam eps 1e-8, cross-entropy, best weights by validation loss,
max length = 95th percentile of tweet length) with a linear warm-up/decay schedule, length-grouped batches
with dynamic padding, bf16 autocast on CPUs that run bf16 natively and TF32 (fp16 autocast before Ampere)
on GPUs: see docs/transformer.md for the measurements behind these defaults. The best checkpoint is
saved with save_pretrained in RUN_DIR/model, exported to ONNX in RUN_DIR/onnx, and scored on the shared
test split through the backend the loader will use.
"""

from __future__ import annotations

import logging
import math
import os
import platform
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from core.models.transformer import (
    BaseModelError,
    check_base_model,
    cpu_threads,
    load_pretrained,
    load_run,
    resolve_base_model,
)
from core.training.options import MINILM_ALIAS, TransformerOptions
from core.training.transformer_loop import Batcher, FitResult, fit_loop

# Waiting OpenMP threads that spin stall each other when the CPU is shared (training steps 3-10x slower and
# erratic); passive waiting costs little on an idle machine. Read once, when PyTorch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
log = logging.getLogger(__name__)
EXPECTED_ERRORS = (BaseModelError,)


def approach(options: TransformerOptions) -> str:
    base = options.base_model
    base = Path(base).name if Path(base).expanduser().is_dir() else base
    return f"Fine-tuned {'MiniLM-L6' if base == MINILM_ALIAS else base}"


def validate(options: TransformerOptions) -> None:
    """Fail before any run folder is touched: bad numbers, a base model that cannot be had."""
    if options.max_length != "auto" and not options.max_length.isdigit():
        raise BaseModelError(f"--max-length: expected 'auto' or a number of tokens, got {options.max_length!r}")
    if options.device == "cpu" and options.precision in ("fp16", "tf32"):
        raise BaseModelError(f"--precision {options.precision} needs a CUDA GPU; with --device cpu use bf16 or fp32")
    for name in ("epochs", "batch_size"):
        if getattr(options, name) < 1:
            raise BaseModelError(f"--{name.replace('_', '-')} must be at least 1")
    for name in ("max_train_samples", "max_val_samples", "eval_every", "threads"):
        if getattr(options, name) is not None and getattr(options, name) < 0:
            raise BaseModelError(f"--{name.replace('_', '-')} must not be negative")
    if not options.lr > 0:
        raise BaseModelError("--lr must be positive")
    check_base_model(options.base_model)


# ---------------------------------------------------------------- device and precision


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


# ---------------------------------------------------------------- data


def auto_max_length(lengths, limit: int) -> int:
    """The study's rule: the 95th percentile of tokens per training tweet (special tokens included)."""
    return int(min(limit, max(8, math.ceil(np.percentile(lengths, 95)))))


def subsample(frame, n: int | None, seed: int):
    if not n or n >= len(frame):
        return frame
    part, _ = train_test_split(frame, train_size=n, stratify=frame["label"], random_state=seed)
    return part


def choose_max_length(options: TransformerOptions, model, tokenizer, texts: list[str]) -> tuple[int, list[int]]:
    """The max length (`auto`: from the training tweets) and every training tweet's full length."""
    limit = min(tokenizer.model_max_length, getattr(model.config, "max_position_embeddings", 512))
    full_lengths = [len(x) for x in tokenizer(texts)["input_ids"]]
    max_length = auto_max_length(full_lengths, limit) if options.max_length == "auto" else int(options.max_length)
    if not 2 < max_length <= limit:
        raise BaseModelError(f"--max-length {max_length} is outside 3..{limit} for this model")
    return max_length, full_lengths


def batcher_for(frame, tokenizer, max_length: int, device) -> Batcher:
    ids = tokenizer(frame["text"].tolist(), truncation=True, max_length=max_length)["input_ids"]
    return Batcher(ids, frame["label"].to_numpy(dtype=np.int64), tokenizer.pad_token_id or 0, device)


# ---------------------------------------------------------------- training


def train(options: TransformerOptions, split, run):
    model, tokenizer, device, precision = setup(options, run)
    train_df = subsample(split.train, options.max_train_samples, options.seed)
    val_df = subsample(split.val, options.max_val_samples, options.seed)
    run.progress(phase="setup", message=f"tokenising {len(train_df):,} train and {len(val_df):,} val tweets")
    max_length, full_lengths = choose_max_length(options, model, tokenizer, train_df["text"].tolist())
    train_data = batcher_for(train_df, tokenizer, max_length, device)
    val_data = batcher_for(val_df, tokenizer, max_length, device) if len(val_df) else None
    truncated = float(np.mean(np.array(full_lengths) > max_length))
    log.info(
        f"max length {max_length} tokens ({options.max_length}; {truncated:.1%} of train tweets truncated), "
        f"{len(train_df):,} train / {len(val_df):,} val tweets, device {device.type}, {precision}"
    )
    settings = {
        "base_model": options.base_model,
        "resolved_base_model": resolve_base_model(options.base_model),
        "architecture": type(model).__name__,
        "parameters": sum(p.numel() for p in model.parameters()),
        "max_length": max_length,
        "max_length_rule": options.max_length,
        "truncated_fraction": truncated,
        "train_tweets": len(train_df),
        "val_tweets": len(val_df),
        "epochs": options.epochs,
        "steps": math.ceil(len(train_df) / options.batch_size) * options.epochs,
        "batch_size": options.batch_size,
        "lr": options.lr,
        "precision": precision,
    }
    run.update(transformer=settings)

    fit = fit_loop(model, train_data, val_data, options, run, device, precision)
    save_best(model, tokenizer, fit, settings, run)
    if options.onnx:
        export_onnx(options, (val_df if len(val_df) else split.test), max_length, run)
    served = load_run(run.path, name=approach(options))
    detail = {
        "epochs": options.epochs,
        "tweets_seen": fit.seen,
        "train_seconds": fit.train_seconds,
        "validation_seconds": fit.eval_seconds,
        "train_tweets_per_s": fit.seen / fit.train_seconds,
        "serving_backend": served.backend_name,
    }
    return served, fit.train_seconds + fit.eval_seconds, fit.seen, {"transformer": detail}


def setup(options: TransformerOptions, run):
    """Threads, seed, device and precision (recorded in the run), and the base model on the device."""
    import torch

    threads = options.threads or cpu_threads()
    torch.set_num_threads(threads)
    torch.manual_seed(options.seed)
    device, precision = pick_device(options.device, options.precision)
    run.update(device=describe_device(device, precision, threads))
    run.progress(phase="setup", message=f"loading {options.base_model}")
    model, tokenizer = load_pretrained(options.base_model)
    model.to(device).train()
    return model, tokenizer, device, precision


def save_best(model, tokenizer, fit: FitResult, settings: dict, run) -> None:
    """The best checkpoint into RUN_DIR/model (save_pretrained), and what the training measured."""
    model.load_state_dict(fit.best_state)
    model.to("cpu").save_pretrained(run.path / "model")
    tokenizer.save_pretrained(run.path / "model")
    best = fit.best
    settings.update(
        best=best,
        train_seconds=round(fit.train_seconds, 2),
        tweets_seen=fit.seen,
        validation_seconds=round(fit.eval_seconds, 2),
    )
    run.update(transformer=settings)
    log.info(
        f"best checkpoint: step {best['step']} (epoch {best['epoch']}), val loss {best['val_loss']:.4f}; "
        f"training {fit.train_seconds:.0f} s + validation {fit.eval_seconds:.0f} s"
    )


def export_onnx(options: TransformerOptions, check_frame, max_length: int, run) -> None:
    """ONNX fp32 (and int8) in RUN_DIR/onnx, checked against PyTorch on validation tweets."""
    from core.models.onnx_export import export_run, summary

    run.progress(phase="export", message="exporting to ONNX and checking it against PyTorch")
    check = check_frame.head(options.onnx_check_texts)
    manifest = export_run(
        run.path, check["text"].tolist(), max_length, quantize=options.int8, check_labels=check["label"].to_numpy()
    )
    run.update(onnx=summary(manifest))
    log.info(f"serving backend: {manifest['preferred']}")
