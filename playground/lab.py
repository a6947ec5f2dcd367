"""The training lab's logic, UI-agnostic: form choices and defaults from the library, the form's
values turned into a run config, the status line in words, and the run controls.

Every front end (the Gradio app, the Streamlit app) calls these, so the two show the same
choices, send the same configs and say the same things.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any, Mapping

import numpy as np

from playground import figures
from playground.config_form import overrides_from_form, real_number, whole_number
from playground.session import TrainingSession
from playground.uploads import checked_rgb, inpainting_dataset, strokes_mask
from trainers.data import DATASETS, FOLDER_PREFIX, INPAINT_PREFIX, dataset_kind, inpainting_choices, list_datasets
from trainers.data.pairs import INPAINT_IMAGES, inpaint_image
from trainers.data.toys import DRAWN_PREFIX
from trainers.engine import RunConfig
from trainers.errors import PlaygroundError
from trainers.registry import get_family

#: Run settings tuned for watching a run live rather than for throughput.
#: the live sample-quality metric is asked for every 25 steps; the engine postpones a measurement
#: that would take it past 4% of the run's time. Each measurement also slows the steps after it a
#: little (caches, allocator), which its own clock cannot see: at 5% the whole cost measured 8-10%
#: (benchmark figure 3, goal at most 10%)
LIVE_RUN_DEFAULTS = {"log_every": 5, "sample_every": 50, "sample_interval_s": 1.0, "out": None,
                     "metric_every": 25, "metric_budget": 0.04}
#: What the Train form's boxes hold before a visitor types, in every front end: the library's own
#: run defaults (the 2-D lab's speed, bench figure 1, is timed at this batch size too)
TRAIN_FORM_DEFAULTS = {f.name: f.default for f in dataclasses.fields(RunConfig)
                       if f.name in ("steps", "batch_size", "seed")}
DEFAULT_MODEL = "dcgan"
#: Shown first: the 2-D ring is GAN Lab's classic, digits trains offline in seconds.
PREFERRED_DATASETS = ("ring", "digits")


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


def keeps_own_dataset(model: str, dataset: str | None) -> bool:
    """True when ``dataset`` is a visitor's own (uploaded or typed pictures, drawn points, a picture
    to inpaint) that ``model`` also trains on: choosing another model must not throw it away."""
    own = (dataset or "").startswith((FOLDER_PREFIX, DRAWN_PREFIX, INPAINT_PREFIX))
    try:
        return own and dataset_kind(dataset) in get_family(model).data_kinds
    except PlaygroundError:
        return False


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
    if "objective" in fields and objective not in (None, ""):
        overrides["objective"] = objective
    for name, value, label in (("lr_g", lr_g, "lr G"), ("lr_d", lr_d, "lr D")):
        if name in fields:  # a cleared box is a mistake to name, like Steps', not a silent default
            overrides[name] = real_number(value, label)
    overrides.update(overrides_from_form(model, edited or {}))
    overrides.update(parse_overrides(advanced))
    return {
        "model": model,
        "dataset": str(dataset).strip(),
        "steps": whole_number(steps, "Steps"),
        "batch_size": whole_number(batch_size, "Batch size"),
        "seed": whole_number(seed, "Seed"),
        "preset": preset or "",
        "overrides": overrides,
        **LIVE_RUN_DEFAULTS,
        # "steps per update": how often the run reports its losses (the page redraws at 2 Hz anyway)
        **({"log_every": whole_number(speed, "Steps per update")} if speed not in (None, "") else {}),
    }


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
    losses = [f"{who} loss {latest[key]:.3f}" for who, key in (("D", "loss_d"), ("G", "loss_g")) if key in latest]
    if losses:  # one of them alone after a Step D or Step G
        parts.append(", ".join(losses))
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


def data_kind_of(snap: Mapping[str, Any]) -> str:
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


def codes_view(sample: Mapping[str, Any] | None):
    """The figure of an encoder family's 2-D codes of real images, by class; None without codes."""
    codes = (sample or {}).get("codes")
    if codes is None:
        return None
    return figures.codes_figure(codes["points"], codes.get("labels"), codes.get("classes", ()), codes.get("prior"))


def histogram_view(sample: Mapping[str, Any] | None):
    """D's verdict on each real and generated picture of a sample event; None for a family without a critic."""
    scores = (sample or {}).get("d_scores")
    if scores is None:
        return None
    return figures.score_histogram_figure(scores, title=f"step {sample['step']}")


