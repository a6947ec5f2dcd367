"""Train: the lab. Choose a model, a dataset and its settings, press Start, and watch the run.

The form's choices, the run config, the status line and the controls are `playground.lab`'s;
the figures are `playground.figures`'. Buttons act on this visitor's `TrainingSession`, whose
worker thread trains; the live panel is a fragment that re-reads the session's snapshot twice
a second while the run is live and stops polling once it has drawn the finished run.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Callable

import streamlit as st

from playground import drawing, figures, lab
from playground.config_form import FormField, form_fields
from playground.diagnostics import diagnose, diagnosis_markdown
from playground.session import LIVE_STATUSES
from playground.streamlit_common import (PENDING_FORM, PICTURE_TYPES, POLL_SECONDS, current_session, registry,
                                         show_picture, shown_errors, user_session)
from playground.uploads import MAX_TRAINING_FILES, save_uploads, training_images
from trainers.data.toys import DRAWN_EXTENT
from trainers.registry import MODELS

CONTROLS = {"pause": "Pause", "resume": "Resume", "stop": "Stop", "reset": "Reset",
            "step": "Step both", "step_d": "Step D", "step_g": "Step G"}


#: The run form's boxes that a run started elsewhere (Inpaint) sets, by the run config's names.
RUN_BOXES = {"steps": "steps", "batch_size": "batch-size", "seed": "seed"}


def _apply_pending() -> None:
    """Set the form to what another page chose (``PENDING_FORM``: model and dataset, and with the
    run config it ``started``, its steps, batch size and seed, so that Start repeats that run)."""
    pending = st.session_state.pop(PENDING_FORM, None)
    if pending:
        st.session_state["model"] = pending["model"]
        st.session_state[f"dataset-{pending['model']}"] = pending["dataset"]
        st.session_state.setdefault("extra-datasets", {})[pending["model"]] = pending["dataset"]
        for name, value in (pending.get("started") or {}).items():
            st.session_state[RUN_BOXES[name]] = value


def _run_form() -> dict[str, Any]:
    """The run form; returns its values by name (what `lab.make_run_config` takes)."""
    st.session_state.setdefault("model", lab.DEFAULT_MODEL)  # the default, without fighting _apply_pending
    model = st.selectbox("Model", list(MODELS), key="model")
    st.markdown(lab.model_info(model))
    d = lab.form_defaults(model)
    datasets = list(d["datasets"])
    extra = st.session_state.get("extra-datasets", {}).get(model)
    if extra and extra not in datasets:
        datasets.insert(0, extra)
    dataset = st.selectbox("Dataset", datasets, key=f"dataset-{model}")
    typed = st.text_input("or a folder or zip of your own", placeholder="folder:/path/to/images", key="dataset-typed")
    dataset = typed.strip() or dataset
    st.caption(lab.dataset_info(dataset or ""))
    labels = dict((value, label) for label, value in d["presets"])
    preset = st.selectbox("Preset", list(labels), index=list(labels).index(d["preset"]) if d["preset"] in labels else 0,
                          format_func=labels.get, key=f"preset-{model}",
                          help="network sizes; the form below overrides it") if labels else ""
    values = lab.preset_values(model, preset)
    objective = None
    if d["objectives"]:
        chosen = values.get("objective") or d["objective"]
        objective = st.selectbox("Objective", d["objectives"], key=f"objective-{model}-{preset}",
                                 index=d["objectives"].index(chosen) if chosen in d["objectives"] else 0)
    for name, box in RUN_BOXES.items():  # defaults through the state alone, so _apply_pending may set them
        st.session_state.setdefault(box, lab.TRAIN_FORM_DEFAULTS[name])
    left, right = st.columns(2)
    steps = left.number_input("Steps", step=100, key="steps")
    batch_size = right.number_input("Batch size", step=8, key="batch-size")
    left, middle, right = st.columns(3)
    lr_g = left.number_input("lr G", value=float(values.get("lr_g") or 2e-4), step=1e-5, format="%g",
                             key=f"lr-g-{model}-{preset}")
    lr_d = middle.number_input("lr D", value=float(values.get("lr_d") or 2e-4), step=1e-5, format="%g",
                               key=f"lr-d-{model}-{preset}")
    seed = right.number_input("Seed", step=1, key="seed")
    speed = st.slider("Steps per update", 1, 100, lab.LIVE_RUN_DEFAULTS["log_every"], key="speed",
                      help="how many training steps between loss readings")
    with st.expander("Advanced: every setting of the model"):
        st.caption("Generated from the family's config: each field with its range and help. "
                   "Only the ones you change are sent.")
        edited = {spec.name: value for spec in form_fields(model, preset)
                  if (value := _config_widget(spec, f"cfg-{model}-{preset}-{spec.name}")) != spec.value}
        advanced = st.text_input("More overrides (JSON object, applied last)", placeholder='{"beta1": 0.5}',
                                 key="advanced")
    return {"model": model, "dataset": dataset, "objective": objective, "steps": steps, "batch_size": batch_size,
            "lr_g": lr_g, "lr_d": lr_d, "seed": seed, "advanced": advanced, "preset": preset, "speed": speed,
            "edited": edited}


def _config_widget(spec: FormField, key: str) -> Any:
    """One generated field: its kind's widget, its range and help as the hint."""
    span = f" [{spec.minimum:g}, {spec.maximum:g}]" if spec.minimum is not None else ""
    hint = f"{spec.help}{span}" or None
    if spec.kind == "choice":
        choices = list(spec.choices)
        return st.selectbox(spec.name, choices, index=choices.index(spec.value) if spec.value in choices else 0,
                            help=hint, key=key)
    if spec.kind == "bool":
        return st.checkbox(spec.name, value=bool(spec.value), help=hint, key=key)
    if spec.kind == "integer":
        # no min/max on the widget: the library checks the range and names the field, as the CLI does
        return st.number_input(spec.name, value=spec.value, step=1, help=hint, key=key)
    if spec.kind == "number":
        return st.number_input(spec.name, value=None if spec.value is None else float(spec.value), format="%g",
                               help=hint, key=key)
    return st.text_input(spec.name, value=spec.value, help=hint, key=key)


