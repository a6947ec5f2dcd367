"""The Gradio front end: a thin page over `playground.session`, `playground.lab` and `playground.figures`.

Each browser tab gets its own `TrainingSession`, keyed by Gradio's `session_hash` in a
`SessionRegistry` that the caller owns (tests pass their own). Buttons call the
session's controls and return at once; a `gr.Timer` polls `snapshot()` twice a second
and sends only what changed (the loss figure when new metrics arrived, the sample
image when a new grid arrived), and it switches itself off once a finished run has
been drawn. Closing the tab (`demo.unload`) releases the session and its thread.

Bad input never crashes the page: the library's ConfigError / DatasetUnavailable /
PlaygroundError messages are shown as they are, in a `gr.Error` toast.
"""

from __future__ import annotations

import dataclasses
import html
from typing import Any, Mapping

import gradio as gr

from playground import demos, drawing, figures
from playground.gradio_demos import (DEMO_ENDPOINTS, DemoContext, build_explore_tab, build_super_resolve_tab,
                                     build_translate_tab)
from playground.config_form import FormField, form_fields
from playground.lab import (DEFAULT_MODEL, INPAINT_MODEL, INPAINT_STEPS, LIVE_RUN_DEFAULTS, NOOP_MESSAGES,
                            PROBE_HEADERS, TIMELAPSE_LABEL, TRAIN_FORM_DEFAULTS, apply_control, codes_view,
                            data_kind_of, dataset_info, datasets_for, form_defaults, histogram_view,
                            inpaint_run_config, keeps_own_dataset, make_run_config, model_for_points, model_info,
                            points_view, preset_values, probe_rows, status_text, timelapse_frame, timelapse_label)
from playground.diagnostics import diagnose, diagnosis_markdown
from playground.figures import sample_image
from playground.gradio_common import ScratchFolder, session_id as _session_id, user_error
from playground.session import LIVE_STATUSES, SessionRegistry
from playground.uploads import MAX_TRAINING_FILES, training_images
from trainers.data.pairs import INPAINT_IMAGES, INPAINT_MASKS as INPAINT_MASK_CHOICES, inpaint_image
from trainers.errors import PlaygroundError
from trainers.registry import MODELS

__all__ = ["build_app"]

POLL_SECONDS = 0.5
#: Every sample image is a file in Gradio's cache: sweep every 2 minutes, keep 5 minutes' worth,
#: so a long run at one image a second cannot fill the disk.
CACHE_CLEANUP = (120, 300)


# ----- the page ----------------------------------------------------------------------


def _new_view() -> dict[str, Any]:
    """What this tab has already drawn, so the timer can skip unchanged outputs."""
    return {"run_id": -1, "metrics_version": -1, "sample_version": -1, "status": ""}


@dataclasses.dataclass
class _Form:
    """The run form's components, in the order the Start handler takes them."""

    model: gr.Dropdown
    dataset: gr.Dropdown
    preset: gr.Dropdown
    objective: gr.Dropdown
    steps: gr.Number
    batch_size: gr.Number
    lr_g: gr.Number
    lr_d: gr.Number
    seed: gr.Number
    advanced: gr.Textbox
    model_md: gr.Markdown
    dataset_md: gr.Markdown
    edited: gr.State
    speed: gr.Slider
    fields_for: gr.State

    def model_outputs(self) -> list[gr.components.Component]:
        """What `_form_updates` sets."""
        return [self.model, self.dataset, self.dataset_md, self.preset, self.model_md, self.fields_for,
                self.objective, self.lr_g, self.lr_d, self.steps, self.batch_size, self.seed]

    def run_inputs(self) -> list[gr.components.Component]:
        return [self.model, self.dataset, self.preset, self.objective, self.steps, self.batch_size,
                self.lr_g, self.lr_d, self.seed, self.advanced, self.speed, self.edited]


@dataclasses.dataclass
class _Views:
    """What the timer updates; `outputs()` is the order of `_render`'s tuple."""

    view: gr.State
    status: gr.Markdown
    loss_plot: gr.Plot
    image: gr.Image
    reconstruction: gr.Image
    codes_plot: gr.Plot
    field_plot: gr.Plot
    diagnostics: gr.Markdown
    histogram: gr.Plot
    timelapse: gr.Slider
    timer: gr.Timer
    #: the time-lapse's own picture (image data) or figure (points), driven by the slider alone
    timelapse_image: gr.Image | None = None
    timelapse_plot: gr.Plot | None = None

    def outputs(self) -> list[gr.components.Component]:
        return [self.view, self.status, self.loss_plot, self.image, self.reconstruction, self.codes_plot,
                self.field_plot, self.diagnostics, self.histogram, self.timelapse, self.timer]


