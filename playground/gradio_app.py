"""The Gradio front end: a thin page over `playground.session` and `playground.figures`.

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
import json
import math
from typing import Any, Mapping

import gradio as gr

from playground import demos, drawing, figures
from playground.gradio_demos import DemoContext, build_explore_tab, build_super_resolve_tab, build_translate_tab
from playground.config_form import FormField, form_fields, overrides_from_form
from playground.diagnostics import diagnose, diagnosis_markdown
from playground.gradio_common import ScratchFolder, sample_image, session_id as _session_id, user_error
from playground.session import LIVE_STATUSES, SessionRegistry, TrainingSession
from playground.uploads import MAX_TRAINING_FILES, inpainting_dataset, training_images
from trainers.data import DATASETS, INPAINT_PREFIX, dataset_kind, inpainting_choices, list_datasets
from trainers.data.pairs import INPAINT_IMAGES, INPAINT_MASKS as INPAINT_MASK_CHOICES
from trainers.errors import PlaygroundError
from trainers.registry import MODELS, get_family

__all__ = ["build_app", "make_run_config", "status_text", "sample_image"]

#: Run settings tuned for watching a run live rather than for throughput.
#: the live sample-quality metric is asked for every 25 steps; the engine postpones a measurement
#: that would take it past 5% of the run's time, so it never slows training by more
LIVE_RUN_DEFAULTS = {"log_every": 5, "sample_every": 50, "sample_interval_s": 1.0, "out": None,
                     "metric_every": 25}
POLL_SECONDS = 0.5
#: Every sample image is a file in Gradio's cache: sweep every 2 minutes, keep 5 minutes' worth,
#: so a long run at one image a second cannot fill the disk.
CACHE_CLEANUP = (120, 300)
DEFAULT_MODEL = "dcgan"
#: Shown first: the 2-D ring is GAN Lab's classic, digits trains offline in seconds.
PREFERRED_DATASETS = ("ring", "digits")


# ----- pure helpers (tested without a browser) ---------------------------------------


def config_fields(model: str) -> dict[str, dataclasses.Field]:
    """The model family's config fields by name ({} for an unknown model)."""
    try:
        spec = get_family(model)
    except PlaygroundError:
        return {}
    return {f.name: f for f in dataclasses.fields(spec.config_cls)}


def _field_default(fields: Mapping[str, dataclasses.Field], name: str, fallback: Any) -> Any:
    f = fields.get(name)
    if f is None or f.default is dataclasses.MISSING:
        return fallback
    return f.default


def datasets_for(model: str) -> list[str]:
    """Registered dataset names the model family accepts (by data kind), the preferred first."""
    try:
        spec = get_family(model)
    except PlaygroundError:
        return list_datasets()
    kinds = tuple(spec.data_kinds)
    names = [name for name in list_datasets() if DATASETS[name].kind in kinds]
    if "masked" in kinds:  # inpainting: the built-in pictures under each built-in mask
        names += inpainting_choices()
    preferred = [name for name in (*spec.suggested_datasets, *PREFERRED_DATASETS) if name in names]
    return preferred + [name for name in names if name not in preferred]


def presets_for(model: str) -> list[tuple[str, str]]:
    """(label, value) choices: the family's named presets, plus its plain defaults ("")."""
    try:
        names = list(get_family(model).presets)
    except PlaygroundError:
        names = []
    plain = [] if "default" in names else [("family defaults", "")]
    return plain + [(name, name) for name in names]


def preset_values(model: str, preset: str | None) -> dict[str, Any]:
    """The config defaults with the preset applied: what the form should show for it."""
    fields = config_fields(model)
    values = {name: _field_default(fields, name, None) for name in fields}
    try:
        values.update(get_family(model).presets.get(preset or "", {}))
    except PlaygroundError:
        pass
    return values


def default_preset(model: str) -> str:
    """A CPU-sized preset when the family has one: this app usually runs on a small CPU."""
    values = [value for _, value in presets_for(model)]
    return next((v for v in values if v.startswith("cpu")), values[0] if values else "")


def objectives_for(model: str) -> list[str]:
    """The objective choices: the family's `objectives` if it lists them, else the config's choices."""
    try:
        spec = get_family(model)
    except PlaygroundError:
        return []
    listed = getattr(spec, "objectives", None)
    if listed:
        return list(listed)
    f = config_fields(model).get("objective")
    return list(f.metadata.get("choices", ())) if f is not None else []


