"""Train: pick an approach and its options, launch it here or on Azure ML, follow and cancel the runs."""

from __future__ import annotations

from dataclasses import Field

import streamlit as st

from core.cli.fields import applies, default_of, flag, option_kind
from core.config import runs_dir
from core.data import sources as datasource
from core.data.download import official_archive
from core.run_kinds import local_kinds
from core.training import launcher
from core.training.options import form_fields
from core.training.registry import TrainerSpec
from views.components import devices
from views.components import formatting as fmt
from views.components.access import is_operator, operator_reason
from views.components.run_cards import run_card
from views.components.runs import load_runs

OPTION_LABELS = {  # the form's words for the options (the command-line flag stays in each option's help)
    "sample": "Tweets to use (sample)",
    "seed": "Random seed",
    "test_size": "Test share",
    "val_size": "Validation share (of training)",
    "extra_data": "Extra training data",
    "extra_repeat": "Times each extra tweet is repeated",
    "classes": "Classes",
    "features": "Text features",
    "ngram_max": "Longest word sequence (n-gram)",
    "C": "Regularisation (C)",
    "hash_bits": "Hashing size (2^bits features)",
    "arch": "Architecture",
    "embedding": "Word embeddings",
    "preset": "Preset",
    "init_from": "Continue from run",
    "trainable_embeddings": "Fine-tune the embeddings",
    "dim": "Embedding dimension",
    "vector_epochs": "Embedding training epochs",
    "vocab_size": "Vocabulary size",
    "min_count": "Minimum word count",
    "max_len": "Longest tweet (tokens)",
    "units": "LSTM units",
    "dropout": "Dropout",
    "epochs": "Epochs",
    "patience": "Early-stopping patience (epochs)",
    "batch_size": "Batch size",
    "learning_rate": "Learning rate",
    "lr": "Learning rate",
    "mixed_precision": "Mixed precision",
    "base_model": "Base model",
    "max_length": "Longest tweet (tokens)",
    "gradient_accumulation": "Gradient accumulation steps",
    "warmup_ratio": "Warm-up share of steps",
    "weight_decay": "Weight decay",
    "max_train_samples": "Training tweets at most",
    "max_val_samples": "Validation tweets at most",
    "eval_every": "Validate every (steps)",
    "resume": "Resume from the last checkpoint",
    "device": "Device",
    "precision": "Precision",
    "threads": "CPU threads",
    "onnx": "Export to ONNX",
    "int8": "Also an int8 ONNX model",
    "onnx_check_texts": "Tweets the ONNX check uses",
    "n": "Tweets to score",
    "members": "Ensemble members",
    "method": "How to combine",
}
EXTRA_DATA_FIELDS = ("extra_data", "extra_repeat")  # offered to the kinds that train (core.run_kinds)
NO_PARENT = "(none: a new model)"


def option_widget(options_cls: type, field: Field, key: str):
    """The widget for one option, from its dataclass field: its type, default, choices and help."""
    label, kind, default = option_label(field.name), option_kind(options_cls, field), default_of(field)
    help_text = f"{field.metadata.get('help', '')}  \n`{flag(field)}`"
    if field.name == "members":
        return members_widget(label, help_text, key)
    if field.name == "init_from":
        return parent_widget(label, help_text, key, run_kind(options_cls))
    if kind == "list":  # --extra-data: files among the dashboard's data sources
        return sources_widget(label, help_text, key)
    if kind == "bool":
        return st.checkbox(label, value=default, help=help_text, key=key)
    if kind == "tristate":
        return st.selectbox(
            label,
            [None, True, False],
            help=help_text,
            key=key,
            format_func={None: "trainer's default", True: "yes", False: "no"}.get,
        )
    if kind == "choice":
        choices = field.metadata["choices"]
        return st.selectbox(
            label, choices, index=choices.index(default) if default in choices else 0, help=help_text, key=key
        )
    if kind == "int":
        return st.number_input(
            label, value=default, step=1, help=help_text, key=key, placeholder="default" if default is None else None
        )
    if kind == "float":
        return st.number_input(
            label,
            value=default,
            help=help_text,
            key=key,
            format="%g",
            placeholder="default" if default is None else None,
        )
    value = st.text_input(label, value="" if default is None else str(default), help=help_text, key=key)
    return value.strip() or None


def option_label(name: str) -> str:
    return OPTION_LABELS.get(name) or name.replace("_", " ").capitalize()


def members_widget(label: str, help_text: str, key: str) -> list[str]:
    """An ensemble's members: picked among the succeeded local runs (never a typed path)."""
    runs = [r for r in load_runs() if r.status == "succeeded" and r.kind in local_kinds()]
    labels = {str(r.path): fmt.model_choice_label(r) for r in runs}
    return st.multiselect(label, list(labels), format_func=labels.get, help=help_text, key=key)


