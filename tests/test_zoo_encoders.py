"""Encoder families learn on MNIST: reconstructions, codes that match a prior, probe-able features.

Every learning test trains with seed 0 and batch 64 on MNIST's train split, preset cpu-small, and
measures on MNIST test digits it never saw. The linear probe (trainers.metrics.representation)
fits a linear softmax classifier on frozen codes of 10,000 training images and scores 5,000 test
images; its baseline is the same probe on a randomly initialised encoder of the same architecture.

- autoencoder (300 steps): the mean squared reconstruction error falls to at most
  MAX_ERROR_RATIO = 0.1 of the untrained network's (measured: 0.926 -> 0.033); the shared MNIST
  judge (tests/judges.py) reads at least MIN_RECON_ACCURACY = 85% of the reconstructions as the
  digit they came from (measured: 94%; untrained 9%); the probe beats the random encoder.
- aae (600 steps, 8-number Gaussian code): the reconstruction error falls to at most
  MAX_ERROR_RATIO_AAE = 0.2 of the untrained one's; the codes of 1,000 test digits match the prior:
  the squared MMD between them and 1,000 prior draws (Gaussian kernel, median bandwidth) is at
  most MAX_PRIOR_MMD = 0.05 (two independent prior samples: about 0; the untrained encoder 0.44;
  a plain autoencoder of the same size, trained alike, 0.53); the probe beats the random encoder.
- aae-gan (600 steps): the generator passes the zoo's sample bars (judges.train_and_judge) and its
  reconstruction error falls to at most MAX_ERROR_RATIO_AAE of the untrained one's.
- bigan (2,000 steps): the probe beats the random encoder by at least MIN_BIGAN_MARGIN = 4 points
  (measured 88.4% against 81.2% at this budget), and G(E(x)) is closer to x than before training.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from trainers.config import from_dict
from trainers.data import load_dataset
from trainers.engine import RunConfig, Trainer, image_grid
from trainers.errors import ConfigError
from trainers.model import GANModel
from trainers.metrics.representation import mmd_rbf, probe_against_random
from trainers.models.aae import AAEConfig, prior_sample
from trainers.models.aae_gan import AAEGANConfig
from trainers.models.adversarial import linear_decay
from trainers.models.bigan import BiGANConfig
from trainers.models.autoencoder import AutoencoderConfig

from judges import train_and_judge

MAX_ERROR_RATIO, MIN_RECON_ACCURACY = 0.1, 0.85
MAX_ERROR_RATIO_AAE, MAX_PRIOR_MMD, MIN_BIGAN_MARGIN = 0.2, 0.05, 0.04
PROBE_IMAGES = {"train_images": 10_000, "test_images": 5_000}
TINY = {"g_width": 8, "d_width": 8, "latent_dim": 8}


@pytest.fixture(scope="module")
def mnist_splits(data_dir):
    return load_dataset("mnist", str(data_dir), "train"), load_dataset("mnist", str(data_dir), "test")


def mnist_trainer(data_dir, model: str, steps: int, **overrides) -> Trainer:
    return Trainer(RunConfig(model=model, dataset="mnist", data_dir=str(data_dir), steps=steps, batch_size=64,
                             seed=0, log_every=50, sample_every=10**6, preset="cpu-small", overrides=overrides))


def seconds(events: list[dict]) -> float:
    return [e for e in events if e["type"] == "metrics"][-1]["elapsed_s"]


def probe(trainer: Trainer, mnist_splits) -> dict:
    result = probe_against_random(trainer.model, *mnist_splits, **PROBE_IMAGES)
    print(f"{trainer.family.name}: linear probe {result['accuracy']:.4f}, random encoder "
          f"{result['random_accuracy']:.4f} ({result['code_size']}-number codes)")
    return result


@pytest.mark.slow
def test_autoencoder_learns_to_rebuild_unseen_mnist_digits(judge, data_dir, mnist_splits):
    trainer = mnist_trainer(data_dir, "autoencoder", 300)
    x, y = mnist_splits[1].batch(torch.arange(2000, 3000))

    def measure() -> tuple[float, float]:
        rebuilt = trainer.model.reconstruct(x)
        with torch.no_grad():
            read = (judge(rebuilt).argmax(1) == y).float().mean().item()
        return F.mse_loss(rebuilt, x).item(), read

    error_before, read_before = measure()
    losses = [e["losses"]["loss_recon"] for e in trainer.run() if e["type"] == "metrics"]
    error, read = measure()
    print(f"autoencoder/mnist (300 steps): test reconstruction error {error:.4f} (untrained "
          f"{error_before:.4f}), judge reads {read:.3f} of reconstructions right (untrained {read_before:.3f})")
    assert losses[-1] < losses[0]
    assert error <= MAX_ERROR_RATIO * error_before, (error, error_before)
    assert read >= MIN_RECON_ACCURACY, read
    result = probe(trainer, mnist_splits)
    assert result["accuracy"] > result["random_accuracy"], result


@pytest.mark.slow
def test_aae_codes_match_the_prior_and_rebuild_digits(data_dir, mnist_splits):
    trainer = mnist_trainer(data_dir, "aae", 600)
    x = mnist_splits[1].batch(torch.arange(2000, 3000))[0]
    prior = prior_sample(trainer.model.config, 1000, torch.Generator().manual_seed(1))

    def measure() -> tuple[float, float]:
        return (F.mse_loss(trainer.model.reconstruct(x), x).item(),
                mmd_rbf(trainer.model.encode(x), prior))

    error_before, mmd_before = measure()
    events = list(trainer.run())
    error, mmd = measure()
    null = mmd_rbf(prior_sample(trainer.model.config, 1000, torch.Generator().manual_seed(2)), prior)
    print(f"aae/mnist (600 steps, {seconds(events):.0f} s): test reconstruction error {error:.4f} "
          f"(untrained {error_before:.4f}); MMD^2 of test codes to the prior {mmd:.4f} (untrained "
          f"{mmd_before:.4f}, prior vs prior {null:.4f})")
    assert error <= MAX_ERROR_RATIO_AAE * error_before, (error, error_before)
    assert mmd <= MAX_PRIOR_MMD, (mmd, mmd_before)
    result = probe(trainer, mnist_splits)
    assert result["accuracy"] > result["random_accuracy"], result


@pytest.mark.slow
def test_aae_gan_samples_read_as_digits_and_it_rebuilds_them(judge, data_dir, mnist_splits):
    x = mnist_splits[1].batch(torch.arange(2000, 3000))[0]
    errors = []

    def untrained_error(trainer: Trainer) -> None:
        errors.append(F.mse_loss(trainer.model.reconstruct(x), x).item())
        errors.append(trainer)

    train_and_judge(judge, data_dir, "aae-gan", 600, 64, "cpu-small", before_training=untrained_error)
    error_before, trainer = errors
    error = F.mse_loss(trainer.model.reconstruct(x), x).item()
    print(f"aae-gan/mnist: test reconstruction error {error:.4f} (untrained {error_before:.4f})")
    assert error <= MAX_ERROR_RATIO_AAE * error_before, (error, error_before)


@pytest.mark.slow
def test_bigan_encoder_beats_a_random_one_under_the_linear_probe(data_dir, mnist_splits):
    trainer = mnist_trainer(data_dir, "bigan", 1500)
    x = mnist_splits[1].batch(torch.arange(2000, 3000))[0]
    error_before = F.mse_loss(trainer.model.reconstruct(x), x).item()
    events = list(trainer.run())
    error = F.mse_loss(trainer.model.reconstruct(x), x).item()
    result = probe(trainer, mnist_splits)
    print(f"bigan/mnist (1500 steps, {seconds(events):.0f} s): probe margin {result['margin']:+.4f}; "
          f"G(E(x)) error {error:.4f} (untrained {error_before:.4f})")
    assert result["accuracy"] >= result["random_accuracy"] + MIN_BIGAN_MARGIN, result
    assert error < error_before, (error, error_before)
    lrs = [e["stats"]["lr"] for e in events if e["type"] == "metrics"]
    assert lrs[0] == pytest.approx(5e-4) and lrs[-1] < 0.1 * lrs[0], lrs  # constant, then decayed to ~0


def test_sample_events_pair_fixed_real_images_with_their_reconstructions():
    trainer = Trainer(RunConfig(model="autoencoder", dataset="digits", steps=2, batch_size=16, log_every=1,
                                sample_every=1, overrides=TINY))
    events = [e for e in trainer.run() if e["type"] == "samples"]
    assert events and all("reconstruction" in e for e in events)
    grid = events[-1]["reconstruction"]
    assert grid.shape == (8 * 10 + 2, 8 * 10 + 2, 3)  # 4 pairs of rows of 8 digits (8x8, padding 2)
    held_out = load_dataset("digits", None, "test")  # the pairs show images it never trains on
    real = held_out.to_model_range(held_out.data[:32])
    rebuilt = trainer.model.reconstruct(real)
    rows = torch.stack([real.view(4, 8, 1, 8, 8), rebuilt.view(4, 8, 1, 8, 8)], dim=1).flatten(0, 2)
    assert np.array_equal(grid, image_grid(rows, nrow=8))  # input rows, each above its rebuild
    assert not np.array_equal(grid[2:10], grid[12:20])  # the rebuild row is not a copy of the input
    error = events[-1]["reconstruction_error"]
    assert error == {"mse": pytest.approx(F.mse_loss(rebuilt, real).item(), rel=1e-5), "images": 32, "split": "test"}


def test_families_without_an_encoder_say_so():
    model = GANModel.from_config("dcgan", {"image_size": 8, **TINY})
    with pytest.raises(ConfigError, match="no encoder"):
        model.reconstruct(torch.zeros(2, 1, 8, 8))
    with pytest.raises(ConfigError, match="no encoder"):
        model.encode(torch.zeros(2, 1, 8, 8))
    events = Trainer(RunConfig(model="dcgan", dataset="digits", steps=1, batch_size=16, log_every=1,
                               sample_every=1, overrides=TINY)).run()
    assert not any("reconstruction" in e for e in events if e["type"] == "samples")


def test_codes_have_the_configured_size():
    model = GANModel.from_config("autoencoder", {"image_size": 8, **TINY})
    assert model.encode(torch.zeros(5, 1, 8, 8)).shape == (5, 8)


@pytest.mark.parametrize("images, message", [
    (np.zeros((2, 1, 8, 8), np.float32), "float tensor of images in [-1, 1], (B, 1, 8, 8); got a ndarray"),
    (torch.zeros(2, 1, 8, 8, dtype=torch.uint8), "got a torch.uint8 tensor (trainers.data.base.from_pixels"),
    (torch.zeros(2, 3, 8, 8), "shaped (B, 1, 8, 8) (the data it was trained on); got (2, 3, 8, 8)"),
    (torch.zeros(1, 8, 8), "got (1, 8, 8)"),
])
def test_encoding_what_the_encoder_cannot_take_names_what_it_takes(images, message):
    """These were torch's own errors (mat1 and mat2 shapes cannot be multiplied, no .to on an array)."""
    model = GANModel.from_config("bigan", {"image_size": 8})
    for use in (model.encode, model.reconstruct):
        with pytest.raises(ConfigError) as error:
            use(images)
        assert message in str(error.value)