def parse_overrides(text: str | None) -> dict[str, Any]:
    """The "advanced" JSON box: an object of model-config overrides ({} when blank)."""
    if text is None or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlaygroundError(f"Advanced overrides are not valid JSON: {exc.msg} (line {exc.lineno})") from exc
    if not isinstance(value, dict):
        raise PlaygroundError('Advanced overrides must be a JSON object, e.g. {"lr_g": 0.0001}')
    return value


def _required_number(value: Any, label: str) -> float:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise PlaygroundError(f"{label} is empty: enter a number")
    return value


def make_run_config(
    model: str,
    dataset: str,
    objective: str | None,
    steps: Any,
    batch_size: Any,
    lr_g: Any,
    lr_d: Any,
    seed: Any,
    advanced: str | None = None,
    preset: str | None = None,
    speed: Any = None,
    edited: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Turn the form's values into RunConfig keyword arguments.

    Validation of ranges (steps <= 0, a bad learning rate...) is left to the library, so
    the page and the CLI give the same messages; only what the form itself can get wrong
    (an empty box, broken JSON) is checked here. Form fields the family's config does
    not have are left out rather than sent as unknown keys.
    """
    if not model:
        raise PlaygroundError("Choose a model")
    if not dataset or not str(dataset).strip():
        raise PlaygroundError("Choose a dataset")
    fields = config_fields(model)
    overrides = {}
    for name, value in (("objective", objective), ("lr_g", lr_g), ("lr_d", lr_d)):
        if name in fields and value not in (None, ""):
            overrides[name] = value
    overrides.update(overrides_from_form(model, edited or {}))
    overrides.update(parse_overrides(advanced))
    return {
        "model": model,
        "dataset": str(dataset).strip(),
        "steps": _as_int(_required_number(steps, "Steps"), "Steps"),
        "batch_size": _as_int(_required_number(batch_size, "Batch size"), "Batch size"),
        "seed": _as_int(_required_number(seed, "Seed"), "Seed"),
        "preset": preset or "",
        "overrides": overrides,
        **LIVE_RUN_DEFAULTS,
        # "steps per update": how often the run reports its losses (the page redraws at 2 Hz anyway)
        **({"log_every": _as_int(speed, "Steps per update")} if speed not in (None, "") else {}),
    }


def _as_int(value: Any, label: str) -> int:
    number = float(value)
    if not number.is_integer():
        raise PlaygroundError(f"{label} must be a whole number, not {value}")
    return int(number)


def status_text(snap: Mapping[str, Any]) -> str:
    """One line for the status box: state, step, speed, device, what is training."""
    status = snap.get("status", "idle")
    if status == "idle":
        return "**idle**: choose a model and a dataset, then press Start."
    if status == "queued":
        return (f"**queued**: position {snap.get('queue_position') or 1} in line for one of {snap.get('slots')} "
                f"training slot(s), all in use · {snap.get('model', '')} on {snap.get('dataset', '')} starts "
                f"when one frees (Stop leaves the line)")
    parts = [f"**{status}**", f"step {snap.get('step', 0)} / {snap.get('total_steps', 0)}"]
    speed = snap.get("steps_per_s") or 0.0
    if speed and math.isfinite(speed):
        parts.append(f"{speed:.1f} steps/s")
    if snap.get("device"):
        parts.append(f"device {snap['device']}")
    parts.append(f"{snap.get('model', '')} on {snap.get('dataset', '')}")
    latest = snap.get("latest") or {}
    if "loss_d" in latest and "loss_g" in latest:
        parts.append(f"D loss {latest['loss_d']:.3f}, G loss {latest['loss_g']:.3f}")
    held_out = (snap.get("sample") or {}).get("reconstruction_error")
    if held_out:  # measured on fixed images the family never trains on, where there are such
        parts.append(f"reconstruction error {held_out['mse']:.4f} on {held_out['images']} "
                     f"{'held-out test' if held_out['split'] == 'test' else 'training'} images")
    elif "loss_recon" in latest:
        parts.append(f"reconstruction error {latest['loss_recon']:.4f}")
    preview = (snap.get("sample") or {}).get("preview")
    if preview:
        parts.append(preview_phrase(preview))
    parts += family_signals(latest)
    quality = quality_phrase(snap)
    if quality:
        parts.append(quality)
    line = " · ".join(parts)
    for note in snap.get("notes") or ():
        line += f"\n\n*Note: {note}*"
    if snap.get("error"):
        line += f"\n\n**Error:** {snap['error']}"
    return line


def quality_phrase(snap: Mapping[str, Any]) -> str:
    """The live sample-quality metric's last reading and what it costs, in words."""
    series, cost = snap.get("quality") or {}, snap.get("quality_cost") or {}
    if not series.get("step"):
        return ""
    last = {k: v[-1] for k, v in series.items() if k != "step" and v}
    network = cost.get("network", "")
    words = []
    if f"kid_{network}" in last:
        spread = last.get(f"kid_se_{network}")
        words.append(f"KID {last[f'kid_{network}']:.3g}" + (f" ± {spread:.2g}" if spread is not None else ""))
    if f"fid_{network}" in last:
        words.append(f"FID {last[f'fid_{network}']:.3g}")
    if f"classes_covered_{network}" in last:
        words.append(f"{last[f'classes_covered_{network}']:.0f} classes covered")
    if "modes_covered" in last:
        words.append(f"{last['modes_covered']:.0f}/{last.get('num_modes', 0):.0f} modes covered")
    if "js_grid" in last:
        words.append(f"JS {last['js_grid']:.3f}")
    where = f" in {network}'s features" if network and network != "toy" else ""
    return (f"{', '.join(words)} (step {series['step'][-1]}, {cost.get('samples', 0)} samples{where}; "
            f"metric took {100 * (cost.get('share') or 0.0):.1f}% of the time)")


def preview_phrase(preview: Mapping[str, Any]) -> str:
    """An image-to-image family's held-out figure next to its baseline, in words."""
    m = preview.get("metrics") or {}
    where = f"on {preview.get('images', 0)} {'held-out test' if preview.get('split') == 'test' else 'training'} images"
    if "psnr_bicubic" in m:
        return f"PSNR {m['psnr']:.2f} dB vs bicubic {m['psnr_bicubic']:.2f} dB {where}"
    if "psnr_identity" in m:
        return f"L1 {m['l1']:.3f}, PSNR {m['psnr']:.2f} dB vs the input itself {m['psnr_identity']:.2f} dB {where}"
    if "cycle_l1_a" in m:
        return f"cycle L1 A {m['cycle_l1_a']:.3f}, B {m['cycle_l1_b']:.3f} {where}"
    if "psnr_hole" in m:
        return f"PSNR in the holes {m['psnr_hole']:.2f} dB vs mean-colour fill {m['psnr_hole_mean_fill']:.2f} dB"
    return ", ".join(f"{k} {v:.3g}" for k, v in m.items())


def family_signals(latest: Mapping[str, float]) -> list[str]:
    """Status phrases for the signals a family reports: ProGAN's resolution and fade-in, and
    which E-GAN mutation won most of the latest logging window."""
    phrases = []
    if "resolution" in latest:
        side = int(round(latest["resolution"]))
        alpha = latest.get("alpha", 1.0)
        fading = f", fading in (alpha {alpha:.2f})" if alpha < 1 else ""
        phrases.append(f"resolution {side}×{side}{fading}")
    wins = {k[len("win_"):].replace("_", " "): v for k, v in latest.items() if k.startswith("win_")}
    if wins:
        best = max(wins, key=wins.get)
        phrases.append(f"mutation winning: {best} ({wins[best]:.0%} of steps)")
    return phrases


def _data_kind(snap: Mapping[str, Any]) -> str:
    kind = snap.get("data_kind") or ""
    if kind:
        return kind
    try:
        return dataset_kind(snap.get("dataset") or "")
    except PlaygroundError:
        return "image"


def points_view(snap: Mapping[str, Any], sample: Mapping[str, Any] | None = None):
    """The toy-data figure (2-D field with G's arrows and noise grid, or 1-D histograms) for a
    snapshot's newest sample, or for ``sample`` (the time-lapse's)."""
    sample = sample if sample is not None else (snap.get("sample") or {})
    title = f"step {sample['step']}" if "step" in sample else None
    return figures.points_figure(snap.get("real"), sample.get("points"), sample.get("field"), title=title,
                                 gradients=sample.get("gradients"), noise_grid=sample.get("noise_grid"))


def model_info(model: str) -> str:
    try:
        spec = get_family(model)
    except PlaygroundError:
        return ""
    paper = f" ([paper]({spec.paper}))" if getattr(spec, "paper", "") else ""
    return f"**{spec.name}**: {spec.description}{paper}"


def dataset_info(name: str) -> str:
    info = DATASETS.get(name)
    if info is not None:
        return f"*{info.description}*"
    if name and name.startswith("folder:"):
        return "*your own images, from a folder or zip*"
    if name and name.startswith(INPAINT_PREFIX):
        return "*one picture with holes: deep image prior fits its known pixels and fills the rest*"
    return ""


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
                self.objective, self.lr_g, self.lr_d]

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


