"""The commands (core/commands/): one options dataclass each, parsed like the trainers' (core.cli.parser), and every
`python -m core...` command that README.md and docs/*.md show still parses with the flags they give."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import re
import shlex
from types import ModuleType

import pytest

from core import commands
from core.cli.fields import default_of, flag, value_type
from core.cli.parser import parse_options
from core.config import PROJECT_ROOT

DOCUMENTS = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
COMMAND_MODULES = sorted(f"core.commands.{m.name}" for m in pkgutil.iter_modules(commands.__path__))


def options_class(module: ModuleType) -> type:
    """The one options dataclass a command module declares (its parent classes are declared elsewhere)."""
    declared = [
        value
        for value in vars(module).values()
        if isinstance(value, type) and dataclasses.is_dataclass(value) and value.__module__ == module.__name__
    ]
    assert len(declared) == 1, f"{module.__name__} declares {len(declared)} options dataclasses"
    return declared[0]


def command_module(name: str) -> ModuleType:
    """The command behind a documented name (`core.score` is core.commands.score's documented name)."""
    module = importlib.import_module(name)
    return importlib.import_module(module.main.__module__)


def documented_commands() -> list[tuple[str, str]]:
    """Every `python -m core.<...> ...` in README.md and docs/*.md (continued lines joined), with its place."""
    found = []
    for document in DOCUMENTS:
        text = document.read_text().replace("\\\n", " ")
        for match in re.finditer(r"python -m (core(?:\.\w+)+)(?![\w.])([^`|\n#]*)", text):  # not `core.commands.<name>`
            found.append((match.group(1), f"{document.name}: {match.group(0).strip()}"))
    return found


def as_arguments(options_cls: type, shown: str) -> list[str]:
    """A documented command line as arguments that can parse: `[--x]` and `(--x` unwrapped, `a|b` read as `a`,
    `<trainer args>` and what follows `--` left out, a placeholder (`N`, `RUN_DIR`) given a value of the option's
    type, a flag shown without its value given one, and a required option the sentence left out added."""
    fields = {flag(f): f for f in dataclasses.fields(options_cls)}
    tokens = shlex.split(re.sub(r"[\[\]()]", " ", shown))
    tokens = tokens[: tokens.index("--")] if "--" in tokens else tokens
    args: list[str] = []
    for token in (t.split("|")[0] for t in tokens if not t.startswith("<")):
        field = fields.get(args[-1]) if args else None
        numeric = field is not None and value_type(options_cls, field.name) in (int, float)
        args.append("3" if numeric and re.fullmatch(r"[A-Z][A-Z_]*", token) else token)
    filled: list[str] = []
    for i, arg in enumerate(args):
        filled.append(arg)
        field = fields.get(arg)
        takes_value = field is not None and value_type(options_cls, field.name) is not bool
        if takes_value and (i + 1 == len(args) or args[i + 1].startswith("--")):
            filled.append("3" if value_type(options_cls, field.name) in (int, float) else "x")
    for name, field in fields.items():
        if default_of(field) is None and field.default is dataclasses.MISSING and name not in filled:
            filled += [name, "x"]
    return filled


@pytest.mark.parametrize("name", COMMAND_MODULES)
def test_every_command_declares_its_options_and_parses_its_help(name, capsys):
    module = importlib.import_module(name)
    options_cls = options_class(module)
    assert callable(module.main)
    with pytest.raises(SystemExit) as exit_:
        parse_options(options_cls, ["--help"], module.__doc__)
    out = capsys.readouterr().out
    assert exit_.value.code == 0 and all(flag(f) in out for f in dataclasses.fields(options_cls))


@pytest.mark.parametrize("name, command", documented_commands(), ids=lambda c: c if "python -m" in c else None)
def test_every_documented_command_parses(name, command):
    module = command_module(name)
    options_cls = options_class(module)
    shown = command.split(": ", 1)[1].split(" ", 3)[3:]  # after `python -m core.x`
    if not shown:  # named in a sentence: the module and its options exist
        return
    args = as_arguments(options_cls, shown[0])
    assert isinstance(parse_options(options_cls, args), options_cls), (command, args)


def test_a_bad_command_line_is_one_line_and_exit_2(capsys):
    from core.commands import evaluate

    for argv in (["--run", "r"], ["--run", "r", "--all-runs", "--official"], ["--official", "--no-such-flag"]):
        with pytest.raises(SystemExit) as exit_:
            evaluate.main(argv)
        err = capsys.readouterr().err
        assert exit_.value.code == 2 and len(err.strip().splitlines()) == 1 and err.startswith("error: "), err
