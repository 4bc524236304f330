"""Time LSTM training epochs (and batched inference) of the Keras tweet model on synthetic tweets.

    python -m benchmarks.gpu_keras_epoch                          # GPU-sized: 200,000 tweets, 2 epochs
    python -m benchmarks.gpu_keras_epoch --tweets 2000 --epochs 1   # CPU smoke check, seconds

The network is the trainer's own (core.models.keras.build_model); the data are random word ids with
tweet-like lengths, so nothing needs downloading. Epoch 1 includes graph building; later epochs are the
steady state. Prints the device, then one line per epoch (seconds, tweets/s) and a JSON summary line.

Keras runs on KERAS_BACKEND (default tensorflow). Where TensorFlow has no GPU build but PyTorch has one,
KERAS_BACKEND=torch runs the same network with PyTorch's cuDNN LSTM (that path takes no mask: --no-mask).
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from core.models.keras import ARCHS, build_model, parameter_counts  # noqa: E402


def device() -> dict:
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        name = tf.config.experimental.get_device_details(gpus[0]).get("device_name") if gpus else None
        return {"backend": backend, "version": tf.__version__, "type": "gpu" if gpus else "cpu", "name": name}
    if backend == "torch":
        import torch

        gpu = torch.cuda.is_available()
        return {
            "backend": backend,
            "version": torch.__version__,
            "type": "gpu" if gpu else "cpu",
            "name": torch.cuda.get_device_name(0) if gpu else None,
            "cudnn": bool(gpu and torch.backends.cudnn.is_available()),
        }
    import jax

    first = jax.devices()[0]
    return {"backend": backend, "version": jax.__version__, "type": first.platform, "name": str(first)}


def synthetic_tweets(n: int, max_len: int, vocab: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-padded word ids, lengths ~ 3..max_len around 14 tokens like Sentiment140, Zipf-like word ids."""
    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.gamma(4.0, 3.5, size=n).astype(int), 3, max_len)
    ids = np.minimum(rng.zipf(1.3, size=(n, max_len)) + 1, vocab - 1).astype("int32")
    ids[np.arange(max_len)[None, :] >= lengths[:, None]] = 0
    return ids, rng.integers(0, 2, size=n)


class EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds = getattr(self, "seconds", []) + [time.perf_counter() - self.start]


def time_model(model, x, y, epochs: int, batch_size: int) -> tuple[list[float], float]:
    """Seconds per training epoch (each printed) and seconds to predict every tweet in batches of 2048."""
    timer = EpochTimer()
    model.fit(x, y, epochs=epochs, batch_size=batch_size, callbacks=[timer], verbose=0)
    for epoch, seconds in enumerate(timer.seconds, 1):
        print(
            f"epoch {epoch}: {seconds:.2f} s, {len(x) / seconds:,.0f} tweets/s"
            + (" (includes graph building)" if epoch == 1 else ""),
            flush=True,
        )
    model.predict(x[:2048], batch_size=2048, verbose=0)  # builds the predict graph
    start = time.perf_counter()
    model.predict(x, batch_size=2048, verbose=0)
    return timer.seconds, time.perf_counter() - start


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tweets", type=int, default=200_000)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--arch", choices=ARCHS, default="lstm")
    p.add_argument("--max-len", type=int, default=33, help="the default trainer's length on the 90k sample")
    p.add_argument("--vocab", type=int, default=20_000)
    p.add_argument("--dim", type=int, default=100)
    p.add_argument("--units", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument(
        "--mask",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="mask padding (default: yes on tensorflow, no elsewhere)",
    )
    p.add_argument("--mixed-precision", action="store_true", help="float16 compute (GPU only)")
    p.add_argument("--seed", type=int, default=0)
    return p


def main(argv=None) -> dict:
    args = build_parser().parse_args(argv)
    info = device()
    mask = args.mask if args.mask is not None else info["backend"] == "tensorflow"
    mixed = args.mixed_precision and info["type"] == "gpu"
    if mixed:
        keras.mixed_precision.set_global_policy("mixed_float16")
    print(f"device: {info}", flush=True)
    keras.utils.set_random_seed(args.seed)
    x, y = synthetic_tweets(args.tweets, args.max_len, args.vocab, args.seed)
    model = build_model(
        args.arch,
        args.vocab,
        args.dim,
        args.max_len,
        trainable=True,
        units=args.units,
        hidden=args.units,
        dropout=0.2,
        mask=mask,
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    epoch_seconds, predict_s = time_model(model, x, y, args.epochs, args.batch_size)
    steady = epoch_seconds[1:] or epoch_seconds
    summary = {
        "device": info,
        "arch": args.arch,
        "tweets": args.tweets,
        "max_len": args.max_len,
        "vocab": args.vocab,
        "dim": args.dim,
        "units": args.units,
        "batch_size": args.batch_size,
        "mask": mask,
        "mixed_precision": mixed,
        "parameters": parameter_counts(model)["total"],
        "epoch_seconds": [round(s, 3) for s in epoch_seconds],
        "steady_epoch_seconds": round(float(np.mean(steady)), 3),
        "train_tweets_per_s": round(args.tweets / float(np.mean(steady)), 1),
        "predict_tweets_per_s": round(args.tweets / predict_s, 1),
    }
    print(f"inference (model only, batches of 2048): {summary['predict_tweets_per_s']:,.0f} tweets/s")
    print("RESULT " + json.dumps(summary), flush=True)
    return summary


if __name__ == "__main__":
    main()
