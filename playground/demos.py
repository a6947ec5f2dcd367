"""The Explore demos, UI-agnostic: models on a shelf, and what each demo makes from them.

Every front end (Gradio, Streamlit, a notebook) calls these and gets numpy pictures, GIF bytes and
plain numbers back; nothing here imports a UI toolkit. The library's errors are PlaygroundErrors
already, which front ends show as they are.

A demo runs either a shipped checkpoint (``pretrained/<name>``: loaded on first use, once per
process, then shared read-only by every visitor) or a copy of the model a visitor is training
(``TrainingSession.model_copy()``), so the same demo explores both.
"""

from __future__ import annotations

import io
import threading
from typing import Any, Sequence

import numpy as np
from PIL import Image

from playground.config_form import real_number, whole_number
from playground.uploads import checked_rgb
from trainers.errors import PlaygroundError

__all__ = ["DEMO_KINDS", "ModelShelf", "demo_kinds", "interpolation", "gif_bytes", "latent_walk",
           "class_grid", "generate", "translate", "super_resolve", "super_resolve_view", "example_pictures",
           "class_names", "class_rows_caption"]

#: What a model can be explored with: which demos list it.
DEMO_KINDS = ("generator", "conditional", "translator", "upscaler")
#: Listed first in each demo's model choice (the first is the default); the rest follow by name.
FEATURED_MODELS = ("dcgan_mnist", "cgan_mnist", "cyclegan_mnist", "pix2pix_facades", "srresnet_x4")
#: Pictures in an animated GIF are enlarged to at least this many pixels on a side.
GIF_MIN_SIDE = 192


def demo_kinds(family: Any) -> set[str]:
    """The demos a model family serves (a FamilySpec in, names from DEMO_KINDS out)."""
    kinds = set()
    draws_from_noise = family.has_generator and family.preview is None and "image" in family.data_kinds
    if draws_from_noise:
        kinds.add("generator")
        if family.conditional:
            kinds.add("conditional")
    if family.translate is not None and family.tile_scale is not None:
        kinds.add("upscaler")
    elif family.translate is not None and "masked" not in family.data_kinds:
        kinds.add("translator")
    return kinds


class ModelShelf:
    """The shipped checkpoints, loaded lazily: listing reads only their JSON, and each model is
    built on first use, once per process, under a lock, then shared read-only (eval mode, no
    gradients) by every visitor. Loading picks the GPU when there is one."""

    def __init__(self, device: str = "auto") -> None:
        self._device = device
        self._lock = threading.Lock()
        self._models: dict[str, Any] = {}
        self._listing: list[dict[str, str]] | None = None  # pretrained/ is read once: it is read-only

    def entries(self, kind: str | None = None) -> list[dict[str, str]]:
        """``{"name", "family", "dataset"}`` of each shipped checkpoint that serves ``kind``."""
        from trainers.pretrained import list_pretrained
        from trainers.registry import MODELS

        if self._listing is None:
            featured = {name: rank for rank, name in enumerate(FEATURED_MODELS)}
            self._listing = sorted(list_pretrained(), key=lambda e: (featured.get(e["name"], len(featured)), e["name"]))
        found = []
        for entry in self._listing:
            family = MODELS.get(entry["family"])
            if family is not None and (kind is None or kind in demo_kinds(family)):
                found.append(entry)
        return found

    def names(self, kind: str | None = None) -> list[str]:
        return [entry["name"] for entry in self.entries(kind)]

    def load(self, name: str) -> Any:
        """The shipped model ``name`` (a GANModel, shared: never train or modify it)."""
        from trainers.errors import CheckpointError
        from trainers.model import GANModel
        from trainers.pretrained import is_pretrained, pretrained_path

        with self._lock:
            if name in self._models:
                return self._models[name]
            if not name or "/" in name or "\\" in name or name.startswith(".") or not is_pretrained(name):
                raise PlaygroundError(f"No shipped model is called {name!r}; choose one of "
                                      f"{', '.join(self.names()) or 'none (pretrained/ is empty)'}")
            try:
                model = GANModel.from_pretrained(pretrained_path(name), device=self._device)
            except CheckpointError as error:
                raise PlaygroundError(f"The shipped model {name} cannot be loaded: {error}") from error
            model.networks.eval().requires_grad_(False)
            self._models[name] = model
            return model

    def dataset_of(self, name: str) -> str:
        return next((entry["dataset"] for entry in self.entries() if entry["name"] == name), "")


