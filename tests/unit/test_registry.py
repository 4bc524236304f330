"""The trainer registry: one options dataclass per trainer gives its command line, the Train page's form, the
Azure ML job command and the "train this" commands, and they all agree."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import importlib.util
import re
import shlex

import pytest

from core.cli import fields
from core.cli.parser import parse_options
from core.config import PROJECT_ROOT
from core.training import launcher, options
from core.training.registry import example_args, examples, local_kinds, train_commands, trainer, trainers

SPECS = list(trainers().values())
DOCUMENTS = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
# The flags the documentation and the issue name, per trainer: each must keep its spelling.
DOCUMENTED_FLAGS = {
    "sentence": [["--encoder", "all-minilm-l6-v2"], ["--encoder", "multilingual-e5-small"], ["--C", "auto"]],
    "logreg": [["--features", "hashing"], ["--ngram-max", "3"], ["--C", "2"], ["--hash-bits", "18"]],
    "keras": [
        ["--arch", "lstm"],
        ["--embedding", "word2vec"],
        ["--preset", "study"],
        ["--trainable-embeddings"],
        ["--no-trainable-embeddings"],
        ["--epochs", "3"],
        ["--batch-size", "64"],
        ["--mixed-precision"],
        ["--vocab-size", "5000"],
        ["--max-len", "30"],
    ],
    "transformer": [
        ["--base-model", "minilm"],
        ["--max-length", "auto"],
        ["--max-length", "64"],
        ["--eval-every", "500"],
        ["--gradient-accumulation", "4"],
        ["--resume"],
        ["--no-resume"],
        ["--precision", "bf16"],
        ["--onnx"],
        ["--no-onnx"],
        ["--int8"],
        ["--no-int8"],
        ["--epochs", "1"],
        ["--batch-size", "32"],
        ["--lr", "5e-5"],
        ["--max-train-samples", "300"],
        ["--onnx-check-texts", "60"],
    ],
    "azure-language": [["--n", "500"]],
    "ensemble": [["--members", "runs/a", "runs/b"], ["--method", "fitted"], ["--method", "mean"]],
}
COMMON_FLAGS = [["--sample", "1000"], ["--seed", "7"], ["--test-size", "0.25"], ["--val-size", "0.2"]]


def other_value(options_cls: type, field: dataclasses.Field):
    """A valid value of the field that is not its default."""
    kind, default = fields.option_kind(options_cls, field), fields.default_of(field)
    if kind == "list":
        return [*(default or []), f"{field.name}-other"]
    if kind in ("bool", "tristate"):
        return not default
    if kind == "choice":
        return next(c for c in field.metadata["choices"] if c != default)
    if kind == "int":
        return (default or 0) + 3
    if kind == "float":
        return round((default or 0.0) + 0.05, 4)
    return f"{default or 'x'}-other"


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.key)
def test_every_option_round_trips_through_the_command_line(spec):
    cls = spec.options
    defaults = cls(data="tweets.csv", output="runs/a")
    assert parse_options(cls, options.to_argv(defaults)) == defaults
    for field in options.form_fields(cls):  # one option at a time, then all together
        changed = dataclasses.replace(defaults, **{field.name: other_value(cls, field)})
        assert parse_options(cls, options.to_argv(changed)) == changed, field.name
    everything = dataclasses.replace(defaults, **{f.name: other_value(cls, f) for f in options.form_fields(cls)})
    assert parse_options(cls, options.to_argv(everything)) == everything


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.key)
def test_documented_flags_keep_their_spelling(spec):
    for flags in [*DOCUMENTED_FLAGS[spec.key], *COMMON_FLAGS]:
        parsed = parse_options(spec.options, ["--output", "o", *flags])
        name = flags[0].removeprefix("--no-").removeprefix("--").replace("-", "_")
        assert hasattr(parsed, name), flags


def documented_commands() -> list[tuple[str, str]]:
    """Every `python -m trainers.<name> ...` command in README.md and docs/*.md (continued lines joined)."""
    found = []
    for document in DOCUMENTS:
        text = document.read_text().replace("\\\n", " ")
        for match in re.finditer(r"python -m (trainers\.\w+)([^`|\n#]*)", text):
            found.append((match.group(1), f"{document.name}: {match.group(0).strip()}"))
    return found


@pytest.mark.parametrize("module, command", documented_commands(), ids=lambda c: c if "trainers." not in c else None)
def test_every_documented_trainer_command_parses(module, command):
    spec = trainer(module)
    args = shlex.split(command.split(": ", 1)[1].replace("[", " ").replace("]", " "))[3:]
    args = ["x.csv" if a == "..." else a for a in args if not a.startswith("<")]
    if "--help" in args:
        with pytest.raises(SystemExit) as exit_:
            parse_options(spec.options, args)
        assert exit_.value.code == 0
        return
    if "--output" not in args:
        args += ["--output", "runs/x"]
    assert isinstance(parse_options(spec.options, args), spec.options), command


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.key)
@pytest.mark.parametrize("bad", [["--no-such-flag", "1"], ["--seed", "many"], []], ids=["unknown", "type", "none"])
def test_a_bad_command_line_is_one_line_and_exit_2(spec, bad, capsys, tmp_path):
    argv = bad + (["--output", str(tmp_path / "run")] if bad else [])  # [] = the required --output missing
    module = importlib.import_module(spec.module)
    with pytest.raises(SystemExit) as exit_:
        module.main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ") and err.strip().endswith("(see --help)")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.key)
def test_help_lists_every_option_in_its_group(spec, capsys):
    with pytest.raises(SystemExit) as exit_:
        parse_options(spec.options, ["--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    for field in dataclasses.fields(spec.options):
        assert fields.flag(field) in out and f"\n{field.metadata['group']}:" in out


def test_the_registry_names_modules_that_exist_and_fit_code_that_keeps_the_contract():
    for spec in SPECS:
        assert importlib.util.find_spec(spec.module), spec.module
        fit = importlib.import_module(spec.fit_module)
        assert callable(fit.approach) and (callable(getattr(fit, "train", None)) or callable(fit.run_in))
        for name in spec.run_name_options:
            assert name in {f.name for f in dataclasses.fields(spec.options)}
    assert trainer("keras_nn") == trainer("keras") == trainer("trainers.keras_nn")
    assert set(local_kinds()) == {"logreg", "keras", "transformer", "sentence", "ensemble"}


def module_constant(path: str, name: str):
    """A module's top-level `NAME = literal`, read from its source (importing it would load TensorFlow or PyTorch
    for three strings)."""
    tree = ast.parse((PROJECT_ROOT / path).read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{path} has no {name}")


def test_constants_mirrored_in_the_light_options_module_agree():
    transformer = "core/models/transformer.py"
    assert options.DEFAULT_BASE_MODEL == module_constant(transformer, "DEFAULT_BASE_MODEL")
    assert options.MINILM_ALIAS == module_constant(transformer, "MINILM_ALIAS")
    assert tuple(options.KERAS_ARCHS) == module_constant("core/models/keras.py", "ARCHS")
    from core.embedding import encoders  # numpy only: no model is loaded

    assert options.ENCODER_NAMES == encoders.encoder_names() and options.ENCODER_NAMES[0] == encoders.DEFAULT_ENCODER


def test_train_this_commands_come_from_the_examples_and_parse():
    commands = train_commands("tweets.csv")
    assert (
        set(commands)
        == set(examples())
        == {
            "logreg-tfidf",
            "logreg-hashing",
            "keras",
            "transformer",
            "sentence",
            "ensemble",
        }
    )
    assert commands["keras"].startswith("python -m trainers.keras_nn --data tweets.csv --output ")
    assert commands["keras"].endswith("keras-lstm-word2vec --arch lstm --embedding word2vec")
    for family, (spec, example) in examples().items():
        args = shlex.split(commands[family])[3:]
        assert parse_options(spec.options, args).output.endswith(example.folder)
        shown = example_args(spec, example)
        assert args[len(args) - len(shown) :] == shown


def test_launcher_commands_parse_back_into_the_form_values():
    values = {"arch": "bilstm", "trainable_embeddings": False, "epochs": 4, "dropout": None, "mixed_precision": True}
    command = launcher.trainer_command("keras", values, "tweets.csv", "runs/k")
    parsed = parse_options(trainer("keras").options, command[3:])
    assert {k: getattr(parsed, k) for k in values} == {**values, "dropout": None}