def _form_defaults(model: str | None) -> dict[str, Any]:
    """Choices and values the form shows for a model (its datasets, preset, objective, rates)."""
    if not model:
        return {"datasets": list_datasets(), "presets": [], "preset": "", "objectives": [],
                "objective": None, "lr_g": 2e-4, "lr_d": 2e-4}
    chosen = default_preset(model)
    values = preset_values(model, chosen)
    objectives = objectives_for(model)
    return {
        "datasets": datasets_for(model),
        "presets": presets_for(model),
        "preset": chosen,
        "objectives": objectives,
        "objective": values.get("objective") or (objectives[0] if objectives else None),
        "lr_g": values.get("lr_g", 2e-4),
        "lr_d": values.get("lr_d", 2e-4),
    }


def _build_form(model_name: str | None) -> _Form:
    d = _form_defaults(model_name)
    first_dataset = d["datasets"][0] if d["datasets"] else None
    model = gr.Dropdown(list(MODELS), value=model_name, label="Model", elem_id="model")
    model_md = gr.Markdown(model_info(model_name or ""), elem_id="model-info")
    dataset = gr.Dropdown(d["datasets"], value=first_dataset, label="Dataset", allow_custom_value=True,
                          elem_id="dataset", info="or type folder:/path/to/images")
    dataset_md = gr.Markdown(dataset_info(first_dataset or ""), elem_id="dataset-info")
    preset = gr.Dropdown(d["presets"], value=d["preset"], label="Preset", elem_id="preset",
                         info="network sizes; the form below overrides it")
    objective = gr.Dropdown(d["objectives"], value=d["objective"], label="Objective", elem_id="objective")
    with gr.Row():
        steps = gr.Number(2000, label="Steps", precision=0, elem_id="steps")
        batch_size = gr.Number(64, label="Batch size", precision=0, elem_id="batch-size")
    with gr.Row():
        lr_g = gr.Number(d["lr_g"], label="lr G", elem_id="lr-g")
        lr_d = gr.Number(d["lr_d"], label="lr D", elem_id="lr-d")
        seed = gr.Number(0, label="Seed", precision=0, elem_id="seed")
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


