"""Train: pick an approach and its options, launch it here or on Azure ML, follow and cancel the runs."""
from __future__ import annotations

import streamlit as st

from core.data import sources as datasource
from core.training import launcher
from core.config import runs_dir
from core.data.download import official_archive
from views.components.access import is_operator, operator_reason
from views.components.run_cards import run_card

@st.cache_resource(show_spinner="Probing TensorFlow and PyTorch…")
def devices():
    from core.tracking.devices import device_summary
    return device_summary()


@st.cache_data(show_spinner=False)
def options_for(key: str) -> list[launcher.Option]:
    return launcher.trainer_options(key)


def option_widget(opt: launcher.Option, key: str):
    label = opt.dest.replace("_", " ")
    help_text = f"{opt.help}  \n`{opt.flag}`" if opt.help else f"`{opt.flag}`"
    if opt.kind == "bool":
        return st.checkbox(label, value=opt.default, help=help_text, key=key)
    if opt.kind == "tristate":
        return st.selectbox(label, [None, True, False], help=help_text, key=key,
                            format_func={None: "trainer's default", True: "yes", False: "no"}.get)
    if opt.kind == "choice":
        index = opt.choices.index(opt.default) if opt.default in opt.choices else 0
        return st.selectbox(label, opt.choices, index=index, help=help_text, key=key)
    if opt.kind == "int":
        return st.number_input(label, value=opt.default, step=1, help=help_text, key=key,
                               placeholder="default" if opt.default is None else None)
    if opt.kind == "float":
        return st.number_input(label, value=opt.default, help=help_text, key=key, format="%g")
    value = st.text_input(label, value="" if opt.default is None else str(opt.default), help=help_text, key=key)
    return value.strip() or None


def device_panel() -> None:
    summary = devices()
    st.markdown(f"**This machine**: {summary.headline}")
    for view in summary.frameworks.values():
        st.caption(view.describe())


def azure_panel(trainer_key: str) -> dict | None:
    """The Azure ML settings, or None when a submission cannot be made."""
    configured, where = launcher.azure_ml_status()
    if configured:
        st.caption(f"Azure ML: {where}")
    else:
        st.warning(f"Azure ML is not configured: {where}. A dry run still shows the job it would submit.")
    cols = st.columns(3)
    compute = cols[0].text_input("Compute cluster", placeholder="e.g. gpu-cluster",
                                 help="The name of an Azure ML compute cluster in the workspace.")
    gpu = cols[1].checkbox("GPU image", value=trainer_key in ("keras", "transformer"),
                           help="CUDA base image (for a GPU cluster); off: the CPU image.")
    dry_run = cols[2].checkbox("Dry run", value=not configured,
                               help="Print the job spec into the run's log and submit nothing.")
    if not compute.strip():
        st.info("Name the compute cluster to submit to.")
        return None
    if not configured and not dry_run:
        return None
    return {"compute": compute.strip(), "gpu": gpu, "dry_run": dry_run}


def data_choice() -> str | None:
    """The training data: one of the dashboard's sources, or the official set for the trainer to download."""
    sources = datasource.page_sources()
    labels = {s.key: s.label for s in sources}
    if not official_archive().is_file():
        labels[datasource.OFFICIAL_KEY] = "Sentiment140, official set (the trainer downloads it, about 80 MB)"
    keys = list(labels)
    current = datasource.dashboard_source()
    index = keys.index(current.key) if current and current.key in keys else 0
    choice = st.selectbox("Data", keys, index=index, format_func=labels.get,
                          help="Add data (upload or download) on the Overview or Data page.")
    if choice == datasource.OFFICIAL_KEY:
        return choice
    try:
        return datasource.resolve_page_source(choice).key
    except datasource.SourceRefused as exc:
        st.error(str(exc), icon=":material/block:")
        return None


def refuse_server_paths(options: list[launcher.Option], values: dict) -> list[str]:
    """Text options naming a file or folder of this server (a base model folder, vectors) are refused here."""
    refused = [opt.flag for opt in options
               if opt.kind == "text" and values.get(opt.dest) and datasource.looks_like_server_path(values[opt.dest])]
    if refused:
        st.error(f"{', '.join(refused)}: the dashboard does not pass paths of this server to a trainer; give a "
                 "name (a Hugging Face model, a gensim-data set), or use the command line.", icon=":material/block:")
    return refused


def launch_form() -> None:
    trainers = launcher.available_trainers()
    if not trainers:
        st.error("No trainer module found under `trainers/`: this checkout is incomplete.")
        return
    key = st.selectbox("Approach", list(trainers), format_func=lambda k: trainers[k].label)
    st.caption(trainers[key].description)
    try:
        options = options_for(key)
    except Exception as exc:  # a trainer whose dependencies are missing must not break the page
        st.error(f"Cannot read the options of `{trainers[key].module}`: {type(exc).__name__}: {exc}")
        return

    data = data_choice()

    values = {}
    groups: dict[str, list[launcher.Option]] = {}
    for opt in options:
        groups.setdefault(opt.group, []).append(opt)
    for group, group_options in groups.items():
        with st.expander(group.capitalize(), expanded=True):
            cols = st.columns(3)
            for i, opt in enumerate(group_options):
                with cols[i % 3]:
                    values[opt.dest] = option_widget(opt, f"opt-{key}-{opt.dest}")
    options_ok = not refuse_server_paths(options, values)
    data_ok = data is not None and options_ok

    target = st.radio("Where", ["This machine", "Azure ML compute"], horizontal=True)
    azure = None
    if target == "This machine":
        device_panel()
        ready = data_ok
    else:
        azure = azure_panel(key)
        ready = data_ok and azure is not None

    if azure is None:
        preview = launcher.trainer_command(key, values, data or "DATA", "RUN_DIR", options)
    else:
        preview = launcher.azure_job_command(key, values, data or "DATA", options, azure["compute"], azure["gpu"],
                                             azure["dry_run"])
    st.code(launcher.display_command(preview), language="bash")
    operator = is_operator()
    if st.button("Launch", type="primary", disabled=not (ready and operator), icon=":material/play_arrow:",
                 help=None if operator else operator_reason()):
        if not (ready and is_operator()):  # checked again at the click: a disabled button is only a hint
            st.error(operator_reason() if ready else "Fix the choices above first.")
            return
        try:
            if target == "This machine":
                started = launcher.launch(key, values, data, options=options)
            else:
                started = launcher.launch_azure_job(key, values, data, options=options, **azure)
        except Exception as exc:
            st.error(f"Could not launch: {type(exc).__name__}: {exc}")
        else:
            st.toast(f"Launched {started.run_id}", icon=":material/rocket_launch:")


@st.fragment(run_every=2)
def follow_runs() -> None:
    runs = launcher.launched_runs()
    if not runs:
        st.info(f"No run launched from the dashboard yet (runs folder: `{runs_dir()}`). "
                "Pick an approach above and press **Launch**.")
        return
    active = sum(r.active for r in runs)
    st.caption(f"{active} active, {len(runs) - active} finished — refreshed every 2 s")
    for run in runs:
        run_card(run)


st.title("Train")
st.caption("Launch a trainer as a background process; it keeps running if you leave this page.")
launch_form()
st.subheader("Runs launched from the dashboard")
follow_runs()