def _own_pictures(model: str) -> None:
    """Train on one's own pictures: a zip (sub-folders become classes) or several files, checked,
    previewed, then offered as the dataset."""
    with st.expander("Train on your own pictures"):
        uploads = st.file_uploader(f"A zip, or up to {MAX_TRAINING_FILES} pictures", type=["zip", *PICTURE_TYPES],
                                   accept_multiple_files=True, key="own-images")
        if st.button("Use these pictures", key="own-images-btn"):
            with shown_errors("Cannot use these pictures"):
                session = user_session()
                paths = save_uploads([(f.name, f.getvalue()) for f in uploads or ()], session.upload_dir / "incoming")
                made = training_images(paths, session.upload_dir)
                st.session_state["own-images-made"] = {"summary": made["summary"], "preview": made["preview"]}
                st.session_state[PENDING_FORM] = {"model": model, "dataset": made["dataset"]}
                st.rerun()
        made = st.session_state.get("own-images-made")
        if made:
            st.markdown(made["summary"])
            show_picture(made["preview"], caption="What the model will see (first 64)", min_px=256)


def _drawing(model: str) -> None:
    """GAN Lab's "draw your own distribution": click the plot to place points; each becomes a small
    Gaussian, and the 2-D GAN trains on their mixture."""
    with st.expander("Draw your own 2-D distribution"):
        points = st.session_state.setdefault("draw-points", [])
        # a fresh chart per point: a chart's selection stays selected, and must count once
        picked = st.plotly_chart(figures.drawing_figure(points, drawing.pick_grid(), DRAWN_EXTENT),
                                 key=f"draw-{len(points)}", on_select="rerun", selection_mode="points")
        clicked = (picked or {}).get("selection", {}).get("points") or []
        if clicked:
            with shown_errors("Cannot add a point"):
                st.session_state["draw-points"] = drawing.add_plane_point(points, clicked[0]["x"], clicked[0]["y"])
                st.rerun()
        undo, clear, use = st.columns(3)
        if undo.button("Undo", key="draw-undo"):
            st.session_state["draw-points"] = points[:-1]
            st.rerun()
        if clear.button("Clear", key="draw-clear"):
            st.session_state["draw-points"] = []
            st.rerun()
        if use.button("Use these points", type="primary", key="draw-use"):
            with shown_errors("Nothing drawn"):
                st.session_state[PENDING_FORM] = {"model": lab.model_for_points(model),
                                                  "dataset": drawing.drawn_dataset(points)}
                st.rerun()


def _controls(form: dict[str, Any]) -> None:
    """Start and the run controls. Each acts on the session and the page redraws from its snapshot."""
    start_column, *columns = st.columns(1 + len(CONTROLS))
    if start_column.button("Start", type="primary", key="start-btn"):
        with shown_errors("Cannot start"):
            config = lab.make_run_config(form["model"], form["dataset"], form["objective"], form["steps"],
                                         form["batch_size"], form["lr_g"], form["lr_d"], form["seed"],
                                         form["advanced"], preset=form["preset"], speed=form["speed"],
                                         edited=form["edited"])
            user_session().start(config)
    for column, (action, label) in zip(columns, CONTROLS.items()):
        if column.button(label, key=f"{action.replace('_', '-')}-btn"):
            session = current_session()
            if session is None:
                st.toast("Nothing to control yet: press Start.")
                continue
            with shown_errors(f"Cannot {label.lower()}"):
                if not lab.apply_control(session, action):
                    st.toast(lab.NOOP_MESSAGES[action])