TIMELAPSE_LABEL = "Time-lapse: drag through the sample grids seen so far"


def timelapse_label(steps: list[int] | None) -> str:
    """The time-lapse slider's label for the sample steps kept so far."""
    if not steps:
        return TIMELAPSE_LABEL
    return f"Time-lapse: {len(steps)} sample grids, steps {steps[0]} to {steps[-1]}"


def timelapse_frame(snap: Mapping[str, Any], history: list[Mapping[str, Any]], index: Any) -> dict[str, Any] | None:
    """The time-lapse's sample at ``index`` (clamped): ``{"step", "figure"}`` for toy data (points over
    D's field) or ``{"step", "picture"}`` for images; None before the first sample."""
    if not history:
        return None
    try:
        position = int(index or 0)
    except (TypeError, ValueError):
        position = len(history) - 1
    sample = history[max(0, min(position, len(history) - 1))]
    if sample.get("points") is not None:
        return {"step": sample["step"], "figure": points_view(snap, sample)}
    return {"step": sample["step"], "picture": figures.sample_image(sample.get("grid"))}


#: The inpainting lab: its family, and the Inpaint form's default length.
INPAINT_MODEL = "dip-inpaint"
INPAINT_STEPS = 1500


def inpaint_run_config(folder: Any, picture: Any = None, *, builtin: str = INPAINT_IMAGES[0],
                       mask_kind: str = "text", strokes: Any = None, holes: Any = None, mask: Any = None,
                       steps: Any = INPAINT_STEPS) -> dict[str, Any]:
    """The run config for the Inpaint form: a deep-image-prior fit of ``picture`` (saved into the
    session's ``folder`` with painted ``strokes`` or ``holes``, a ``mask`` picture, or the built-in
    ``mask_kind``),
    or of the built-in picture ``builtin`` when there is no upload, or when ``picture`` is that one
    exactly as the form showed it to paint on, with nothing painted: then the run is named after it
    (``inpaint:astronaut:text``)."""
    if picture is None or (mask is None and not np.any(holes) and _unpainted_builtin(picture, builtin, strokes)):
        name = f"{INPAINT_PREFIX}{builtin}:{mask_kind}"
    else:
        name = inpainting_dataset(picture, folder, strokes=strokes, holes=holes, mask=mask, mask_kind=mask_kind)
    return make_run_config(INPAINT_MODEL, name, None, steps, 1, None, None, 0, preset=default_preset(INPAINT_MODEL))


def _unpainted_builtin(picture: Any, builtin: str, strokes: Any) -> bool:
    if builtin not in INPAINT_IMAGES:  # a name, never a file path
        return False
    shown = inpaint_image(builtin)
    return (np.ndim(picture) == 3 and np.shape(picture)[:2] == shown.shape[:2]
            and strokes_mask(strokes, *shown.shape[:2]) is None
            and np.array_equal(checked_rgb(picture, "the picture"), shown))


#: The family a drawn 2-D distribution trains when the chosen one does not take points.
TOY_MODEL = "mlp-gan"


def model_for_points(model: str) -> str:
    """``model`` when it trains on 2-D points (a drawn distribution), else the toy GAN."""
    try:
        return model if "points" in get_family(model).data_kinds else TOY_MODEL
    except PlaygroundError:
        return TOY_MODEL


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


def form_defaults(model: str | None) -> dict[str, Any]:
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


PROBE_HEADERS = ["model", "dataset", "step", "code size", "probe accuracy", "random encoder", "margin",
                 "seconds"]


def probe_rows(table: list[Mapping[str, Any]]) -> list[list[Any]]:
    """The session's probe results as table rows, accuracies in percent."""
    return [[row["model"], row["dataset"], row["step"], row["code_size"], round(100 * row["accuracy"], 2),
             round(100 * row["random_accuracy"], 2), round(100 * row["margin"], 2), round(row["seconds"], 1)]
            for row in table]


#: What each control says when it had nothing to act on.
NOOP_MESSAGES = {
    "pause": "Nothing is running.",
    "resume": "Nothing is paused.",
    "stop": "Nothing is running.",
    "step": "No active run to step: press Start.",
    "step_d": "No active run to step: press Start.",
    "step_g": "No active run to step: press Start.",
}


def apply_control(session: TrainingSession, action: str) -> bool:
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


