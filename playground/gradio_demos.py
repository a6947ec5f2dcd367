"""The Explore, Translate and Super-resolve tabs: thin Gradio over `playground.demos`.

Each demo runs a shipped checkpoint (loaded once per process by the app's `ModelShelf`, shared
read-only) or a copy of this tab's own run ("this tab's run"). Every button is also a named API
endpoint (``api_name``) that `gradio_client` can call; inference is bounded by a concurrency
limit so a burst of visitors queues instead of thrashing the CPU.
"""

from __future__ import annotations

import functools
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image

from playground import demos
from playground.figures import sample_image
from playground.gradio_common import ScratchFolder, session_id, user_error
from playground.session import SessionRegistry
from playground.uploads import read_picture
from trainers.errors import PlaygroundError

#: Inference requests run at once per endpoint; the rest wait in Gradio's queue with their position.
DEMO_CONCURRENCY = 2
#: The named API endpoints (`gradio_client`: ``client.predict(..., api_name="/generate")``).
DEMO_ENDPOINTS = ("generate", "interpolate", "latent_walk", "class_grid", "translate", "super_resolve")


def _first(choices: list[str]) -> str:
    return choices[0] if choices else demos.SESSION_MODEL


class DemoContext:
    """What the demo handlers share: the registry (for "this tab's run"), the shelf, a scratch folder."""

    def __init__(self, registry: SessionRegistry, shelf: demos.ModelShelf, scratch: ScratchFolder) -> None:
        self.registry, self.shelf, self.scratch = registry, shelf, scratch

    def model(self, choice: str, kind: str, request: gr.Request) -> Any:
        session = self.registry.get(session_id(request)) if choice == demos.SESSION_MODEL else None
        return demos.model_for(self.shelf, session, choice, kind)

    def examples(self, kind: str, datasets: list[str], max_side: int = 256) -> tuple[list[str], list[str]]:
        """Built-in pictures saved as PNGs in the scratch folder, for gr.Examples: (paths, labels)."""
        pictures: list[tuple[str, np.ndarray]] = []
        for dataset in dict.fromkeys(datasets):
            pictures += demos.example_pictures(kind, dataset, count=2, max_side=max_side)[:2]
        pictures += demos.example_pictures("photo", count=2, max_side=max_side)
        paths = []
        for name, picture in pictures:
            path = self.scratch.root / f"example-{len(paths)}-{name.replace(' ', '_')}.png"
            Image.fromarray(picture).save(path)
            paths.append(str(path))
        return paths, [name for name, _ in pictures]


def _guard(title: str):
    """Wrap a handler: the library's PlaygroundError becomes a toast titled ``title``."""
    def wrap(function):
        @functools.wraps(function)  # keeps the signature: Gradio reads it for gr.Request
        def handler(*args, **kwargs):
            try:
                return function(*args, **kwargs)
            except PlaygroundError as exc:
                raise user_error(exc, title=title) from exc
        return handler
    return wrap


def picture_input(elem_id: str, first: str | None = None) -> tuple[gr.File, gr.Image]:
    """An upload box and its preview, holding the picture file ``first`` as they open (an example).
    A file, not gr.Image: every upload reaches `playground.uploads.read_picture`, so a broken file
    (text named .png, a truncated PNG, a decompression bomb) gets a clear message instead of failing
    inside the component."""
    with gr.Row():
        source = gr.File(first, label="Your picture (PNG, JPEG, WebP, GIF, BMP)", file_types=["image"],
                         type="filepath", elem_id=elem_id, height=140)
        preview = gr.Image(read_picture(first) if first else None, label="Preview", type="numpy", interactive=False,
                           height=200, elem_id=f"{elem_id}-preview")

    def on_upload(path):
        if path is None:
            return None
        try:
            return read_picture(path)
        except PlaygroundError as exc:
            raise user_error(exc, title="Cannot read this picture") from exc

    source.change(on_upload, [source], [preview], show_progress="hidden", concurrency_limit=DEMO_CONCURRENCY,
                  api_name=False)
    return source, preview


