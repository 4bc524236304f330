"""ONNX export of a fine-tuned transformer: fp32 graph, int8 dynamic quantization, equivalence and speed check.

`export_run(run_dir, check_texts, max_length)` writes `run_dir/onnx/` with model.onnx, model.int8.onnx and
manifest.json. Each variant is compared with PyTorch on `check_texts` (texts the model was not trained on):
it may serve only when max |delta P(positive)| stays under its tolerance. Among PyTorch and the variants
that passed, `choose` picks the `preferred` backend, which the loader then uses.
"""

from __future__ import annotations

import logging
import shutil
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core.models.base import is_positive
from core.models.transformer import (
    ONNX_FILES,
    Encoder,
    OnnxBackend,
    TorchBackend,
    TransformerModel,
    cpu_threads,
)
from core.tracking.runs import write_json_atomic

TOLERANCE = {"onnx-fp32": 1e-3, "onnx-int8": 0.03}
OPSET = 17

log = logging.getLogger(__name__)


def export_fp32(model_dir: str | Path, onnx_file: str | Path, opset: int = OPSET) -> None:
    """Trace the classifier into ONNX with dynamic batch and sequence axes (logits output)."""
    import torch
    from transformers import AutoModelForSequenceClassification
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    model = AutoModelForSequenceClassification.from_pretrained(str(model_dir)).cpu().eval()
    # A padded example, so the traced graph keeps the attention-mask path.
    input_ids = torch.full((2, 8), model.config.pad_token_id or 0, dtype=torch.long)
    input_ids[:, 0] = 101 % model.config.vocab_size
    input_ids[0, 1:7] = torch.arange(1, 7) % model.config.vocab_size
    mask = (input_ids != (model.config.pad_token_id or 0)).long()
    mask[:, 0] = 1
    dynamic = {"batch": 0, "sequence": 1}
    # The TorchScript tracer warns about every Python branch in transformers' mask code; equivalence on
    # padded and unpadded batches is what is checked instead.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (),
            str(onnx_file),
            kwargs={"input_ids": input_ids, "attention_mask": mask},
            input_names=["input_ids", "attention_mask"],
            output_names=["logits"],
            dynamic_axes={
                "input_ids": {v: k for k, v in dynamic.items()},
                "attention_mask": {v: k for k, v in dynamic.items()},
                "logits": {0: "batch"},
            },
            opset_version=opset,
            dynamo=False,
        )


def quantize_int8(fp32_file: str | Path, int8_file: str | Path) -> None:
    """Dynamic quantization: int8 weights, activations quantized on the fly (no calibration data)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quiet its generic "consider pre-processing" advice (static quantization)
    try:
        quantize_dynamic(str(fp32_file), str(int8_file), weight_type=QuantType.QInt8, per_channel=True)
    finally:
        root.setLevel(level)


def speed(models: dict[str, TransformerModel], texts: Sequence[str], singles: int = 20, rounds: int = 3) -> dict:
    """Batched throughput (tweets/s) and single-tweet p50 latency (ms) of each model: the best of `rounds`
    interleaved rounds, so a burst of load from another process does not decide the comparison."""
    texts = list(texts)
    best = {name: {"tweets_per_s": 0.0, "single_p50_ms": float("inf")} for name in models}
    for model in models.values():
        model.predict_proba(texts[:8])  # warm-up
    for _ in range(rounds):
        for name, model in models.items():
            start = time.perf_counter()
            model.predict_proba(texts)
            best[name]["tweets_per_s"] = max(best[name]["tweets_per_s"], len(texts) / (time.perf_counter() - start))
            times = []
            for text in texts[:singles]:
                t0 = time.perf_counter()
                model.predict_proba([text])
                times.append((time.perf_counter() - t0) * 1000)
            best[name]["single_p50_ms"] = min(best[name]["single_p50_ms"], float(np.median(times)))
    return {name: {k: round(v, 3) for k, v in figures.items()} for name, figures in best.items()}


def choose(variants: dict) -> str:
    """The fastest ONNX variant that passed; PyTorch only when it beats that on batches and single tweets both
    (ONNX also loads without PyTorch and answers one tweet several times faster on a CPU)."""
    onnx = [k for k, v in variants.items() if k != "torch" and v.get("passed")]
    if not onnx:
        return "torch"
    fastest = max(onnx, key=lambda k: variants[k]["tweets_per_s"])
    torch, candidate = variants["torch"], variants[fastest]
    if (
        torch["tweets_per_s"] > 1.1 * candidate["tweets_per_s"]
        and torch["single_p50_ms"] < candidate["single_p50_ms"] / 1.1
    ):
        return "torch"
    return fastest


def compare(reference: np.ndarray, candidate: np.ndarray, tolerance: float) -> dict:
    delta = np.abs(reference - candidate)
    return {
        "max_abs_delta": float(delta.max()),
        "mean_abs_delta": float(delta.mean()),
        "label_agreement": float(np.mean(is_positive(reference) == is_positive(candidate))),
        "tolerance": tolerance,
        "passed": bool(delta.max() < tolerance),
    }


def export_run(
    run_dir: str | Path,
    check_texts: Sequence[str],
    max_length: int,
    quantize: bool = True,
    check_labels: Sequence[int] | None = None,
    speed_texts: int = 512,
) -> dict:
    """Export, verify and time; write run_dir/onnx/manifest.json and return it.

    With `check_labels` (1 = positive) the manifest also records each backend's accuracy on the check texts."""
    run_dir = Path(run_dir)
    model_dir, final_dir = run_dir / "model", run_dir / "onnx"
    work_dir = run_dir / ".onnx.tmp"
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir()
    keep = [i for i, t in enumerate(check_texts) if isinstance(t, str) and t.strip()]
    check_texts = [check_texts[i] for i in keep]
    labels = None if check_labels is None else np.asarray(check_labels)[keep]
    if not check_texts:
        raise ValueError("the ONNX equivalence check needs at least one non-empty text")
    encoder = Encoder(model_dir, max_length)
    started = time.perf_counter()
    export_fp32(model_dir, work_dir / ONNX_FILES["onnx-fp32"])
    if quantize:
        quantize_int8(work_dir / ONNX_FILES["onnx-fp32"], work_dir / ONNX_FILES["onnx-int8"])
    export_seconds = time.perf_counter() - started

    variants, contenders = check_variants(work_dir, model_dir, encoder, check_texts, labels)
    timing_texts = check_texts[:speed_texts]
    for name, figures in speed(contenders, timing_texts).items():
        variants[name].update(figures)
    for name, figures in variants.items():
        log.info("%s", describe_variant(name, figures))
    manifest = {
        "preferred": choose(variants),
        "variants": variants,
        "check_texts": len(check_texts),
        "timing_texts": len(timing_texts),
        "threads": cpu_threads(),
        "max_length": max_length,
        "opset": OPSET,
        "export_seconds": round(export_seconds, 2),
    }
    write_json_atomic(work_dir / "manifest.json", manifest)
    shutil.rmtree(final_dir, ignore_errors=True)
    work_dir.rename(final_dir)
    return manifest


