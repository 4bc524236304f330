"""Transformer inference and training speed, side by side, in one process on the same tweets.

    python -m benchmarks.transformer_inference --run artifacts/runs/minilm [--tweets 1000] [--singles 100]

Compares Hugging Face `pipeline("text-classification")` on PyTorch fp32 (its default batch size 1, and
batch size --batch-size) with the path the run serves (`load_run(run)`: the serving rule's choice or an
operator's override, see core.models.serving) and each of our backends (PyTorch, ONNX Runtime fp32 and int8;
ours sort by length, then batch --batch-size): single-tweet p50/p95 latency, batched throughput (the whole list
in one call, rounds interleaved across paths so a burst of load elsewhere hits them alike), max |delta
P(positive)| against our PyTorch path, label agreement with it, and accuracy. Then the served path's speed-up
over the pipeline at the same batch size (the target: >= 5x). With --train-steps N, also times N training
steps in fp32 and bf16 autocast. Tweets come from the run's shared test split (never trained on).
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # same setting as the trainer and a shared CPU

import numpy as np  # noqa: E402

from core.data.split import split_for_run  # noqa: E402
from core.models.serving import backend_label, served_backend  # noqa: E402
from core.models.transformer import load_run  # noqa: E402
from core.tracking.devices import usable_cores  # noqa: E402

SPEEDUP_TARGET = 5.0  # the served path against HF's pipeline at the same batch size


def timed_singles(predict, texts) -> tuple[float, float]:
    predict(texts[:1])
    times = []
    for text in texts:
        start = time.perf_counter()
        predict([text])
        times.append((time.perf_counter() - start) * 1000)
    return float(np.percentile(times, 50)), float(np.percentile(times, 95))


def timed_once(predict, texts) -> tuple[float, np.ndarray]:
    """The whole list in one call, as a user scores a file (each path batches it its own way): tweets/s."""
    start = time.perf_counter()
    scores = predict(texts)
    return len(texts) / (time.perf_counter() - start), scores


def interleaved_batched(predictors: dict, texts, rounds: int) -> dict[str, tuple[float, np.ndarray]]:
    """Each path's best round, rounds taken in turn (path A, B, C, A, B, C...) on the same tweets."""
    best = {}
    for predict in predictors.values():
        predict(texts[:64])  # warm-up
    for _ in range(rounds):
        for name, predict in predictors.items():
            throughput, scores = timed_once(predict, texts)
            best[name] = (max(throughput, best.get(name, (0.0,))[0]), scores)
    return best


def hf_pipeline(model_dir: Path, max_length: int, batch_size: int):
    from transformers import pipeline

    pipe = pipeline(
        "text-classification", model=str(model_dir), tokenizer=str(model_dir), device="cpu", dtype="float32"
    )

    def predict(texts):
        out = pipe(list(texts), batch_size=batch_size, truncation=True, max_length=max_length, top_k=None)
        return np.array([next(s["score"] for s in row if s["label"] == "positive") for row in out])

    return predict


def ours(run_dir: Path, backend: str | None, batch_size: int):
    """Our scoring path on `backend`; None = what the run serves (as core.models.base.load would load it)."""
    model = load_run(run_dir, backend=backend)
    model.batch_size = batch_size
    return model.predict_proba


def served_name(run_dir: Path) -> str:
    backend, how = served_backend(run_dir)
    return f"SERVED: {backend_label(backend)} ({how})"