def _build_form(model_name: str | None) -> _Form:
    d = form_defaults(model_name)
    first_dataset = d["datasets"][0] if d["datasets"] else None
    model = gr.Dropdown(list(MODELS), value=model_name, label="Model", elem_id="model")
    model_md = gr.Markdown(model_info(model_name or ""), elem_id="model-info")
    dataset = gr.Dropdown(d["datasets"], value=first_dataset, label="Dataset", allow_custom_value=True,
                          elem_id="dataset", info="or type folder:/path/to/images")
    dataset_md = gr.Markdown(dataset_info(first_dataset or ""), elem_id="dataset-info")
    # custom values allowed for the preset and the objective: under load a Start click can carry the
    # previous model's choice (dcgan's cpu-quick) before the new choices land; the library refuses it
    # with a message naming the model's own choices, instead of Gradio's bare "not in the list"
    preset = gr.Dropdown(d["presets"], value=d["preset"], label="Preset", elem_id="preset",
                         info="network sizes; the form below overrides it", allow_custom_value=True)
    objective = gr.Dropdown(d["objectives"], value=d["objective"], label="Objective", elem_id="objective",
                            allow_custom_value=True)
    with gr.Row():
        steps = gr.Number(TRAIN_FORM_DEFAULTS["steps"], label="Steps", precision=0, elem_id="steps")
        batch_size = gr.Number(TRAIN_FORM_DEFAULTS["batch_size"], label="Batch size", precision=0,
                               elem_id="batch-size")
    with gr.Row():
        lr_g = gr.Number(d["lr_g"], label="lr G", elem_id="lr-g")
        lr_d = gr.Number(d["lr_d"], label="lr D", elem_id="lr-d")
        seed = gr.Number(TRAIN_FORM_DEFAULTS["seed"], label="Seed", precision=0, elem_id="seed")
    speed = gr.Slider(1, 100, value=LIVE_RUN_DEFAULTS["log_every"], step=1, label="Steps per update",
                      elem_id="speed", info="how many training steps between loss readings")
    edited = gr.State({})  # the generated fields a person changed: {name: value}
    # (model, preset) the generated fields are for, set by the handlers that change either: the
    # render reads this rather than the two dropdowns, which may hold a preset of the old model
    fields_for = gr.State((model_name, d["preset"]))
    with gr.Accordion("Advanced: every setting of the model", open=False, elem_id="advanced-accordion"):
        gr.Markdown("Generated from the family's config: each field with its range and help. "
                    "Only the ones you change are sent.")

        @gr.render(inputs=[fields_for])
        def advanced_fields(key: tuple[str, str]):
            for spec in form_fields(*key):
                widget = _config_widget(spec)
                widget.input(_remember_edit(spec.name), [widget, edited], [edited], show_progress="hidden",
                             queue=False)

        advanced = gr.Textbox(label="More overrides (JSON object, applied last)", placeholder='{"beta1": 0.5}',
                              lines=1, elem_id="advanced")
    fields_for.change(lambda: {}, None, [edited], show_progress="hidden", queue=False)
    return _Form(model, dataset, preset, objective, steps, batch_size, lr_g, lr_d, seed, advanced,
                 model_md, dataset_md, edited, speed, fields_for)


def _objective_update(defaults: Mapping[str, Any]) -> gr.Dropdown:
    """The model's objectives, hidden for a family with no choice of objective (an empty box says
    nothing)."""
    return gr.Dropdown(choices=defaults["objectives"], value=defaults["objective"],
                       visible=bool(defaults["objectives"]))


def _form_updates(model: str, dataset: str, started: Mapping[str, Any] | None = None) -> tuple:
    """Set the form to ``model`` (its presets, defaults and generated fields) and ``dataset``, for the
    handlers that choose both at once (Inpaint, Draw); in the order of `_Form.model_outputs`. With
    the run config a handler ``started``, its steps, batch size and seed too, so that Start on the
    form repeats that run rather than mixing it with what the form held before."""
    d = form_defaults(model)
    choices = d["datasets"] if dataset in d["datasets"] else [dataset, *d["datasets"]]
    run = (tuple(gr.Number(value=started[key]) for key in ("steps", "batch_size", "seed")) if started
           else (gr.skip(),) * 3)
    return (gr.Dropdown(value=model), gr.Dropdown(choices=choices, value=dataset), dataset_info(dataset),
            gr.Dropdown(choices=d["presets"], value=d["preset"]), model_info(model), (model, d["preset"]),
            _objective_update(d), gr.Number(value=d["lr_g"]),
            gr.Number(value=d["lr_d"]), *run)


