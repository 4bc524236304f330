"""Fine-tune a Hugging Face encoder (DistilBERT, MiniLM, ...) for tweet sentiment, on PyTorch with the Hugging Face
`Trainer` (fit code; options: core.training.options.TransformerOptions; the Trainer's set-up:
core.training.transformer_loop; the run folder's side: core.training.transformer_callbacks; the tokenised cache:
core.training.transformer_data; several processes: core.training.distributed).

The study's recipe (DistilBERT, 2 labels, Adam eps 1e-8, cross-entropy, best weights by validation loss,
max length = 95th percentile of tweet length) with a linear warm-up/decay schedule, length-grouped batches
with dynamic padding, bf16 autocast on CPUs that run bf16 natively and TF32 (fp16 autocast before Ampere)
on GPUs: see docs/transformer.md for the measurements behind these defaults. Checkpoints go to
RUN_DIR/checkpoints (`--resume` continues from the last one; deleted once the run succeeds); the best checkpoint
is saved with save_pretrained in RUN_DIR/model, exported to ONNX in RUN_DIR/onnx, and scored on the shared test
split through the backend the loader will use. Under `torchrun` only rank 0 writes the run folder.
"""

from __future__ import annotations

import logging
import math
import os
import platform
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from core.models.transformer import (
    BaseModelError,
    check_base_model,
    load_pretrained,
    load_run,
    resolve_base_model,
)
from core.tracking.devices import usable_cores
from core.training import distributed
from core.training.extra_data import train_cache_id
from core.training.options import MINILM_ALIAS, TransformerOptions
from core.training.parent_run import ParentRun, parent_of

# Waiting OpenMP threads that spin stall each other when the CPU is shared (training steps 3-10x slower and
# erratic); passive waiting costs little on an idle machine. Read once, when PyTorch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
log = logging.getLogger(__name__)
CHECKPOINTS = "checkpoints"


class CheckpointsFound(Exception):
    """The run folder holds checkpoints of an unfinished training and neither --resume nor --no-resume was given."""


EXPECTED_ERRORS = (BaseModelError, CheckpointsFound)


def approach(options: TransformerOptions) -> str:
    base = options.base_model
    base = Path(base).name if Path(base).expanduser().is_dir() else base
    return f"Fine-tuned {'MiniLM-L6' if base == MINILM_ALIAS else base}"


def validate(options: TransformerOptions) -> None:
    """Fail before any run folder is touched: bad numbers, a base model that cannot be had, checkpoints left."""
    if options.max_length != "auto" and not options.max_length.isdigit():
        raise BaseModelError(f"--max-length: expected 'auto' or a number of tokens, got {options.max_length!r}")
    if options.device == "cpu" and options.precision in ("fp16", "tf32"):
        raise BaseModelError(f"--precision {options.precision} needs a CUDA GPU; with --device cpu use bf16 or fp32")
    for name in ("epochs", "batch_size", "gradient_accumulation"):
        if getattr(options, name) < 1:
            raise BaseModelError(f"--{name.replace('_', '-')} must be at least 1")
    for name in ("max_train_samples", "max_val_samples", "eval_every", "threads"):
        if getattr(options, name) is not None and getattr(options, name) < 0:
            raise BaseModelError(f"--{name.replace('_', '-')} must not be negative")
    if not options.lr > 0:
        raise BaseModelError("--lr must be positive")
    if not 0 <= options.warmup_ratio < 1:
        raise BaseModelError("--warmup-ratio must be in [0, 1)")
    if not options.init_from:  # with --init-from, the weights and tokenizer are the parent's model/ folder
        check_base_model(options.base_model)
    last = last_checkpoint(Path(options.output))
    if last and options.resume is None:
        raise CheckpointsFound(
            f"{options.output} holds checkpoints of an unfinished training (last: {last.name}): pass --resume to "
            "continue from it or --no-resume to start over"
        )


def last_checkpoint(run_dir: Path) -> Path | None:
    """The Trainer's most recent checkpoint-N folder in RUN_DIR/checkpoints, if any."""
    folder = run_dir / CHECKPOINTS
    steps = [(int(p.name.split("-")[1]), p) for p in folder.glob("checkpoint-*") if p.name.split("-")[1].isdigit()]
    return max(steps)[1] if steps else None


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
    if requested in ("auto", "cuda") and torch.cuda.is_available():
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))  # this process's GPU under torchrun
    else:
        device = torch.device("cpu")
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
    described = {"type": device.type, "name": name, "where": "local", "precision": precision, "threads": threads}
    return {**described, **distributed.describe()}


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


@dataclass
class TokenizedSplit:
    train: object  # core.training.transformer_data.TokenizedTweets
    val: object | None
    max_length: int
    truncated: float
    from_cache: bool