def run_kind(options_cls: type) -> str | None:
    """The run kind a trainer's options belong to (its --init-from parent must be one)."""
    return next((t.kind for t in launcher.available_trainers().values() if t.options is options_cls), None)


def parent_widget(label: str, help_text: str, key: str, kind: str | None) -> str | None:
    """The run to continue from: picked among the succeeded runs of the trainer's kind, by its name under the
    runs folder (never a typed path); None: a new model."""
    runs = [r for r in load_runs() if r.status == "succeeded" and r.kind == kind]
    labels = {r.id: fmt.model_choice_label(r) for r in runs}
    return st.selectbox(
        label, [None, *labels], format_func=lambda v: NO_PARENT if v is None else labels[v], help=help_text, key=key
    )


def sources_widget(label: str, help_text: str, key: str) -> list[str]:
    """Labelled files picked among the dashboard's data sources (never a typed path)."""
    labels = {s.key: s.label for s in datasource.page_sources()}
    return st.multiselect(label, list(labels), format_func=labels.get, help=help_text, key=key)


def local_inputs_refused(values: dict) -> bool:
    """Extra data and a parent run are files of this machine: an Azure ML job could not read them."""
    given = [name for name in ("extra_data", "init_from") if values.get(name)]
    if given:
        st.error(f"{', '.join(map(option_label, given))}: train on this machine (Azure ML cannot read them).")
    return bool(given)


def ensemble_ready(values: dict) -> bool:
    """Whether the chosen members can be combined (the trainer checks them again); says why not."""
    from core.training.ensemble import member_problem

    members = values.get("members") or []
    problem = member_problem(members)
    if problem:
        (st.info if len(members) < 2 else st.error)(problem[:1].upper() + problem[1:])
    return problem is None


def azure_panel(gpu_default: bool, distributed: bool = False) -> dict | None:
    """The Azure ML settings, or None when a submission cannot be made."""
    configured, where = launcher.azure_ml_status()
    if configured:
        st.caption(f"Azure ML: {where}")
    else:
        st.warning(f"Azure ML is not configured: {where}. A dry run still shows the job it would submit.")
    cols = st.columns(3)
    compute = cols[0].text_input(
        "Compute cluster",
        placeholder="e.g. gpu-cluster",
        help="The name of an Azure ML compute cluster in the workspace.",
    )
    gpu = cols[1].checkbox(
        "GPU image", value=gpu_default, help="CUDA base image (for a GPU cluster); off: the CPU image."
    )
    dry_run = cols[2].checkbox(
        "Dry run", value=not configured, help="Print the job spec into the run's log and submit nothing."
    )
    nodes, gpus_per_node = distribution_inputs() if distributed and gpu else (1, 1)
    if not compute.strip():
        st.info("Name the compute cluster to submit to.")
        return None
    if not configured and not dry_run:
        return None
    return {"compute": compute.strip(), "gpu": gpu, "dry_run": dry_run, "nodes": nodes, "gpus_per_node": gpus_per_node}


def distribution_inputs() -> tuple[int, int]:
    """Nodes and GPUs per node: above 1, Azure ML's PyTorch distribution runs one trainer process per GPU."""
    cols = st.columns(2)
    nodes = cols[0].number_input("Nodes", min_value=1, max_value=64, value=1, step=1)
    gpus = cols[1].number_input(
        "GPUs per node", min_value=1, max_value=16, value=1, step=1, help="One trainer process per GPU (PyTorch DDP)."
    )
    return int(nodes), int(gpus)


def data_choice() -> str | None:
    """The training data: one of the dashboard's sources, or the official set for the trainer to download."""
    sources = datasource.page_sources()
    labels = {s.key: s.label for s in sources}
    if not official_archive().is_file():
        labels[datasource.OFFICIAL_KEY] = "Sentiment140, official set (the trainer downloads it, about 80 MB)"
    keys = list(labels)
    current = datasource.dashboard_source()
    index = keys.index(current.key) if current and current.key in keys else 0
    choice = st.selectbox(
        "Data",
        keys,
        index=index,
        format_func=labels.get,
        help="Add data (upload or download) on the Overview or Data page.",
    )
    if choice == datasource.OFFICIAL_KEY:
        return choice
    try:
        return datasource.resolve_page_source(choice).key
    except datasource.SourceRefused as exc:
        st.error(str(exc), icon=":material/block:")
        return None


def refuse_server_paths(options_cls: type, values: dict) -> list[str]:
    """Text options naming a file or folder of this server (a base model folder, vectors) are refused here."""
    refused = [
        flag(field)
        for field in form_fields(options_cls)
        if option_kind(options_cls, field) == "text"
        and values.get(field.name)
        and datasource.looks_like_server_path(values[field.name])
    ]
    if refused:
        st.error(
            f"{', '.join(refused)}: the dashboard does not pass paths of this server to a trainer; give a "
            "name (a Hugging Face model, a gensim-data set), or use the command line.",
            icon=":material/block:",
        )
    return refused


