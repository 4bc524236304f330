"""The trainers, derived from the run kinds (core.run_kinds): the launcher, the Train page's form, the Azure ML job
command, the "train this" commands and the Live page's approach columns all come from here.

Light on purpose (the dashboard imports it): each trainer's fit code is named by a module string and imported only
when the trainer runs (core.training.runner); its options dataclass comes from the light core.training.options.
"""

from __future__ import annotations

import importlib
import shlex
from dataclasses import dataclass
from pathlib import Path

from core import config
from core.run_kinds import RUN_KINDS, Example, RunKind
from core.training.options import DataOptions, option_flags


@dataclass(frozen=True)
class TrainerSpec:
    """A run kind that has a trainer, with its options dataclass imported: what the trainer's callers read."""

    run_kind: RunKind
    options: type[DataOptions]  # the options dataclass: CLI, form and commands all come from it

    @property
    def key(self) -> str:
        """The dashboard's and Azure ML jobs' name: the run kind (core.azure_ml.jobs also takes the module's)."""
        return self.run_kind.key

    @property
    def kind(self) -> str:
        return self.run_kind.key

    @property
    def module(self) -> str:
        return self.run_kind.trainer.module

    @property
    def module_name(self) -> str:
        """`keras_nn` for trainers.keras_nn: the name `core.commands.azure_job --trainer` documents."""
        return self.module.rsplit(".", 1)[-1]

    @property
    def fit_module(self) -> str:
        return self.run_kind.trainer.fit_module

    @property
    def label(self) -> str:
        return self.run_kind.trainer.label

    @property
    def description(self) -> str:
        return self.run_kind.trainer.description

    @property
    def run_name_options(self) -> tuple[str, ...]:
        return self.run_kind.trainer.run_name_options

    @property
    def gpu(self) -> bool:
        return self.run_kind.trainer.gpu

    @property
    def distributed(self) -> bool:
        return self.run_kind.trainer.distributed

    @property
    def examples(self) -> tuple[Example, ...]:
        return self.run_kind.trainer.examples

    @property
    def live_label(self) -> str | None:
        """The Live page's column for this kind before any run (None: not a local model)."""
        return self.run_kind.name if self.run_kind.local else None


def spec_for(kind: RunKind) -> TrainerSpec:
    module, _, name = kind.trainer.options.partition(":")
    return TrainerSpec(kind, getattr(importlib.import_module(module), name))


def trainers() -> dict[str, TrainerSpec]:
    """Every run kind that has a trainer, by key, in the order core.run_kinds declares them."""
    return {key: spec_for(kind) for key, kind in RUN_KINDS.items() if kind.trainer is not None}


def trainer(name: str) -> TrainerSpec:
    """The spec by key (`keras`) or by module name (`keras_nn`, `trainers.keras_nn`)."""
    for spec in trainers().values():
        if name in (spec.key, spec.module, spec.module_name):
            return spec
    raise KeyError(f"unknown trainer {name!r}; choose one of {', '.join(trainer_names())}")


def trainer_names() -> list[str]:
    return sorted({name for spec in trainers().values() for name in (spec.key, spec.module_name)})


def local_kinds() -> dict[str, TrainerSpec]:
    """Run kinds answered by a local model that has a trainer (the Live page's columns), with their spec."""
    return {spec.kind: spec for spec in trainers().values() if spec.run_kind.local}


def example_args(spec: TrainerSpec, example: Example) -> list[str]:
    """The example's options as flags, each one shown even where it is the default (they say what is trained)."""
    return option_flags(spec.options, example.values, skip_defaults=False)


def examples() -> dict[str, tuple[TrainerSpec, Example]]:
    """Every "train this" example by approach family."""
    return {ex.family: (spec, ex) for spec in trainers().values() for ex in spec.examples}


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
    return {kind: commands[spec.examples[0].family] for kind, spec in local_kinds().items() if spec.examples}


def shown_path(path: str | Path) -> str:
    """A path relative to the project folder when it is inside it."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(config.PROJECT_ROOT))
    except ValueError:
        return str(path)