def build_explore_tab(ctx: DemoContext) -> None:
    """Samples, interpolation (strip + GIF), a 2-D latent walk and class-conditional grids."""
    generators = demos.model_choices(ctx.shelf, "generator")
    conditional = demos.model_choices(ctx.shelf, "conditional")
    gr.Markdown("Explore a generator's latent space: shipped models work at once; **this tab's run** "
                "uses a copy of the model you are training on the Train tab.")
    model = gr.Dropdown(generators, value=_first(generators), label="Model", elem_id="explore-model")
    with gr.Row():
        seed_a = gr.Number(0, label="Seed (A)", precision=0, elem_id="explore-seed-a")
        seed_b = gr.Number(1, label="Seed B (interpolation end)", precision=0, elem_id="explore-seed-b")
        label = gr.Number(0, label="Class (conditional models)", precision=0, elem_id="explore-class")
    with gr.Tab("Samples"):
        count = gr.Slider(1, 64, value=16, step=1, label="Pictures", elem_id="explore-count")
        sample_btn = gr.Button("Generate", variant="primary", elem_id="generate-btn")
        # what Generate gives for the form as it opens, made once: the tab has pictures at first sight
        opening = (sample_image(demos.generate(ctx.shelf.load(model.value), seed_a.value, count.value,
                                               label=label.value))
                   if model.value != demos.SESSION_MODEL else None)
        samples = gr.Image(opening, label="Samples from seed A", type="numpy", format="png", interactive=False,
                           elem_id="generate-output")
    with gr.Tab("Interpolate"):
        with gr.Row():
            frames = gr.Slider(2, 32, value=8, step=1, label="Frames", elem_id="interp-frames")
            mode = gr.Radio(["spherical", "linear"], value="spherical", label="Path", elem_id="interp-mode",
                            info="spherical keeps every frame as typical as the ends")
        interp_btn = gr.Button("Interpolate A to B", variant="primary", elem_id="interp-btn")
        strip = gr.Image(label="Strip", type="numpy", format="png", interactive=False, elem_id="interp-strip")
        gif = gr.Image(label="Animation", type="filepath", interactive=False, elem_id="interp-gif")
    with gr.Tab("Latent walk"):
        with gr.Row():
            side = gr.Slider(3, 12, value=7, step=1, label="Grid side", elem_id="walk-side")
            span = gr.Slider(0.5, 4.0, value=2.0, step=0.25, label="Span (standard deviations)", elem_id="walk-span")
        walk_btn = gr.Button("Walk around seed A", variant="primary", elem_id="walk-btn")
        walk = gr.Image(label="Two latent directions through seed A's picture", type="numpy", format="png",
                        interactive=False, elem_id="walk-output")
    with gr.Tab("By class"):
        class_model = gr.Dropdown(conditional, value=_first(conditional), label="Class-conditional model",
                                  elem_id="class-model")
        with gr.Row():
            chosen = gr.Dropdown([("all", "all")] + [(str(i), str(i)) for i in range(10)], value="all",
                                 label="Class", elem_id="class-choice", allow_custom_value=True)
            truncation = gr.Slider(0.1, 1.0, value=1.0, step=0.05, label="Truncation (1 = off)",
                                   elem_id="class-truncation", info="lower: more typical, less varied")
            per_class = gr.Slider(1, 16, value=8, step=1, label="Per class", elem_id="class-per")
        class_btn = gr.Button("Draw by class", variant="primary", elem_id="class-btn")
        class_md = gr.Markdown(elem_id="class-rows")
        grid = gr.Image(label="One row per class, one latent per column", type="numpy", format="png",
                        interactive=False, elem_id="class-output")

    @_guard("Cannot generate")
    def on_generate(choice, seed, how_many, cls, request: gr.Request):
        return sample_image(demos.generate(ctx.model(choice, "generator", request), seed, how_many, label=cls))

    @_guard("Cannot interpolate")
    def on_interpolate(choice, first, last, n, path, cls, request: gr.Request):
        model = ctx.model(choice, "generator", request)
        result = demos.interpolation(model, first, last, n, path, label=cls)
        return sample_image(result["strip"], min_px=768), ctx.scratch.write_bytes(
            demos.gif_bytes(result["frames"]), ".gif", "interpolation")

    @_guard("Cannot walk")
    def on_walk(choice, seed, n, width, cls, request: gr.Request):
        return sample_image(demos.latent_walk(ctx.model(choice, "generator", request), seed, n, width, label=cls),
                            min_px=512)

    @_guard("Cannot draw by class")
    def on_class(choice, which, seed, psi, n, request: gr.Request):
        model = ctx.model(choice, "conditional", request)
        result = demos.class_grid(model, which, seed, psi, n)
        caption = demos.class_rows_caption(ctx.shelf, choice, model, result["rows"])
        return sample_image(result["grid"], min_px=512), caption

    limits = {"concurrency_limit": DEMO_CONCURRENCY, "concurrency_id": "demos"}
    sample_btn.click(on_generate, [model, seed_a, count, label], [samples], api_name="generate", **limits)
    interp_btn.click(on_interpolate, [model, seed_a, seed_b, frames, mode, label], [strip, gif],
                     api_name="interpolate", **limits)
    walk_btn.click(on_walk, [model, seed_a, side, span, label], [walk], api_name="latent_walk", **limits)
    class_btn.click(on_class, [class_model, chosen, seed_a, truncation, per_class], [grid, class_md],
                    api_name="class_grid", **limits)


