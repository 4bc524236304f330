"""An option, declared once as a dataclass field: what the command line (core.cli.parser), the Train page's form
and the commands that a page shows all read.

A field's metadata says what a person needs to choose it: `help`, `choices`, `group` (the --help section and the
form's expander), `presets` (for an option left unset, the value each `--preset` gives it) and, when the flag is
not the field name with dashes, `aliases`. A `bool | None` field is a tri-state: `--x` / `--no-x`, unset = the
preset decides.

Light on purpose (the dashboard imports it): standard library only.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import MISSING
from functools import cache
from typing import Any


def option(
    default: Any = MISSING,
    help: str = "",
    *,
    group: str = "options",
    choices=None,
    presets: dict[str, Any] | None = None,
    aliases: list[str] | None = None,
    default_factory: Any = MISSING,
    repeatable: bool = False,
    from_parent: bool = False,
    shown_when: dict[str, tuple] | None = None,
) -> Any:
    """A dataclass field carrying what the command line and the form need to offer the option. A `repeatable`
    list option takes several values after its flag and may be given more than once (argparse's `extend`).
    `from_parent`: a trainer's option that shapes its model, taken from the `--init-from` run
    (core.training.parent_run). `shown_when`: the option only matters when these other options take one of these
    values ({"features": ("hashing",)}); the form hides it otherwise (the command line still takes it)."""
    metadata: dict[str, Any] = {"help": help, "group": group}
    if shown_when:
        metadata["shown_when"] = {name: tuple(values) for name, values in shown_when.items()}
    if from_parent:
        metadata["from_parent"] = True
    if repeatable:
        metadata["action"] = "extend"
    if choices is not None:
        metadata["choices"] = list(choices)
    if presets is not None:
        metadata["presets"] = dict(presets)
        metadata["help"] = f"{help} ({describe_presets(presets)})"
    if aliases:
        metadata["aliases"] = list(aliases)
    return dataclasses.field(default=default, default_factory=default_factory, metadata=metadata)


def describe_presets(presets: dict[str, Any]) -> str:
    """`--preset default: 10, study: 50` (None reads 'auto': the option's help says what that is)."""
    shown = {True: "yes", False: "no", None: "auto"}
    return "--preset " + ", ".join(
        f"{name}: {shown.get(value, value) if isinstance(value, (bool, type(None))) else value}"
        for name, value in presets.items()
    )


def value_type(options_cls: type, name: str) -> type:
    """The field's type without `| None`: bool, int, float, str or list[str]."""
    hint = type_hints(options_cls)[name]
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
    return hint


@cache
def type_hints(options_cls: type) -> dict[str, Any]:
    """The class's resolved annotations, computed once per class (resolving them compiles every annotation
    string: per field, that made building one parser take ~0.1 s). Read-only for callers."""
    return typing.get_type_hints(options_cls)


def is_tristate(options_cls: type, field: dataclasses.Field) -> bool:
    """A `bool | None` option: yes, no, or unset (the preset decides)."""
    return value_type(options_cls, field.name) is bool and field.default is None


def option_kind(options_cls: type, field: dataclasses.Field) -> str:
    """How the form offers it: bool, tristate, choice, int, float, list (several values) or text."""
    kind = value_type(options_cls, field.name)
    if typing.get_origin(kind) is list:
        return "list"
    if kind is bool:
        return "tristate" if field.default is None else "bool"
    if field.metadata.get("choices"):
        return "choice"
    return {int: "int", float: "float"}.get(kind, "text")


def applies(field: dataclasses.Field, values: dict[str, Any]) -> bool:
    """Whether an option matters given the other options' `values` (its `shown_when`; True without one)."""
    return all(values.get(name) in allowed for name, allowed in field.metadata.get("shown_when", {}).items())


def default_of(field: dataclasses.Field) -> Any:
    if field.default is not MISSING:
        return field.default
    return None if field.default_factory is MISSING else field.default_factory()


def flag(field: dataclasses.Field) -> str:
    return "--" + field.name.replace("_", "-")


def negative_flag(field: dataclasses.Field) -> str:
    return "--no-" + field.name.replace("_", "-")


def option_flags(options_cls: type, values: dict[str, Any], skip_defaults: bool = True) -> list[str]:
    """Command-line arguments for `values` (field name -> value), in declaration order.

    None means "unset": no flag (a tri-state then lets the preset decide). With `skip_defaults`, a value equal to
    the field's default is left to the trainer too."""
    args: list[str] = []
    for field in dataclasses.fields(options_cls):
        value = values.get(field.name)
        if value is None or (isinstance(value, (str, list, tuple)) and not value):
            continue
        if skip_defaults and value == default_of(field) and not is_tristate(options_cls, field):
            continue
        if value_type(options_cls, field.name) is bool:
            if value or field.default is not False:  # a False-by-default flag has no --no- form
                args.append(flag(field) if value else negative_flag(field))
        elif isinstance(value, (list, tuple)):  # a list option: its values after one flag
            args += [flag(field), *map(str, value)]
        else:
            args += [flag(field), str(value)]
    return args
