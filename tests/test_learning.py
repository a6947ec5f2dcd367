"""The GANs learn: trained for real on real (small) data, judged by a statistic of their samples.

Criteria (stated once, here):
- 1-D: the bimodal target (means -0.5/+0.5, std 0.1) has mean 0 and std 0.51; the generator's
  samples must match the mean within 0.1 (a 55/45 split between the modes moves it by 0.05) and
  the std within 0.08, and at least 85% of samples must lie within 3 std of one of the two modes
  (a unimodal Gaussian with the right moments puts only about 58% there).
- 2-D ring: at least 6 of the 8 modes covered, a mode counting when at least 1% of all samples
  are within 3 std of it; and at least 60% of samples within 3 std of some mode.
- DCGAN on MNIST: a small CNN classifier (trained here on MNIST's train split, checked on the test
  split) reads 1,000 samples. Their mean top-class confidence must be at least 0.5 and at least
  0.25 above that of the untrained generator, and at least 8 of the 10 digits must each make up
  2% or more of the samples (confidence alone rewards a generator that draws one digit). That
  test is in tests/test_distributed.py, which holds one process and two to it.
"""

from __future__ import annotations

import pytest

from trainers.engine import RunConfig, Trainer
from trainers.metrics import mode_coverage


def train(**run) -> Trainer:
    trainer = Trainer(RunConfig(log_every=100, sample_every=10**6, **run))
    events = list(trainer.run())
    assert events[-1]["type"] == "done", events[-1]
    return trainer


@pytest.mark.parametrize("objective", ["non-saturating", "minimax"])
def test_1d_gan_matches_target_moments(objective):
    trainer = train(model="mlp-gan", dataset="gaussian-1d", steps=1200, batch_size=256, seed=0,
                    overrides={"objective": objective})
    samples = trainer.model.sample(4000, seed=1)
    target = trainer.dataset
    assert abs(samples.mean().item() - target.data.mean().item()) < 0.1
    assert abs(samples.std().item() - target.data.std().item()) < 0.08
    quality = mode_coverage(samples, target.extra["modes"], target.extra["mode_std"])
    print(f"1-D {objective}: mean {samples.mean():.3f} (target {target.data.mean():.3f}), "
          f"std {samples.std():.3f} (target {target.data.std():.3f}), {quality}")
    assert quality["modes_covered"] == 2
    assert quality["high_quality"] >= 0.85


def test_untrained_1d_gan_fails_the_same_criterion():
    """The criterion above is not met by chance: an untrained generator misses it."""
    trainer = Trainer(RunConfig(model="mlp-gan", dataset="gaussian-1d", steps=1))
    samples = trainer.model.sample(4000, seed=1)
    quality = mode_coverage(samples, trainer.dataset.extra["modes"], trainer.dataset.extra["mode_std"])
    assert quality["high_quality"] < 0.85 or abs(samples.std().item() - 0.51) >= 0.08


@pytest.mark.slow
def test_2d_gan_covers_the_ring():
    trainer = train(model="mlp-gan", dataset="ring", steps=1500, batch_size=256, seed=0)
    ring = trainer.dataset
    quality = mode_coverage(trainer.model.sample(4000, seed=1), ring.extra["modes"], ring.extra["mode_std"])
    print(f"ring: {quality}")
    assert quality["modes_covered"] >= 6, quality
    assert quality["high_quality"] >= 0.6, quality


# DCGAN on MNIST learns in tests/test_distributed.py, in one process and in two alike


# ----- the MLP GAN's hand-written step ----------------------------------------------------


@pytest.mark.parametrize("objective", ["non-saturating", "minimax"])
@pytest.mark.parametrize("update", ["both", "d", "g"])
def test_the_mlp_gans_written_out_gradients_repeat_autograds_step(objective, update):
    """The MLP GAN's fast step is the generic autograd step: the same weights after every update
    the lab can ask for (both, Step D, Step G), and the same figures."""
    import copy

    import torch

    from trainers.models import mlp_gan
    from trainers.models.adversarial import gan_train_step
    from trainers.optim import adam

    by_hand = Trainer(RunConfig(model="mlp-gan", dataset="ring", steps=10, batch_size=64, seed=3,
                                overrides={"objective": objective, "g_layers": 2, "d_layers": 3, "hidden": 32}))
    config, networks = by_hand.model.config, by_hand.model.networks
    twin = copy.deepcopy(networks)
    start = {name: weight.detach().clone() for name, weight in networks.named_parameters()}
    betas = (config.beta1, config.beta2)
    twin_optimizers = {"generator": adam(twin["generator"].parameters(), config.lr_g, betas=betas),
                       "discriminator": adam(twin["discriminator"].parameters(), config.lr_d, betas=betas)}
    for step in range(6):
        real = by_hand.dataset.batch(torch.arange(64 * step, 64 * step + 64), torch.device("cpu"))[0]
        fast = mlp_gan.train_step(config, networks, by_hand.optimizers, real, None, step,
                                  torch.Generator().manual_seed(step), update)
        plain = gan_train_step(config, twin, twin_optimizers, real, None, step,
                               torch.Generator().manual_seed(step), update)
        assert fast.keys() == plain.keys()
        for key in fast:
            torch.testing.assert_close(fast[key], plain[key], rtol=1e-5, atol=1e-6)
    # Step D moves D alone, Step G moves G alone
    untouched = {"d": "generator", "g": "discriminator"}.get(update, "neither")
    for name, weight in networks.named_parameters():
        torch.testing.assert_close(weight, twin.get_parameter(name), rtol=1e-5, atol=1e-6)
        moved = not torch.equal(weight, start[name])
        assert moved == (not name.startswith(untouched)), name


def test_an_mlp_the_written_out_step_cannot_read_takes_autograds_step():
    import torch
    from torch import nn

    from trainers.models import mlp_gan

    plain = mlp_gan._mlp(2, 8, 2, 1)
    assert mlp_gan._linear_layers(plain) == [plain[0], plain[2], plain[4]]
    assert mlp_gan._linear_layers(nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))) is None
    assert mlp_gan._linear_layers(nn.Sequential(nn.Linear(2, 8), nn.LeakyReLU(0.1), nn.Linear(8, 1))) is None
    assert mlp_gan._linear_layers(torch.compile(plain)) is None  # a wrapper: autograd through it
    in_place = mlp_gan._mlp(2, 8, 2, 1)
    in_place.compile()  # what the engine's --compile does: the written-out step reads it, and compiles
    assert mlp_gan._linear_layers(in_place) == [in_place[0], in_place[2], in_place[4]]
    assert mlp_gan._compiled_in_place(in_place) and not mlp_gan._compiled_in_place(plain)
    # a run under autocast (the GPU's bf16 path, rehearsed here on the CPU) trains through autograd
    trainer = Trainer(RunConfig(model="mlp-gan", dataset="ring", steps=3, batch_size=32, seed=0))
    real = trainer.dataset.batch(torch.arange(32), torch.device("cpu"))[0]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = mlp_gan.train_step(trainer.model.config, trainer.model.networks, trainer.optimizers, real,
                                 None, 0, torch.Generator().manual_seed(0), "both")
    assert torch.isfinite(out["loss_d"]) and torch.isfinite(out["loss_g"])
