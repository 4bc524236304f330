"""The one list of trainers. The launcher, the Train page's form, the Azure ML job command, the "train this"
commands and the Live page's approach columns are all derived from it.

Light on purpose (the dashboard imports it): each trainer's fit code is named by a module string and imported only
when the trainer runs (core.training.runner).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import config
from core.training.options import (
    AzureLanguageOptions,
    DataOptions,
    EnsembleOptions,
    KerasOptions,
    LogregOptions,
    TransformerOptions,
    option_flags,
)


@dataclass(frozen=True)
class Example:
    """A "train this" command: the approach family it trains, its run folder's name, the options it shows."""

    family: str
    folder: str
    values: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class TrainerSpec:
    key: str  # the dashboard's and Azure ML jobs' name (core.azure.jobs also takes the module's)
    module: str  # what `python -m` runs: the thin CLI entry point
    fit_module: str  # the approach's fit code (core.training.<name>), imported when it runs
    kind: str  # run.json's kind, which picks the model loader
    label: str
    description: str
    options: type[DataOptions]  # the options dataclass: CLI, form and commands all come from it
    run_name_options: tuple[str, ...] = ()  # options whose values go into the launcher's run folder name
    gpu: bool = False  # Azure ML: the CUDA image by default
    distributed: bool = False  # runs data-parallel under torchrun / Azure ML's PyTorch distribution
    live_label: str | None = None  # the Live page's column for this kind before any run (None: not a local model)
    examples: tuple[Example, ...] = ()  # the "train this" commands, first = the Live page's suggestion

    @property
    def module_name(self) -> str:
        """`keras_nn` for trainers.keras_nn: the name `core.azure.jobs --trainer` documents."""
        return self.module.rsplit(".", 1)[-1]


TRAINERS: dict[str, TrainerSpec] = {
    spec.key: spec
    for spec in (
        TrainerSpec(
            "logreg",
            "trainers.logreg",
            "core.training.logreg",
            "logreg",
            "Logistic regression (TF-IDF / hashing)",
            "scikit-learn pipelines, the two Azure ML designer baselines; seconds on a CPU.",
            LogregOptions,
            run_name_options=("features",),
            live_label="Logistic regression",
            examples=(
                Example("logreg-tfidf", "logreg-tfidf"),
                Example("logreg-hashing", "logreg-hashing", {"features": "hashing"}),
            ),
        ),
        TrainerSpec(
            "keras",
            "trainers.keras_nn",
            "core.training.keras",
            "keras",
            "Keras neural network (base / LSTM / BiLSTM)",
            "Embedding + pooling or recurrent layers on word2vec / fastText / pretrained vectors; GPU helps.",
            KerasOptions,
            run_name_options=("arch", "embedding"),
            gpu=True,
            live_label="Keras neural network",
            examples=(Example("keras", "keras-lstm-word2vec", {"arch": "lstm", "embedding": "word2vec"}),),
        ),
        TrainerSpec(
            "transformer",
            "trainers.transformer",
            "core.training.transformer",
            "transformer",
            "Fine-tuned transformer (DistilBERT, MiniLM, ...)",
            "Hugging Face encoder fine-tuned on PyTorch; a GPU is strongly advised beyond a few thousand tweets.",
            TransformerOptions,
            run_name_options=("base_model",),
            gpu=True,
            distributed=True,
            live_label="Transformer",
            examples=(Example("transformer", "minilm", {"base_model": "minilm"}),),
        ),
        TrainerSpec(
            "azure-language",
            "trainers.azure_language",
            "core.training.azure_language",
            "azure-language",
            "Azure AI Language (evaluation)",
            "Scores a sample of the test split with the cloud service (billed per 1,000 text records).",
            AzureLanguageOptions,
        ),
        TrainerSpec(
            "ensemble",
            "trainers.ensemble",
            "core.training.ensemble",
            "ensemble",
            "Ensemble of finished runs (mean / fitted weights)",
            "Combines the P(positive) of succeeded local runs trained on one split: nothing to train, it scores with each.",
            EnsembleOptions,
            run_name_options=("method",),
            live_label="Ensemble",
            examples=(Example("ensemble", "ensemble-mean", {"members": ["logreg-tfidf", "logreg-hashing"]}),),
        ),
    )
}


def trainer(name: str) -> TrainerSpec:
    """The spec by key (`keras`) or by module name (`keras_nn`, `trainers.keras_nn`)."""
    for spec in TRAINERS.values():
        if name in (spec.key, spec.module, spec.module_name):
            return spec
    raise KeyError(f"unknown trainer {name!r}; choose one of {', '.join(trainer_names())}")


def trainer_names() -> list[str]:
    return sorted({name for spec in TRAINERS.values() for name in (spec.key, spec.module_name)})


def local_kinds() -> dict[str, TrainerSpec]:
    """Run kinds answered by a local model (the Live page's columns), with their spec."""
    return {spec.kind: spec for spec in TRAINERS.values() if spec.live_label}


def example_args(spec: TrainerSpec, example: Example) -> list[str]:
    """The example's options as flags, each one shown even where it is the default (they say what is trained)."""
    return option_flags(spec.options, example.values, skip_defaults=False)


def examples() -> dict[str, tuple[TrainerSpec, Example]]:
    """Every "train this" example by approach family."""
    return {ex.family: (spec, ex) for spec in TRAINERS.values() for ex in spec.examples}


def train_commands(data_path: str | Path | None = None) -> dict[str, str]:
    """The exact command that trains each approach family on the data in use (default: the dashboard's), into the
    runs folder, as a user would type it from the project folder."""
    data = data_path or config.default_data_path()
    data_arg = shown_path(data) if data else "sentiment140"
    return {
        family: shlex.join(
            [
                "python",
                "-m",
                spec.module,
                "--data",
                data_arg,
                "--output",
                shown_path(config.runs_dir() / example.folder),
                *example_args(spec, example),
            ]
        )
        for family, (spec, example) in examples().items()
    }


def kind_train_commands() -> dict[str, str]:
    """For each local run kind, the command of its first example (what the Live page suggests)."""
    commands = train_commands()
    return {kind: commands[spec.examples[0].family] for kind, spec in local_kinds().items()}


def shown_path(path: str | Path) -> str:
    """A path relative to the project folder when it is inside it."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(config.PROJECT_ROOT))
    except ValueError:
        return str(path)
