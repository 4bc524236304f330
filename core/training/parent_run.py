"""`--init-from RUN`: the succeeded run whose weights a training starts from (a trainer whose options have
`init_from`: Keras, the transformer).

The parent is a run folder, or a run's name under the runs folder (`--init-from minilm`). It must have succeeded,
be of the trainer's kind and hold its model files (its RunKind's `model_files`, core.run_kinds). The options that
shape the model (declared `from_parent=True` in core.training.options) are the parent's: a value given on the
command line that is not the option's default and differs from the parent's is refused in one line, before any
run folder is touched. The runner (core.training.runner) applies all this before the trainer's own checks, and
names the run after its parent.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core import config, run_kinds
from core.cli.fields import default_of, flag
from core.data.loading import source_name
from core.tracking.runs import read_run


class ParentRunError(Exception):
    """An --init-from run that cannot be continued (an expected failure: one line, exit status 2)."""


@dataclass
class ParentRun:
    path: Path
    meta: dict
    metrics: dict

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def params(self) -> dict:
        return self.meta.get("params") or {}

    def setting(self, name: str) -> Any:
        """An option as the parent ran with it: its params, else (a run made without the trainer) its settings."""
        if name in self.params:
            return self.params[name]
        settings = self.meta.get(self.meta.get("kind", ""))
        return settings.get(name) if isinstance(settings, dict) else None

    def continued_name(self, model_name: str, options) -> str:
        """The child's approach: "MiniLM, continued from minilm on tweets-tune.csv" (the files it adds, by name), so
        two children of one parent are told apart on every page."""
        files = [] if _same_file(options.data, self.params.get("data")) else [source_name(options.data)]
        files += [source_name(extra) for extra in getattr(options, "extra_data", None) or []]
        return f"{model_name}, continued from {self.name}" + (f" on {' + '.join(files)}" if files else "")

    def record(self) -> dict:
        """What the child's run.json lineage says about its parent."""
        test = self.metrics.get("test") or {}
        return {
            "run": self.name,
            "id": self.meta.get("id", self.name),
            "kind": self.meta.get("kind"),
            "approach": self.meta.get("approach"),
            "test_accuracy": test.get("accuracy"),
            "split_id": (self.meta.get("data") or {}).get("split_id"),
        }


def locate(value: str) -> Path:
    """A run folder as given, else a run's name under the runs folder."""
    given = Path(value).expanduser()
    if given.is_dir():
        return given
    named = config.runs_dir() / value
    if "/" not in value and "\\" not in value and value not in ("", ".", "..") and named.is_dir():
        return named
    raise ParentRunError(f"--init-from {value}: no such run folder (give a run folder or a run's name)")


def load_parent(value: str, kind: str, output: str | None = None) -> ParentRun:
    """The parent run, checked: succeeded, of `kind`, with its model files, not the run being written."""
    path = locate(value)
    if output and Path(output).resolve() == path.resolve():
        raise ParentRunError(f"--init-from {value} is the run folder this training writes (--output)")
    info = read_run(path)
    if info is None:
        raise ParentRunError(f"--init-from {value}: the folder holds no run (no run.json)")
    if info.kind != kind:
        raise ParentRunError(f"--init-from {value} is a {info.kind} run; this trainer continues {kind} runs only")
    if info.status != "succeeded":
        raise ParentRunError(f"--init-from {value} has not succeeded (status {info.status}): pick a finished run")
    missing = [name for name in run_kinds.RUN_KINDS[kind].model_files if not (path / name).is_file()]
    if missing:
        raise ParentRunError(f"--init-from {value}: {', '.join(missing)} missing, the run folder is incomplete")
    return ParentRun(path, info.meta, info.metrics or {})


def parent_of(options, kind: str) -> ParentRun | None:
    """The --init-from run of `options`, checked (None without it, or for a trainer that has no --init-from)."""
    value = getattr(options, "init_from", None)
    return load_parent(value, kind, options.output) if value else None


def inherited_options(options_cls: type) -> list[dataclasses.Field]:
    """The options a fine-tune takes from its parent (declared `from_parent=True`)."""
    return [f for f in dataclasses.fields(options_cls) if f.metadata.get("from_parent")]


def inherited(options, parent: ParentRun):
    """`options` with each option that shapes the model set to the parent's value; one given (not its default) that
    differs from the parent's is refused."""
    values = {}
    for field in inherited_options(type(options)):
        given, theirs = getattr(options, field.name), parent.setting(field.name)
        if theirs is None and field.name not in parent.params:
            continue  # the parent does not say: the option stays as given
        if given != default_of(field) and given != theirs:
            raise ParentRunError(
                f"{flag(field)} {given} conflicts with the parent run {parent.name} ({theirs}): a fine-tune "
                f"keeps the parent's model; leave {flag(field)} out"
            )
        values[field.name] = theirs
    return dataclasses.replace(options, **values)


def parent_record(options) -> dict | None:
    """The lineage's `parent` for options with --init-from, else None (read without checks: validate did them)."""
    value = getattr(options, "init_from", None)
    if not value:
        return None
    info = read_run(locate(value))
    return ParentRun(info.path, info.meta, info.metrics or {}).record() if info else None


def _same_file(data, parent_data) -> bool:
    return parent_data is not None and Path(str(data)).resolve() == Path(str(parent_data)).resolve()