def option_form(spec: TrainerSpec) -> dict:
    """One expander per option group, one widget per option (three a row; lists of runs or files on a row of their
    own, so their picks stay readable); returns field name -> value. A kind that trains nothing has no training
    split to add --extra-data to."""
    options_cls, key = spec.options, spec.key
    groups: dict[str, list[Field]] = {}
    for field in form_fields(options_cls):
        if not spec.run_kind.trains and field.name in EXTRA_DATA_FIELDS:
            continue
        groups.setdefault(field.metadata.get("group", "options"), []).append(field)
    values = {}
    for group, fields in groups.items():
        wide = [f for f in fields if option_kind(options_cls, f) == "list"]
        narrow = [f for f in fields if f not in wide]
        with st.expander(group.capitalize(), expanded=True):
            cols = st.columns(3)
            shown = 0
            for field in narrow:
                if not applies(field, values):  # e.g. the hashing size with TF-IDF features: left to the trainer
                    values[field.name] = None
                    continue
                with cols[shown % 3]:
                    values[field.name] = option_widget(options_cls, field, f"opt-{key}-{field.name}")
                shown += 1
            for field in wide:
                values[field.name] = option_widget(options_cls, field, f"opt-{key}-{field.name}")
    return values


def launch_form() -> None:
    trainers = launcher.available_trainers()
    if not trainers:
        st.error("No trainer module found under `trainers/`: this checkout is incomplete.")
        return
    key = st.selectbox("Approach", list(trainers), format_func=lambda k: trainers[k].label)
    st.caption(trainers[key].description)
    combines = trainers[key].run_kind.combines_members  # an ensemble: its members' data, split and machine
    data = "" if combines else data_choice()  # "": the members' data
    options_cls = trainers[key].options
    values = option_form(trainers[key])
    data_ok = data is not None and not refuse_server_paths(options_cls, values)
    data_ok = data_ok and (not combines or ensemble_ready(values))

    where = ["This machine"] if combines else ["This machine", "Azure ML compute"]  # members are here
    target = st.radio("Where", where, horizontal=True)
    azure = None
    if target == "This machine":
        devices.device_panel(headline_prefix="This machine: ")
        ready = data_ok
    else:
        azure = azure_panel(trainers[key].gpu, trainers[key].distributed)
        ready = data_ok and azure is not None and not local_inputs_refused(values)
    show_command(key, values, data, azure)
    launch_button(key, values, data, azure, ready)


def show_command(key: str, values: dict, data: str | None, azure: dict | None) -> None:
    if azure is None:
        preview = launcher.trainer_command(key, values, "DATA" if data is None else data, "RUN_DIR")
    else:
        preview = launcher.azure_job_command(key, values, data or "DATA", **azure)
    st.code(launcher.display_command(preview), language="bash")


def launch_button(key: str, values: dict, data: str | None, azure: dict | None, ready: bool) -> None:
    operator = is_operator()
    if not st.button(
        "Launch",
        type="primary",
        disabled=not (ready and operator),
        icon=":material/play_arrow:",
        help=None if operator else operator_reason(),
    ):
        return
    if not (ready and is_operator()):  # checked again at the click: a disabled button is only a hint
        st.error(operator_reason() if ready else "Fix the choices above first.")
        return
    try:
        if azure is None:
            started = launcher.launch(key, values, data)
        else:
            started = launcher.launch_azure_job(key, values, data, **azure)
    except Exception as exc:
        st.error(f"Could not launch: {type(exc).__name__}: {exc}")
    else:
        st.toast(f"Launched {started.run_id}", icon=":material/rocket_launch:")


@st.fragment(run_every=2)
def follow_runs() -> None:
    runs = launcher.launched_runs()
    if not runs:
        st.info(no_launched_run_note(load_runs()))
        return
    active = sum(r.active for r in runs)
    st.caption(f"{active} active, {len(runs) - active} finished — refreshed every 2 s")
    for run in runs:
        run_card(run)


def no_launched_run_note(existing: list) -> str:
    """Nothing launched from this dashboard yet: what the runs folder already holds, and what Launch does."""
    if not existing:
        return f"No run yet (runs folder: `{runs_dir()}`). Pick an approach above and press **Launch**."
    return (
        f"{fmt.plural(len(existing), 'run')} in the runs folder, trained from a terminal or by an earlier server: "
        "see them on **Résumé** and **Compare**. A run launched here is followed below, live."
    )


st.title("Train")
st.caption("Launch a trainer as a background process; it keeps running if you leave this page.")
launch_form()
st.subheader("Runs launched from the dashboard")
follow_runs()
