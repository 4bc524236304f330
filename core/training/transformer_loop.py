"""The transformer fine-tuning loop in small units: length-grouped batches, one training step, validation, and
checkpoints that keep the best weights by validation loss.

benchmarks/gpu_transformer.py times the same units (`length_grouped_batches`, `TrainStep`) on synthetic tweets,
so a measured speed is the trainer's. Only numpy, PyTorch and transformers are imported here (PyTorch lazily).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

import numpy as np

log = logging.getLogger(__name__)
PROGRESS_EVERY_S = 3.0
MEGABATCH = 50  # batches sorted together by length; larger = less padding, less randomness


def length_grouped_batches(lengths, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of similar lengths: shuffle, sort within mega-batches, chunk, shuffle the chunks."""
    order = rng.permutation(len(lengths))
    lengths = np.asarray(lengths)
    batches = []
    for start in range(0, len(order), batch_size * MEGABATCH):
        mega = order[start : start + batch_size * MEGABATCH]
        mega = mega[np.argsort(-lengths[mega], kind="stable")]
        batches += [mega[i : i + batch_size] for i in range(0, len(mega), batch_size)]
    rng.shuffle(batches)
    return batches


class Batcher:
    """Token ids of a split, turned into padded tensors batch by batch."""

    def __init__(self, ids: list[list[int]], labels: np.ndarray, pad_id: int, device):
        self.ids, self.labels, self.pad_id, self.device = ids, labels, pad_id, device
        self.lengths = np.array([len(x) for x in ids])

    def tensors(self, rows: np.ndarray):
        import torch

        from core.models.transformer import pad

        input_ids, mask = pad([self.ids[i] for i in rows], self.pad_id)
        return (
            torch.from_numpy(input_ids).to(self.device),
            torch.from_numpy(mask).to(self.device),
            torch.from_numpy(self.labels[rows]).to(self.device),
        )


def optimizer_for(model, lr: float, weight_decay: float, fused: bool = False):
    import torch

    decay, no_decay = [], []
    for param in model.parameters():
        (no_decay if param.ndim < 2 else decay).append(param)  # no decay on biases and LayerNorm weights
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=lr,
        eps=1e-8,
        fused=fused or None,
    )


class TrainStep:
    """One optimisation step: autocast forward, cross-entropy, (scaled) backward, clipping at 1.0, AdamW, then
    the linear warm-up/decay schedule. `precision` is fp32, tf32, bf16 or fp16 (fp16 scales the loss)."""

    def __init__(
        self,
        model,
        device,
        precision: str,
        lr: float,
        weight_decay: float,
        warmup_steps: int,
        total_steps: int,
        fused: bool | None = None,
    ):
        import torch
        from transformers import get_linear_schedule_with_warmup

        self.model, self.device = model, device
        self.optimizer = optimizer_for(model, lr, weight_decay, fused=device.type == "cuda" if fused is None else fused)
        self.scheduler = get_linear_schedule_with_warmup(self.optimizer, warmup_steps, total_steps)
        self.autocast_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
        self.scaler = torch.amp.GradScaler("cuda", enabled=precision == "fp16")
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = precision == "tf32"

    def autocast(self):
        import torch

        return torch.autocast(self.device.type, dtype=self.autocast_dtype, enabled=self.autocast_dtype is not None)

    def sync(self) -> None:
        """Wait for the GPU (before reading a clock)."""
        import torch

        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def __call__(self, input_ids, mask, labels):
        """Train on one batch; returns the loss and the logits, still on the device."""
        import torch

        with self.autocast():
            logits = self.model(input_ids=input_ids, attention_mask=mask).logits.float()
        loss = torch.nn.functional.cross_entropy(logits, labels)
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(self.optimizer)
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss, logits


def evaluate_loss(model, batcher: Batcher, autocast, batch_size: int) -> tuple[float, float]:
    """Mean cross-entropy and accuracy on a whole split."""
    import torch

    model.eval()
    order = np.argsort(batcher.lengths, kind="stable")
    total_loss, correct = 0.0, 0
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            input_ids, mask, labels = batcher.tensors(order[start : start + batch_size])
            with autocast():
                logits = model(input_ids=input_ids, attention_mask=mask).logits.float()
            total_loss += torch.nn.functional.cross_entropy(logits, labels, reduction="sum").item()
            correct += (logits.argmax(-1) == labels).sum().item()
    model.train()
    return total_loss / len(order), correct / len(order)


class Window:
    """Loss and accuracy summed since the last checkpoint; they stay on the device, so a GPU is not
    synchronised every step."""

    def __init__(self, device):
        import torch

        self.loss = torch.zeros((), device=device)
        self.correct = torch.zeros((), device=device, dtype=torch.long)
        self.seen, self.start = 0, time.perf_counter()

    def add(self, loss, logits, labels) -> None:
        self.seen += len(labels)
        self.loss += loss.detach() * len(labels)
        self.correct += (logits.detach().argmax(-1) == labels).sum()

    def summary(self) -> dict:
        """Mean loss and accuracy, and tweets per second over the window (reads the device: sync first)."""
        n = max(self.seen, 1)
        return {
            "loss": self.loss.item() / n,
            "accuracy": self.correct.item() / n,
            "tweets_per_s": self.seen / (time.perf_counter() - self.start),
        }