def _config_widget(spec: FormField) -> gr.components.Component:
    """One generated field: its kind's widget, its range and help as the hint."""
    span = f" [{spec.minimum:g}, {spec.maximum:g}]" if spec.minimum is not None else ""
    common = {"label": spec.name, "info": f"{spec.help}{span}", "elem_id": f"cfg-{spec.name}",
              "key": f"cfg-{spec.name}", "min_width": 160, "interactive": True}
    if spec.kind == "choice":
        return gr.Dropdown(list(spec.choices), value=spec.value, **common)
    if spec.kind == "bool":
        return gr.Checkbox(spec.value, **common)
    if spec.kind in ("integer", "number"):
        # no minimum/maximum on the widget: the library checks the range and names the field, the
        # same message as the CLI's (the range is in the hint)
        return gr.Number(spec.value, precision=0 if spec.kind == "integer" else None, **common)
    return gr.Textbox(spec.value, **common)


def _remember_edit(name: str):
    def remember(value: Any, current: dict) -> dict:
        return {**current, name: value}

    return remember


def _build_buttons() -> dict[str, gr.Button]:
    """Start and the run controls; keys are the control actions of `_apply`."""
    with gr.Row():
        buttons = {
            "start": gr.Button("Start", variant="primary", elem_id="start-btn"),
            "pause": gr.Button("Pause", elem_id="pause-btn"),
            "resume": gr.Button("Resume", elem_id="resume-btn"),
            "stop": gr.Button("Stop", variant="stop", elem_id="stop-btn"),
            "reset": gr.Button("Reset", elem_id="reset-btn"),
        }
    with gr.Row():  # GAN Lab's single steps: both networks, D only, G only
        buttons["step"] = gr.Button("Step both", size="sm", elem_id="step-btn")
        buttons["step_d"] = gr.Button("Step D", size="sm", elem_id="step-d-btn")
        buttons["step_g"] = gr.Button("Step G", size="sm", elem_id="step-g-btn")
    return buttons


def _build_views(first_dataset: str | None) -> _Views:
    kind = data_kind_of({"dataset": first_dataset or ""})
    status = gr.Markdown(status_text({}), elem_id="status")
    diagnostics = gr.Markdown("", elem_id="diagnostics")
    loss_plot = gr.Plot(figures.empty_figure(), label="Losses", elem_id="loss-plot")
    image = gr.Image(None, label="Samples (fixed noise)", type="numpy", format="png", interactive=False,
                     elem_id="sample-image", visible=kind != "points", height=420)
    # shown once a family with an encoder sends reconstructions
    reconstruction = gr.Image(None, label="Reconstructions: each row of real images above its rebuild",
                              type="numpy", format="png", interactive=False, elem_id="reconstruction-image",
                              visible=False, height=420)
    # shown once a family with a 2-D code sends its codes of real images
    codes_plot = gr.Plot(figures.empty_figure("No codes yet"), label="Codes E(x) of real images, by class",
                         elem_id="codes-plot", visible=False)
    field_plot = gr.Plot(figures.empty_figure(), label="Real vs generated, over D's output",
                         elem_id="field-plot", visible=kind == "points")
    histogram = gr.Plot(figures.score_histogram_figure(None),
                        label="D(x) and D(G(z)): D's verdict on each real and each generated sample",
                        elem_id="histogram-plot", visible=False)
    with gr.Accordion("Time-lapse", open=False, elem_id="timelapse-accordion"):
        timelapse = gr.Slider(0, 1, value=0, step=1, label=TIMELAPSE_LABEL, elem_id="timelapse")
        timelapse_image = gr.Image(None, label="Sample grid at that step", type="numpy", format="png",
                                   interactive=False, elem_id="timelapse-image", height=360)
        timelapse_plot = gr.Plot(figures.empty_figure("No samples yet"), label="Samples at that step",
                                 elem_id="timelapse-plot", visible=kind == "points")
    return _Views(gr.State(_new_view()), status, loss_plot, image, reconstruction, codes_plot, field_plot,
                  diagnostics, histogram, timelapse, gr.Timer(POLL_SECONDS, active=False), timelapse_image,
                  timelapse_plot)