def training_throughput(run_dir: Path, texts, labels, steps: int, batch_size: int, max_length: int) -> dict:
    """Tweets/s of full training steps (forward, backward, AdamW) on the run's model, fp32 vs bf16 autocast."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from core.training.transformer import cpu_has_native_bf16

    tokenizer = AutoTokenizer.from_pretrained(run_dir / "model")
    results = {}
    for precision in ("fp32", "bf16"):
        if precision == "bf16" and not cpu_has_native_bf16():
            results[precision] = "skipped: this CPU has no native bf16"
            continue
        model = AutoModelForSequenceClassification.from_pretrained(run_dir / "model").train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
        seen, elapsed = 0, 0.0
        for step in range(steps + 1):  # step 0 warms up
            rows = slice(step * batch_size, (step + 1) * batch_size)
            enc = tokenizer(texts[rows], truncation=True, max_length=max_length, padding=True, return_tensors="pt")
            start = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
                logits = model(**enc).logits.float()
            torch.nn.functional.cross_entropy(logits, torch.tensor(labels[rows])).backward()
            optimizer.step()
            optimizer.zero_grad()
            if step:
                seen += len(texts[rows])
                elapsed += time.perf_counter() - start
        results[precision] = round(seen / elapsed, 1)
    return results


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", required=True, help="a succeeded transformer run folder")
    parser.add_argument("--tweets", type=int, default=1000, help="test tweets for batched throughput")
    parser.add_argument("--singles", type=int, default=100, help="tweets scored one at a time for latency")
    parser.add_argument("--batch-size", type=int, default=64, help="batch size for every batched path")
    parser.add_argument("--rounds", type=int, default=3, help="batched rounds per path; the best one counts")
    parser.add_argument("--train-steps", type=int, default=0, help="training steps to time (0: skip)")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    return parser.parse_args(argv)


def sampled_test_tweets(meta: dict, tweets: int) -> tuple[list[str], np.ndarray]:
    """A seeded sample of the run's shared test split: texts and labels."""
    test = split_for_run(meta).test
    sample = test.sample(n=min(tweets, len(test)), random_state=0)
    return sample["text"].tolist(), sample["label"].to_numpy()


def inference_candidates(run_dir: Path, max_length: int, batch_size: int) -> dict:
    """Each inference path by name, as a function that builds its predict function (the served path first)."""
    return {
        served_name(run_dir): lambda: ours(run_dir, None, batch_size),
        "HF pipeline, PyTorch fp32, batch 1 (its default)": lambda: hf_pipeline(run_dir / "model", max_length, 1),
        f"HF pipeline, PyTorch fp32, batch {batch_size}": lambda: hf_pipeline(
            run_dir / "model", max_length, batch_size
        ),
        "ours, PyTorch fp32": lambda: ours(run_dir, "torch", batch_size),
        "ours, ONNX Runtime fp32": lambda: ours(run_dir, "onnx-fp32", batch_size),
        "ours, ONNX Runtime int8": lambda: ours(run_dir, "onnx-int8", batch_size),
    }


def measure_inference(candidates: dict, texts, labels, singles, rounds: int) -> list[dict]:
    """Latency, throughput, agreement and accuracy of every path (printed as a table)."""
    predictors = {name: make() for name, make in candidates.items()}
    rows = []
    for name, predict in predictors.items():
        p50, p95 = timed_singles(predict, singles)
        rows.append({"path": name, "single_p50_ms": p50, "single_p95_ms": p95})
        print(f"  single tweets: {name}", flush=True)
    batched = interleaved_batched(predictors, texts, rounds)
    reference = batched["ours, PyTorch fp32"][1]
    for row in rows:
        throughput, scores = batched[row["path"]]
        row.update(
            tweets_per_s=throughput,
            accuracy=float(np.mean((scores >= 0.5) == labels)),
            label_agreement_vs_torch=float(np.mean((scores >= 0.5) == (reference >= 0.5))),
            max_abs_delta_vs_torch=float(np.abs(scores - reference).max()),
        )
    print_table(rows)
    return rows


def print_table(rows: list[dict]) -> None:
    print(f"\n{'path':<48} {'p50 ms':>8} {'p95 ms':>8} {'tweets/s':>9} {'agree':>7} {'max|dP|':>9} {'acc':>7}")
    for r in rows:
        print(
            f"{r['path']:<48} {r['single_p50_ms']:>8.2f} {r['single_p95_ms']:>8.2f} {r['tweets_per_s']:>9.1f} "
            f"{r['label_agreement_vs_torch']:>7.2%} {r['max_abs_delta_vs_torch']:>9.1e} {r['accuracy']:>7.4f}"
        )