def tokenize_split(
    options: TransformerOptions, split, train_df, val_df, model, tokenizer, parent_max_length: int | None = None
) -> TokenizedSplit:
    """Train and validation tweets tokenised (from the on-disk cache when a run on this split and tokenizer made
    it); `--max-length auto` is the 95th percentile of the whole training tweets' lengths, or the parent run's
    max length for a fine-tune (`parent_max_length`)."""
    from core.training.transformer_data import tokenized

    limit = min(tokenizer.model_max_length, getattr(model.config, "max_position_embeddings", 512))
    cached, train_id = [], train_cache_id(split.split_id, train_df)  # extra data's rows are hashed into the key
    if options.max_length == "auto" and parent_max_length:
        max_length, full_lengths = int(parent_max_length), None
    elif options.max_length == "auto":
        whole, hit = tokenized(train_df, tokenizer, None, train_id, "train")
        max_length, full_lengths = auto_max_length(whole.lengths, limit), whole.lengths
        cached.append(hit)
    else:
        max_length, full_lengths = int(options.max_length), None
    if not 2 < max_length <= limit:
        raise BaseModelError(f"--max-length {max_length} is outside 3..{limit} for this model")
    train_data, hit = tokenized(train_df, tokenizer, max_length, train_id, "train")
    cached.append(hit)
    val_data = None
    if len(val_df):
        val_data, hit = tokenized(val_df, tokenizer, max_length, split.split_id, "val")
        val_data = val_data.sorted_by_length()  # less padding; the order does not change a mean
        cached.append(hit)
    lengths = full_lengths if full_lengths is not None else train_data.lengths
    truncated = float(np.mean(np.asarray(lengths) > max_length))
    return TokenizedSplit(train_data, val_data, max_length, truncated, all(cached))


# ---------------------------------------------------------------- training


def train(options: TransformerOptions, split, run):
    """Fit (on every rank), then, on rank 0 only: save the best weights, export, and hand the served model back."""
    from core.training.transformer_loop import fit_loop, training_arguments

    parent = parent_of(options, "transformer")  # the options are already the parent's where they must be
    model, tokenizer, device, precision = setup(options, run, parent, len(split.classes))
    train_df = subsample(split.train, options.max_train_samples, options.seed)
    val_df = subsample(split.val, options.max_val_samples, options.seed)
    checkpoints = run.path / CHECKPOINTS
    args = training_arguments(options, checkpoints, device.type, precision, validates=len(val_df) > 0)
    run.progress(phase="setup", message=f"tokenising {len(train_df):,} train and {len(val_df):,} val tweets")
    with args.main_process_first(local=True, desc="tokenising"):  # the first writes the cache, the others read it
        data = tokenize_split(options, split, train_df, val_df, model, tokenizer, parent_max_length(parent))
        resume_from = checkpoint_to_resume(options, run.path)
    settings = describe_training(options, model, data, precision, parent)
    run.update(transformer=settings)
    world = distributed.world_size()
    fit = fit_loop(model, tokenizer, data.train, data.val, args, owner(run), resume_from, world)
    distributed.end_process_group()
    if distributed.is_worker():
        return None
    save_best(model, tokenizer, fit, settings, run)
    shutil.rmtree(checkpoints, ignore_errors=True)  # the best weights are in RUN_DIR/model now
    if options.onnx:
        export_onnx(options, (val_df if len(val_df) else split.test), data.max_length, run)
    served = load_run(run.path, name=approach(options))
    detail = {
        "epochs": options.epochs,
        "tweets_seen": fit.seen,
        "train_seconds": fit.train_seconds,
        "validation_seconds": fit.eval_seconds,
        "train_tweets_per_s": fit.seen / max(fit.train_seconds, 1e-9),
        "serving_backend": served.backend_name,
        "world_size": world,
    }
    return served, fit.train_seconds + fit.eval_seconds, fit.seen, {"transformer": detail}


def owner(run):
    """The run to report to, on the process that owns the run folder; None elsewhere."""
    return None if distributed.is_worker() else run


def checkpoint_to_resume(options: TransformerOptions, run_dir: Path) -> str | None:
    """--resume: the last checkpoint (None: there is none, start from the base model); --no-resume: delete them."""
    last = last_checkpoint(run_dir)
    if options.resume and last is not None:
        log.info(f"resuming from {last.name}")
        return str(last)
    if options.resume:
        log.info("--resume: no checkpoint in the run folder, starting from the base model")
    elif last is not None and not distributed.is_worker():
        log.info(f"--no-resume: deleting the checkpoints left in {run_dir / CHECKPOINTS}")
        shutil.rmtree(run_dir / CHECKPOINTS, ignore_errors=True)
    return None