def class_names(dataset: str, count: int) -> list[str]:
    """Readable class names for a dataset's labels ("0".."9" for digits)."""
    from trainers.data.images import CIFAR10_CLASSES, FASHION_CLASSES

    known = {"fashion-mnist": FASHION_CLASSES, "cifar10": CIFAR10_CLASSES}.get(dataset)
    if known and len(known) == count:
        return list(known)
    return [str(index) for index in range(count)]


def _label(model: Any, label: Any) -> Any:
    """A class label tensor for a conditional model (class 0 when none is chosen), else None."""
    if not model.family.conditional:
        return None
    import torch

    index = 0 if label in (None, "") else whole_number(label, "Class")
    if not 0 <= index < model.config.num_classes:
        raise PlaygroundError(f"Class must be between 0 and {model.config.num_classes - 1}, not {index}")
    return torch.tensor([index], device=model.device)


def generate(model: Any, seed: Any, count: Any = 16, label: Any = None) -> np.ndarray:
    """``count`` pictures from ``seed``'s noise batch, as one grid; a conditional model draws them
    all of class ``label`` (the same box the other demos read), or of each class in turn without one."""
    from trainers import latent

    count = whole_number(count, "Number of pictures")
    if not 1 <= count <= 256:
        raise PlaygroundError(f"Number of pictures must be between 1 and 256, not {count}")
    seed = whole_number(seed, "Seed")
    latent.seed_noise(model, seed)  # refuses a seed out of range, a model that draws from no noise
    noise = model.noise(count, seed=seed)
    labels = None
    if model.family.conditional:
        import torch

        labels = (torch.arange(count, device=model.device) % model.config.num_classes if label in (None, "")
                  else _label(model, label).expand(count))
    pictures = latent.decode(model, noise, labels)
    return latent.tile(pictures, columns=min(8, count))


def interpolation(model: Any, seed_a: Any, seed_b: Any, frames: Any = 8, mode: str = "spherical",
                  label: Any = None) -> dict[str, Any]:
    """From seed_a's picture to seed_b's: ``{"strip": one row, "frames": [pictures]}``."""
    from trainers import latent

    noise = latent.interpolation_noise(model, whole_number(seed_a, "Seed A"), whole_number(seed_b, "Seed B"),
                                       whole_number(frames, "Frames"), mode)
    labels = _label(model, label)
    pictures = latent.decode(model, noise, None if labels is None else labels.repeat(len(noise)))
    return {"strip": latent.tile(pictures, columns=len(pictures)), "frames": list(pictures)}


