"""wgan (weight clipping) and wgan-gp (SN-GAN ResNet, gradient penalty or hinge + spectral norm).

Criteria:
- wgan (cpu-small) and wgan-gp (cpu), 1,000 steps of batch 64 on MNIST, learn by the bars of
  tests/judges.py; wgan-gp's improvement is measured by the Frechet distance to real digits in the
  judge's features (at most half the untrained generator's), since its untrained blobs already
  read as digits with confidence 0.52.
- In the same runs the critic's Wasserstein estimate (``wasserstein_estimate``, E[D(x)] -
  E[D(G(z))]) falls as G learns: its mean over the last quarter of the run must be below
  WASSERSTEIN_FALL = 0.8 times its mean over the second eighth (after the critic's first climb).
- The gradient penalty on the ResNet critic equals a per-sample computation by hand: one input at
  a time, the norm of its whole flattened input gradient.
- The learning rate falls linearly from its base at step 0 to base / total_steps at the last step.
- Spectral norm on every critic conv/dense layer for hinge, on none for wgan-gp, and a hinge model
  survives save/load.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from judges import train_and_judge
from trainers.config import from_dict
from trainers.engine import RunConfig, Trainer
from trainers.errors import ConfigError
from trainers.model import GANModel
from trainers.models import wgan_gp
from trainers.models.wgan import WGANConfig
from trainers.models.wgan_gp import WGANGPConfig, lr_scale
from trainers.objectives import gradient_penalty

#: late mean of the Wasserstein estimate / its early mean must be below this
WASSERSTEIN_FALL = 0.8
TINY_GP = {"g_width": 8, "d_width": 8, "latent_dim": 16}


def digits_run(model: str, steps: int, out=None, **overrides) -> Trainer:
    return Trainer(RunConfig(model=model, dataset="digits", steps=steps, batch_size=16, log_every=1,
                             sample_every=10**6, out=out, overrides=overrides))


def estimate_falls(events) -> tuple[float, float]:
    """(early, late) means of the Wasserstein estimate over a run's metrics windows: the second
    eighth of the run (after the critic's first climb) and the last quarter."""
    values = [e["stats"]["wasserstein_estimate"] for e in events if e["type"] == "metrics"]
    n = len(values)
    early = sum(values[n // 8: n // 4]) / len(values[n // 8: n // 4])
    late = sum(values[-(n // 4):]) / len(values[-(n // 4):])
    return early, late


# ------------------------------------------------------------------------------------ learning
@pytest.mark.slow
# wgan-gp's step (five critic steps, each differentiating twice) is the dearest: batch 32 keeps the
# test about 1.5 minutes on one thread (it read 9 digits, confidence 0.69, Frechet 0.21x untrained)
@pytest.mark.parametrize("model,preset,batch_size,improvement", [("wgan", "cpu-small", 64, "confidence"),
                                                                 ("wgan-gp", "cpu", 32, "frechet")])
def test_learns_mnist_and_the_wasserstein_estimate_falls(model, preset, batch_size, improvement, judge, data_dir):
    _, _, events = train_and_judge(judge, data_dir, model, 1000, batch_size, preset, improvement=improvement)
    early, late = estimate_falls(events)
    print(f"{model}/mnist: wasserstein estimate early {early:.4f}, late {late:.4f} "
          f"(ratio {late / early:.3f})")
    assert early > 0 and late < WASSERSTEIN_FALL * early, (early, late)


# ------------------------------------------------------------------------------------ wgan
def test_wgan_clips_the_critic_uses_rmsprop_and_moves_g_every_fifth_step():
    trainer = digits_run("wgan", 10, g_width=8, d_width=8, latent_dim=8)
    metrics = [e for e in trainer.run() if e["type"] == "metrics"]
    assert [e["step"] for e in metrics if "loss_g" in e["losses"]] == [5, 10]
    assert all("wasserstein_estimate" in e["stats"] for e in metrics)
    critic = torch.cat([p.flatten() for p in trainer.model.networks["discriminator"].parameters()])
    assert critic.abs().max().item() <= 0.01 + 1e-7
    assert all(isinstance(o, torch.optim.RMSprop) for o in trainer.optimizers.values())
    assert all(g["lr"] == 5e-5 for o in trainer.optimizers.values() for g in o.param_groups)
    norms = [m for m in trainer.model.networks["discriminator"].modules()
             if isinstance(m, (nn.BatchNorm2d, nn.GroupNorm))]
    assert not norms  # the default critic has no normalisation


# ------------------------------------------------------------------------------------ wgan-gp
def test_gradient_penalty_is_per_sample_on_the_resnet_critic():
    torch.manual_seed(0)
    config = from_dict(WGANGPConfig, {**TINY_GP, "image_size": 28, "channels": 1})
    critic = wgan_gp.build(config)["discriminator"]
    real, fake = torch.rand(6, 1, 28, 28) * 2 - 1, torch.rand(6, 1, 28, 28) * 2 - 1
    penalty = gradient_penalty(critic, real, fake, torch.Generator().manual_seed(7))
    # by hand: the same interpolates, each image through the critic on its own
    eps = torch.rand(6, 1, 1, 1, generator=torch.Generator().manual_seed(7))
    mixed = eps * real + (1 - eps) * fake
    terms = []
    for x in mixed:
        x = x[None].clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(critic(x).sum(), x)
        terms.append((math.sqrt((grad**2).sum().item()) - 1) ** 2)
    by_hand = sum(terms) / len(terms)
    print(f"gradient penalty {penalty.item():.6f}, by hand {by_hand:.6f}")
    assert penalty.item() == pytest.approx(by_hand, rel=1e-4)
    penalty.backward()  # the penalty trains the critic (create_graph): every weight gets a gradient
    assert all(p.grad is not None for p in critic.parameters() if p.dim() > 1)


def test_learning_rate_anneals_linearly_to_zero():
    config = from_dict(WGANGPConfig, {"total_steps": 1000})
    assert lr_scale(config, 0) == 1.0 and lr_scale(config, 500) == pytest.approx(0.5)
    assert lr_scale(config, 999) == pytest.approx(1e-3)
    assert lr_scale(from_dict(WGANGPConfig, {"total_steps": 1000, "anneal_lr": False}), 999) == 1.0
    trainer = digits_run("wgan-gp", 10, **TINY_GP)
    assert trainer.model.config.total_steps == 10  # filled from the run
    seen = []
    for _ in range(10):
        trainer.train_one()
        seen.append([g["lr"] for o in trainer.optimizers.values() for g in o.param_groups])
    assert seen[0] == [2e-4, 2e-4]
    assert seen[-1] == pytest.approx([2e-4 / 10] * 2)
    assert all(a[0] > b[0] for a, b in zip(seen, seen[1:]))


def test_annealing_resumes_where_it_stopped(tmp_path):
    trainer = digits_run("wgan-gp", 10, out=str(tmp_path / "run"), **TINY_GP)
    trainer.run_config.steps = 6
    list(trainer.run())
    resumed = Trainer.from_checkpoint(tmp_path / "run", steps=10)
    resumed.train_one()
    assert resumed.optimizers["generator"].param_groups[0]["lr"] == pytest.approx(2e-4 * (1 - 6 / 10))


def critic_layers(networks: nn.ModuleDict) -> list[nn.Module]:
    return [m for m in networks["discriminator"].modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def test_spectral_norm_only_for_hinge_and_it_survives_save_and_load(tmp_path):
    plain = wgan_gp.build(from_dict(WGANGPConfig, TINY_GP))
    assert not any(parametrize.is_parametrized(m) for m in plain.modules())
    trainer = digits_run("wgan-gp", 6, out=str(tmp_path / "sn"), objective="hinge", **TINY_GP)
    list(trainer.run())
    networks = trainer.model.networks
    assert critic_layers(networks) and all(parametrize.is_parametrized(m, "weight")
                                           for m in critic_layers(networks))
    assert not any(parametrize.is_parametrized(m) for m in networks["generator"].modules())
    loaded = GANModel.from_pretrained(tmp_path / "sn")
    assert all(parametrize.is_parametrized(m, "weight") for m in critic_layers(loaded.networks))
    assert torch.equal(trainer.model.sample(8, seed=1), loaded.sample(8, seed=1))
    x = trainer.model.sample(8, seed=2)
    networks.eval(), loaded.networks.eval()
    with torch.no_grad():
        assert torch.allclose(networks["discriminator"](x), loaded.networks["discriminator"](x))
    # the spectral norm of each critic weight is about 1 (power iteration, so approximately)
    weight = critic_layers(loaded.networks)[0].weight
    assert torch.linalg.matrix_norm(weight.flatten(1), 2).item() == pytest.approx(1.0, abs=0.1)


def test_hinge_trains_without_penalty_or_estimate():
    trainer = digits_run("wgan-gp", 5, objective="hinge", **TINY_GP)
    metrics = [e for e in trainer.run() if e["type"] == "metrics"]
    assert all("gradient_penalty" not in e["stats"] for e in metrics)
    assert all(math.isfinite(v) for e in metrics for v in e["losses"].values())


# ------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("config_cls", [WGANConfig, WGANGPConfig])
@pytest.mark.parametrize("size", [30, 12, 100])
def test_image_sizes_the_networks_cannot_make_are_refused(config_cls, size):
    with pytest.raises(ConfigError, match="image_size"):
        from_dict(config_cls, {"image_size": size})


@pytest.mark.parametrize("config_cls,objective", [
    (WGANConfig, "wgan-gp"), (WGANConfig, "non-saturating"), (WGANGPConfig, "wasserstein"),
    (WGANGPConfig, "minimax"), (WGANGPConfig, "Hinge")])
def test_objectives_outside_the_family_are_refused(config_cls, objective):
    with pytest.raises(ConfigError, match="objective"):
        from_dict(config_cls, {"objective": objective})


@pytest.mark.parametrize("key,value", [("n_critic", 0), ("clip_value", 0.0), ("lr_d", 0.0)])
def test_wgan_out_of_range_values_are_refused(key, value):
    with pytest.raises(ConfigError, match=key):
        from_dict(WGANConfig, {key: value})


@pytest.mark.parametrize("key,value", [("n_critic", 0), ("gp_weight", -1.0), ("total_steps", -1),
                                       ("anneal_lr", "yes")])
def test_wgan_gp_out_of_range_values_are_refused(key, value):
    with pytest.raises(ConfigError, match=key):
        from_dict(WGANGPConfig, {key: value})