def served_speedup(rows: list[dict], batch_size: int) -> dict:
    """The served path against the pipeline at the same batch size, measured above in the same process."""
    served = next(r for r in rows if r["path"].startswith("SERVED"))
    pipeline = next(r for r in rows if r["path"] == f"HF pipeline, PyTorch fp32, batch {batch_size}")
    ratio = served["tweets_per_s"] / pipeline["tweets_per_s"]
    verdict = "met" if ratio >= SPEEDUP_TARGET else "NOT met"
    print(
        f"\nserved path {served['path'][len('SERVED: ') :]}: {served['tweets_per_s']:.1f} tweets/s; "
        f"HF pipeline batch {batch_size}: {pipeline['tweets_per_s']:.1f} tweets/s; "
        f"ratio {ratio:.2f}x (target >= {SPEEDUP_TARGET:g}x: {verdict})"
    )
    return {
        "served_path": served["path"],
        "served_tweets_per_s": served["tweets_per_s"],
        "pipeline_tweets_per_s": pipeline["tweets_per_s"],
        "ratio": ratio,
        "target": SPEEDUP_TARGET,
    }


def recorded_training(run_dir: Path, meta: dict) -> dict | None:
    """The training throughput the run recorded (printed), or None where it recorded none."""
    recorded = json.loads((run_dir / "metrics.json").read_text()).get("transformer") or {}
    if not recorded:
        return None
    print(
        f"\ntraining, as recorded by the run: {recorded['tweets_seen']:,} tweets in "
        f"{recorded['train_seconds']:.0f} s = {recorded['train_tweets_per_s']:.1f} tweets/s "
        f"({meta['device'].get('precision')}, {meta['device'].get('name')})"
    )
    return {k: recorded.get(k) for k in ("train_tweets_per_s", "train_seconds", "tweets_seen", "epochs")}


def measured_training(run_dir: Path, texts, labels, steps: int, max_length: int) -> dict:
    """Training throughput timed now, 32 tweets a step (printed)."""
    measured = training_throughput(run_dir, texts, labels, steps, 32, max_length)
    print(
        f"training, measured now ({steps} steps of 32 tweets, padded to the batch's longest): "
        + ", ".join(f"{k} {v} tweets/s" if isinstance(v, float) else f"{k} {v}" for k, v in measured.items())
    )
    return measured


def main(argv=None):
    args = parse_args(argv)
    run_dir = Path(args.run)
    meta = json.loads((run_dir / "run.json").read_text())
    max_length = meta["transformer"]["max_length"]
    texts, labels = sampled_test_tweets(meta, args.tweets)
    singles = texts[: args.singles]
    import torch

    torch.set_num_threads(usable_cores())
    print(
        f"run {run_dir} ({meta['approach']}, max length {max_length}); {len(texts)} test tweets batched "
        f"(batch {args.batch_size}), {len(singles)} one at a time; {usable_cores()} CPU threads; "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )

    candidates = inference_candidates(run_dir, max_length, args.batch_size)
    figures = {
        "run": str(run_dir),
        "tweets": len(texts),
        "singles": len(singles),
        "batch_size": args.batch_size,
        "threads": usable_cores(),
        "inference": measure_inference(candidates, texts, labels, singles, args.rounds),
    }
    figures["served_vs_pipeline"] = served_speedup(figures["inference"], args.batch_size)
    recorded = recorded_training(run_dir, meta)
    if recorded:
        figures["training_recorded"] = recorded
    if args.train_steps:
        figures["training_measured"] = measured_training(run_dir, texts, labels, args.train_steps, max_length)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
