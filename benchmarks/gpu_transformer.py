"""Fine-tuning speed of a DistilBERT-sized model through the trainer's own path (the Hugging Face Trainer as
core.training.transformer_loop sets it up), per precision: tweets per second.

    python -m benchmarks.gpu_transformer                          # GPU: DistilBERT-base size, every precision
    python -m benchmarks.gpu_transformer --device cpu --steps 3   # smoke check anywhere (a tiny model, seconds)
    python -m benchmarks.gpu_transformer --precision bf16 tf32 --batch-size 64 --pad-multiple 1 --cold-shapes \
        --cudnn-attention                                         # the old measurement's conditions

No download: random weights from DistilBertConfig, random token ids with tweet-like lengths, and a word-level
tokenizer built in memory (the collator only pads). Each precision trains a fresh model with
`training_arguments` + `SentimentTrainer` (the trainer's AdamW, schedule, clipping, autocast, dynamic padding to a
multiple of 8 on a GPU) for `--warmup-steps` untimed steps, then `--steps` timed ones.

Warm-up covers every padded length the timed steps will see (`--cold-shapes` turns that off): a GPU pays a one-off
cost the first time it meets a shape (kernel choice; for bf16/fp16 attention on the cuDNN backend, building its
plan), and a short timed window full of first-time shapes measures that cost, not the training speed. A real
epoch meets each of its few dozen lengths thousands of times. The old "bf16 2.5-4x slower than TF32" came from
there (see core.training.transformer_loop.configure_attention). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the trainer does: spinning OpenMP threads stall a shared CPU

import numpy as np  # noqa: E402
import torch  # noqa: E402
from transformers import DistilBertConfig, DistilBertForSequenceClassification, PrinterCallback, TrainerCallback

from core.training.options import TransformerOptions
from core.training.transformer_callbacks import TrainWindow
from core.training.transformer_data import TokenizedTweets
from core.training.transformer_loop import build_trainer, configure_attention, training_arguments

PRECISIONS = ("fp32", "tf32", "bf16", "fp16")
GPU_ONLY = {"tf32", "fp16"}
SIZES = {
    "distilbert": {},  # DistilBertConfig defaults = distilbert-base-uncased: 6 layers, dim 768, 66 M parameters
    "tiny": {"dim": 64, "n_layers": 2, "n_heads": 2, "hidden_dim": 128},
}


def tweet_lengths(n: int, rng: np.random.Generator, max_length: int) -> np.ndarray:
    """Token counts shaped like Sentiment140's (median ~21, 95th percentile ~41 with special tokens)."""
    return np.clip(rng.gamma(shape=5.0, scale=4.6, size=n).round().astype(int), 4, max_length)