def _wire_form(form: _Form) -> None:
    """Keep the form consistent: a model brings its datasets, presets and defaults."""

    def on_model(name: str, current: str | None):
        d = form_defaults(name)
        choices, value = d["datasets"], d["datasets"][0] if d["datasets"] else None
        if keeps_own_dataset(name, current):  # the visitor's own pictures or points stay chosen
            choices, value = [current, *(c for c in choices if c != current)], current
        return (
            gr.Dropdown(choices=choices, value=value),
            gr.Dropdown(choices=d["presets"], value=d["preset"]),
            _objective_update(d),
            gr.Number(value=d["lr_g"]),
            gr.Number(value=d["lr_d"]),
            model_info(name),
            (name, d["preset"]),
        )

    def on_preset(name: str, chosen: str):
        values = preset_values(name, chosen)
        return (
            gr.Number(value=values.get("lr_g", 2e-4)),
            gr.Number(value=values.get("lr_d", 2e-4)),
            gr.Dropdown(value=values["objective"]) if values.get("objective") else gr.skip(),
            (name, chosen),
        )

    # .input, not .change: a handler that sets the model (Inpaint) sets its dataset too
    form.model.input(on_model, [form.model, form.dataset],
                      [form.dataset, form.preset, form.objective, form.lr_g, form.lr_d, form.model_md,
                       form.fields_for], show_progress="hidden")
    form.preset.input(on_preset, [form.model, form.preset], [form.lr_g, form.lr_d, form.objective, form.fields_for],
                      show_progress="hidden")
    form.dataset.change(dataset_info, [form.dataset], [form.dataset_md], show_progress="hidden")


def _wire_start(registry: SessionRegistry, form: _Form, button: gr.Button, views: _Views) -> None:
    def on_start(m, d, pre, obj, n, bs, lg, ld, sd, adv, spd, edits, request: gr.Request):
        session = registry.get_or_create(_session_id(request))
        try:
            session.start(make_run_config(m, d, obj, n, bs, lg, ld, sd, adv, preset=pre, speed=spd, edited=edits))
        except PlaygroundError as exc:  # ConfigError, DatasetUnavailable, busy server...
            raise user_error(exc) from exc
        except Exception as exc:  # a library bug must not take the page down
            raise gr.Error(html.escape(f"{type(exc).__name__}: {exc}"), title="Cannot start") from exc
        return _fresh_outputs(session.snapshot())

    # concurrency_limit=None: the registry's run slots are the limit that matters
    button.click(on_start, form.run_inputs(), views.outputs(), concurrency_limit=None,
                 show_progress="minimal")


def _fresh_outputs(snap: Mapping[str, Any]) -> tuple:
    """Outputs for a run just started (or cleared by Reset): empty views of the right kind, the
    timer on; the timer's ticks fill them in."""
    kind = data_kind_of(snap)
    idle = snap["status"] == "idle"
    return (
        _new_view(),
        status_text(snap),
        figures.empty_figure("Press Start to train" if idle else "Waiting for the first metrics"),
        gr.Image(value=None, visible=kind != "points"),
        gr.Image(value=None, visible=False),
        gr.Plot(value=figures.empty_figure("No codes yet"), visible=False),
        gr.Plot(value=figures.empty_figure("Waiting for the first samples"), visible=kind == "points"),
        "",
        gr.Plot(value=figures.score_histogram_figure(None), visible=False),
        gr.Slider(minimum=0, maximum=1, value=0, label=TIMELAPSE_LABEL),
        gr.Timer(active=not idle),
    )


def _wire_controls(registry: SessionRegistry, buttons: Mapping[str, gr.Button], views: _Views) -> None:
    def control(action: str):
        def handler(request: gr.Request):
            session = registry.get(_session_id(request))
            if session is None:
                gr.Info("Nothing to control yet: press Start.")
                return gr.skip()
            try:
                done = apply_control(session, action)
            except PlaygroundError as exc:
                raise user_error(exc, title=f"Cannot {action.replace('_', ' ')}") from exc
            if not done:
                gr.Info(NOOP_MESSAGES[action])
            # Wake the timer rather than write the status here: ticks never overlap, so the
            # timer as the status's only writer keeps a slow tick from drawing a stale state
            # over a newer one (a "running" line after "stopped").
            return gr.Timer(active=True)

        handler.__name__ = f"on_{action}"
        return handler

    for action, button in buttons.items():
        if action != "start":
            button.click(control(action), None, [views.timer], concurrency_limit=None,
                         show_progress="hidden")