def gif_bytes(frames: Sequence[np.ndarray], frame_ms: int = 120, min_side: int = GIF_MIN_SIDE) -> bytes:
    """An endlessly looping GIF that goes there and back (so the loop has no jump)."""
    if len(frames) < 2:
        raise PlaygroundError("An animation needs at least 2 frames")
    factor = max(1, -(-min_side // max(1, frames[0].shape[0])))
    pictures = [Image.fromarray(np.squeeze(frame).repeat(factor, 0).repeat(factor, 1)) for frame in frames]
    there_and_back = pictures + pictures[-2:0:-1]
    buffer = io.BytesIO()
    there_and_back[0].save(buffer, format="GIF", save_all=True, append_images=there_and_back[1:],
                           duration=frame_ms, loop=0)
    return buffer.getvalue()


def latent_walk(model: Any, seed: Any, side: Any = 7, span: Any = 2.0, label: Any = None) -> np.ndarray:
    """A side x side grid around seed's picture along two latent directions."""
    from trainers import latent

    side = whole_number(side, "Grid side")
    noise = latent.walk_noise(model, whole_number(seed, "Seed"), side, real_number(span, "Span"))
    labels = _label(model, label)
    pictures = latent.decode(model, noise, None if labels is None else labels.repeat(len(noise)))
    return latent.tile(pictures, columns=side)


def class_grid(model: Any, chosen: Any, seed: Any, truncation: Any = 1.0, per_class: Any = 8) -> dict[str, Any]:
    """One row per class (or the chosen class alone): ``{"grid", "rows": [class names]}``."""
    from trainers import latent

    if not model.family.conditional:
        raise PlaygroundError(f"{model.family.name} is not class-conditional; choose a cgan or mc-gan model")
    count = int(model.config.num_classes)
    classes = list(range(count)) if chosen in (None, "", "all") else [whole_number(chosen, "Class")]
    noise, labels = latent.class_noise(model, classes, whole_number(per_class, "Pictures per class"),
                                       whole_number(seed, "Seed"), real_number(truncation, "Truncation"))
    pictures = latent.decode(model, noise, labels)
    return {"grid": latent.tile(pictures, columns=whole_number(per_class, "Pictures per class")), "rows": classes}


def translate(model: Any, image: Any, direction: str = "a_to_b") -> dict[str, np.ndarray]:
    """``{"input", "output"}`` and, for CycleGAN, ``"round_trip"``: the output translated back."""
    if image is None:
        raise PlaygroundError("Upload a picture or pick an example first.")
    picture = checked_rgb(image, "the picture")
    if model.family.name == "cyclegan":
        if direction not in ("a_to_b", "b_to_a"):
            raise PlaygroundError(f"Direction must be a_to_b or b_to_a, not {direction!r}")
        back = "b_to_a" if direction == "a_to_b" else "a_to_b"
        output = _rgb(model.translate_image(picture, direction=direction))
        return {"input": picture, "output": output,
                "round_trip": _rgb(model.translate_image(output, direction=back))}
    if model.family.translate is None or model.family.tile_scale is not None:
        raise PlaygroundError(f"{model.family.name} does not translate pictures; choose pix2pix or cyclegan")
    return {"input": picture, "output": _rgb(model.translate_image(picture))}


def _rgb(picture: np.ndarray) -> np.ndarray:
    return np.repeat(picture, 3, axis=-1) if picture.ndim == 3 and picture.shape[-1] == 1 else picture


def super_resolve(models: dict[str, Any], image: Any, outscale: Any = 4, self_check: bool = False,
                  alpha: float | None = None) -> dict[str, Any]:
    """Enlarge a picture with each model and with bicubic, side by side.

    With ``self_check`` the picture is first shrunk by ``outscale`` (the standard degradation) and
    every result is scored against it: ``{"input", "truth", "outputs": {name: picture},
    "scores": {name: (psnr, ssim)}}``; without, ``truth`` is None and ``scores`` empty.
    ``alpha`` is ESRGAN's PSNR (0) <-> GAN (1) network interpolation.
    """
    from trainers import upscaling

    if image is None:
        raise PlaygroundError("Upload a picture or pick an example first.")
    outscale = whole_number(outscale, "Upscaling factor")
    picture = checked_rgb(image, "the picture")
    truth = None
    if self_check:
        picture, truth = upscaling.degrade(picture, outscale)
    outputs = {"bicubic": upscaling.bicubic(picture, outscale)}
    mix = None if alpha is None else real_number(alpha, "ESRGAN interpolation")
    for name, model in models.items():
        options = {"alpha": mix} if mix is not None and model.family.name == "esrgan" else {}
        outputs[name] = upscaling.upscale(model, picture, outscale, **options)
    scores = {name: upscaling.scores(output, truth, outscale) for name, output in outputs.items()} if self_check else {}
    return {"input": picture, "truth": truth, "outputs": outputs, "scores": scores}


SCORE_HEADERS = ["method", "PSNR (dB, Y)", "SSIM (Y)"]


def super_resolve_view(result: dict[str, Any]) -> dict[str, Any]:
    """What a front end shows of `super_resolve`'s result: ``"before_after"`` (bicubic and the first
    model; with no model, the pixels themselves and bicubic), ``"captioned"`` [(picture, caption)]
    with each output's scores and the original, and ``"rows"`` for a score table (SCORE_HEADERS)."""
    outputs, scores = result["outputs"], result["scores"]
    captioned = [(picture, name + (" · PSNR {:.2f} dB, SSIM {:.4f}".format(*scores[name]) if name in scores else ""))
                 for name, picture in outputs.items()]
    if result["truth"] is not None:
        captioned.append((result["truth"], "original"))
    rows = [[name, round(psnr, 2), round(ssim, 4)] for name, (psnr, ssim) in scores.items()]
    model_outputs = [picture for name, picture in outputs.items() if name != "bicubic"]
    if model_outputs:
        before_after = (outputs["bicubic"], model_outputs[0])
    else:
        factor = outputs["bicubic"].shape[0] // result["input"].shape[0]
        before_after = (result["input"].repeat(factor, 0).repeat(factor, 1), outputs["bicubic"])
    return {"before_after": before_after, "captioned": captioned, "rows": rows}


def class_rows_caption(shelf: ModelShelf, choice: str, model: Any, rows: Sequence[int]) -> str:
    """The class-grid's caption: its rows' class names, top to bottom."""
    names = class_names(shelf.dataset_of(choice), int(model.config.num_classes))
    return "Rows, top to bottom: " + ", ".join(names[r] for r in rows)


def example_pictures(kind: str, dataset: str = "", count: int = 4,
                     max_side: int = 256) -> list[tuple[str, np.ndarray]]:
    """Built-in pictures to try a demo on without an upload: test-split inputs of the model's own
    dataset where the data is here (facade label maps for pix2pix, grey digits for CycleGAN), else
    scikit-image's photographs (always offline)."""
    from trainers.data import DatasetUnavailable, load_dataset
    from trainers.data.pairs import SKIMAGE_PHOTOS, inpaint_image

    if kind == "translator" and dataset:
        try:
            test = load_dataset(dataset, None, "test")
        except (DatasetUnavailable, PlaygroundError):
            test = None
        if test is not None and test.sources is not None and len(test):
            shown = np.linspace(0, len(test) - 1, min(count, len(test))).round().astype(int)
            pictures = test.sources[shown].permute(0, 2, 3, 1).numpy()  # stored as uint8 pixels
            return [(f"{dataset} test {int(i)}", np.repeat(p, 3, -1) if p.shape[-1] == 1 else p)
                    for i, p in zip(shown, pictures)]
    return [(name, inpaint_image(name, max_side)) for name in SKIMAGE_PHOTOS[:count]]


#: The model choice that means "the model this visitor is training", next to the shipped ones.
SESSION_MODEL = "this tab's run"


def model_for(shelf: ModelShelf, session: Any, choice: str, kind: str) -> Any:
    """The model a demo runs: a shipped one by name, or (``SESSION_MODEL``) a copy of the weights
    of the visitor's run, checked to serve ``kind``."""
    if choice != SESSION_MODEL:
        model = shelf.load(choice)
    elif session is None:
        raise PlaygroundError("Nothing has been trained in this tab yet: start a run on the Train tab, "
                              "or choose a shipped model.")
    else:
        model = session.model_copy()
    if kind not in demo_kinds(model.family):
        wanted = {"generator": "an image generator (dcgan, wgan-gp, cgan, ...)",
                  "conditional": "a class-conditional generator (cgan or mc-gan)",
                  "translator": "pix2pix or cyclegan", "upscaler": "srgan or esrgan"}[kind]
        article = "an" if model.family.name[0] in "aeiou" else "a"
        raise PlaygroundError(f"{choice} is {article} {model.family.name} model; this demo needs {wanted}")
    return model


def model_choices(shelf: ModelShelf, kind: str) -> list[str]:
    """The shipped models that serve ``kind``, then the visitor's own run."""
    return [*shelf.names(kind), SESSION_MODEL]
