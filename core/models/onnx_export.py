"""ONNX export of a fine-tuned transformer: fp32 graph, int8 dynamic quantization, equivalence and speed check.

`export_run(run_dir, check_texts, max_length, check_labels=...)` writes `run_dir/onnx/` with model.onnx,
model.int8.onnx and manifest.json. Each variant is scored beside PyTorch fp32 on `check_texts` (validation
tweets, never trained on): accuracy, label agreement with PyTorch, max / mean |delta P(positive)|, speed.
`core.models.serving.decide` applies the rule (accuracy and label agreement, not |delta P|) and picks the
`preferred` backend, which the loader then serves unless an operator overrides it.

The command is core.commands.export_onnx:

    python -m core.commands.export_onnx --run RUN            # (re-)export, check, decide
    python -m core.commands.export_onnx --run RUN --serve int8|fp32|pytorch|auto [--why TEXT]
"""

from __future__ import annotations

import logging
import shutil
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core.data.labels import BINARY_CLASSES, binary_proba
from core.files import write_json_atomic
from core.models import serving
from core.models.base import class_codes
from core.models.transformer import (
    ONNX_FILES,
    Encoder,
    OnnxBackend,
    TorchBackend,
    TransformerModel,
)
from core.tracking.devices import usable_cores

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


def compare(reference: np.ndarray, candidate: np.ndarray, classes=BINARY_CLASSES) -> dict:
    """How far a variant's P(positive) (or, three-way, its class probabilities) is from PyTorch's, and how often
    it gives the same label. `reference` / `candidate`: P(positive) (n,) or class probabilities (n, k)."""
    reference, candidate = np.asarray(reference, dtype=float), np.asarray(candidate, dtype=float)
    if reference.ndim == 1:
        reference, candidate = binary_proba(reference), binary_proba(candidate)
    delta = np.abs(reference - candidate)  # binary: |dP(positive)| in both columns
    return {
        "label_agreement": float(np.mean(class_codes(reference, classes) == class_codes(candidate, classes))),
        "max_abs_delta": float(delta.max()),
        "mean_abs_delta": float(delta.mean()),
    }


def export_run(
    run_dir: str | Path,
    check_texts: Sequence[str],
    max_length: int,
    quantize: bool = True,
    check_labels: Sequence[int] | None = None,
    speed_texts: int = 512,
    check_source: str = "validation split",
) -> dict:
    """Export, check, time and decide; write run_dir/onnx/manifest.json and return it.

    `check_labels` (1 = positive) give each backend's accuracy, which the rule needs: without them no ONNX
    variant is accepted and PyTorch serves."""
    run_dir = Path(run_dir)
    model_dir, final_dir = run_dir / "model", run_dir / "onnx"
    work_dir = run_dir / ".onnx.tmp"
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir()
    check_texts, labels = non_empty(check_texts, check_labels)
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
    preferred = serving.decide(variants)
    for name, figures in variants.items():
        log.info("%s", describe_variant(name, figures))
    manifest = {
        "preferred": preferred,
        "rule": serving.RULE_TEXT,
        "thresholds": thresholds(),
        "variants": variants,
        "check_texts": len(check_texts),
        "check_source": check_source,
        "timing_texts": len(timing_texts),
        "threads": usable_cores(),
        "max_length": max_length,
        "opset": OPSET,
        "export_seconds": round(export_seconds, 2),
    }
    write_json_atomic(work_dir / "manifest.json", manifest)
    shutil.rmtree(final_dir, ignore_errors=True)
    work_dir.rename(final_dir)
    return manifest


def non_empty(texts: Sequence[str], labels: Sequence[int] | None) -> tuple[list[str], np.ndarray | None]:
    """The check tweets that have text (and their labels): an empty one has no score to compare."""
    keep = [i for i, t in enumerate(texts) if isinstance(t, str) and t.strip()]
    if not keep:
        raise ValueError("the ONNX check needs at least one non-empty text")
    return [texts[i] for i in keep], None if labels is None else np.asarray(labels)[keep]