def _wire_polling(registry: SessionRegistry, views: _Views) -> None:
    def on_tick(seen: dict, request: gr.Request):
        session = registry.get(_session_id(request))
        if session is None:
            return (gr.skip(),) * (len(views.outputs()) - 1) + (gr.Timer(active=False),)
        return _render(session.snapshot(), seen)

    # cheap and non-blocking, so no concurrency limit; "once": never queue up behind a slow tick
    views.timer.tick(on_tick, [views.view], views.outputs(), concurrency_limit=None,
                     show_progress="hidden", trigger_mode="once")


def _wire_heartbeat(registry: SessionRegistry) -> None:
    """An open tab says so now and then, so its session (and the model it trained) outlives any
    quiet spell: the idle timeout only closes sessions whose tab went without saying (a crashed
    browser, a lost network); a closed tab releases its own at once."""
    heartbeat = gr.Timer(heartbeat_seconds(registry.idle_timeout_s))

    def on_heartbeat(request: gr.Request):
        sid = getattr(request, "session_hash", None)
        if sid:
            registry.get(sid)  # marks it seen; creates nothing

    heartbeat.tick(on_heartbeat, None, None, concurrency_limit=None, show_progress="hidden", trigger_mode="once")


def heartbeat_seconds(idle_timeout_s: float) -> float:
    """A minute, or often enough that three beats fit in the idle timeout."""
    return max(1.0, min(60.0, idle_timeout_s / 3))


def build_app(registry: SessionRegistry | None = None, shelf: demos.ModelShelf | None = None) -> gr.Blocks:
    """Build the Blocks app over `registry` (default: a fresh one) and `shelf` (the shipped models;
    default: those in pretrained/); starts the registry's idle reaper."""
    if registry is None:
        registry = SessionRegistry()
    registry.start_reaper()
    first_model = DEFAULT_MODEL if DEFAULT_MODEL in MODELS else next(iter(MODELS), None)

    shelf = shelf if shelf is not None else demos.ModelShelf()
    scratch = ScratchFolder()
    context = DemoContext(registry, shelf, scratch)

    with gr.Blocks(title="GAN Playground", delete_cache=CACHE_CLEANUP) as demo:
        gr.Markdown("# GAN Playground\nTrain a GAN live: watch the losses and the samples, pause, step D or G, "
                    "and compare objectives. Then explore shipped or your own models.")
        if registry.limits.describe():
            gr.Markdown(registry.limits.describe(), elem_id="run-caps")
        with gr.Tabs(elem_id="tabs") as tabs:
            with gr.Tab("Train", id="train", elem_id="tab-train"):
                with gr.Row():
                    with gr.Column(scale=1, min_width=320):
                        form = _build_form(first_model)
                        _build_own_images(registry, form)
                        _build_drawing(form)
                        buttons = _build_buttons()
                        _build_downloads(registry, scratch)
                    with gr.Column(scale=2, min_width=420):
                        views = _build_views(form.dataset.value)
                _build_probe(registry)
            with gr.Tab("Compare", id="compare", elem_id="tab-compare") as compare_tab:
                _build_compare(registry, compare_tab)
            with gr.Tab("Explore", id="explore", elem_id="tab-explore"):
                build_explore_tab(context)
            with gr.Tab("Translate", id="translate", elem_id="tab-translate"):
                build_translate_tab(context)
            with gr.Tab("Super-resolve", id="super-resolve", elem_id="tab-super-resolve") as super_resolve_tab:
                build_super_resolve_tab(context, super_resolve_tab)
            with gr.Tab("Inpaint", id="inpaint", elem_id="tab-inpaint"):
                _build_inpaint(registry, form, views, tabs)
        _wire_form(form)
        _wire_start(registry, form, buttons["start"], views)
        _wire_controls(registry, buttons, views)
        _wire_polling(registry, views)
        _wire_timelapse(registry, views)

        def on_unload(request: gr.Request):
            sid = getattr(request, "session_hash", None)
            if sid:
                registry.release(sid)

        demo.unload(on_unload)
        _wire_heartbeat(registry)
    # the documented API is the demos' named endpoints; the page's own handlers stay callable (a
    # page needs them) but out of the API docs
    for handler in demo.fns.values():
        if handler.api_name not in DEMO_ENDPOINTS:
            handler.api_visibility = "undocumented"
    return demo