def build_translate_tab(ctx: DemoContext) -> None:
    """pix2pix or CycleGAN (either way) on an upload or an example: input, output, round trip."""
    translators = demos.model_choices(ctx.shelf, "translator")
    datasets = [ctx.shelf.dataset_of(name) for name in translators if name != demos.SESSION_MODEL]
    gr.Markdown("Translate a picture with pix2pix (label map → photo) or CycleGAN (either direction, "
                "with the round trip back). Pictures are fitted to the square the model was trained at.")
    with gr.Row():
        model = gr.Dropdown(translators, value=_first(translators), label="Model", elem_id="translate-model")
        direction = gr.Radio([("A to B", "a_to_b"), ("B to A", "b_to_a")], value="a_to_b",
                             label="CycleGAN direction", elem_id="translate-direction")
    paths, labels = ctx.examples("translator", datasets)
    source, _ = picture_input("translate-input", first=paths[0])
    gr.Examples(paths, inputs=[source], label="Examples", example_labels=labels)
    button = gr.Button("Translate", variant="primary", elem_id="translate-btn")

    def translation(model: Any, picture: np.ndarray, which: str) -> tuple:
        result = demos.translate(model, picture, which)
        return (sample_image(result["input"]), sample_image(result["output"]),
                sample_image(result.get("round_trip")))

    # what Translate gives for the form as it opens (the first example), made once: pictures at first sight
    opening = (translation(ctx.shelf.load(model.value), read_picture(paths[0]), direction.value)
               if model.value != demos.SESSION_MODEL else (None, None, None))
    with gr.Row():
        shown = gr.Image(opening[0], label="Input (as the model sees it)", type="numpy", format="png",
                         interactive=False, elem_id="translate-seen")
        output = gr.Image(opening[1], label="Output", type="numpy", format="png", interactive=False,
                          elem_id="translate-output")
        round_trip = gr.Image(opening[2], label="Round trip (CycleGAN)", type="numpy", format="png",
                              interactive=False, elem_id="translate-round-trip")

    @_guard("Cannot translate")
    def on_translate(choice, picture, which, request: gr.Request):
        picture = read_picture(picture)
        return translation(ctx.model(choice, "translator", request), picture, which)

    button.click(on_translate, [model, source, direction], [shown, output, round_trip], api_name="translate",
                 concurrency_limit=DEMO_CONCURRENCY, concurrency_id="demos")


def build_super_resolve_tab(ctx: DemoContext, tab: gr.Tab) -> None:
    """x2 or x4 with each SR model and bicubic side by side, a before/after slider, and scores
    against the original with the self-check; the first example enlarged as the tab first opens."""
    upscalers = demos.model_choices(ctx.shelf, "upscaler")
    gr.Markdown("Enlarge a picture x2 or x4 with SRGAN / ESRGAN next to bicubic (tiled: up to 2048x2048 "
                "in bounded memory). **Self-check** first shrinks your picture by the factor, then scores "
                "every enlargement against the original (PSNR and SSIM on luma, as in the papers).")
    with gr.Row():
        shipped = [name for name in upscalers if name != demos.SESSION_MODEL]
        models = gr.CheckboxGroup(upscalers, value=shipped[:1], label="Models (bicubic is always shown)",
                                  elem_id="sr-models")
        outscale = gr.Radio([2, 4], value=4, label="Factor", elem_id="sr-scale")
        self_check = gr.Checkbox(True, label="Self-check (shrink first, then score)", elem_id="sr-self-check")
    alpha = gr.Slider(0.0, 1.0, value=1.0, step=0.05, elem_id="sr-alpha",
                      label="ESRGAN network interpolation: 0 = PSNR model (smooth), 1 = GAN model (sharp)")
    paths, labels = ctx.examples("photo", [])
    source, _ = picture_input("sr-input", first=paths[0])
    gr.Examples(paths, inputs=[source], label="Examples", example_labels=labels)
    button = gr.Button("Super-resolve", variant="primary", elem_id="sr-btn")
    # png like the gallery: a lossy copy (Gradio's default webp) would blur the very texture compared
    compare = gr.ImageSlider(label="Before / after: bicubic | model (without a model: pixels | bicubic)",
                             type="numpy", format="png", elem_id="sr-compare")
    gallery = gr.Gallery(label="Side by side", columns=3, elem_id="sr-gallery", format="png")
    table = gr.Dataframe(headers=demos.SCORE_HEADERS, value=None, interactive=False, elem_id="sr-scores",
                         label="Scores against the original (self-check)")

    @_guard("Cannot super-resolve")
    def on_super_resolve(chosen, factor, check, mix, picture, request: gr.Request):
        picture = read_picture(picture)
        loaded = {name: ctx.model(name, "upscaler", request) for name in chosen or ()}
        result = demos.super_resolve(loaded, picture, factor, bool(check), alpha=float(mix))
        view = demos.super_resolve_view(result)
        return view["before_after"], view["captioned"], view["rows"]

    button.click(on_super_resolve, [models, outscale, self_check, alpha, source], [compare, gallery, table],
                 api_name="super_resolve", concurrency_limit=DEMO_CONCURRENCY, concurrency_id="demos")

    # results at first sight, as Explore and Translate have: made when the tab first opens rather than
    # at app start (loading an SR model and its first pass take 1.8 s), once per page
    opened = gr.State(False)

    def on_first_open(done, chosen, factor, check, mix, picture, request: gr.Request):
        if done or picture is None:
            return gr.skip(), gr.skip(), gr.skip(), True
        return (*on_super_resolve(chosen, factor, check, mix, picture, request), True)

    tab.select(on_first_open, [opened, models, outscale, self_check, alpha, source], [compare, gallery, table, opened],
               api_name=False, show_progress="minimal", concurrency_limit=DEMO_CONCURRENCY, concurrency_id="demos")