@dataclass
class Checkpoints:
    """Validation at each checkpoint, the history it writes, and the best weights by validation loss (the last
    weights without a validation split)."""

    model: object
    val_data: Batcher | None
    batch_size: int
    run: object
    history: list = field(default_factory=list)
    best: dict = field(default_factory=lambda: {"val_loss": math.inf})
    best_state: dict | None = None
    eval_seconds: float = 0.0

    def validate(self, autocast) -> tuple[float, float]:
        if self.val_data is None:
            return float("nan"), float("nan")
        return evaluate_loss(self.model, self.val_data, autocast, self.batch_size * 2)

    def save(
        self, step: int, epoch_float: float, window: Window, autocast, train_seconds: float, total_steps: int
    ) -> None:
        """Validate, record the history entry, keep the weights if they are the best yet."""
        trained = window.summary()  # before validating: its speed is the training's
        started = time.perf_counter()
        self.run.progress(
            phase="validate",
            message=f"validation at step {step}",
            epoch=round(epoch_float, 3),
            step=step,
            steps=total_steps,
        )
        val_loss, val_acc = self.validate(autocast)
        entry = {
            "epoch": round(epoch_float, 4),
            "step": step,
            "loss": trained["loss"],
            "val_loss": val_loss,
            "accuracy": trained["accuracy"],
            "val_accuracy": val_acc,
            "seconds": round(train_seconds, 2),
            "tweets_per_s": trained["tweets_per_s"],
        }
        if self.val_data is None or val_loss < self.best["val_loss"]:
            self.best.update(val_loss=val_loss, val_accuracy=val_acc, step=step, epoch=entry["epoch"])
            self.best_state = {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}
        self.history.append(entry)
        self.run.save_history(self.history)
        log.info(
            f"epoch {entry['epoch']:.2f} step {step}: loss {entry['loss']:.4f} acc {entry['accuracy']:.4f} | "
            f"val loss {val_loss:.4f} val acc {val_acc:.4f}" + ("  (best)" if self.best["step"] == step else "")
        )
        self.eval_seconds += time.perf_counter() - started

    def eta_s(self, step: int, total_steps: int, seconds: float, evals_left: int) -> float:
        eval_cost = self.eval_seconds / len(self.history) if self.history else 0.0
        return round((total_steps - step) * seconds / step + evals_left * eval_cost)


@dataclass
class FitResult:
    best: dict
    best_state: dict
    history: list
    train_seconds: float
    eval_seconds: float
    seen: int


def fit_loop(model, train_data: Batcher, val_data: Batcher | None, options, run, device, precision: str) -> FitResult:
    """The training loop: validation every epoch (or every `options.eval_every` steps), best weights by
    validation loss. `options` is a core.training.options.TransformerOptions."""
    rng = np.random.default_rng(options.seed)
    steps_per_epoch = math.ceil(len(train_data.ids) / options.batch_size)
    total_steps = steps_per_epoch * options.epochs
    train_step = TrainStep(
        model, device, precision, options.lr, options.weight_decay, int(options.warmup_ratio * total_steps), total_steps
    )
    checkpoints = Checkpoints(model, val_data, options.batch_size, run)
    window, started = Window(device), time.perf_counter()
    step, seen, last_report = 0, 0, 0.0

    def train_seconds() -> float:
        return time.perf_counter() - started - checkpoints.eval_seconds

    def checkpoint(epoch_float: float) -> Window:
        train_step.sync()
        checkpoints.save(step, epoch_float, window, train_step.autocast, train_seconds(), total_steps)
        return Window(device)

    for epoch in range(options.epochs):
        for rows in length_grouped_batches(train_data.lengths, options.batch_size, rng):
            input_ids, mask, labels = train_data.tensors(rows)
            loss, logits = train_step(input_ids, mask, labels)
            step, seen = step + 1, seen + len(rows)
            window.add(loss, logits, labels)
            if train_seconds() - last_report >= PROGRESS_EVERY_S or step == total_steps:
                last_report = train_seconds()
                report_progress(run, checkpoints, options, step, total_steps, epoch, loss.item(), seen, last_report)
            if options.eval_every and step % options.eval_every == 0 and step < total_steps:
                window = checkpoint(step / steps_per_epoch)
        window = checkpoint(float(epoch + 1))
    return FitResult(
        checkpoints.best, checkpoints.best_state, checkpoints.history, train_seconds(), checkpoints.eval_seconds, seen
    )


def report_progress(
    run,
    checkpoints: Checkpoints,
    options,
    step: int,
    total_steps: int,
    epoch: int,
    loss: float,
    seen: int,
    seconds: float,
) -> None:
    """The `train` progress line: where the loop is, its speed, and the time left (validations included)."""
    evals_left = math.ceil((total_steps - step) / options.eval_every) if options.eval_every else options.epochs - epoch
    run.progress(
        phase="train",
        epoch=round(step * options.epochs / total_steps, 3),
        epochs=options.epochs,
        step=step,
        steps=total_steps,
        loss=round(loss, 4),
        tweets_per_s=round(seen / seconds, 1),
        eta_s=checkpoints.eta_s(step, total_steps, seconds, evals_left),
    )
