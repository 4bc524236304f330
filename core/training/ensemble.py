"""Ensembles (fit code; options: core.training.options.EnsembleOptions; model: core.models.ensemble).

    python -m trainers.ensemble --members RUN RUN [RUN ...] [--method mean|fitted] --output RUN_DIR

An ensemble combines the P(positive) of finished runs and is evaluated like any run, by the runner, on the shared
test split of its members: so its members must have succeeded, be local models (a cloud service is billed per
call) and share one split id, and its data and split options are theirs (read from their run.json). Refusals are
one line (OptionError), before the run folder is touched.

Members must learn the same classes (run.json `classes`): a three-way ensemble averages the members' class
probabilities, or fits per-class intercepts and per-member weights on their log-probabilities (`fitted`, the same
stacking with a softmax), and is three-way itself.

`--method mean` averages the members' P(positive); nothing is fitted. `--method fitted` is stacking: a logistic
regression on the members' logits with non-negative weights and an intercept (log loss + scikit-learn's default L2
penalty, C=1), fitted on the validation split; run.json's `ensemble` records the weights, the intercept and the
validation figures of both methods. It is refused when a member was fitted on the validation split (run.json's
`model.fitted_on`: logistic regression refits on train + validation, a fitted ensemble fits its weights there): on
tweets it trained on such a member looks better than it is and the weights would favour it (two logistic
regressions on the 90k sample, with plain stacking: 0.777 test accuracy fitted, 0.807 for the mean). Keras and
the transformer only stop early or pick a checkpoint on it, and may be combined with fitted weights.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core import config, run_kinds
from core.cli.fields import default_of, flag
from core.data.labels import is_three_way, run_classes
from core.data.loading import DataError, source_fingerprint
from core.data.split import split_id_for
from core.models.base import ModelLoadError, SentimentModel, class_codes, is_positive, load
from core.models.ensemble import EPS, EnsembleModel, combine, combine_classes, logits
from core.tracking.runs import effective_status, read_json
from core.training.options import SPLIT_OPTIONS, DataOptions, EnsembleOptions, member_folder
from core.training.runner import OptionError

log = logging.getLogger(__name__)

EXPECTED_ERRORS = (ModelLoadError,)  # a member whose files no longer load
METHOD_NAMES = {"mean": "mean", "fitted": "fitted weights"}


@dataclass(frozen=True)
class Member:
    name: str  # as given on the command line
    path: Path
    meta: dict

    @property
    def id(self) -> str:
        return self.meta.get("id") or self.path.name

    @property
    def kind(self) -> str:
        return self.meta.get("kind", "?")

    @property
    def split_id(self) -> str | None:
        return (self.meta.get("data") or {}).get("split_id")

    @property
    def params(self) -> dict:
        return self.meta.get("params") or {}

    @property
    def classes(self) -> tuple[str, ...]:
        return run_classes(self.meta)


def approach(options: EnsembleOptions) -> str:
    """ "Ensemble (mean of 3: logreg-tfidf, keras-lstm, minilm)"."""
    ids = [read_member(name).id for name in options.members]
    return f"Ensemble ({METHOD_NAMES[options.method]} of {len(ids)}: {', '.join(ids)})"


# ---------------------------------------------------------------- the members, checked


def read_member(name: str) -> Member:
    """A member as named on the command line; OptionError unless it is a succeeded local run."""
    path = member_folder(name)
    meta = read_json(path / "run.json")
    if not isinstance(meta, dict):
        raise OptionError(f"--members {name}: no run folder there (no readable run.json)")
    member = Member(name, path, meta)
    status, reason = effective_status(path, meta)
    if status != "succeeded":
        why = f" ({' '.join(str(reason).split())})" if reason else ""
        raise OptionError(f"--members {name}: run {member.id} is {status}{why}; only succeeded runs can be combined")
    if run_kinds.is_cloud(member.kind):
        raise OptionError(
            f"--members {name}: run {member.id} is a cloud service evaluation ({member.kind}), billed per call: "
            "an ensemble combines local models only"
        )
    if member.kind not in run_kinds.local_kinds():
        raise OptionError(f"--members {name}: run {member.id} has kind {member.kind!r}, not a local model")
    if not member.split_id:
        raise OptionError(f"--members {name}: run {member.id} records no split id")
    return member


def read_members(names: list[str]) -> list[Member]:
    """At least two distinct succeeded local runs that share one split id."""
    if len(names) < 2:
        raise OptionError(f"--members needs at least 2 runs to combine ({len(names)} given)")
    members = [read_member(name) for name in names]
    folders = [m.path.resolve() for m in members]
    if len(set(folders)) < len(folders):
        raise OptionError("--members names the same run twice: give each run once")
    classes = {m.classes for m in members}
    if len(classes) > 1:
        each = "; ".join(f"{m.id}: {'/'.join(m.classes)}" for m in members)
        raise OptionError(
            f"the members learn different classes ({each}): an ensemble combines runs of the same classes (train "
            "them with the same --classes)"
        )
    splits = {m.split_id for m in members}
    if len(splits) > 1:
        each = "; ".join(f"{m.id}: {m.split_id}" for m in members)
        raise OptionError(
            f"the members were evaluated on different splits ({each}): an ensemble needs runs trained with the same "
            "--data, --sample, --seed, --test-size and --val-size"
        )
    return members


def member_problem(names: list[str]) -> str | None:
    """Why these runs cannot be combined (the Train page says it before a launch), or None."""
    try:
        read_members(names)
    except OptionError as exc:
        return str(exc)
    return None


def validate(options: EnsembleOptions) -> None:
    members = read_members(options.members)
    if Path(options.output).resolve() in {m.path.resolve() for m in members}:
        raise OptionError("--output is one of the members: choose a new run folder for the ensemble")
    check_training_options(options)
    check_split_options(options, members[0])
    if options.method == "fitted":
        check_validation_unseen(members, options)


def saw_validation(members: list[Member]) -> list[Member]:
    """The members fitted on the validation split too (run.json's model.fitted_on: logistic regression refits on
    train + validation; a fitted ensemble fits its weights there). Keras and the transformer only stop on it."""
    return [m for m in members if "val" in str((m.meta.get("model") or {}).get("fitted_on", ""))]


def check_validation_unseen(members: list[Member], options: EnsembleOptions) -> None:
    """Weights fitted on the validation split mean something only if no member was fitted on it: on its own
    tweets such a member looks better than it is, and the weights would favour it."""
    if not options.val_size:
        raise OptionError("--method fitted needs a validation split: the members were trained with --val-size 0")
    seen = saw_validation(members)
    if seen:
        names = ", ".join(f"{m.id} ({m.meta.get('approach', m.kind)})" for m in seen)
        was, it = ("was", "it") if len(seen) == 1 else ("were", "them")
        raise OptionError(
            f"--method fitted: {names} {was} fitted on the validation split too, so weights fitted there would "
            f"favour {it} (in-sample scores); use --method mean, or leave {it} out"
        )


def check_training_options(options: EnsembleOptions) -> None:
    """What shapes a member's training (extra data, ...) does not apply to an ensemble: refused when given."""
    skip = {"data", "output", "classes", *SPLIT_OPTIONS}
    for field in dataclasses.fields(DataOptions):
        if field.name not in skip and getattr(options, field.name) != default_of(field):
            raise OptionError(f"{flag(field)} does not apply to an ensemble: its members are trained already")


