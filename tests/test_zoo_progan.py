"""progan grows one doubling at a time with an exact fade-in, and learns MNIST.

Learning criteria: those of tests/judges.py after 750 steps of cpu-small (7x7 for 150 steps,
fade to 14x14 over 150, stable 150, fade to 28x28 over 150, stable 150): confidence >= 0.5, 8
digits each >= 2% of 1,000 samples, and the Frechet distance to real digits in the judge's
features at most half the untrained generator's (judged at 28x28). Improvement is measured by that
distance rather than by confidence because this generator's untrained blobs already read as
fairly confident digits (0.53). Measured: confidence 0.728, 10 digits, distance 144 vs 812
untrained (ratio 0.18), 161 s.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from judges import train_and_judge
from trainers.config import from_dict
from trainers.engine import RunConfig, Trainer
from trainers.errors import ConfigError
from trainers.models.progan import ProGANConfig, build, minibatch_stddev, schedule

TINY = {"width": 8, "latent_dim": 8, "phase_steps": 10}


def test_schedule_grows_one_doubling_at_a_time_with_a_linear_fade():
    config = from_dict(ProGANConfig, {**TINY, "image_size": 28})  # 7 -> 14 -> 28
    assert config.levels == 3
    assert [schedule(config, s) for s in (0, 9)] == [(0, 1.0), (0, 1.0)]
    assert schedule(config, 10) == (1, 0.0) and schedule(config, 15) == (1, 0.5)
    assert schedule(config, 20) == (1, 1.0) and schedule(config, 29) == (1, 1.0)
    assert schedule(config, 30) == (2, 0.0) and schedule(config, 10**6) == (2, 1.0)


def _at(networks, level: int, alpha: float):
    for network in networks.values():
        network.level.fill_(level)
        network.alpha.fill_(alpha)


def test_fade_in_starts_exactly_where_the_lower_resolution_left_off():
    networks = build(from_dict(ProGANConfig, {**TINY, "image_size": 16}))  # 4 -> 8 -> 16
    generator, discriminator = networks["generator"], networks["discriminator"]
    z = torch.randn(4, 8)
    with torch.no_grad():
        _at(networks, 0, 1.0)
        low = generator(z)
        x = torch.rand(4, 1, 8, 8)
        low_score = discriminator(F.avg_pool2d(x, 2))
        _at(networks, 1, 0.0)
        faded, faded_score = generator(z), discriminator(x)
        _at(networks, 1, 1.0)
        grown = generator(z)
    assert faded.shape == (4, 1, 8, 8)
    assert torch.allclose(faded, F.interpolate(low, scale_factor=2, mode="nearest"), atol=1e-6)
    assert torch.allclose(faded_score, low_score, atol=1e-5)
    assert not torch.allclose(grown, faded)  # the new block is really used once alpha is 1


def at_final_resolution(trainer: Trainer) -> None:
    _at(trainer.model.networks, trainer.model.config.levels - 1, 1.0)


@pytest.mark.slow
def test_progan_learns_mnist(judge, data_dir):
    # batch 32 (its wgan-gp critic differentiates twice): about 2.5 minutes on one thread; it read
    # 9 digits, confidence 0.735, Frechet 0.18x untrained
    train_and_judge(judge, data_dir, "progan", 900, 32, "cpu-small", before_training=at_final_resolution,
                    improvement="frechet")


def test_minibatch_stddev_sees_a_collapsed_batch():
    same = torch.ones(6, 3, 4, 4)
    varied = torch.randn(6, 3, 4, 4)
    assert minibatch_stddev(same)[:, -1].abs().max() == 0
    assert minibatch_stddev(varied)[:, -1].min() > 0.5


def test_live_signals_report_resolution_and_alpha():
    trainer = Trainer(RunConfig(model="progan", dataset="digits", steps=25, batch_size=16, log_every=1,
                                sample_every=10**6, overrides={**TINY, "phase_steps": 5}))  # 4 -> 8
    stats = [e["stats"] for e in trainer.run() if e["type"] == "metrics"]
    assert [s["resolution"] for s in stats[:5]] == [4.0] * 5
    assert stats[5]["resolution"] == 8.0 and stats[5]["alpha"] == 0.0
    assert stats[-1]["resolution"] == 8.0 and stats[-1]["alpha"] == 1.0
    assert trainer.model.sample(3).shape == (3, 1, 8, 8)


@pytest.mark.parametrize("bad", [{"image_size": 30}, {"phase_steps": 0}, {"objective": "hinge"}])
def test_bad_progan_settings_are_refused(bad):
    with pytest.raises(ConfigError, match=next(iter(bad))):
        from_dict(ProGANConfig, bad)
