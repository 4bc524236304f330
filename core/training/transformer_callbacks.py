"""What the Hugging Face `Trainer` tells the run folder: progress lines, the history, and cancellation.

`RunCallback` is a `transformers.TrainerCallback`. On the process that owns the run folder (rank 0) it writes
`progress.json` through `Run.progress` every few seconds (epoch, step, loss, tweets/s, time left), a history entry
at each validation (`history.json`: the same fields as before the Trainer), and, beside each checkpoint, what a
resumed run needs to continue its history and timings (`badbuzz_progress.json`). A SIGTERM/SIGINT (the dashboard's
Cancel) sets a flag that is acted on between steps, so a checkpoint is never cut in the middle of its writing: the
run then raises `RunCancelled`, which `start_run` records as `cancelled`.

`TrainWindow` sums the training loss, correct answers and tweets since the last validation on the device (no
synchronisation per step); across processes it is summed with an all-reduce at each validation.
"""

from __future__ import annotations

import json
import logging
import math
import signal
import threading
import time
from pathlib import Path

from transformers import TrainerCallback

from core.tracking.runs import RunCancelled, read_json

log = logging.getLogger(__name__)
PROGRESS_EVERY_S = 3.0
STATE_FILE = "badbuzz_progress.json"


class TrainWindow:
    """Training loss and correct answers since the last validation, summed on the device (read only at
    validations and progress lines, so a GPU is not waited for at every step), and the tweets, counted here."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.totals = None  # tensor [loss sum, correct], on the model's device
        self.count = 0
        self.start = time.perf_counter()

    def add(self, logits, labels, loss) -> None:
        import torch

        batch = torch.stack([loss.detach() * len(labels), (logits.detach().argmax(-1) == labels).sum().float()])
        self.totals = batch if self.totals is None else self.totals + batch
        self.count += len(labels)

    def summary(self) -> dict:
        """Mean loss, accuracy and tweets/s over the window, summed over every process (an all-reduce: every
        process must call it at the same point)."""
        import torch

        totals = self.totals if self.totals is not None else torch.zeros(2)
        totals = torch.cat([totals, totals.new_tensor([float(self.count)])])
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.all_reduce(totals)
        loss, correct, seen = totals.tolist()
        return {
            "loss": loss / max(seen, 1),
            "accuracy": correct / max(seen, 1),
            "tweets": int(seen),
            "tweets_per_s": seen / max(time.perf_counter() - self.start, 1e-9),
        }

    def peek(self) -> tuple[float, int]:
        """This process's mean loss and tweets so far (for the progress line; reads the device)."""
        if self.totals is None:
            return math.nan, 0
        return self.totals[0].item() / max(self.count, 1), self.count


