"""Walking a generator's latent space: the Explore demos' library half.

Noise paths between seeds (linear or spherical interpolation), a 2-D walk around a seed, grids per
class with the truncation trick, and decoding any of them to uint8 pictures. The seeds are the
ones ``GANModel.noise(n, seed)`` draws from, so "seed 7" means the same face here, in the CLI and
in a sample grid.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from .data.base import to_pixels
from .errors import ConfigError
from .model import GANModel

#: Interpolation modes: straight line, or great circle (Gaussian latents live near a sphere, where
#: the straight line's midpoints are atypically short vectors: White, "Sampling Generative Networks")
MODES = ("linear", "spherical")
MAX_FRAMES = 64
MAX_WALK_SIDE = 12
MAX_PER_CLASS = 64
#: Pictures decoded per forward pass (bounded memory for a 64-frame strip of a big generator)
CHUNK = 64


def _check_generator(model: GANModel) -> None:
    if not model.family.has_generator or model.family.noise is None or model.family.preview is not None:
        raise ConfigError(f"{model.family.name} has no latent space to explore: it is not a generator "
                          f"of images from noise")


def seed_noise(model: GANModel, seed: int) -> Tensor:
    """The latent vector a seed draws, shape (1, latent...)."""
    _check_generator(model)
    if not 0 <= int(seed) <= 2**63 - 1:
        raise ConfigError(f"seed must be between 0 and 2**63 - 1, not {seed}")
    return model.noise(1, seed=int(seed))


def lerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Straight-line points a + t (b - a); ``t`` (N,) -> (N, *a.shape[1:])."""
    t = t.view(-1, *([1] * (a.dim() - 1))).to(a)
    return a + t * (b - a)


def slerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Great-circle points from a to b (norms interpolated linearly); nearly parallel vectors
    fall back to the straight line, where the two agree."""
    flat_a, flat_b = a.flatten(1).float(), b.flatten(1).float()
    unit_a = flat_a / flat_a.norm(dim=1, keepdim=True).clamp(min=1e-8)
    unit_b = flat_b / flat_b.norm(dim=1, keepdim=True).clamp(min=1e-8)
    omega = torch.acos((unit_a * unit_b).sum(1).clamp(-1, 1))  # (1,)
    if float(omega.abs().max()) < 1e-4:
        return lerp(a, b, t)
    t = t.view(-1, 1).to(flat_a)
    direction = (torch.sin((1 - t) * omega) * unit_a + torch.sin(t * omega) * unit_b) / torch.sin(omega)
    norm = (1 - t) * flat_a.norm(dim=1) + t * flat_b.norm(dim=1)
    return (direction * norm).view(-1, *a.shape[1:]).to(a.dtype)


def interpolation_noise(model: GANModel, seed_a: int, seed_b: int, frames: int, mode: str = "spherical") -> Tensor:
    """``frames`` latent vectors from seed_a's to seed_b's, both ends included."""
    if mode not in MODES:
        raise ConfigError(f"interpolation mode must be one of {', '.join(MODES)}, not {mode!r}")
    if not 2 <= int(frames) <= MAX_FRAMES:
        raise ConfigError(f"frames must be between 2 and {MAX_FRAMES}, not {frames}")
    a, b = seed_noise(model, seed_a), seed_noise(model, seed_b)
    t = torch.linspace(0, 1, int(frames))
    return (slerp if mode == "spherical" else lerp)(a, b, t)


def walk_noise(model: GANModel, seed: int, side: int, span: float) -> Tensor:
    """A side x side grid of latents around seed's: along two random orthogonal directions (the
    latent's own two axes when it is 2-D), from -span to +span prior standard deviations."""
    if not 2 <= int(side) <= MAX_WALK_SIDE:
        raise ConfigError(f"walk grid side must be between 2 and {MAX_WALK_SIDE}, not {side}")
    if not 0 < float(span) <= 10:
        raise ConfigError(f"span must be above 0 and at most 10 standard deviations, not {span}")
    seed_latent = seed_noise(model, seed)
    centre = seed_latent.flatten(1)
    dims = centre.shape[1]
    if dims == 2:
        axes = torch.eye(2)
    else:  # orthonormal pair from the seed, so the same seed walks the same plane
        generator = torch.Generator().manual_seed(int(seed) ^ 0x5EED)
        axes, _ = torch.linalg.qr(torch.randn(dims, 2, generator=generator))
        axes = axes.T
    offsets = torch.linspace(-float(span), float(span), int(side))
    rows, cols = torch.meshgrid(offsets, offsets, indexing="ij")
    steps = torch.stack([cols.flatten(), rows.flatten()], 1)  # x along the first axis, y down the second
    points = centre.cpu() + steps @ axes.to(centre.dtype)
    return points.view(-1, *seed_latent.shape[1:]).to(model.device)