def check_split_options(options: EnsembleOptions, member: Member) -> None:
    """The split options must be the members' (they are, unless given), and --data must give their split."""
    for name, default in SPLIT_OPTIONS.items():
        theirs = member.params.get(name, default)
        if getattr(options, name) != theirs:
            raise OptionError(
                f"--{name.replace('_', '-')} {getattr(options, name)}: the members were split with {theirs}; "
                "leave it out (an ensemble is evaluated on its members' split)"
            )
    if options.data == str(member.params.get("data", "")):
        return  # the members' own data: the runner checks its split id once loaded
    try:
        given = split_id_for(
            source_fingerprint(options.data),
            options.sample,
            options.seed,
            options.test_size,
            options.val_size,
            len(member.classes),
        )
    except OSError as exc:
        raise DataError(f"cannot read {options.data}: {exc.strerror or type(exc).__name__}") from None
    if given != member.split_id:
        raise OptionError(
            f"--data {options.data} gives split {given}, the members were evaluated on {member.split_id}: "
            "leave --data out (an ensemble is evaluated on its members' data)"
        )


# ---------------------------------------------------------------- fitting and recording


def train(options: EnsembleOptions, split, run):
    start = time.perf_counter()
    members = read_members(options.members)
    if split.split_id != members[0].split_id:
        raise DataError(
            f"{options.data} now gives split {split.split_id}, not the members' {members[0].split_id}: the data "
            "changed since they were trained; train them again, or give --data with the data they were trained on"
        )
    run.progress(phase="train", message=f"loading {len(members)} members", step=1, steps=2)
    models = [load_member(m) for m in members]
    k = len(models)
    weights, intercept, validation = [1 / k] * k, 0.0, None
    if options.method == "fitted":
        run.progress(phase="train", message=f"scoring {len(split.val):,} validation tweets with each member")
        weights, intercept, validation = fit_weights(models, split.val)
    model = EnsembleModel(models, options.method, weights, intercept, approach(options))
    recipe = {
        "method": options.method,
        "weights": weights,
        "intercept": intercept,
        "members": [member_record(m) for m in members],
        "validation": validation,
    }
    run.update(
        ensemble=recipe,
        model={"fitted_on": "train+val" if options.method == "fitted" or saw_validation(members) else "train"},
        device={"type": "cpu", "name": f"as its members ({model.backend_label})"},
    )
    seconds = time.perf_counter() - start
    shown = [round(b, 4) for b in intercept] if isinstance(intercept, list) else round(intercept, 4)
    log.info(f"ensemble of {k} ({options.method}): weights {[round(w, 4) for w in weights]}, intercept {shown}")
    run.progress(phase="train", message="combined", step=2, steps=2, seconds=seconds)
    if options.method == "fitted":
        return model, seconds, len(split.val), {}
    # Nothing is fitted: no training throughput to show.
    return model, seconds, 0, {"training": {"seconds": seconds, "tweets": 0, "tweets_per_s": None}}