def check_variants(
    work_dir: Path, model_dir: Path, encoder: Encoder, check_texts: list[str], labels: np.ndarray | None
) -> tuple[dict, dict[str, TransformerModel]]:
    """Each exported variant in `work_dir` against PyTorch on `check_texts`: (manifest variants, models to time).

    A variant that fails its tolerance is timed all the same: the manifest shows the trade-off."""
    reference = TransformerModel("torch", encoder, TorchBackend(model_dir, device="cpu"))
    p_ref = reference.predict_proba(check_texts)
    variants, contenders = {"torch": {"file": "../model"}}, {"torch": reference}
    if labels is not None:
        variants["torch"]["accuracy"] = float(np.mean(is_positive(p_ref) == labels))
    for name, tolerance in TOLERANCE.items():
        if not (work_dir / ONNX_FILES[name]).exists():
            continue
        candidate = TransformerModel(name, encoder, OnnxBackend(work_dir / ONNX_FILES[name]))
        p_pos = candidate.predict_proba(check_texts)
        variants[name] = {
            "file": ONNX_FILES[name],
            "bytes": (work_dir / ONNX_FILES[name]).stat().st_size,
            **compare(p_ref, p_pos, tolerance),
        }
        if labels is not None:
            variants[name]["accuracy"] = float(np.mean(is_positive(p_pos) == labels))
        contenders[name] = candidate
    return variants, contenders


def describe_variant(name: str, v: dict) -> str:
    """One line per backend: its check against PyTorch, accuracy, speed, and whether it may serve."""
    check = (
        f"max |dP| {v['max_abs_delta']:.2e} (tolerance {v['tolerance']}), label agreement {v['label_agreement']:.4f}"
        if name != "torch"
        else "reference"
    )
    accuracy = f", accuracy {v['accuracy']:.4f}" if "accuracy" in v else ""
    usable = "" if name == "torch" or v["passed"] else " -> not served"
    return f"{name}: {check}{accuracy}; {v['tweets_per_s']:.0f} tweets/s, single {v['single_p50_ms']:.1f} ms{usable}"


def main(argv=None) -> None:
    """`python -m core.models.onnx_export --run RUN_DIR`: (re-)export and check an existing transformer run."""
    import argparse
    import sys

    from core.data.split import split_for_run
    from core.logs import configure_cli_logging
    from core.tracking.runs import read_json

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--run", required=True, help="a succeeded transformer run folder")
    parser.add_argument("--check-texts", type=int, default=1000, help="validation tweets to check against")
    parser.add_argument("--int8", action=argparse.BooleanOptionalAction, default=True, help="also write int8")
    args = parser.parse_args(argv)
    configure_cli_logging()
    run_dir = Path(args.run)
    meta = read_json(run_dir / "run.json") or {}
    if meta.get("kind") != "transformer" or meta.get("status") != "succeeded":
        sys.exit(f"error: {run_dir} is not a succeeded transformer run")
    split = split_for_run(meta)
    check = (split.val if len(split.val) else split.test).head(args.check_texts)
    manifest = export_run(
        run_dir,
        check["text"].tolist(),
        meta["transformer"]["max_length"],
        quantize=args.int8,
        check_labels=check["label"].to_numpy(),
    )
    meta["onnx"] = summary(manifest)
    write_json_atomic(run_dir / "run.json", meta)
    print(f"serving backend: {manifest['preferred']}")


def summary(manifest: dict) -> dict:
    """What run.json keeps of the manifest."""
    fields = ("max_abs_delta", "passed", "accuracy", "tweets_per_s", "single_p50_ms")
    return {
        "preferred": manifest["preferred"],
        "variants": {k: {f: v[f] for f in fields if f in v} for k, v in manifest["variants"].items()},
    }


if __name__ == "__main__":
    main()
