"""Toy distributions in 1-D and 2-D, scaled to about [-1, 1].

The 8-Gaussian ring and 25-Gaussian grid are the standard mode-collapse tests of the GAN
literature (Metz et al.'s unrolled GAN, VEEGAN, PacGAN), shrunk from radius 2 / spacing 2 to fit
[-1, 1]. Each dataset records its mode centres and their standard deviation in ``extra`` so a
metric can count covered modes.
"""

from __future__ import annotations

import math

import torch

from .base import Dataset

#: Points drawn per toy dataset: plenty for a 2-D density, small enough to build instantly.
TOY_SIZE = 8192


def _mixture(centres: torch.Tensor, std: float, n: int, g: torch.Generator) -> torch.Tensor:
    which = torch.randint(len(centres), (n,), generator=g)
    return centres[which] + std * torch.randn(n, centres.shape[1], generator=g)


def gaussian_1d(n: int = TOY_SIZE, seed: int = 0) -> Dataset:
    """Two equal Gaussians at -0.5 and +0.5 (std 0.1): bimodal, mean 0, std about 0.51."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[-0.5], [0.5]])
    std = 0.1
    return Dataset("gaussian-1d", _mixture(centres, std, n, g).float(),
                   description="1-D mixture of two Gaussians at -0.5 and 0.5 (std 0.1)",
                   extra={"modes": centres, "mode_std": std})


def ring(n: int = TOY_SIZE, seed: int = 0) -> Dataset:
    """8 Gaussians evenly spaced on a circle of radius 0.8, std 0.05."""
    g = torch.Generator().manual_seed(seed)
    angles = torch.arange(8) * (2 * math.pi / 8)
    centres = 0.8 * torch.stack([angles.cos(), angles.sin()], dim=1)
    std = 0.05
    return Dataset("ring", _mixture(centres, std, n, g).float(),
                   description="8 Gaussians on a ring of radius 0.8 (std 0.05)",
                   extra={"modes": centres, "mode_std": std})


def grid(n: int = TOY_SIZE, seed: int = 0) -> Dataset:
    """25 Gaussians on a 5x5 grid spanning [-0.8, 0.8], std 0.04."""
    g = torch.Generator().manual_seed(seed)
    axis = torch.linspace(-0.8, 0.8, 5)
    centres = torch.cartesian_prod(axis, axis)
    std = 0.04
    return Dataset("grid", _mixture(centres, std, n, g).float(),
                   description="25 Gaussians on a 5x5 grid (std 0.04)",
                   extra={"modes": centres, "mode_std": std})


def spiral(n: int = TOY_SIZE, seed: int = 0) -> Dataset:
    """An Archimedean spiral of 1.5 turns with a little noise."""
    g = torch.Generator().manual_seed(seed)
    t = torch.rand(n, generator=g).sqrt() * 3 * math.pi
    r = t / (3 * math.pi) * 0.9
    points = torch.stack([r * t.cos(), r * t.sin()], dim=1)
    points += 0.02 * torch.randn(n, 2, generator=g)
    return Dataset("spiral", points.float(), description="a 1.5-turn spiral")


def two_moons(n: int = TOY_SIZE, seed: int = 0) -> Dataset:
    """Two interleaved half circles (as scikit-learn's make_moons), scaled into [-1, 1]."""
    g = torch.Generator().manual_seed(seed)
    t = torch.rand(n, generator=g) * math.pi
    upper = torch.rand(n, generator=g) < 0.5
    x = torch.where(upper, t.cos(), 1 - t.cos())
    y = torch.where(upper, t.sin(), 0.5 - t.sin())
    points = torch.stack([(x - 0.5) / 1.6, (y - 0.25) / 1.6], dim=1)
    points += 0.03 * torch.randn(n, 2, generator=g)
    labels = upper.long()
    return Dataset("two-moons", points.float(), labels=labels, class_names=("lower", "upper"),
                   description="two interleaved half circles")


#: A drawn distribution: at most this many points, each the centre of a small Gaussian, within
#: [-DRAWN_EXTENT, DRAWN_EXTENT]^2 (the toy view's plane).
MAX_DRAWN_POINTS, DRAWN_STD, DRAWN_EXTENT = 64, 0.04, 1.25
DRAWN_PREFIX = "drawn:"


def drawn_name(points) -> str:
    """The dataset name of points a person placed: ``drawn:x,y;x,y;...`` (2 decimals). The name
    is the whole dataset, so a run that trained on it can be repeated from its config alone."""
    return DRAWN_PREFIX + ";".join(f"{float(x):.2f},{float(y):.2f}" for x, y in points)


def parse_drawn(spec: str) -> torch.Tensor:
    """``x,y;x,y;...`` -> (N, 2) centres, or a ValueError saying what is wrong."""
    try:
        centres = [tuple(float(v) for v in pair.split(",")) for pair in spec.split(";") if pair.strip()]
    except ValueError:
        raise ValueError(f"drawn:{spec[:40]}: expected x,y;x,y;... with numbers") from None
    if not 1 <= len(centres) <= MAX_DRAWN_POINTS:
        raise ValueError(f"a drawn distribution needs 1 to {MAX_DRAWN_POINTS} points, not {len(centres)}")
    if any(len(c) != 2 or not all(math.isfinite(v) and abs(v) <= DRAWN_EXTENT for v in c) for c in centres):
        raise ValueError(f"each drawn point is x,y with both within [-{DRAWN_EXTENT}, {DRAWN_EXTENT}]")
    return torch.tensor(centres, dtype=torch.float32)


def drawn(centres: torch.Tensor, n: int = TOY_SIZE, seed: int = 0) -> Dataset:
    """GAN Lab's "draw your own": a small Gaussian (std DRAWN_STD) around each placed point, so the
    mode metrics count the points G reaches."""
    g = torch.Generator().manual_seed(seed)
    return Dataset(drawn_name(centres.tolist()), _mixture(centres, DRAWN_STD, n, g).float(),
                   description=f"your {len(centres)} drawn point(s), each a Gaussian of std {DRAWN_STD}",
                   extra={"modes": centres, "mode_std": DRAWN_STD})