def check_variants(
    work_dir: Path, model_dir: Path, encoder: Encoder, check_texts: list[str], labels: np.ndarray | None
) -> tuple[dict, dict[str, TransformerModel]]:
    """Each exported variant in `work_dir` beside PyTorch on `check_texts`: (manifest variants, models to time).

    Every variant is timed, accepted or not: the manifest shows the trade-off."""
    reference = TransformerModel("torch", encoder, TorchBackend(model_dir, device="cpu"))
    classes = reference.classes
    p_ref = reference.predict_class_proba(check_texts)
    variants, contenders = {"torch": {"file": "../model"}}, {"torch": reference}
    if labels is not None:  # labels are codes in `classes` (a three-way run: 0 / 1 / 2)
        variants["torch"]["accuracy"] = float(np.mean(class_codes(p_ref, classes) == labels))
    for name in ONNX_FILES:
        if not (work_dir / ONNX_FILES[name]).exists():
            continue
        candidate = TransformerModel(name, encoder, OnnxBackend(work_dir / ONNX_FILES[name]))
        proba = candidate.predict_class_proba(check_texts)
        variants[name] = {
            "file": ONNX_FILES[name],
            "bytes": (work_dir / ONNX_FILES[name]).stat().st_size,
            **compare(p_ref, proba, classes),
        }
        if labels is not None:
            variants[name]["accuracy"] = float(np.mean(class_codes(proba, classes) == labels))
        contenders[name] = candidate
    return variants, contenders


def thresholds() -> dict:
    return {
        "max_accuracy_drop": serving.MAX_ACCURACY_DROP,
        "min_label_agreement": serving.MIN_LABEL_AGREEMENT,
        "torch_margin": serving.TORCH_MARGIN,
    }


def describe_variant(name: str, v: dict) -> str:
    """One line per backend: accuracy, agreement with PyTorch, speed, and the rule's verdict."""
    accuracy = f"accuracy {v['accuracy']:.4f}; " if "accuracy" in v else ""
    speed_text = f"{v['tweets_per_s']:.0f} tweets/s, single {v['single_p50_ms']:.1f} ms"
    if name == "torch":
        return f"{name} (reference): {accuracy}{speed_text}"
    return (
        f"{name}: {accuracy}label agreement {v['label_agreement']:.2%}, max |dP| {v['max_abs_delta']:.2e}, "
        f"mean |dP| {v['mean_abs_delta']:.2e}; {speed_text} -> {v['reason']}"
    )


def reexport(run_dir: Path, check_texts: int, int8: bool) -> None:
    """Export and check again, on the run's validation tweets; record the decision in run.json."""
    from core.data.split import split_for_run
    from core.tracking.runs import RunFolderInUse, RunFolderLock, read_json

    meta = read_json(run_dir / "run.json") or {}
    if meta.get("kind") != "transformer" or meta.get("status") != "succeeded":
        raise serving.ServingError(f"{run_dir} is not a succeeded transformer run")
    split = split_for_run(meta)
    source = "validation split" if len(split.val) else "test split"
    check = (split.val if len(split.val) else split.test).head(check_texts)
    try:
        with RunFolderLock(run_dir):
            manifest = export_run(
                run_dir,
                check["text"].tolist(),
                meta["transformer"]["max_length"],
                quantize=int8,
                check_labels=check["label"].to_numpy(),
                check_source=source,
            )
            meta = read_json(run_dir / "run.json") or meta
            meta.update(record(manifest, meta))
            write_json_atomic(run_dir / "run.json", meta)
    except RunFolderInUse:
        raise serving.ServingError(f"{run_dir} is being written by another process; try again later") from None
    served, how = serving.served_backend(run_dir, meta)
    print(
        f"the rule chose {serving.backend_label(manifest['preferred'])}; serving {serving.backend_label(served)} ({how})"
    )


def summary(manifest: dict) -> dict:
    """What run.json keeps of the manifest (`onnx`): the rule, its thresholds, each backend's figures and verdict."""
    fields = (
        "accuracy",
        "label_agreement",
        "max_abs_delta",
        "mean_abs_delta",
        "tweets_per_s",
        "single_p50_ms",
        "accepted",
        "reason",
    )
    return {
        "preferred": manifest["preferred"],
        "rule": manifest.get("rule", ""),
        "thresholds": manifest.get("thresholds", {}),
        "check_texts": manifest.get("check_texts"),
        "check_source": manifest.get("check_source", ""),
        "timing_texts": manifest.get("timing_texts"),
        "variants": {k: {f: v[f] for f in fields if f in v} for k, v in manifest["variants"].items()},
    }


def record(manifest: dict, meta: dict | None = None) -> dict:
    """run.json fields after an export: `onnx` (the decision and its figures) and `serving`, unless an operator
    override is in force (it stays: `--serve auto` hands the choice back to the rule)."""
    fields = {"onnx": summary(manifest)}
    current = (meta or {}).get("serving")
    if not (isinstance(current, dict) and current.get("decided_by") == serving.OVERRIDE):
        fields["serving"] = serving.rule_record(manifest["preferred"])
    return fields
