"""A command line generated from an options dataclass by transformers.HfArgumentParser: the trainers' and the
commands' (core.commands).

A bad command line is one line, `error: <why> (see --help)`, on stderr and exit status 2, like every expected
failure of a command (argparse prints its whole usage block otherwise): `expected_failures(...)` turns the errors a
command expects into that same line. Importing this module costs about 0.5 s (transformers, no PyTorch).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import sys
import types
import typing
from contextlib import contextmanager
from typing import Any, NoReturn

from transformers import HfArgumentParser

from core.cli.fields import is_tristate, negative_flag, type_hints
from core.tracking.runs import one_line

EXIT_EXPECTED_ERROR = 2  # argparse's status for a bad command line
ARGPARSE_METADATA = ("help", "choices", "aliases", "metavar", "action", "nargs")  # the rest (group, presets) is ours


def fail(message: object) -> NoReturn:
    """The end of a command that cannot do what it was asked: `error: <message>` on one line, exit status 2."""
    print(f"error: {one_line(message)}", file=sys.stderr, flush=True)
    raise SystemExit(EXIT_EXPECTED_ERROR)


@contextmanager
def expected_failures(*expected: type[BaseException]):
    """The errors a command expects (bad input, a refused option, a service down) end it with `fail`."""
    try:
        yield
    except expected as exc:
        fail(exc)


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keeps the description's lines (a command's usage examples) and shows a default only where there is one (an
    unset option's help says what happens)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        return action.help if action.default is None else super()._get_help_string(action)


class OptionsParser(HfArgumentParser):
    """HfArgumentParser for one options dataclass, with an argument group per field's `group`, tri-state
    booleans (`--x` / `--no-x` / unset), and one-line errors."""

    def __init__(self, options_cls: type, description: str | None = None):
        super().__init__(options_cls, description=description, formatter_class=HelpFormatter)

    def error(self, message: str) -> NoReturn:
        fail(f"{message} (see --help)")

    def _add_dataclass_arguments(self, dtype: type) -> None:
        """HfArgumentParser's hook, per field: the group from the metadata, only argparse's keys passed on."""
        hints = type_hints(dtype)
        groups: dict[str, typing.Any] = {}
        for field in dataclasses.fields(dtype):
            title = field.metadata.get("group", "options")
            group = groups.get(title) or groups.setdefault(title, self.add_argument_group(title))
            self._parse_dataclass_field(group, argparse_field(field, hints[field.name], is_tristate(dtype, field)))
            if is_tristate(dtype, field):  # HfArgumentParser gives `--no-x` to default-True booleans only
                group.add_argument(
                    negative_flag(field),
                    action="store_const",
                    const=False,
                    dest=field.name,
                    help=f"(the opposite of --{field.name.replace('_', '-')})",
                )

    def parse(self, argv: list[str] | None = None) -> Any:
        """The options dataclass from the command line (sys.argv when None); a bad one exits in one line, and so
        does a value its `__post_init__` refuses (a ValueError)."""
        try:
            options, remaining = self.parse_args_into_dataclasses(
                argv, return_remaining_strings=True, look_for_args_file=False
            )
        except ValueError as exc:  # the dataclass's own checks (two options that exclude each other, ...)
            self.error(str(exc))
        if remaining:
            self.error(f"unrecognized arguments: {' '.join(remaining)}")
        return options


def argparse_field(field: dataclasses.Field, hint: type, tristate: bool) -> dataclasses.Field:
    """A copy of `field` as HfArgumentParser reads it: the resolved type, argparse's metadata only."""
    copied = copy.copy(field)
    copied.type = hint
    metadata = {k: v for k, v in field.metadata.items() if k in ARGPARSE_METADATA}
    if tristate:  # `--x` alone means yes (HfArgumentParser only does that for a bool with a default)
        metadata.update(nargs="?", const=True)
    copied.metadata = types.MappingProxyType(metadata)
    return copied


def parse_options(options_cls: type, argv: list[str] | None = None, description: str | None = None) -> Any:
    return OptionsParser(options_cls, description).parse(argv)