def _build_own_images(registry: SessionRegistry, form: _Form) -> None:
    """Train on one's own pictures: a zip (sub-folders become classes) or several files, checked,
    previewed, then offered as the dataset."""
    with gr.Accordion("Train on your own pictures", open=False, elem_id="own-images-accordion"):
        files = gr.File(label=f"A zip, or up to {MAX_TRAINING_FILES} pictures", file_count="multiple",
                        file_types=[".zip", "image"], type="filepath", elem_id="own-images", height=120)
        use = gr.Button("Use these pictures", size="sm", elem_id="own-images-btn")
        summary = gr.Markdown(elem_id="own-images-summary")
        preview = gr.Image(None, label="What the model will see (first 64)", type="numpy", format="png",
                           interactive=False, elem_id="own-images-preview", height=300)

    def on_use(paths, model, request: gr.Request):
        session = registry.get_or_create(_session_id(request))
        try:
            made = training_images(paths, session.upload_dir)
        except PlaygroundError as exc:
            raise user_error(exc, title="Cannot use these pictures") from exc
        choices = datasets_for(model)
        return (sample_image(made["preview"]), made["summary"],
                gr.Dropdown(choices=[made["dataset"], *choices], value=made["dataset"]),
                dataset_info(made["dataset"]))

    use.click(on_use, [files, form.model], [preview, summary, form.dataset, form.dataset_md],
              show_progress="minimal", concurrency_limit=2)


def _build_drawing(form: _Form) -> None:
    """GAN Lab's "draw your own distribution": click to place points; each becomes a small
    Gaussian, and the 2-D GAN trains on their mixture."""
    with gr.Accordion("Draw your own 2-D distribution", open=False, elem_id="draw-accordion"):
        points = gr.State([])
        board = gr.Image(drawing.canvas([]), label="Click to place points", type="numpy", format="png",
                         interactive=False, elem_id="draw-canvas", height=drawing.CANVAS_SIDE,
                         width=drawing.CANVAS_SIDE, buttons=[])
        with gr.Row():
            undo = gr.Button("Undo", size="sm", elem_id="draw-undo")
            clear = gr.Button("Clear", size="sm", elem_id="draw-clear")
            use = gr.Button("Train on these points", size="sm", variant="primary", elem_id="draw-use")

    def on_click(placed, event: gr.SelectData):
        try:
            placed = drawing.add_point(placed, *event.index[:2])
        except PlaygroundError as exc:
            raise user_error(exc, title="Cannot add a point") from exc
        return placed, drawing.canvas(placed)

    def on_use(placed, model):
        try:
            name = drawing.drawn_dataset(placed)
        except PlaygroundError as exc:
            raise user_error(exc, title="Nothing drawn") from exc
        return _form_updates(model_for_points(model), name)

    board.select(on_click, [points], [points, board], show_progress="hidden", concurrency_limit=None)
    undo.click(lambda placed: (placed[:-1], drawing.canvas(placed[:-1])), [points], [points, board],
               show_progress="hidden")
    clear.click(lambda: ([], drawing.canvas([])), None, [points, board], show_progress="hidden")
    use.click(on_use, [points, form.model], form.model_outputs(), show_progress="hidden")


def _wire_timelapse(registry: SessionRegistry, views: _Views) -> None:
    """The slider picks one of the run's sample grids (or point clouds) seen so far."""
    def on_timelapse(index, request: gr.Request):
        session = registry.get(_session_id(request))
        frame = timelapse_frame(session.snapshot(), session.sample_history(), index) if session is not None else None
        if frame is None:
            return gr.skip(), gr.skip()
        if "figure" in frame:
            return gr.Image(visible=False), gr.Plot(value=frame["figure"], visible=True)
        return gr.Image(value=frame["picture"], label=f"Sample grid at step {frame['step']}",
                        visible=True), gr.Plot(visible=False)

    views.timelapse.input(on_timelapse, [views.timelapse], [views.timelapse_image, views.timelapse_plot],
                          concurrency_limit=None, show_progress="hidden", trigger_mode="always_last")