@pytest.mark.parametrize("count, seed, message", [("4", 0, "number of samples must be a whole number, not '4'"),
                                                  (4.5, 0, "not 4.5"), (4, 1.5, "seed must be a whole number"),
                                                  (True, 0, "not True")])
def test_sampling_with_a_count_or_seed_that_is_not_a_whole_number_is_refused(count, seed, message):
    model = GANModel.from_config("bigan", {"image_size": 8})
    with pytest.raises(ConfigError, match=message):
        model.sample(count, seed)
    assert model.sample(np.int64(3), np.int64(1)).shape == (3, 1, 8, 8)


@pytest.mark.parametrize("overrides, key", [({"loss": "huber"}, "loss"), ({"image_size": 30}, "image_size"),
                                            ({"latent_dim": 0}, "latent_dim"), ({"lr": 0.0}, "lr")])
def test_bad_autoencoder_settings_are_refused_by_name(overrides, key):
    with pytest.raises(ConfigError, match=key):
        from_dict(AutoencoderConfig, overrides)


def test_autoencoder_refuses_point_data():
    with pytest.raises(ConfigError, match="image"):
        Trainer(RunConfig(model="autoencoder", dataset="ring", steps=1))


@pytest.mark.parametrize("prior", ["gaussian", "mixture", "ring"])
def test_priors_have_the_stated_shape(prior):
    config = from_dict(AAEConfig, {"prior": prior, "latent_dim": 3})
    z = prior_sample(config, 20_000, torch.Generator().manual_seed(0))
    plane, radius = z[:, :2], z[:, :2].norm(dim=1)
    assert z[:, 2].mean().abs() < 0.05 and (z[:, 2].std() - 1).abs() < 0.05  # other dimensions: N(0, 1)
    if prior == "gaussian":
        assert plane.mean(0).abs().max() < 0.05 and (plane.std(0) - 1).abs().max() < 0.05
    elif prior == "ring":
        assert (radius.mean() - 4).abs() < 0.01 and (radius.std() - 0.1).abs() < 0.01
        assert (torch.atan2(plane[:, 1], plane[:, 0]).histc(10, -math.pi, math.pi) / len(z) - 0.1).abs().max() < 0.01
    else:
        angles = torch.arange(10) * (2 * math.pi / 10)
        means = 4 * torch.stack([angles.cos(), angles.sin()], dim=1)
        nearest, which = torch.cdist(plane, means).min(dim=1)
        assert (nearest < 3 * 0.5).float().mean() > 0.98  # within 3 std of a component
        assert (which.bincount(minlength=10) / len(z) - 0.1).abs().max() < 0.01  # equally likely


