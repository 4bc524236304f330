"""Train: pick an approach and its options, launch it here or on Azure ML, follow and cancel the runs."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from core import launcher
from core.config import default_data_path, runs_dir

STATUS_ICONS = {"starting": ":material/hourglass_top:", "running": ":material/autorenew:",
                "cancelling": ":material/stop_circle:", "succeeded": ":green[:material/check_circle:]",
                "failed": ":red[:material/error:]", "cancelled": ":material/cancel:",
                "submitted": ":blue[:material/cloud_upload:]"}


@st.cache_resource(show_spinner="Probing TensorFlow and PyTorch…")
def devices():
    from core.system import device_summary
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

    default_data = default_data_path()
    data = st.text_input("Data (CSV, zip, or `sentiment140` to download the official set)",
                         value=str(default_data) if default_data else "sentiment140",
                         help="Sentiment140's 6-column CSV or zip, or any CSV with a text and a label column.")
    data_ok = data.strip() == "sentiment140" or Path(data.split(".zip:")[0]).expanduser().exists()
    if not data_ok:
        st.error(f"`{data}` does not exist: give the path of a CSV or zip on this machine.")

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

    target = st.radio("Where", ["This machine", "Azure ML compute"], horizontal=True)
    azure = None
    if target == "This machine":
        device_panel()
        ready = data_ok
    else:
        azure = azure_panel(key)
        ready = data_ok and azure is not None

    if azure is None:
        preview = launcher.trainer_command(key, values, data.strip(), "RUN_DIR", options)
    else:
        preview = launcher.azure_job_command(key, values, data.strip(), options, azure["compute"], azure["gpu"],
                                             azure["dry_run"])
    st.code(launcher.display_command(preview), language="bash")
    if st.button("Launch", type="primary", disabled=not ready, icon=":material/play_arrow:"):
        try:
            if target == "This machine":
                started = launcher.launch(key, values, data.strip(), options=options)
            else:
                started = launcher.launch_azure_job(key, values, data.strip(), options=options, **azure)
        except Exception as exc:
            st.error(f"Could not launch: {type(exc).__name__}: {exc}")
        else:
            st.toast(f"Launched {started.run_id}", icon=":material/rocket_launch:")


def run_card(run: launcher.LaunchedRun) -> None:
    with st.container(border=True):
        top = st.columns([5, 1])
        top[0].markdown(f"{STATUS_ICONS.get(run.status, '')} **{run.label}** — `{run.id}` — "
                        f"**{run.status}** after {launcher.format_duration(run.elapsed_s)}")
        if run.active and run.status != "cancelling":
            top[1].button("Cancel", key=f"cancel-{run.id}", icon=":material/stop:",
                          on_click=launcher.cancel, args=(run.path,))
        if run.reason and run.status in ("failed", "cancelled", "submitted"):
            (st.error if run.status == "failed" else st.info)(run.reason)
        if run.progress and run.active:
            fraction = launcher.progress_fraction(run.progress)
            if fraction is not None:
                st.progress(fraction, text=f"{fraction:.0%}")
            fields = launcher.progress_fields(run.progress)
            st.markdown(" · ".join(f"{k}: **{v}**" for k, v in fields.items()))
            if run.progress.get("message"):
                st.caption(run.progress["message"])
        if run.status == "succeeded" and run.info and run.info.metrics.get("test"):
            test = run.info.metrics["test"]
            st.markdown(f"accuracy **{test['accuracy']:.2%}**, macro F1 **{test['f1_macro']:.2%}** — "
                        "see **Résumé** and **Compare**")
        if run.log_tail:
            with st.expander("Log (last lines)", expanded=run.status == "failed"):
                st.code(run.log_tail, language="text")


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
