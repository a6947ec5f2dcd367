"""Image-to-image datasets: paired and unpaired translation, super-resolution crops, inpainting.

- ``facades``: the pix2pix facades, label map -> photo, paired (400 train / 106 test at 128x128;
  the 100 validation pairs are not used).
- ``facades-unpaired``: label maps (domain A) and photos (domain B) with the photos shuffled by a
  fixed permutation, so no batch holds a true pair: the unpaired task CycleGAN solves.
- ``mnist-edges``: MNIST at 32x32 (padded by 2), the digit's outline (a 3x3 morphological
  gradient) -> the digit filled in its class's colour. Colouring needs the digit recognised, so
  the task is learnable but not a copy, and its naive baselines (the outline itself, or the mean
  target) are far from solving it.
- ``mnist-colorized``: MNIST (domain A, grey) and coloured MNIST (domain B: strokes and background
  each in a random colour, deterministic given the split) drawn from a different shuffle of the
  digits: unpaired, as in the CycleGAN seed.
- ``sr-natural``: natural-image crops for super-resolution: CBSD68 (images 0-59 train, 60-67
  test), the facades photos and scikit-image's colour photographs (train), cut into overlapping
  96x96 crops (stride 48). The SR families degrade them to low resolution themselves. Set5 and
  Set14 are benchmarks only: nothing here reads them.
- ``inpaint:IMAGE:MASK``: one image with holes for deep-image-prior inpainting; IMAGE is a
  scikit-image name (astronaut, chelsea, coffee, camera, ...) or a path to an image file; MASK is
  ``text``, ``holes``, ``box`` or a path to a mask image (white where pixels are missing). The
  image is shrunk to at most 512 pixels on its longer side (``image_size`` lowers that), and
  cropped to sides of multiples of 32, at least 64.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont

from ..errors import DatasetUnavailable
from ..seeding import mix_seed
from .base import Dataset
from .folder import read_image, rgb_picture
from .images import _to_nchw, load_standard

FACADES_FILE = "facades128.npz"
SR_FILE = "sr_cbsd68.npz"
#: Side of the super-resolution training crops and their stride (half a crop: dense, overlapping).
SR_CROP, SR_STRIDE = 96, 48
#: CBSD68 images held out as the sr-natural test split.
SR_TEST_IMAGES = 8
#: scikit-image's colour photographs that load offline (none is in Set5 or Set14).
SKIMAGE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field")
#: Inpainting sources: scikit-image's photographs plus its grey ``camera``.
INPAINT_IMAGES = (*SKIMAGE_PHOTOS, "camera")
INPAINT_MASKS = ("text", "holes", "box")
#: An inpainting image is resized so its longer side is at most this (the fit is per pixel).
INPAINT_MAX_SIDE = 512
INPAINT_MIN_SIDE = 64  # dip-inpaint's 5 scales halve 64 to the 2 pixels its deepest level needs
#: Ten easily told apart colours (matplotlib's tab10): the colour of each MNIST class in mnist-edges.
CLASS_COLOURS = np.array([
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)], dtype=np.float32)


def _npz(data_dir: Path, name: str) -> Path:
    path = data_dir / name
    if not path.is_file():
        raise DatasetUnavailable(f"{name} is not in {data_dir}: put the file there, or set GAN_DATA_DIR "
                                 f"to the folder that holds it (the project's shared data has it)")
    return path


@functools.lru_cache(maxsize=4)
def _facades_arrays(path: str, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    with np.load(path, allow_pickle=False) as archive:
        return _to_nchw(archive[f"label_{split}"]), _to_nchw(archive[f"photo_{split}"])


def load_facades(data_dir: Path, split: str, unpaired: bool = False) -> Dataset:
    labels, photos = _facades_arrays(str(_npz(data_dir, FACADES_FILE).resolve()), split)
    if unpaired:
        g = torch.Generator().manual_seed(mix_seed("facades-unpaired", split))
        photos = photos[torch.randperm(len(photos), generator=g)]
        return Dataset("facades-unpaired", photos, sources=labels, pairing="unpaired",
                       description=f"facades ({split}): label maps (A) and shuffled photos (B), 128x128")
    return Dataset("facades", photos, sources=labels, pairing="paired",
                   description=f"facades ({split}): label map -> photo, 128x128")


def _mnist32(data_dir: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    mnist = load_standard("mnist", data_dir, split)
    return F.pad(mnist.data, (2, 2, 2, 2)), mnist.labels


def _outline(digits: torch.Tensor) -> torch.Tensor:
    """3x3 morphological gradient (dilation minus erosion) of uint8 (N, 1, H, W) digits."""
    x = digits.float()
    dilated = F.max_pool2d(x, 3, stride=1, padding=1)
    eroded = -F.max_pool2d(-x, 3, stride=1, padding=1)
    return (dilated - eroded).clamp_(0, 255).round_().to(torch.uint8)


def load_mnist_edges(data_dir: Path, split: str) -> Dataset:
    digits, labels = _mnist32(data_dir, split)
    colours = torch.from_numpy(CLASS_COLOURS)[labels][:, :, None, None]  # (N, 3, 1, 1)
    coloured = (digits.float() / 255.0 * colours).round_().to(torch.uint8)
    return Dataset("mnist-edges", coloured, labels, tuple(str(i) for i in range(10)),
                   sources=_outline(digits), pairing="paired",
                   description=f"MNIST ({split}) at 32x32: outline -> digit in its class colour")


def colorize_digits(digits: torch.Tensor, seed: int) -> torch.Tensor:
    """uint8 (N, 1, H, W) digits -> (N, 3, H, W): each digit's strokes in one random colour over a
    background of another (deterministic given ``seed``), contrast kept so the digit stays legible."""
    g = torch.Generator().manual_seed(seed)
    n = len(digits)
    # one dark colour (channels in [0, 0.35]) and one light (in [0.65, 1]), either on the strokes:
    # any hue, and a brightness gap of at least 0.3 so a digit never vanishes into its background
    dark = torch.rand(n, 3, 1, 1, generator=g) * 0.35
    light = 0.65 + torch.rand(n, 3, 1, 1, generator=g) * 0.35
    light_strokes = torch.rand(n, 1, 1, 1, generator=g) < 0.5
    stroke, background = torch.where(light_strokes, light, dark), torch.where(light_strokes, dark, light)
    alpha = digits.float() / 255.0
    return ((alpha * stroke + (1 - alpha) * background) * 255).round_().to(torch.uint8)


def load_mnist_colorized(data_dir: Path, split: str) -> Dataset:
    digits, labels = _mnist32(data_dir, split)
    g = torch.Generator().manual_seed(mix_seed("mnist-colorized", split))
    other = torch.randperm(len(digits), generator=g)  # domain B shows other digits: unpaired
    coloured = colorize_digits(digits[other], mix_seed("mnist-colorized-colours", split))
    return Dataset("mnist-colorized", coloured, labels, tuple(str(i) for i in range(10)),
                   sources=digits.expand(-1, 3, -1, -1).contiguous(), pairing="unpaired",
                   description=f"MNIST ({split}) at 32x32: grey digits (A) and other digits in random "
                               f"colours (B), unpaired; labels are domain A's",
                   extra={"labels_b": labels[other]})


def _crops(image: np.ndarray, size: int, stride: int) -> list[np.ndarray]:
    h, w = image.shape[:2]
    return [image[y:y + size, x:x + size] for y in range(0, h - size + 1, stride)
            for x in range(0, w - size + 1, stride)]


@functools.lru_cache(maxsize=2)
def _sr_crops(data_dir: str, split: str) -> torch.Tensor:
    root = Path(data_dir)
    with np.load(_npz(root, SR_FILE), allow_pickle=False) as archive:
        images = [archive[k] for k in sorted(archive.files)]
    chosen = images[:-SR_TEST_IMAGES] if split == "train" else images[-SR_TEST_IMAGES:]
    if split == "train":
        chosen += [skimage_photo(name) for name in SKIMAGE_PHOTOS]
        facades = root / FACADES_FILE
        if facades.is_file():
            with np.load(facades, allow_pickle=False) as archive:
                chosen += list(archive["photo_train"])
    crops = [c for image in chosen for c in _crops(image, SR_CROP, SR_STRIDE)]
    return _to_nchw(np.stack(crops))


def load_sr_natural(data_dir: Path, split: str) -> Dataset:
    crops = _sr_crops(str(data_dir), split)
    what = "CBSD68 0-59, facades photos, scikit-image photos" if split == "train" else "CBSD68 60-67"
    return Dataset("sr-natural", crops, description=f"{len(crops)} {SR_CROP}x{SR_CROP} crops of {what}")


# ---------------------------------------------------------------------------------- inpainting

def skimage_photo(name: str) -> np.ndarray:
    """One of scikit-image's shipped pictures, as ``skimage.data.<name>()`` returns it (the same
    array), read with Pillow from the package's folder: the app's example pictures need it at start,
    where ``skimage.data``'s own reader first imports skimage.io and SciPy (0.23 s of the app's
    start). A picture not in that folder is left to scikit-image."""
    import skimage.data

    for found in sorted(Path(skimage.data.data_dir).glob(f"{name}.*")):
        if found.suffix in (".png", ".jpg"):
            with Image.open(found) as picture:
                return np.asarray(picture)
    return getattr(skimage.data, name)()


def _read_image_file(path: Path, what: str) -> Image.Image:
    if not path.is_file():
        builtins = {"image": INPAINT_IMAGES, "mask": INPAINT_MASKS}.get(what, ())
        choices = f" (a file, or a built-in {what}: {', '.join(builtins)})" if builtins else ""
        raise DatasetUnavailable(f"{what} {path} does not exist{choices}")
    return read_image(path.read_bytes(), f"{what} {path}")


def inpaint_image(name: str, max_side: int = INPAINT_MAX_SIDE) -> np.ndarray:
    """A built-in image by scikit-image name, or an image file, as uint8 (H, W, 3), at most
    ``max_side`` on its longer side and both sides a multiple of 32 (cropped)."""
    image, _ = _fitted_for_inpainting(name, max_side)
    return image


def _fitted_for_inpainting(name: str, max_side: int) -> tuple[np.ndarray, Callable[[Image.Image, Any], Image.Image]]:
    """:func:`inpaint_image`, and the same shrink and crop for a mask drawn on the picture as it
    was (``fit(mask, resampling)``): a mask file keeps its holes where they were painted."""
    if name in INPAINT_IMAGES:
        image = Image.fromarray(skimage_photo(name))
    else:
        image = _read_image_file(Path(name).expanduser(), "image")
    image = rgb_picture(image)
    scale = min(max_side, INPAINT_MAX_SIDE) / max(image.size)
    # at least 1 pixel: a thin picture's short side shrinks to nothing, and the check below refuses it
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale))) if scale < 1 else image.size
    w, h = size[0] // 32 * 32, size[1] // 32 * 32
    if min(w, h) < INPAINT_MIN_SIDE:
        raise DatasetUnavailable(f"image {name} is {size[0]}x{size[1]}: inpainting needs at "
                                 f"least {INPAINT_MIN_SIDE}x{INPAINT_MIN_SIDE} pixels")
    left, top = (size[0] - w) // 2, (size[1] - h) // 2

    def fit(picture: Image.Image, resampling: Any = Image.Resampling.LANCZOS) -> Image.Image:
        picture = picture.resize(size, resampling) if picture.size != size else picture
        return picture.crop((left, top, left + w, top + h))

    return np.asarray(fit(image), dtype=np.uint8), fit


def inpaint_mask(kind: str, height: int, width: int, seed: int = 0) -> np.ndarray:
    """A built-in mask (True where a pixel is missing) or a mask image file resized to fit (a mask
    for an image file is shrunk and cropped as the image was: :func:`load_inpainting`)."""
    if kind == "box":  # the centre quarter of the area
        mask = np.zeros((height, width), bool)
        mask[height // 4: height - height // 4, width // 4: width - width // 4] = True
        return mask
    if kind == "holes":  # about a quarter of the pixels, in random 8x8 squares
        g = np.random.default_rng(seed)
        return np.kron(g.random((height // 8, width // 8)) < 0.25, np.ones((8, 8), bool))[:height, :width]
    if kind == "text":
        canvas = Image.new("L", (width, height), 0)
        draw = ImageDraw.Draw(canvas)
        font = ImageFont.load_default(size=max(10, height // 12))
        line = "GAN Playground: deep image prior fills these letters in. "
        for row, y in enumerate(range(height // 20, height, max(12, height // 7))):
            draw.text((-(row * 37) % 50 - 25, y), line * 3, fill=255, font=font,
                      stroke_width=max(1, height // 256))
        return np.asarray(canvas) > 0
    image = _read_image_file(Path(kind).expanduser(), "mask").convert("L")
    image = image.resize((width, height), Image.Resampling.NEAREST)
    return np.asarray(image) >= 128


def load_inpainting(spec: str, max_side: int = INPAINT_MAX_SIDE) -> Dataset:
    """``IMAGE:MASK`` (the part after ``inpaint:``) -> a one-image dataset with its mask, the image
    at most ``max_side`` (and never more than INPAINT_MAX_SIDE) on its longer side."""
    image_name, sep, mask_kind = spec.rpartition(":")
    if not sep or not image_name or not mask_kind:
        raise DatasetUnavailable(f"inpaint:{spec}: expected inpaint:IMAGE:MASK, e.g. inpaint:astronaut:text "
                                 f"(IMAGE: {', '.join(INPAINT_IMAGES)} or a file; MASK: "
                                 f"{', '.join(INPAINT_MASKS)} or a file)")
    image, fit = _fitted_for_inpainting(image_name, max_side)
    if mask_kind in INPAINT_MASKS:
        mask = inpaint_mask(mask_kind, *image.shape[:2])
    else:  # a mask drawn on the picture at its own size: the holes stay where they were painted
        mask = np.asarray(fit(_read_image_file(Path(mask_kind).expanduser(), "mask").convert("L"),
                              Image.Resampling.NEAREST)) >= 128
    missing = mask.mean()
    if missing == 0 or missing > 0.9:
        raise DatasetUnavailable(f"the mask covers {missing:.0%} of the image: it must hide some pixels "
                                 f"and leave at least 10% known")
    data = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None]
    holes = torch.from_numpy(mask.astype(np.uint8) * 255)[None, None]
    return Dataset(f"inpaint:{spec}", data, sources=holes, pairing="mask",
                   description=f"{image_name} ({image.shape[1]}x{image.shape[0]}) with a {mask_kind} mask "
                               f"hiding {missing:.0%} of its pixels")