def padded(lengths: np.ndarray, multiple: int) -> np.ndarray:
    return -(-lengths // multiple) * multiple


def synthetic_tweets(args, vocab_size: int, rng: np.random.Generator, multiple: int):
    """Random tweets, and the order the sampler hands them out: the warm-up batches first (one per padded length
    the timed batches use, unless --cold-shapes; then --warmup-steps more), then the timed length-grouped batches."""
    from transformers.trainer_pt_utils import get_length_grouped_indices

    timed = tweet_lengths(args.steps * args.batch, rng, args.max_length)
    plan = get_length_grouped_indices(timed.tolist(), args.batch, generator=torch.Generator().manual_seed(args.seed))
    batches = [np.asarray(plan[i : i + args.batch]) for i in range(0, len(plan), args.batch)]
    shapes = sorted({int(padded(timed[b], multiple).max()) for b in batches})
    warm = [] if args.cold_shapes else [np.full(args.batch, length) for length in shapes]
    warm += [tweet_lengths(args.batch, rng, args.max_length) for _ in range(args.warmup_steps)]
    lengths = np.concatenate([*warm, timed]) if warm else timed
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    ids = rng.integers(1000, vocab_size, size=int(offsets[-1])).astype(np.int32)
    tweets = TokenizedTweets(ids, offsets, rng.integers(0, 2, size=len(lengths)))
    order = list(range(len(lengths) - len(timed))) + [len(lengths) - len(timed) + i for i in plan]
    return tweets, order, len(warm), len(shapes)


def pad_only_tokenizer(vocab_size: int):
    """A fast tokenizer with the ids the synthetic tweets use; the collator only needs its padding."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    vocab = {"[PAD]": 0, "[UNK]": 1, **{f"w{i}": i for i in range(2, vocab_size)}}
    return PreTrainedTokenizerFast(tokenizer_object=Tokenizer(WordLevel(vocab, unk_token="[UNK]")), pad_token="[PAD]")


class StepClock(TrainerCallback):
    """The time of each step's end (after a GPU synchronisation)."""

    def __init__(self, device: torch.device):
        self.device, self.ends = device, []

    def on_step_end(self, args, state, control, **kwargs):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.ends.append(time.perf_counter())


def run(args, device: torch.device, precision: str) -> dict:
    """Train a fresh model for warm-up + timed steps through the Trainer; figures over the timed steps."""
    torch.manual_seed(args.seed)
    torch.backends.cuda.enable_cudnn_sdp(True)
    if not args.cudnn_attention:
        configure_attention(device.type, precision)  # as the trainer does
    config = DistilBertConfig(**SIZES[args.size])
    model = DistilBertForSequenceClassification(config)
    multiple = args.pad_multiple or (8 if device.type == "cuda" else 1)
    tweets, order, warm_steps, shapes = synthetic_tweets(
        args, config.vocab_size, np.random.default_rng(args.seed), multiple
    )
    options = TransformerOptions(output="unused", batch_size=args.batch, epochs=1, seed=args.seed)
    clock = StepClock(device)
    with tempfile.TemporaryDirectory() as folder:
        overrides = dict(max_steps=warm_steps + args.steps, save_strategy="no", eval_strategy="no")
        overrides.update(load_best_model_at_end=False, **({"optim": args.optim} if args.optim else {}))
        train_args = training_arguments(options, folder, device.type, precision, validates=False, **overrides)
        trainer = build_trainer(
            model, pad_only_tokenizer(config.vocab_size), train_args, tweets, None, clock, TrainWindow(), device.type
        )
        trainer._get_train_sampler = lambda *a, **k: order  # the planned batches, in order
        trainer.remove_callback(PrinterCallback)
        trainer.data_collator.pad_to_multiple_of = multiple if multiple > 1 else None
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        trainer.train()
    seconds = clock.ends[-1] - clock.ends[warm_steps - 1] if warm_steps else clock.ends[-1] - clock.ends[0]
    timed_steps = args.steps if warm_steps else args.steps - 1
    result = {
        "size": args.size,
        "parameters": sum(p.numel() for p in model.parameters()),
        "device": _device_name(device),
        "precision": precision,
        "optimizer": train_args.optim,
        "batch_size": args.batch,
        "pad_multiple": multiple,
        "padded_lengths": shapes,  # distinct padded lengths in the timed batches
        "warm_shapes": not args.cold_shapes,
        "cudnn_attention": torch.backends.cuda.cudnn_sdp_enabled(),
        "timed_steps": timed_steps,
        "seconds": round(seconds, 3),
        **speed(timed_steps * args.batch, seconds),
    }
    if device.type == "cuda":
        result["peak_gpu_memory_gib"] = round(torch.cuda.max_memory_allocated(device) / 2**30, 2)
    return result


def speed(tweets: int, seconds: float) -> dict:
    return {"tweets_per_s": round(tweets / seconds, 1), "seconds_per_10k_tweets": round(10_000 * seconds / tweets, 2)}


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({torch.get_num_threads()} threads)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--size", choices=["auto", *sorted(SIZES)], default="auto", help="auto: distilbert on a GPU, tiny on a CPU"
    )
    parser.add_argument("--device", choices=["auto", "cuda", "cpu"], default="auto")
    parser.add_argument("--precision", nargs="+", choices=PRECISIONS, default=None, help="default: all that apply")
    parser.add_argument("--steps", type=int, default=60, help="timed optimisation steps per precision and batch size")
    parser.add_argument("--batch-size", type=int, nargs="+", default=None, help="default: 32 256 on a GPU, 32 on a CPU")
    parser.add_argument("--max-length", type=int, default=48)
    parser.add_argument("--warmup-steps", type=int, default=None, help="untimed steps first (default: 10 GPU, 1 CPU)")
    parser.add_argument(
        "--pad-multiple", type=int, default=None, help="pad batches to a multiple (default: 8 GPU, 1 CPU)"
    )
    parser.add_argument("--cold-shapes", action="store_true", help="no warm-up pass over the padded lengths")
    parser.add_argument(
        "--cudnn-attention",
        action="store_true",
        help="leave bf16/fp16 attention on the cuDNN backend (the trainer turns it off: see configure_attention)",
    )
    parser.add_argument("--optim", default=None, help="a Trainer optimizer name (default: the Trainer's, fused AdamW)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    device = torch.device("cuda" if args.device != "cpu" and torch.cuda.is_available() else "cpu")
    if args.device == "cuda" and device.type != "cuda":
        parser.error("--device cuda: PyTorch sees no CUDA GPU")
    gpu = device.type == "cuda"
    args.size = args.size if args.size != "auto" else ("distilbert" if gpu else "tiny")
    args.warmup_steps = args.warmup_steps if args.warmup_steps is not None else (10 if gpu else 1)
    print(f"torch {torch.__version__}, device {_device_name(device)}, model {args.size}", flush=True)
    results = []
    for batch in args.batch_size or ([32, 256] if gpu else [32]):
        for precision in args.precision or PRECISIONS:
            if precision not in GPU_ONLY or gpu:
                args.batch = batch
                results.append(report(run(args, device, precision)))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)


def report(r: dict) -> dict:
    peak = f", peak {r['peak_gpu_memory_gib']} GiB" if "peak_gpu_memory_gib" in r else ""
    print(
        f"{r['size']} ({r['parameters'] / 1e6:.1f} M) {r['precision']:>4} batch {r['batch_size']:>3} "
        f"pad x{r['pad_multiple']} {'warm' if r['warm_shapes'] else 'cold'} shapes ({r['padded_lengths']}): "
        f"{r['tweets_per_s']:9.1f} tweets/s = {r['seconds_per_10k_tweets']:7.2f} s per 10k tweets{peak}",
        flush=True,
    )
    return r


if __name__ == "__main__":
    main()