def _build_downloads(registry: SessionRegistry, scratch: ScratchFolder) -> None:
    """The current weights (safetensors + config, zipped) and the run's curves (CSV and JSON)."""
    with gr.Accordion("Download", open=False, elem_id="download-accordion"):
        button = gr.Button("Prepare checkpoint and metrics", size="sm", elem_id="download-btn")
        files = gr.File(label="Files", file_count="multiple", interactive=False, elem_id="download-files")

    def on_download(request: gr.Request):
        session = registry.get(_session_id(request))
        if session is None:
            raise gr.Error("Nothing to download yet: press Start first.", title="Nothing to download",
                           print_exception=False)
        folder = scratch.new_folder("run")
        try:
            made = session.export_run(folder)
        except PlaygroundError as exc:
            raise user_error(exc, title="Cannot download") from exc
        return [str(made["checkpoint"]), str(made["csv"]), str(made["json"])]

    button.click(on_download, None, [files], concurrency_limit=2, show_progress="minimal")


def _build_compare(registry: SessionRegistry, tab: gr.Tab) -> None:
    """This session's runs overlaid: losses and live metric, one colour per run."""
    gr.Markdown("Every run started in this tab, overlaid: e.g. train the same model and seed with minimax, "
                "non-saturating, least squares and WGAN-GP, then compare their losses and sample quality here.")
    button = gr.Button("Refresh", size="sm", elem_id="compare-btn")
    plot = gr.Plot(figures.compare_figure([]), label="Runs of this tab", elem_id="compare-plot")
    table = gr.Dataframe(headers=["run", "status", "seed", "last step"], value=None, interactive=False,
                         elem_id="compare-table")

    def on_compare(request: gr.Request):
        session = registry.get(_session_id(request))
        runs = session.compared_runs() if session is not None else []
        rows = [[run["label"], run["status"], run["seed"], (run["metrics"].get("step") or [0])[-1]] for run in runs]
        return figures.compare_figure(runs), rows

    button.click(on_compare, None, [plot, table], concurrency_limit=None, show_progress="hidden")
    tab.select(on_compare, None, [plot, table], concurrency_limit=None, show_progress="hidden")


def _build_probe(registry: SessionRegistry) -> None:
    """The linear probe: how linearly the current encoder's codes separate the classes, next to
    a random encoder of the same architecture (the BiGAN paper's test of learned features)."""
    with gr.Accordion("Linear probe of the encoder (autoencoder, aae, aae-gan, bigan)", open=False,
                      elem_id="probe-accordion"):
        gr.Markdown("Freezes the encoder, fits a linear softmax classifier on its codes of 5,000 training "
                    "images and reports accuracy on 2,000 test images; the baseline is the same probe on "
                    "a randomly initialised encoder of the same architecture. Works during training too.")
        button = gr.Button("Run linear probe", elem_id="probe-btn")
        table = gr.Dataframe(headers=PROBE_HEADERS, value=None, interactive=False, elem_id="probe-table",
                             label="Probe results (accuracy in %)")

    def on_probe(request: gr.Request):
        session = registry.get(_session_id(request))
        if session is None:
            raise gr.Error("Train an encoder family first (autoencoder, aae, aae-gan or bigan), then probe it.",
                           title="Nothing to probe", print_exception=False)
        try:
            return probe_rows(session.probe())
        except PlaygroundError as exc:
            raise user_error(exc, title="Cannot probe") from exc

    button.click(on_probe, None, [table], concurrency_limit=2, show_progress="minimal")