@pytest.mark.parametrize("config_cls, overrides, key", [
    (AAEConfig, {"prior": "uniform"}, "prior"),
    (AAEConfig, {"latent_d_width": 0}, "latent_d_width"),
    (AAEConfig, {"lr_g": -1.0}, "lr_g"),
    (AAEGANConfig, {"recon_weight": -1.0}, "recon_weight"),
    (AAEGANConfig, {"image_size": 30}, "image_size"),
    (BiGANConfig, {"decay_from": 1.5}, "decay_from"),
    (BiGANConfig, {"weight_decay": -0.1}, "weight_decay"),
    (BiGANConfig, {"latent_dim": 0}, "latent_dim"),
])
def test_bad_encoder_gan_settings_are_refused_by_name(config_cls, overrides, key):
    with pytest.raises(ConfigError, match=key):
        from_dict(config_cls, overrides)


def test_bigan_learning_rate_holds_then_falls_linearly_to_zero():
    config = from_dict(BiGANConfig, {"total_steps": 1000, "decay_from": 0.5})
    assert [linear_decay(config, s) for s in (0, 499, 500, 750, 1000)] == [1.0, 1.0, 1.0, 0.5, 0.0]
    assert linear_decay(from_dict(BiGANConfig, {"total_steps": 0}), 10**6) == 1.0  # no run length: no decay
