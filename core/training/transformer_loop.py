"""Fine-tuning on the Hugging Face `Trainer` (with `accelerate`): its arguments, the loss, and the run.

- `training_arguments` maps TransformerOptions to `TrainingArguments`: length-grouped batches, validation (and a
  checkpoint) every N steps and at each epoch's end, the best checkpoint by validation loss loaded at the end,
  gradient accumulation, the precision (`PRECISION_ARGUMENTS`), AdamW (eps 1e-8, no decay on biases and
  LayerNorm), the linear warm-up/decay schedule, clipping at 1.0. Under `torchrun` / `accelerate launch` the same
  arguments give DistributedDataParallel (gloo on CPUs, NCCL on GPUs).
- `SentimentTrainer` computes the cross-entropy on fp32 logits, sums the training window (loss, accuracy) on the
  device, and samples batches of similar lengths from the lengths the tokenised cache already holds.
- `fit_loop` runs it with `RunCallback` (core.training.transformer_callbacks) and returns a `FitResult`.

benchmarks/gpu_transformer.py times this same path (`training_arguments`, `SentimentTrainer`) on synthetic tweets,
so a measured speed is the trainer's. Only numpy, PyTorch and transformers are imported here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from transformers import DataCollatorWithPadding, PrinterCallback, Trainer, TrainingArguments
from transformers.trainer_pt_utils import LengthGroupedSampler

from core.training.transformer_callbacks import RunCallback, TrainWindow

log = logging.getLogger(__name__)

# fp32: full precision (TF32 matmuls off); tf32: fp32 weights, TF32 tensor-core matmuls (Ampere+);
# bf16 / fp16: autocast of fp32 master weights (accelerate's mixed precision; fp16 scales the loss).
PRECISION_ARGUMENTS = {
    "fp32": {"tf32": False},
    "tf32": {"tf32": True},
    "bf16": {"bf16": True},
    "fp16": {"fp16": True},
}


def configure_attention(device_type: str, precision: str) -> None:
    """bf16/fp16 on a GPU: keep PyTorch's attention off the cuDNN backend. Measured on an H100
    (benchmarks/gpu_transformer.py, DistilBERT size): cuDNN attention builds a plan for each new batch shape
    (dynamic padding makes dozens), which made bf16 9-12x slower than TF32 on short runs, and it stayed ~30%
    slower once warm; with the flash / memory-efficient kernels bf16 matches TF32 at batch 32 and beats it at 256."""
    import torch

    if device_type == "cuda" and precision in ("bf16", "fp16"):
        torch.backends.cuda.enable_cudnn_sdp(False)


def training_arguments(
    options, output_dir: Path, device_type: str, precision: str, validates: bool, **overrides
) -> TrainingArguments:
    """`options` is a core.training.options.TransformerOptions; `overrides` win (the benchmark bounds steps)."""
    strategy = "steps" if options.eval_every else "epoch"
    precision_arguments = dict(PRECISION_ARGUMENTS[precision])
    if device_type != "cuda":
        precision_arguments.pop("tf32", None)  # a CPU has no TF32 to switch
    arguments = dict(
        output_dir=str(output_dir),
        num_train_epochs=options.epochs,
        per_device_train_batch_size=options.batch_size,
        per_device_eval_batch_size=options.batch_size * 2,
        gradient_accumulation_steps=options.gradient_accumulation,
        learning_rate=options.lr,
        weight_decay=options.weight_decay,
        adam_epsilon=1e-8,
        max_grad_norm=1.0,
        lr_scheduler_type="linear",
        warmup_steps=options.warmup_ratio,  # under 1: a fraction of the steps
        eval_strategy=strategy if validates else "no",
        save_strategy=strategy,
        eval_steps=options.eval_every or None,
        save_steps=options.eval_every or None,
        save_total_limit=1,  # the latest checkpoint (to resume) and the best (kept by the Trainer)
        load_best_model_at_end=validates,
        metric_for_best_model="eval_loss",
        greater_is_better=False,
        train_sampling_strategy="group_by_length",
        seed=options.seed,
        data_seed=options.seed,
        use_cpu=device_type == "cpu",
        dataloader_pin_memory=device_type == "cuda",
        remove_unused_columns=False,  # the dataset hands out model inputs only
        ddp_find_unused_parameters=False,  # a classifier uses every weight: no search after each backward
        logging_strategy="no",  # the run's own progress lines and history (RunCallback) replace the Trainer's logs
        logging_nan_inf_filter=False,  # its per-step isnan(loss) check waits for the GPU at every step
        report_to="none",
        disable_tqdm=True,
        **precision_arguments,
    )
    return TrainingArguments(**{**arguments, **overrides})


class SentimentTrainer(Trainer):
    """The Trainer with the cross-entropy on fp32 logits, the training window summed on the device, and
    length-grouped batches from precomputed lengths."""

    def __init__(self, *args, window: TrainWindow, train_lengths: np.ndarray, **kwargs):
        super().__init__(*args, **kwargs)
        self.window, self.train_lengths = window, train_lengths
        self.model_accepts_loss_kwargs = False  # compute_loss returns a batch mean: the Trainer divides by GA steps

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        import torch

        labels = inputs["labels"]
        outputs = model(**{k: v for k, v in inputs.items() if k != "labels"})
        logits = outputs.logits.float()  # the loss in fp32 whatever the autocast
        loss = torch.nn.functional.cross_entropy(logits, labels)
        if model.training:
            self.window.add(logits, labels, loss)
        return (loss, outputs) if return_outputs else loss

    def _get_train_sampler(self, train_dataset=None):
        """Shuffled mega-batches sorted by length (the Trainer's LengthGroupedSampler), from cached lengths."""
        group = self.args.train_batch_size * self.args.gradient_accumulation_steps
        return LengthGroupedSampler(group, lengths=self.train_lengths.tolist())


def accuracy(prediction) -> dict:
    predictions, labels = prediction
    return {"accuracy": float(np.mean(np.asarray(predictions) == np.asarray(labels)))}


def predicted_class(logits, labels):
    """Keep the argmax, not the logits, between evaluation batches."""
    return logits.argmax(-1)


class PaddingCollator(DataCollatorWithPadding):
    """`DataCollatorWithPadding` with a numpy path for batches of plain token ids and labels (what
    TokenizedTweets hands out): the same tensors as `tokenizer.pad`, about 10x faster on a batch of 256, which
    matters when a GPU step takes milliseconds. Anything else goes through `tokenizer.pad`."""

    def __call__(self, features):
        import torch

        plain = features and set(features[0]) == {"input_ids", "labels"} and self.tokenizer.padding_side == "right"
        if not plain:
            return super().__call__(features)
        lengths = [len(f["input_ids"]) for f in features]
        width = max(lengths)
        if self.pad_to_multiple_of:
            width = -(-width // self.pad_to_multiple_of) * self.pad_to_multiple_of
        ids = np.full((len(features), width), self.tokenizer.pad_token_id or 0, dtype=np.int64)
        mask = np.zeros((len(features), width), dtype=np.int64)
        for row, (feature, length) in enumerate(zip(features, lengths, strict=True)):
            ids[row, :length] = feature["input_ids"]
            mask[row, :length] = 1
        labels = torch.tensor([f["labels"] for f in features], dtype=torch.long)
        return {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask), "labels": labels}


def build_trainer(model, tokenizer, args: TrainingArguments, train_data, val_data, callback, window, device_type: str):
    # Dynamic padding: each batch padded to its longest tweet (to a multiple of 8 on a GPU, for tensor cores).
    collator = PaddingCollator(tokenizer, pad_to_multiple_of=8 if device_type == "cuda" else None)
    return SentimentTrainer(
        model=model,
        args=args,
        train_dataset=train_data,
        eval_dataset=val_data,
        data_collator=collator,
        compute_metrics=accuracy if val_data is not None else None,
        preprocess_logits_for_metrics=predicted_class,
        callbacks=[callback] if callback is not None else [],
        window=window,
        train_lengths=train_data.lengths,
    )


@dataclass
class FitResult:
    best: dict
    history: list
    train_seconds: float
    eval_seconds: float
    seen: int
    steps: int


def fit_loop(model, tokenizer, train_data, val_data, args, run, resume_from: str | None, world_size: int) -> FitResult:
    """Train with validation every epoch (or every `--eval-every` steps and at each epoch's end); the model ends
    with the best weights by validation loss (the last ones without a validation split). `run` is None on the
    processes that do not own the run folder."""
    window = TrainWindow()
    callback = RunCallback(run, window, world_size=world_size, validates=val_data is not None)
    callback.restore(resume_from)
    device_type = "cpu" if args.use_cpu else args.device.type
    trainer = build_trainer(model, tokenizer, args, train_data, val_data, callback, window, device_type)
    trainer.remove_callback(PrinterCallback)  # it prints the Trainer's dicts; RunCallback reports instead
    try:
        trainer.train(resume_from_checkpoint=resume_from)
    finally:
        callback.restore_handlers()
    return FitResult(
        best=callback.best,
        history=callback.history,
        train_seconds=callback.train_seconds,
        eval_seconds=callback.eval_seconds,
        seen=callback.seen,
        steps=trainer.state.max_steps,
    )
