"""One unconditional trainer runs DCGAN under every objective, chosen by name."""

from __future__ import annotations

import math

import pytest
import torch

from trainers.config import from_dict
from trainers.engine import RunConfig, Trainer
from trainers.errors import ConfigError
from trainers.models.dcgan import DCGANConfig
from trainers.registry import get_family

TINY = {"g_width": 8, "d_width": 8, "latent_dim": 16}


def run_digits(steps: int, **overrides) -> tuple[Trainer, list[dict]]:
    trainer = Trainer(RunConfig(model="dcgan", dataset="digits", steps=steps, batch_size=32, log_every=1,
                                sample_every=10**6, overrides={**TINY, **overrides}))
    return trainer, [e for e in trainer.run() if e["type"] == "metrics"]


@pytest.mark.parametrize("objective", get_family("dcgan").objectives)
def test_every_objective_trains_dcgan(objective):
    _, metrics = run_digits(10, objective=objective)
    assert len(metrics) == 10
    for event in metrics:
        assert all(math.isfinite(v) for v in {**event["losses"], **event["stats"]}.values())


def test_wasserstein_objectives_update_g_every_fifth_step_and_report_the_estimate():
    _, metrics = run_digits(10, objective="wgan-gp")
    g_steps = [e["step"] for e in metrics if "loss_g" in e["losses"]]
    assert g_steps == [5, 10]  # n_critic = 5 by default for Wasserstein objectives
    assert all("wasserstein_estimate" in e["stats"] and "gradient_penalty" in e["stats"] for e in metrics)
    _, metrics = run_digits(4, objective="wgan-gp", n_critic=2)
    assert [e["step"] for e in metrics if "loss_g" in e["losses"]] == [2, 4]


def test_weight_clipping_bounds_the_critic():
    trainer, _ = run_digits(6, objective="wasserstein", clip_value=0.02)
    weights = torch.cat([p.flatten() for p in trainer.model.networks["discriminator"].parameters()])
    assert weights.abs().max().item() <= 0.02 + 1e-7
    generator = torch.cat([p.flatten() for p in trainer.model.networks["generator"].parameters()])
    assert generator.abs().max().item() > 0.02  # only the critic is clipped


def test_wgan_gp_critic_has_no_batch_norm():
    config = from_dict(DCGANConfig, {**TINY, "objective": "wgan-gp", "image_size": 28})
    modules = list(get_family("dcgan").build(config)["discriminator"].modules())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in modules)
    assert any(isinstance(m, torch.nn.GroupNorm) for m in modules)


def test_wgan_gp_with_batch_norm_is_refused():
    with pytest.raises(ConfigError, match="d_norm: batch norm"):
        from_dict(DCGANConfig, {"objective": "wgan-gp", "d_norm": "batch"})