def load_member(member: Member) -> SentimentModel:
    try:
        return load(member.path)
    except ModelLoadError as exc:
        raise ModelLoadError(f"member {member.id}: {exc}") from None


def fit_weights(models: list[SentimentModel], val) -> tuple[list[float], float | list[float], dict]:
    """Stacking on the validation split (see `stacking_weights`). Returns the weights, the intercept and what both
    methods score there (log loss, accuracy), with each member's accuracy."""
    if is_three_way(models[0].classes):
        return fit_three_way_weights(models, val)
    texts, y = val["text"].tolist(), val["label"].to_numpy()
    member_p = np.column_stack([m.predict_proba(texts) for m in models])
    if len(set(y)) < 2:
        raise DataError("the validation split holds one class only: --method fitted cannot fit weights on it")
    weights, intercept = stacking_weights(logits(member_p), y)
    k = len(models)
    validation = {
        "tweets": int(len(y)),
        "members_accuracy": [float(np.mean(is_positive(member_p[:, i]) == y)) for i in range(k)],
        "mean": figures(y, combine(member_p, "mean", [1 / k] * k)),
        "fitted": figures(y, combine(member_p, "fitted", weights, intercept)),
    }
    return weights, intercept, validation


def stacking_weights(x: np.ndarray, y: np.ndarray) -> tuple[list[float], float]:
    """A logistic regression on the members' logits `x` with non-negative weights (a member counts for more or
    less, never against) and a free intercept: log loss summed over the tweets + 0.5 |w|^2, scikit-learn's
    default penalty (C=1), which keeps the weights finite on separable data; L-BFGS-B with bounds."""
    from scipy.optimize import minimize

    k = x.shape[1]

    def loss_and_gradient(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:k], theta[k]
        z = b + x @ w
        loss = np.sum(np.logaddexp(0, z) - y * z) + 0.5 * w @ w
        residual = 1 / (1 + np.exp(-z)) - y
        return float(loss), np.append(x.T @ residual + w, residual.sum())

    start = np.append(np.full(k, 1 / k), 0.0)
    bounds = [(0, None)] * k + [(None, None)]
    theta = minimize(loss_and_gradient, start, jac=True, method="L-BFGS-B", bounds=bounds).x
    return [float(w) for w in theta[:k]], float(theta[k])


