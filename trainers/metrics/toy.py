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