def parent_max_length(parent: ParentRun | None) -> int | None:
    """The tokens per tweet a parent run was trained and serves with."""
    return (parent.meta.get("transformer") or {}).get("max_length") if parent else None


def describe_training(
    options: TransformerOptions, model, data: TokenizedSplit, precision: str, parent: ParentRun | None = None
) -> dict:
    world = distributed.world_size()
    steps_per_epoch = math.ceil(len(data.train) / (options.batch_size * world))
    log.info(
        f"max length {data.max_length} tokens ({options.max_length}; {data.truncated:.1%} of train tweets truncated), "
        f"{len(data.train):,} train / {len(data.val) if data.val else 0:,} val tweets, {precision}, "
        f"{world} process(es), tokenised {'from the cache' if data.from_cache else 'and cached'}"
    )
    return {
        "base_model": options.base_model,
        "resolved_base_model": resolve_base_model(options.base_model) if parent is None else str(parent.path / "model"),
        **({"init_from": parent.name} if parent else {}),
        "architecture": type(model).__name__,
        "parameters": sum(p.numel() for p in model.parameters()),
        "max_length": data.max_length,
        "max_length_rule": options.max_length,
        "truncated_fraction": data.truncated,
        "train_tweets": len(data.train),
        "val_tweets": len(data.val) if data.val else 0,
        "tokenized_from_cache": data.from_cache,
        "epochs": options.epochs,
        "steps": math.ceil(steps_per_epoch / options.gradient_accumulation) * options.epochs,
        "batch_size": options.batch_size,
        "gradient_accumulation": options.gradient_accumulation,
        "effective_batch_size": options.batch_size * options.gradient_accumulation * world,
        "world_size": world,
        "lr": options.lr,
        "precision": precision,
        "trainer": "transformers.Trainer",
    }


def setup(options: TransformerOptions, run, parent: ParentRun | None = None, n_classes: int = 2):
    """Threads, seed, device and precision (recorded in the run), and the base model with a head of `n_classes`
    (the Trainer places it): a parent run's saved model and tokenizer for a fine-tune (--init-from; the runner
    made sure it learns the same classes)."""
    import torch

    from core.training.transformer_loop import configure_attention

    threads = options.threads or max(1, usable_cores() // distributed.local_world_size())  # the node's cores, shared
    torch.set_num_threads(threads)
    torch.manual_seed(options.seed)
    device, precision = pick_device(options.device, options.precision)
    configure_attention(device.type, precision)
    run.update(device=describe_device(device, precision, threads))
    start = options.base_model if parent is None else str(parent.path / "model")
    run.progress(phase="setup", message=f"loading {options.base_model if parent is None else parent.name}")
    model, tokenizer = load_pretrained(start, n_classes)
    return model, tokenizer, device, precision


def save_best(model, tokenizer, fit, settings: dict, run) -> None:
    """The best weights (loaded by the Trainer at the end) into RUN_DIR/model (save_pretrained), and what the
    training measured. `fit` is a core.training.transformer_loop.FitResult."""
    model.to("cpu").save_pretrained(run.path / "model")
    tokenizer.save_pretrained(run.path / "model")
    best = fit.best
    settings.update(
        steps=fit.steps,
        best=best,
        train_seconds=round(fit.train_seconds, 2),
        tweets_seen=fit.seen,
        validation_seconds=round(fit.eval_seconds, 2),
    )
    run.update(transformer=settings)
    log.info(
        f"best checkpoint: step {best.get('step')} (epoch {best.get('epoch')}), val loss {best.get('val_loss', math.nan):.4f}; "
        f"training {fit.train_seconds:.0f} s + validation {fit.eval_seconds:.0f} s"
    )


def export_onnx(
    options: TransformerOptions, check_frame, max_length: int, run, check_source: str = "validation split"
) -> None:
    """ONNX fp32 (and int8) in RUN_DIR/onnx, checked beside PyTorch on `check_frame` (the validation tweets);
    the serving rule's decision and its figures go to run.json (`onnx`, `serving`)."""
    from core.models.onnx_export import export_run, record

    run.progress(phase="export", message="exporting to ONNX and deciding what serves (accuracy, label agreement)")
    check = check_frame.head(options.onnx_check_texts)
    manifest = export_run(
        run.path,
        check["text"].tolist(),
        max_length,
        quantize=options.int8,
        check_labels=check["label"].to_numpy(),
        check_source=check_source,
    )
    run.update(**record(manifest, run.meta))
    log.info(f"serving backend: {manifest['preferred']} (the rule: {manifest['rule']})")