def _form_updates(model: str, dataset: str) -> tuple:
    """Set the form to ``model`` (its presets, defaults and generated fields) and ``dataset``, for the
    handlers that choose both at once (Inpaint, Draw); in the order of `_Form.model_outputs`."""
    d = _form_defaults(model)
    choices = d["datasets"] if dataset in d["datasets"] else [dataset, *d["datasets"]]
    return (gr.Dropdown(value=model), gr.Dropdown(choices=choices, value=dataset), dataset_info(dataset),
            gr.Dropdown(choices=d["presets"], value=d["preset"]), model_info(model), (model, d["preset"]),
            gr.Dropdown(choices=d["objectives"], value=d["objective"]), gr.Number(value=d["lr_g"]),
            gr.Number(value=d["lr_d"]))


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
    kind = _data_kind({"dataset": first_dataset or ""})
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
    histogram = gr.Plot(figures.score_histogram_figure(None), label="D(x) and D(G(z)): D's verdict on each picture",
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

    def on_model(name: str):
        d = _form_defaults(name)
        return (
            gr.Dropdown(choices=d["datasets"], value=d["datasets"][0] if d["datasets"] else None),
            gr.Dropdown(choices=d["presets"], value=d["preset"]),
            gr.Dropdown(choices=d["objectives"], value=d["objective"]),
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
    form.model.input(on_model, [form.model],
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
    kind = _data_kind(snap)
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


TIMELAPSE_LABEL = "Time-lapse: drag through the sample grids seen so far"


def _wire_controls(registry: SessionRegistry, buttons: Mapping[str, gr.Button], views: _Views) -> None:
    def control(action: str):
        def handler(request: gr.Request):
            session = registry.get(_session_id(request))
            if session is None:
                gr.Info("Nothing to control yet: press Start.")
                return gr.skip()
            try:
                done = _apply(session, action)
            except PlaygroundError as exc:
                raise user_error(exc, title=f"Cannot {action.replace('_', ' ')}") from exc
            if not done:
                gr.Info(_NOOP_MESSAGES[action])
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
            with gr.Tab("Super-resolve", id="super-resolve", elem_id="tab-super-resolve"):
                build_super_resolve_tab(context)
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
        chosen = model if "points" in get_family(model).data_kinds else TOY_MODEL
        return _form_updates(chosen, name)

    board.select(on_click, [points], [points, board], show_progress="hidden", concurrency_limit=None)
    undo.click(lambda placed: (placed[:-1], drawing.canvas(placed[:-1])), [points], [points, board],
               show_progress="hidden")
    clear.click(lambda: ([], drawing.canvas([])), None, [points, board], show_progress="hidden")
    use.click(on_use, [points, form.model], form.model_outputs(), show_progress="hidden")


TOY_MODEL = "mlp-gan"


def _wire_timelapse(registry: SessionRegistry, views: _Views) -> None:
    """The slider picks one of the run's sample grids (or point clouds) seen so far."""
    def on_timelapse(index, request: gr.Request):
        session = registry.get(_session_id(request))
        history = session.sample_history() if session is not None else []
        if not history:
            return gr.skip(), gr.skip()
        sample = history[max(0, min(int(index or 0), len(history) - 1))]
        if sample.get("points") is not None:
            return gr.Image(visible=False), gr.Plot(value=points_view(session.snapshot(), sample), visible=True)
        return gr.Image(value=sample_image(sample.get("grid")), label=f"Sample grid at step {sample['step']}",
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


PROBE_HEADERS = ["model", "dataset", "step", "code size", "probe accuracy", "random encoder", "margin",
                 "seconds"]


def probe_rows(table: list[Mapping[str, Any]]) -> list[list[Any]]:
    """The session's probe results as table rows, accuracies in percent."""
    return [[row["model"], row["dataset"], row["step"], row["code_size"], round(100 * row["accuracy"], 2),
             round(100 * row["random_accuracy"], 2), round(100 * row["margin"], 2), round(row["seconds"], 1)]
            for row in table]


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
    gr.Markdown("Upload a picture and paint over what should be filled in, or pick a built-in mask; with no "
                "upload, the built-in picture is used. **Inpaint** starts a deep-image-prior fit (an untrained "
                "network fitted to the known pixels alone) and shows it live on the Train tab. Pictures are "
                "shrunk to at most 512 pixels on a side.")
    editor = gr.ImageEditor(type="numpy", image_mode="RGBA", label="Your picture: paint the holes",
                            sources=["upload", "clipboard"], transforms=(), layers=False,
                            brush=gr.Brush(colors=["#ff00ff"], color_mode="fixed"), elem_id="inpaint-editor")
    with gr.Row():
        builtin = gr.Dropdown(list(INPAINT_IMAGES), value="astronaut", label="Built-in picture (no upload)",
                              elem_id="inpaint-builtin")
        mask_kind = gr.Dropdown(list(INPAINT_MASK_CHOICES), value="text", elem_id="inpaint-mask-kind",
                                label="Mask when nothing is painted")
        steps = gr.Number(1500, label="Steps", precision=0, elem_id="inpaint-steps")
    start = gr.Button("Inpaint", variant="primary", elem_id="inpaint-btn")

    def on_inpaint(value, picture, kind, how_long, request: gr.Request):
        session = registry.get_or_create(_session_id(request))
        background = (value or {}).get("background")
        try:
            if background is None:
                name = f"{INPAINT_PREFIX}{picture}:{kind}"
            else:
                name = inpainting_dataset(background, session.upload_dir, strokes=(value or {}).get("layers"),
                                          mask_kind=kind)
            session.start(make_run_config(INPAINT_MODEL, name, None, how_long, 1, None, None, 0,
                                          preset=default_preset(INPAINT_MODEL)))
        except PlaygroundError as exc:
            raise user_error(exc, title="Cannot inpaint") from exc
        # the Train tab's form shows the run it is drawing
        return (*_fresh_outputs(session.snapshot()), gr.Tabs(selected="train"), *_form_updates(INPAINT_MODEL, name))

    start.click(on_inpaint, [editor, builtin, mask_kind, steps], [*views.outputs(), tabs, *form.model_outputs()],
                show_progress="minimal",
                concurrency_limit=None)


INPAINT_MODEL = "dip-inpaint"


_NOOP_MESSAGES = {
    "pause": "Nothing is running.",
    "resume": "Nothing is paused.",
    "stop": "Nothing is running.",
    "step": "No active run to step: press Start.",
    "step_d": "No active run to step: press Start.",
    "step_g": "No active run to step: press Start.",
}


def _apply(session: TrainingSession, action: str) -> bool:
    """Run one control; True when it did something."""
    if action == "pause":
        return session.pause()
    if action == "resume":
        return session.resume()
    if action == "stop":
        was_active = session.is_active() or session.status == "queued"
        if not session.stop():
            raise PlaygroundError("The run is still finishing its step; press Stop again in a moment.")
        return was_active
    if action == "reset":
        if not session.reset():
            raise PlaygroundError("The run is still finishing its step; press Reset again in a moment.")
        return True
    which = {"step": "both", "step_d": "d", "step_g": "g"}[action]
    return session.step(which)


def _render(snap: Mapping[str, Any], seen: Mapping[str, Any]) -> tuple:
    """Outputs for one tick: only what changed since `seen`; stops the timer when finished."""
    new_run = snap["run_id"] != seen.get("run_id")
    text = status_text(snap)
    status_out = text if text != seen.get("status") else gr.skip()
    loss_out = gr.skip()
    if snap["metrics_version"] and (new_run or snap["metrics_version"] != seen.get("metrics_version")):
        loss_out = figures.loss_figure(snap["metrics"], quality=snap.get("quality"))
    image_out, reconstruction_out, codes_out, field_out = gr.skip(), gr.skip(), gr.skip(), gr.skip()
    if snap["sample"] is not None and (new_run or snap["sample_version"] != seen.get("sample_version")):
        if _data_kind(snap) == "points":
            field_out = points_view(snap)
        else:
            image_out = sample_image(snap["sample"].get("grid"))
            if snap["sample"].get("reconstruction") is not None:
                reconstruction_out = gr.Image(value=sample_image(snap["sample"]["reconstruction"]), visible=True)
            codes = snap["sample"].get("codes")
            if codes is not None:
                codes_out = gr.Plot(value=figures.codes_figure(codes["points"], codes.get("labels"),
                                                               codes.get("classes", ()), codes.get("prior")),
                                    visible=True)
    if new_run and snap["status"] == "idle":  # Reset: clear what the last run drew
        return ({**_new_view(), "run_id": snap["run_id"]}, *_fresh_outputs(snap)[1:])
    diagnostics_out = gr.skip()
    if new_run or snap["metrics_version"] != seen.get("metrics_version") \
            or snap["sample_version"] != seen.get("sample_version"):
        diagnostics_out = diagnosis_markdown(diagnose(snap))
    histogram_out = gr.skip()
    if (snap["sample"] or {}).get("d_scores") is not None and (new_run or snap["sample_version"] != seen.get("sample_version")):
        histogram_out = gr.Plot(value=figures.score_histogram_figure(snap["sample"]["d_scores"],
                                                                     title=f"step {snap['sample']['step']}"),
                                visible=True)
    timelapse_out = gr.skip()
    if snap.get("sample_steps") and (new_run or snap["sample_version"] != seen.get("sample_version")):
        steps = snap.get("sample_steps")
        timelapse_out = gr.Slider(maximum=max(1, len(steps) - 1), value=len(steps) - 1,
                                  label=f"Time-lapse: {len(steps)} sample grids, steps {steps[0]} to {steps[-1]}")
    timer_out = gr.Timer(active=False) if snap["status"] not in LIVE_STATUSES else gr.skip()
    new_seen = {
        "run_id": snap["run_id"],
        "metrics_version": snap["metrics_version"],
        "sample_version": snap["sample_version"],
        "status": text,
    }
    return (new_seen, status_out, loss_out, image_out, reconstruction_out, codes_out, field_out, diagnostics_out,
            histogram_out, timelapse_out, timer_out)
