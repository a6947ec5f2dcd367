"""The representation metrics on data whose answer is known: MMD between samples, the linear probe."""

from __future__ import annotations

import pytest
import torch

from trainers.errors import ConfigError
from trainers.metrics.representation import linear_probe, mmd_rbf


def gaussian(n: int, seed: int, shift: float = 0.0, dims: int = 4) -> torch.Tensor:
    return torch.randn(n, dims, generator=torch.Generator().manual_seed(seed)) + shift


def test_mmd_is_about_zero_for_one_distribution_and_grows_with_the_gap():
    same = mmd_rbf(gaussian(800, 0), gaussian(800, 1))
    near, far = mmd_rbf(gaussian(800, 0), gaussian(800, 1, 0.5)), mmd_rbf(gaussian(800, 0), gaussian(800, 1, 2.0))
    assert abs(same) < 0.01 and same < near < far, (same, near, far)
    wider = mmd_rbf(gaussian(800, 0), 2 * gaussian(800, 1))  # same mean, twice the spread
    assert wider > 0.05, wider


def classes_in_one_direction(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Images whose class is the sign pattern of two of their 16 pixels (plus noise)."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 4, (n,), generator=g)
    x = 0.3 * torch.randn(n, 1, 4, 4, generator=g)
    x[:, 0, 0, 0] += torch.where(labels % 2 == 1, 2.0, -2.0)
    x[:, 0, 3, 3] += torch.where(labels // 2 == 1, 2.0, -2.0)
    return x, labels


def test_the_probe_reads_linearly_separable_codes_and_not_noise():
    train_x, train_y = classes_in_one_direction(2000, 0)
    test_x, test_y = classes_in_one_direction(1000, 1)
    keeps = linear_probe(lambda x: x.flatten(1), train_x, train_y, test_x, test_y)
    assert keeps.accuracy > 0.99 and keeps.code_size == 16 and keeps.test_images == 1000
    loses = linear_probe(lambda x: x.flatten(1)[:, 5:9], train_x, train_y, test_x, test_y)  # only noise pixels
    assert loses.accuracy < 0.35, loses  # chance is 0.25


def test_the_probe_refuses_what_it_cannot_score():
    x, y = classes_in_one_direction(20, 0)
    with pytest.raises(ConfigError, match="lengths differ"):
        linear_probe(lambda v: v.flatten(1), x, y[:10], x, y)
    with pytest.raises(ConfigError, match="NaN or infinite"):
        linear_probe(lambda v: v.flatten(1) * float("nan"), x, y, x, y)
