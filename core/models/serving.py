"""Which backend a transformer run serves: the rule that decides between PyTorch, ONNX fp32 and ONNX int8, the
record of that decision in run.json, and an operator's override of it.

The rule judges an ONNX variant on what a user sees, on the validation tweets the export checks: its accuracy
within `MAX_ACCURACY_DROP` of PyTorch fp32's and its labels equal to PyTorch's on at least `MIN_LABEL_AGREEMENT`
of the tweets. max / mean |delta P(positive)| are recorded for information only: int8 moves probabilities by a
few hundredths near 0.5 without changing what the model says about a tweet. Among the accepted variants the
fastest serves, unless PyTorch beats it on batches and single tweets both.

run.json keeps it all: `onnx` (the rule, thresholds, each backend's figures and verdict, the rule's choice) and
`serving` (what is served now, decided by `rule` or `operator override`, with who, when and why), plus
`serving_history` (the earlier `serving` records). Light module: no PyTorch, no ONNX Runtime.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.files import write_json_atomic
from core.tracking.runs import RunFolderInUse, RunFolderLock, now_iso, read_json

MAX_ACCURACY_DROP = 0.005  # 0.5 accuracy point below PyTorch fp32's, at most
MIN_LABEL_AGREEMENT = 0.98  # same label as PyTorch fp32 on at least 98 % of the check tweets
TORCH_MARGIN = 1.1  # PyTorch serves only when at least 10 % faster than the fastest accepted ONNX, on both counts
BACKENDS = ("torch", "onnx-fp32", "onnx-int8")
BACKEND_ENV = "BADBUZZ_TRANSFORMER_BACKEND"  # force a backend, e.g. for the benchmark or a GPU machine
ONNX_FILES = {"onnx-fp32": "model.onnx", "onnx-int8": "model.int8.onnx"}  # in RUN_DIR/onnx/
BACKEND_LABELS = {"torch": "PyTorch", "onnx-fp32": "ONNX fp32", "onnx-int8": "ONNX int8"}
# What serves the other kinds is their RunKind's `backend` (core.run_kinds).
# The operator's words (CLI and page) -> backends; `auto` hands the choice back to the rule.
SERVE_CHOICES = {"auto": None, "int8": "onnx-int8", "fp32": "onnx-fp32", "pytorch": "torch"}
RULE = "rule"
OVERRIDE = "operator override"
RULE_TEXT = (
    f"an ONNX variant may serve when its accuracy is within {MAX_ACCURACY_DROP * 100:g} point of PyTorch fp32's "
    f"and its labels agree with PyTorch's on at least {MIN_LABEL_AGREEMENT:.0%} of the check tweets; the fastest "
    f"accepted variant serves unless PyTorch is {TORCH_MARGIN:g}x faster on batches and single tweets both"
)


class ServingError(Exception):
    """A serving choice that cannot be made (not a transformer run, a variant that was not exported, ...)."""


def backend_label(backend: str | None) -> str:
    return BACKEND_LABELS.get(backend or "", backend or "")


# ---------------------------------------------------------------- the rule


def judge(candidate: dict, reference_accuracy: float | None) -> tuple[bool, str]:
    """(accepted, why) for one ONNX variant's figures (`accuracy`, `label_agreement`) against PyTorch's accuracy."""
    agreement = candidate.get("label_agreement")
    accuracy = candidate.get("accuracy")
    if agreement is None or accuracy is None or reference_accuracy is None:
        return False, "refused: no accuracy or label agreement measured against PyTorch"
    drop = reference_accuracy - accuracy
    figures = f"accuracy {accuracy:.4f} vs PyTorch {reference_accuracy:.4f}, label agreement {agreement:.2%}"
    problems = []
    if drop > MAX_ACCURACY_DROP + 1e-12:
        problems.append(f"accuracy {drop * 100:.2f} points below PyTorch (limit {MAX_ACCURACY_DROP * 100:g})")
    if agreement < MIN_LABEL_AGREEMENT:
        problems.append(f"label agreement under {MIN_LABEL_AGREEMENT:.0%}")
    if problems:
        return False, f"refused: {'; '.join(problems)} ({figures})"
    return True, f"accepted ({figures})"


def decide(variants: dict) -> str:
    """The backend the rule serves, given each backend's figures; marks each ONNX variant `accepted` + `reason`.

    `variants` maps `torch` (accuracy, tweets_per_s, single_p50_ms) and the ONNX variants (the same plus
    label_agreement) to their figures."""
    reference = variants["torch"]
    for name, figures in variants.items():
        if name != "torch":
            figures["accepted"], figures["reason"] = judge(figures, reference.get("accuracy"))
    accepted = [k for k, v in variants.items() if k != "torch" and v["accepted"]]
    if not accepted:
        return "torch"
    fastest = max(accepted, key=lambda k: variants[k]["tweets_per_s"])
    candidate = variants[fastest]
    if (
        reference["tweets_per_s"] > TORCH_MARGIN * candidate["tweets_per_s"]
        and reference["single_p50_ms"] < candidate["single_p50_ms"] / TORCH_MARGIN
    ):
        return "torch"
    return fastest


# ---------------------------------------------------------------- what a run serves


def rule_choice(run_dir: Path, meta: dict) -> str:
    """The rule's choice recorded for the run (run.json, else the export's manifest), or torch without an export."""
    onnx = meta.get("onnx") if isinstance(meta.get("onnx"), dict) else {}
    if onnx.get("preferred") in BACKENDS:
        return onnx["preferred"]
    manifest = read_json(Path(run_dir) / "onnx" / "manifest.json") or {}
    return manifest.get("preferred") if manifest.get("preferred") in BACKENDS else "torch"


def served_backend(run_dir: str | Path, meta: dict | None = None) -> tuple[str, str]:
    """(backend, decided by) that loading the run uses: $BADBUZZ_TRANSFORMER_BACKEND, an operator override,
    else the rule."""
    run_dir = Path(run_dir)
    meta = meta if meta is not None else (read_json(run_dir / "run.json") or {})
    forced = os.environ.get(BACKEND_ENV)
    if forced and forced != "auto":
        return forced, f"${BACKEND_ENV}"
    serving = meta.get("serving") if isinstance(meta.get("serving"), dict) else {}
    if serving.get("decided_by") == OVERRIDE and serving.get("backend") in BACKENDS:
        return serving["backend"], OVERRIDE
    return rule_choice(run_dir, meta), RULE


def rule_record(backend: str) -> dict:
    """run.json's `serving` once the export's rule has decided."""
    return {"backend": backend, "label": backend_label(backend), "decided_by": RULE, "at": now_iso()}


def set_serving(run_dir: str | Path, choice: str, by: str, why: str = "") -> dict:
    """Record an operator's choice (`int8`, `fp32`, `pytorch`, or `auto`: back to the rule) in run.json and
    return the new `serving` record. Takes the run folder's lock, so it never races a trainer or another change."""
    run_dir = Path(run_dir)
    if choice not in SERVE_CHOICES:
        raise ServingError(f"unknown serving choice {choice!r}; choose one of {', '.join(SERVE_CHOICES)}")
    try:
        with RunFolderLock(run_dir):
            meta = _transformer_meta(run_dir)
            backend = SERVE_CHOICES[choice] or rule_choice(run_dir, meta)
            _check_available(run_dir, backend)
            record = {
                **rule_record(backend),
                "decided_by": OVERRIDE if SERVE_CHOICES[choice] else RULE,
                "by": by,
                "why": why.strip() or (OVERRIDE if SERVE_CHOICES[choice] else "back to the rule"),
                "requested": choice,
                "rule_choice": rule_choice(run_dir, meta),
            }
            history = list(meta.get("serving_history") or [])
            if isinstance(meta.get("serving"), dict):
                history.append(meta["serving"])
            meta.update(serving=record, serving_history=history[-20:])
            write_json_atomic(run_dir / "run.json", meta)
    except RunFolderInUse:
        raise ServingError(f"{run_dir} is being written by another process; try again when it has finished") from None
    return record


def _transformer_meta(run_dir: Path) -> dict:
    meta = read_json(run_dir / "run.json")
    if not isinstance(meta, dict) or meta.get("kind") != "transformer":
        raise ServingError(f"{run_dir} is not a transformer run folder")
    if meta.get("status") != "succeeded":
        raise ServingError(f"run {run_dir.name} is {meta.get('status')}, not succeeded: it serves nothing")
    return meta


def _check_available(run_dir: Path, backend: str) -> None:
    if backend != "torch" and not (run_dir / "onnx" / ONNX_FILES[backend]).is_file():
        raise ServingError(
            f"run {run_dir.name} has no {backend_label(backend)} model ({ONNX_FILES[backend]}); "
            f"export it first: python -m core.commands.export_onnx --run {run_dir}"
        )


def describe(run_dir: str | Path, meta: dict | None = None) -> str:
    """One line: what the run serves and who decided."""
    backend, how = served_backend(run_dir, meta)
    return f"{backend_label(backend)} ({how})"