def _live_panel() -> None:
    session = current_session()
    live = session is not None and session.status in LIVE_STATUSES

    @st.fragment(run_every=POLL_SECONDS if live else None)
    def panel() -> None:
        if session is None:
            st.markdown(lab.status_text({}))
            st.plotly_chart(figures.empty_figure(), key="loss-plot")
            return
        snap = session.snapshot()
        st.markdown(lab.status_text(snap))
        advice = diagnosis_markdown(diagnose(snap))
        if advice:
            st.markdown(advice)
        metrics_at, sample_at = (snap["run_id"], snap["metrics_version"]), (snap["run_id"], snap["sample_version"])
        loss = (_built("loss", metrics_at, lambda: figures.loss_figure(snap["metrics"], quality=snap.get("quality")))
                if snap["metrics_version"] else
                figures.empty_figure("Press Start to train" if snap["status"] == "idle"
                                     else "Waiting for the first metrics"))
        st.plotly_chart(loss, key="loss-plot")
        sample = snap["sample"]
        if sample is not None and lab.data_kind_of(snap) == "points":
            st.plotly_chart(_built("points", sample_at, lambda: lab.points_view(snap)), key="field-plot")
        elif sample is not None:
            show_picture(sample.get("grid"), caption=f"Samples (fixed noise), step {sample['step']}", min_px=384)
            show_picture(sample.get("reconstruction"), caption="Reconstructions: each row of real images above "
                                                               "its rebuild")
            codes = _built("codes", sample_at, lambda: lab.codes_view(sample))
            if codes is not None:
                st.plotly_chart(codes, key="codes-plot")
        histogram = _built("histogram", sample_at, lambda: lab.histogram_view(sample))
        if histogram is not None:
            st.plotly_chart(histogram, key="histogram-plot")
        if live and snap["status"] not in LIVE_STATUSES:
            st.rerun()  # the run has ended: redraw the page once, without polling

    panel()


def _built(name: str, version: tuple, build: Callable[[], Any]) -> Any:
    """A live figure, rebuilt only when the data it shows changed (building one costs tens of
    milliseconds; the panel redraws twice a second, and samples arrive about once a second)."""
    cache = st.session_state.setdefault("live-figures", {})
    if name not in cache or cache[name][0] != version:
        cache[name] = (version, build())
    return cache[name][1]


@st.fragment
def _timelapse() -> None:
    """A slider over the run's sample grids (or point clouds) seen so far; moving it reruns this alone."""
    session = current_session()
    history = session.sample_history() if session is not None else []
    if not history:
        st.caption("No samples yet.")
        return
    steps = [sample["step"] for sample in history]
    index = st.slider(lab.timelapse_label(steps), 0, max(1, len(history) - 1), len(history) - 1, key="timelapse")
    frame = lab.timelapse_frame(session.snapshot(), history, index)
    if "figure" in frame:
        st.plotly_chart(frame["figure"], key="timelapse-plot")
    else:
        show_picture(frame["picture"], caption=f"Sample grid at step {frame['step']}")


def _downloads() -> None:
    """The current weights (safetensors + config, zipped) and the run's curves (CSV and JSON)."""
    if st.button("Prepare checkpoint and metrics", key="download-btn"):
        session = current_session()
        if session is None:
            st.error("Nothing to download yet: press Start first.", title="Nothing to download")
        else:
            with shown_errors("Cannot download"), tempfile.TemporaryDirectory() as folder:
                made = session.export_run(Path(folder))
                st.session_state["downloads"] = {Path(made[k]).name: Path(made[k]).read_bytes()
                                                 for k in ("checkpoint", "csv", "json")}
    for name, data in st.session_state.get("downloads", {}).items():
        st.download_button(name, data, file_name=name, key=f"get-{name}")


def _probe() -> None:
    """The linear probe of an encoder family's codes, next to a random encoder of the same architecture."""
    st.caption("Freezes the encoder, fits a linear softmax classifier on its codes of 5,000 training images "
               "and reports accuracy on 2,000 test images, next to the same probe on a random encoder.")
    if st.button("Run linear probe", key="probe-btn"):
        session = current_session()
        if session is None:
            st.error("Train an encoder family first (autoencoder, aae, aae-gan or bigan), then probe it.",
                     title="Nothing to probe")
        else:
            with shown_errors("Cannot probe"):
                st.session_state["probe"] = lab.probe_rows(session.probe())
    if st.session_state.get("probe"):
        st.dataframe([dict(zip(lab.PROBE_HEADERS, row)) for row in st.session_state["probe"]], hide_index=True)


st.title("GAN Playground")
st.caption("Train a GAN live: watch the losses and the samples, pause, step D or G, and compare objectives. "
           "Then explore shipped or your own models.")
if registry().limits.describe():
    st.caption(registry().limits.describe())
_apply_pending()
form_column, view_column = st.columns([1, 2])
with form_column:
    form = _run_form()
    _own_pictures(form["model"])
    _drawing(form["model"])
with view_column:
    _controls(form)
    _live_panel()
    with st.expander("Time-lapse"):
        _timelapse()
    with st.expander("Download"):
        _downloads()
with st.expander("Linear probe of the encoder (autoencoder, aae, aae-gan, bigan)"):
    _probe()