class RunCallback(TrainerCallback):
    """Progress, history, resumable counters and graceful cancellation for one training (see the module doc)."""

    def __init__(self, run, window: TrainWindow, world_size: int = 1, validates: bool = True):
        self.run, self.window, self.world_size, self.validates = run, window, world_size, validates
        self.history: list[dict] = []
        self.train_seconds = self.eval_seconds = 0.0
        self.seen = 0
        self.best: dict = {}
        self._trained: dict = {}
        self._pause_started = self._segment_start = time.perf_counter()
        self._start_step, self._start_seconds = 0, 0.0
        self._last_report = self._last_check_step = 0
        self._stop = threading.Event()
        self._previous_handlers = None

    # ---------------------------------------------------------------- the run's counters

    def restore(self, checkpoint: str | Path | None) -> None:
        """History, timings and tweets seen from the checkpoint a run resumes from."""
        saved = read_json(Path(checkpoint) / STATE_FILE, {}) if checkpoint else {}
        self.history = saved.get("history", [])
        self.train_seconds = saved.get("train_seconds", 0.0)
        self.eval_seconds = saved.get("eval_seconds", 0.0)
        self.seen = saved.get("seen", 0)
        self.best = saved.get("best", {})

    def _elapsed(self) -> float:
        return self.train_seconds + time.perf_counter() - self._segment_start

    # ---------------------------------------------------------------- Trainer events

    def on_train_begin(self, args, state, control, **kwargs):
        self._segment_start = time.perf_counter()
        self._start_step = None  # a resumed Trainer loads its step after this event: see on_step_end
        self.window.reset()
        self._install_stop_handlers()
        if self.run is not None:
            epochs = int(args.num_train_epochs)
            self.run.progress(
                phase="train", message="training", epochs=epochs, step=state.global_step, steps=state.max_steps
            )

    def on_step_end(self, args, state, control, **kwargs):
        self._check_stop()
        if self._start_step is None:  # the rate excludes the first step (kernels, allocator)
            self._start_step, self._start_seconds = state.global_step, self._elapsed()
        if control.should_evaluate or control.should_save:  # every checkpoint is validated, every validation kept
            self._begin_checkpoint(state, control)
        elif self.run is not None and self._elapsed() - self._last_report >= PROGRESS_EVERY_S:
            self._report_progress(args, state)

    def on_epoch_end(self, args, state, control, **kwargs):
        if state.global_step != self._last_check_step:  # validate at each epoch's end, also with --eval-every
            self._begin_checkpoint(state, control)

    def on_prediction_step(self, args, state, control, **kwargs):
        self._check_stop()

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        self._add_history(self._entry(state, metrics or {}))

    def on_save(self, args, state, control, **kwargs):
        if not self.validates:
            self._add_history(self._entry(state, {}))
        self.eval_seconds += time.perf_counter() - self._pause_started
        if state.is_world_process_zero:
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            saved = {"history": self.history, "train_seconds": self.train_seconds, "eval_seconds": self.eval_seconds}
            (folder / STATE_FILE).write_text(json.dumps({**saved, "seen": self.seen, "best": self.best}))
        self._segment_start = time.perf_counter()
        self.window.reset()

    def on_train_end(self, args, state, control, **kwargs):
        self.restore_handlers()

    # ---------------------------------------------------------------- helpers

    def _begin_checkpoint(self, state, control) -> None:
        """Before a validation and checkpoint: close the training window (its speed excludes validation)."""
        control.should_evaluate, control.should_save = self.validates, True
        self.train_seconds = self._elapsed()
        self._pause_started = time.perf_counter()
        self._last_check_step = state.global_step
        trained = self.window.summary()
        self.seen += trained["tweets"]
        self._trained = {k: trained[k] for k in ("loss", "accuracy", "tweets_per_s")}
        if self.run is not None and self.validates:
            self.run.progress(
                phase="validate",
                message=f"validation at step {state.global_step}",
                epoch=round(state.epoch or 0.0, 3),
                step=state.global_step,
                steps=state.max_steps,
            )

    def _entry(self, state, metrics: dict) -> dict:
        """One history entry: training figures over the window, validation figures (NaN without validation)."""
        return {
            "epoch": round(state.epoch or 0.0, 4),
            "step": state.global_step,
            "loss": self._trained["loss"],
            "val_loss": metrics.get("eval_loss", math.nan),
            "accuracy": self._trained["accuracy"],
            "val_accuracy": metrics.get("eval_accuracy", math.nan),
            "seconds": round(self.train_seconds, 2),
            "tweets_per_s": self._trained["tweets_per_s"],
        }

    def _add_history(self, entry: dict) -> None:
        self.history.append(entry)
        is_best = not self.validates or entry["val_loss"] < self.best.get("val_loss", math.inf)
        if is_best:
            self.best = {k: entry[k] for k in ("val_loss", "val_accuracy", "step", "epoch")}
        if self.run is None:
            return
        self.run.save_history(self.history)
        log.info(
            f"epoch {entry['epoch']:.2f} step {entry['step']}: loss {entry['loss']:.4f} acc {entry['accuracy']:.4f}"
            f" | val loss {entry['val_loss']:.4f} val acc {entry['val_accuracy']:.4f}" + ("  (best)" if is_best else "")
        )

    def _report_progress(self, args, state) -> None:
        """The `train` progress line: where the training is, its speed, and the time left (validations included)."""
        seconds = self._elapsed()
        self._last_report = seconds
        loss, local_seen = self.window.peek()
        steps_done = max(state.global_step - self._start_step, 1)
        step_seconds = (seconds - self._start_seconds) / steps_done
        eval_cost = self.eval_seconds / max(len(self.history), 1)
        self.run.progress(
            phase="train",
            epoch=round(state.epoch or 0.0, 3),
            epochs=int(args.num_train_epochs),
            step=state.global_step,
            steps=state.max_steps,
            loss=round(loss, 4),
            tweets_per_s=round((self.seen + local_seen * self.world_size) / max(seconds, 1e-9), 1),
            eta_s=round(
                (state.max_steps - state.global_step) * step_seconds + self._evals_left(args, state) * eval_cost
            ),
        )

    @staticmethod
    def _evals_left(args, state) -> int:
        per_epoch = max(state.max_steps / max(args.num_train_epochs, 1), 1)
        epochs_left = math.ceil((state.max_steps - state.global_step) / per_epoch)
        if args.eval_strategy == "steps" and args.eval_steps:
            return math.ceil((state.max_steps - state.global_step) / args.eval_steps) + epochs_left
        return epochs_left

    # ---------------------------------------------------------------- cancellation between steps

    def _install_stop_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread() or self._previous_handlers is not None:
            return
        self._previous_handlers = {
            sig: signal.signal(sig, lambda signum, frame: self._stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)
        }

    def restore_handlers(self) -> None:
        for sig, handler in (self._previous_handlers or {}).items():
            signal.signal(sig, handler)
        self._previous_handlers = None

    def _check_stop(self) -> None:
        if self._stop.is_set():
            self.restore_handlers()
            raise RunCancelled("cancelled by a signal")