def class_noise(model: GANModel, classes: list[int], per_class: int, seed: int,
                truncation: float = 1.0) -> tuple[Tensor, Tensor]:
    """(noise, labels) for ``per_class`` pictures of each class: the same ``per_class`` latents in
    every class's row, so a column shows one style across the classes. ``truncation`` psi in (0, 1]
    pulls each latent towards the prior's mean (0): lower is more typical and less varied."""
    if not model.family.conditional:
        raise ConfigError(f"{model.family.name} is not class-conditional; choose cgan or mc-gan")
    num_classes = int(model.config.num_classes)
    bad = [c for c in classes if not 0 <= int(c) < num_classes]
    if bad or not classes:
        shown = ", ".join(str(c) for c in bad) if bad else "none"
        raise ConfigError(f"class must be between 0 and {num_classes - 1}, not {shown}")
    if not 1 <= int(per_class) <= MAX_PER_CLASS:
        raise ConfigError(f"pictures per class must be between 1 and {MAX_PER_CLASS}, not {per_class}")
    if not 0 < float(truncation) <= 1:
        raise ConfigError(f"truncation must be above 0 and at most 1 (1 = off), not {truncation}")
    base = model.noise(int(per_class), seed=int(seed)) * float(truncation)
    noise = base.repeat(len(classes), *([1] * (base.dim() - 1)))
    labels = torch.tensor([int(c) for c in classes], device=model.device).repeat_interleave(int(per_class))
    return noise, labels


@torch.inference_mode()
def decode(model: GANModel, noise: Tensor, labels: Tensor | None = None) -> np.ndarray:
    """Latents -> uint8 pictures (N, H, W, C), chunk by chunk; the weights are untouched."""
    _check_generator(model)
    if model.family.conditional and labels is None:
        labels = torch.zeros(len(noise), dtype=torch.long, device=model.device)
    pictures = []
    for start in range(0, len(noise), CHUNK):
        chunk = noise[start: start + CHUNK].to(model.device)
        part = None if labels is None else labels[start: start + CHUNK].to(model.device)
        images = model.family.sample(model.config, model.networks, chunk, part)
        pictures.append(to_pixels(images).permute(0, 2, 3, 1).cpu())
    return torch.cat(pictures).numpy()


def tile(pictures: np.ndarray, columns: int, padding: int = 2) -> np.ndarray:
    """uint8 (N, H, W, C) -> one (rows*H, columns*W, 3) picture on a white background."""
    count, height, width, channels = pictures.shape
    if channels == 1:
        pictures = np.repeat(pictures, 3, axis=-1)
    rows = math.ceil(count / columns)
    out = np.full((rows * (height + padding) + padding, columns * (width + padding) + padding, 3), 255, np.uint8)
    for index, picture in enumerate(pictures):
        r, c = divmod(index, columns)
        top, left = padding + r * (height + padding), padding + c * (width + padding)
        out[top: top + height, left: left + width] = picture[..., :3]
    return out