def fit_three_way_weights(models: list[SentimentModel], val) -> tuple[list[float], list[float], dict]:
    """Three-way stacking on the validation split (see `softmax_stacking_weights`), with the same figures."""
    texts, y = val["text"].tolist(), val["label"].to_numpy()
    member_proba = np.stack([m.predict_class_proba(texts) for m in models], axis=1)  # (n, k, c)
    if len(set(y)) < member_proba.shape[2]:
        raise DataError("the validation split lacks a class: --method fitted cannot fit three-way weights on it")
    weights, intercepts = softmax_stacking_weights(np.log(np.clip(member_proba, EPS, 1)), y)
    k, classes = len(models), models[0].classes
    validation = {
        "tweets": int(len(y)),
        "members_accuracy": [float(np.mean(class_codes(member_proba[:, i], classes) == y)) for i in range(k)],
        "mean": class_figures(y, combine_classes(member_proba, "mean", [1 / k] * k), classes),
        "fitted": class_figures(y, combine_classes(member_proba, "fitted", weights, intercepts), classes),
    }
    return weights, intercepts, validation


def softmax_stacking_weights(x: np.ndarray, y: np.ndarray) -> tuple[list[float], list[float]]:
    """A multinomial logistic regression on the members' log-probabilities `x` (n, k members, c classes): one
    non-negative weight per member, shared by the classes, and one intercept per class (the first fixed at 0);
    summed log loss + 0.5 |w|^2 as for two classes, L-BFGS-B with bounds."""
    from scipy.optimize import minimize

    n, k, c = x.shape
    onehot = np.eye(c)[y]

    def loss_and_gradient(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:k], np.append(0.0, theta[k:])
        z = b + np.einsum("nkc,k->nc", x, w)
        z -= z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        residual = np.exp(log_p) - onehot  # d loss / d z
        loss = -np.sum(onehot * log_p) + 0.5 * w @ w
        return float(loss), np.concatenate([np.einsum("nkc,nc->k", x, residual) + w, residual.sum(axis=0)[1:]])

    start = np.concatenate([np.full(k, 1 / k), np.zeros(c - 1)])
    bounds = [(0, None)] * k + [(None, None)] * (c - 1)
    theta = minimize(loss_and_gradient, start, jac=True, method="L-BFGS-B", bounds=bounds).x
    return [float(w) for w in theta[:k]], [0.0, *(float(b) for b in theta[k:])]


def class_figures(y: np.ndarray, proba: np.ndarray, classes) -> dict:
    p = np.clip(proba[np.arange(len(y)), y], 1e-12, 1)
    return {"log_loss": float(-np.mean(np.log(p))), "accuracy": float(np.mean(class_codes(proba, classes) == y))}


def figures(y: np.ndarray, p_pos: np.ndarray) -> dict:
    p = np.clip(p_pos, 1e-12, 1 - 1e-12)
    log_loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    return {"log_loss": float(log_loss), "accuracy": float(np.mean(is_positive(p_pos) == y))}


def member_record(member: Member) -> dict:
    """How run.json names a member: its folder relative to the runs folder when inside it (a copied runs folder
    still loads), else absolute; with what the loader checks (kind, start time, split)."""
    path = member.path.resolve()
    try:
        recorded = str(path.relative_to(config.runs_dir().resolve()))
    except ValueError:
        recorded = str(path)
    return {
        "run": recorded,
        "id": member.id,
        "kind": member.kind,
        "approach": member.meta.get("approach", member.kind),
        "started_unix": (member.meta.get("timings") or {}).get("started_unix"),
        "split_id": member.split_id,
        **({"classes": list(member.classes)} if is_three_way(member.classes) else {}),
    }