def _build_inpaint(registry: SessionRegistry, form: _Form, views: _Views, tabs: gr.Tabs) -> None:
    """Deep image prior on a person's own picture (or a built-in one): paint the holes or pick a
    built-in mask, press Inpaint, and watch the fit on the Train tab."""
    gr.Markdown("Paint over what should be filled in, on the built-in picture or on your own (drop it on the "
                "editor, or press Clear canvas, top right, then Upload), or leave it unpainted and pick a "
                "built-in mask. **Inpaint** starts a deep-image-prior fit (an untrained network fitted to the "
                "known pixels alone) and shows it live on the Train tab. Pictures are shrunk to at most 512 "
                "pixels on a side.")
    first = INPAINT_IMAGES[0]
    # png, not Gradio's webp: the picture shown comes back pixel for pixel, so the built-in one left
    # unpainted is known as such (lab.inpaint_run_config)
    editor = gr.ImageEditor(inpaint_image(first), type="numpy", image_mode="RGBA", format="png",
                            label="The picture: paint the holes (drop your own on it to replace it)",
                            sources=["upload", "clipboard"], transforms=(),
                            layers=False, brush=gr.Brush(colors=["#ff00ff"], color_mode="fixed"),
                            elem_id="inpaint-editor")
    with gr.Row():
        builtin = gr.Dropdown(list(INPAINT_IMAGES), value=first, label="Built-in picture (shown above to paint on)",
                              elem_id="inpaint-builtin")
        mask_kind = gr.Dropdown(list(INPAINT_MASK_CHOICES), value="text", elem_id="inpaint-mask-kind",
                                label="Mask when nothing is painted")
        steps = gr.Number(INPAINT_STEPS, label="Steps", precision=0, elem_id="inpaint-steps")
    start = gr.Button("Inpaint", variant="primary", elem_id="inpaint-btn")
    # .select, not .change: choosing the same picture again brings it back to a cleared editor
    builtin.select(inpaint_image, builtin, editor, show_progress="hidden")

    def on_inpaint(value, picture, kind, how_long, request: gr.Request):
        if (value or {}).get("background") is None:  # cleared, or a file the editor could not show
            raise gr.Error("The editor holds no picture: drop one on it, or Upload one, or choose a built-in "
                           "picture below.", title="Cannot inpaint", print_exception=False)
        session = registry.get_or_create(_session_id(request))
        try:
            config = inpaint_run_config(session.upload_dir, (value or {}).get("background"), builtin=picture,
                                        mask_kind=kind, strokes=(value or {}).get("layers"), steps=how_long)
            session.start(config)
        except PlaygroundError as exc:
            raise user_error(exc, title="Cannot inpaint") from exc
        # the Train tab's form shows the run it is drawing
        return (*_fresh_outputs(session.snapshot()), gr.Tabs(selected="train"),
                *_form_updates(INPAINT_MODEL, config["dataset"], config))

    start.click(on_inpaint, [editor, builtin, mask_kind, steps], [*views.outputs(), tabs, *form.model_outputs()],
                show_progress="minimal",
                concurrency_limit=None)


def _render(snap: Mapping[str, Any], seen: Mapping[str, Any]) -> tuple:
    """Outputs for one tick: only what changed since `seen`; stops the timer when finished."""
    new_run = snap["run_id"] != seen.get("run_id")
    new_sample = new_run or snap["sample_version"] != seen.get("sample_version")
    text = status_text(snap)
    status_out = text if text != seen.get("status") else gr.skip()
    loss_out = gr.skip()
    if snap["metrics_version"] and (new_run or snap["metrics_version"] != seen.get("metrics_version")):
        loss_out = figures.loss_figure(snap["metrics"], quality=snap.get("quality"))
    image_out, reconstruction_out, codes_out, field_out = gr.skip(), gr.skip(), gr.skip(), gr.skip()
    if snap["sample"] is not None and new_sample:
        if data_kind_of(snap) == "points":
            field_out = points_view(snap)
        else:
            image_out = sample_image(snap["sample"].get("grid"))
            if snap["sample"].get("reconstruction") is not None:
                reconstruction_out = gr.Image(value=sample_image(snap["sample"]["reconstruction"]), visible=True)
            codes = codes_view(snap["sample"])
            if codes is not None:
                codes_out = gr.Plot(value=codes, visible=True)
    if new_run and snap["status"] == "idle":  # Reset: clear what the last run drew
        return ({**_new_view(), "run_id": snap["run_id"]}, *_fresh_outputs(snap)[1:])
    diagnostics_out = gr.skip()
    if new_sample or snap["metrics_version"] != seen.get("metrics_version"):
        diagnostics_out = diagnosis_markdown(diagnose(snap))
    histogram_out = gr.skip()
    histogram = histogram_view(snap["sample"]) if new_sample else None
    if histogram is not None:
        histogram_out = gr.Plot(value=histogram, visible=True)
    timelapse_out = gr.skip()
    if snap.get("sample_steps") and new_sample:
        steps = snap.get("sample_steps")
        timelapse_out = gr.Slider(maximum=max(1, len(steps) - 1), value=len(steps) - 1, label=timelapse_label(steps))
    timer_out = gr.Timer(active=False) if snap["status"] not in LIVE_STATUSES else gr.skip()
    new_seen = {
        "run_id": snap["run_id"],
        "metrics_version": snap["metrics_version"],
        "sample_version": snap["sample_version"],
        "status": text,
    }
    return (new_seen, status_out, loss_out, image_out, reconstruction_out, codes_out, field_out, diagnostics_out,
            histogram_out, timelapse_out, timer_out)
