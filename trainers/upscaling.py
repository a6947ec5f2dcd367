"""Super-resolution of a person's picture, next to bicubic, with the SR protocol's scores.

uint8 (H, W, C) pictures in and out, so front ends need no torch. A model runs tile by tile
(:mod:`trainers.tiling`), so memory stays bounded for a picture of up to 2048x2048. A model trained
for x4 also serves x2: its output is resized down by 2, as Real-ESRGAN's ``outscale`` does.
The "self-check" degrades the picture first (bicubic, antialiased: the standard SR degradation)
and scores each result against the original (Y-channel PSNR and SSIM, ``scale`` border pixels
shaved), which is how a person can see that a model beats bicubic on their own picture.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .data.base import from_pixels, to_pixels
from .errors import ConfigError
from .metrics.image_quality import bicubic_resize, modcrop, sr_min_side, sr_psnr_ssim
from .model import GANModel, with_channels
from .tiling import check_size

OUTSCALES = (2, 4)


def _to_tensor(image: np.ndarray) -> torch.Tensor:
    return from_pixels(torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None])


def _to_image(x: torch.Tensor) -> np.ndarray:
    return to_pixels(x[0]).permute(1, 2, 0).numpy()


def _as_rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] not in (1, 3, 4)):
        raise ConfigError(f"expected an 8-bit grey, RGB or RGBA picture, got {image.dtype} with shape {image.shape}")
    return np.ascontiguousarray(with_channels(image, 3))


def check_outscale(outscale: int) -> int:
    if int(outscale) not in OUTSCALES:
        raise ConfigError(f"upscaling factor must be one of {', '.join(map(str, OUTSCALES))}, not {outscale}")
    return int(outscale)


@torch.inference_mode()
def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bicubic (antialiased when shrinking) resize of a uint8 picture."""
    return _to_image(bicubic_resize(_to_tensor(image), (height, width)))


def bicubic(image: np.ndarray, outscale: int) -> np.ndarray:
    """The baseline: a bicubic enlargement by ``outscale``."""
    outscale, image = check_outscale(outscale), _as_rgb(image)
    check_size(*image.shape[:2])
    return resize(image, image.shape[0] * outscale, image.shape[1] * outscale)


def model_scale(model: GANModel) -> int:
    if model.family.tile_scale is None:
        raise ConfigError(f"{model.family.name} is not a super-resolution model; choose srgan or esrgan")
    return int(model.family.tile_scale(model.config))


def upscale(model: GANModel, image: np.ndarray, outscale: int, **options: Any) -> np.ndarray:
    """``model`` enlarges ``image`` by ``outscale`` (its own factor, or less: then resized down)."""
    outscale, scale = check_outscale(outscale), model_scale(model)
    if outscale > scale:
        raise ConfigError(f"this {model.family.name} model upscales x{scale}; choose x{scale} or less")
    image = _as_rgb(image)
    out = model.translate_image(image, **options)
    if out.shape[-1] == 1:
        out = np.repeat(out, 3, axis=-1)
    if outscale < scale:
        out = resize(out, image.shape[0] * outscale, image.shape[1] * outscale)
    return out


@torch.inference_mode()
def degrade(image: np.ndarray, outscale: int) -> tuple[np.ndarray, np.ndarray]:
    """(low-resolution input, ground truth): the picture cropped to a multiple of ``outscale`` and
    its bicubic downscaling, for the self-check."""
    outscale = check_outscale(outscale)
    truth = modcrop(torch.from_numpy(np.array(_as_rgb(image))).permute(2, 0, 1), outscale).permute(1, 2, 0).numpy()
    # 4 low-resolution pixels a side, and enough left to score once the borders are shaved
    fewest = max(4 * outscale, sr_min_side(outscale))
    if min(truth.shape[:2]) < fewest:
        raise ConfigError(f"the picture is {image.shape[1]}x{image.shape[0]}: the self-check at x{outscale} needs "
                          f"at least {fewest} pixels on a side")
    low = resize(truth, truth.shape[0] // outscale, truth.shape[1] // outscale)
    return low, np.ascontiguousarray(truth)


@torch.inference_mode()
def scores(output: np.ndarray, truth: np.ndarray, outscale: int) -> tuple[float, float]:
    """(PSNR dB, SSIM) of an enlargement against the ground truth, by the SR protocol."""
    return sr_psnr_ssim(_to_tensor(output), _to_tensor(truth), outscale)
