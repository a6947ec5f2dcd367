"""Quality of samples from a Gaussian-mixture toy (ring, grid, 1-D mixture), as GAN Lab and the
mode-collapse literature report it."""

from __future__ import annotations

import torch
from torch import Tensor


def mode_coverage(samples: Tensor, modes: Tensor, std: float, *, min_share: float = 0.01) -> dict[str, float]:
    """Assign each sample to its nearest mode; a sample is high quality within 3 std of it.

    A mode counts as covered when at least ``min_share`` of all samples are high-quality samples
    of that mode (1% is below a fair 1/8 share, so a mode a GAN only grazes still counts, but a
    few stray points do not).
    Returns ``modes_covered``, ``num_modes`` and ``high_quality`` (the share of high-quality samples).
    """
    samples = samples.float().reshape(len(samples), -1)
    modes = modes.float().reshape(len(modes), -1)
    distances = torch.cdist(samples, modes)
    nearest, which = distances.min(dim=1)
    good = nearest <= 3 * std
    counts = torch.bincount(which[good], minlength=len(modes))
    covered = int((counts >= min_share * len(samples)).sum())
    return {"modes_covered": covered, "num_modes": len(modes), "high_quality": float(good.float().mean())}


#: the square [-GRID_EXTENT, GRID_EXTENT]^D the densities are compared on (the toys fit in [-1, 1])
GRID_EXTENT = 1.25


def grid_divergences(real: Tensor, fake: Tensor, *, bins: int = 40) -> dict[str, float]:
    """KL(real || generated) and the Jensen-Shannon divergence between the two densities, as
    histograms on a ``bins``-per-axis grid (GAN Lab's figures). In nats: JS is at most log 2;
    KL adds half a sample's mass to every cell of the generated histogram, so a missed mode costs
    a large but finite amount."""
    real, fake = real.float().reshape(len(real), -1), fake.float().reshape(len(fake), -1)
    dims = real.shape[1]
    if dims not in (1, 2) or fake.shape[1] != dims:
        raise ValueError(f"grid divergences compare 1-D or 2-D points, got {real.shape[1]} and {fake.shape[1]} dims")
    ranges = [-GRID_EXTENT, GRID_EXTENT] * dims
    p, q = (torch.histogramdd(points.clamp(-GRID_EXTENT, GRID_EXTENT), bins=[bins] * dims, range=ranges)
            .hist.flatten().double() for points in (real, fake))
    p, q_smoothed = p / p.sum(), (q + 0.5) / (q.sum() + 0.5 * len(q))
    q = q / q.sum()
    kl = float((p[p > 0] * (p[p > 0] / q_smoothed[p > 0]).log()).sum())
    middle = (p + q) / 2

    def kl_to_middle(a: Tensor) -> Tensor:
        return (a[a > 0] * (a[a > 0] / middle[a > 0]).log()).sum()

    return {"kl_grid": kl, "js_grid": float((kl_to_middle(p) + kl_to_middle(q)) / 2)}
