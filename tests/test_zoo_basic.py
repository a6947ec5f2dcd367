"""vanilla-gan, lsgan, e-gan, cgan and the lab's default DCGAN (cpu-quick: samples from G's
weight average) learn MNIST; cgan draws the class it is asked for.

Criteria (the shared judge of tests/judges.py reads 1,000 samples drawn with seed 5, compared with
the same generator before training; CPU runs are deterministic for a seed, the margins are slack;
wgan, wgan-gp and progan are judged the same way in their own test files):
- every family: mean top-class confidence at least 0.5 and at least 0.2 above the untrained
  generator's, and at least 8 of the 10 digits each making up 2% (20) or more of the samples.
- cgan (cpu-small: projection discriminator, 1,200 steps): samples asked for digit k (k = i mod 10
  for sample i) are read as k at least 60% of the time; chance (and the untrained generator) is
  10%. Measured: 87%. (With input concatenation alone, the paper's D, 600 steps gave 24%.)
Bad input: cgan refuses point data, a folder without class sub-folders, and an unknown
conditioning choice (ConfigError naming the cause); lsgan refuses any objective but least squares.
"""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from judges import train_and_judge
from trainers.config import from_dict
from trainers.engine import RunConfig, Trainer
from trainers.errors import ConfigError
from trainers.models.cgan import CGANConfig
from trainers.metrics.quality import evaluate_generator
from trainers.models.lsgan import LSGANConfig

#: (family, steps, batch size, preset, overrides) of each learning test
RUNS = {
    "vanilla-gan": (600, 64, "cpu-small", {}),
    "lsgan": (600, 64, "cpu-small", {}),
    "cgan": (1200, 64, "cpu-small", {}),
    "e-gan": (400, 64, "cpu-small", {}),
    "dcgan": (600, 64, "cpu-quick", {}),  # measured: confidence 0.81 (untrained 0.18), every digit 5.6%+
}
MIN_CLASS_MATCH = 0.6


def train(name: str, judge, data_dir, **options):
    steps, batch_size, preset, overrides = RUNS[name]
    return train_and_judge(judge, data_dir, name, steps, batch_size, preset, overrides, **options)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["vanilla-gan", "lsgan", "e-gan", "dcgan"])
def test_unconditional_family_learns_mnist(name, judge, data_dir):
    train(name, judge, data_dir)


@pytest.mark.slow
def test_cgan_draws_the_digit_it_is_asked_for(judge, data_dir):
    trainers = []
    before, after, _ = train("cgan", judge, data_dir, before_training=trainers.append)
    asked = torch.arange(1000) % 10  # GANModel.sample cycles through the classes
    match = (after[2] == asked).float().mean().item()
    untrained_match = (before[2] == asked).float().mean().item()
    print(f"cgan/mnist: samples read as the digit asked for {match:.3f} (untrained {untrained_match:.3f}, "
          f"chance 0.1)")
    assert match >= MIN_CLASS_MATCH, match
    # the metrics' own conditional accuracy, read by the shipped mnist_cnn (a stricter reader of
    # GAN digits than the test's judge: 0.73 where the judge read 0.87), says the same
    report = evaluate_generator(trainers[0].model, "mnist", samples=1000, include_inception=False,
                                data_dir=str(data_dir))
    rows = {row["name"]: row["value"] for row in report["metrics"]}
    print(f"cgan/mnist: conditional accuracy in mnist_cnn {rows['conditional_accuracy_mnist_cnn']:.3f}")
    assert rows["conditional_accuracy_mnist_cnn"] >= MIN_CLASS_MATCH
    assert rows["classes_covered_mnist_cnn"] == 10


def test_cgan_embedding_conditioning_trains_and_samples_per_class():
    trainer = Trainer(RunConfig(model="cgan", dataset="digits", steps=2, batch_size=16, log_every=1,
                                overrides={"conditioning": "embedding", "embed_dim": 4,
                                           "g_width": 8, "d_width": 8, "latent_dim": 8}))
    assert trainer.model.config.num_classes == 10  # from the dataset
    assert list(trainer.run())[-1]["type"] == "done"
    labels = torch.tensor([3, 3, 7])
    assert trainer.model.sample(3, seed=0, labels=labels).shape == (3, 1, 8, 8)


def test_cgan_projection_discriminator_uses_the_label_and_round_trips(tmp_path):
    from trainers.model import GANModel

    trainer = Trainer(RunConfig(model="cgan", dataset="digits", steps=3, batch_size=16, log_every=1,
                                out=str(tmp_path / "run"),
                                overrides={"d_conditioning": "projection", "g_width": 8, "d_width": 8,
                                           "latent_dim": 8}))
    list(trainer.run())
    critic = trainer.model.networks["discriminator"].eval()
    loaded = GANModel.from_pretrained(tmp_path / "run").networks["discriminator"].eval()
    images = trainer.model.sample(4, seed=1)
    sevens = torch.full((4,), 7)
    with torch.no_grad():
        logits = critic(images, sevens)
        assert torch.allclose(loaded(images, sevens), logits)
        critic.projection.weight.zero_()  # without the projection term the logits change
        assert not torch.allclose(critic(images, sevens), logits)


@pytest.mark.parametrize("dataset, shape", [("fashion-mnist", (1, 28, 28)), ("cifar10", (3, 32, 32))])
def test_cgan_builds_itself_for_fashion_mnist_and_cifar10(dataset, shape, data_dir):
    trainer = Trainer(RunConfig(model="cgan", dataset=dataset, data_dir=str(data_dir), steps=2, batch_size=16,
                                log_every=1, overrides={"g_width": 8, "d_width": 8, "latent_dim": 8}))
    assert list(trainer.run())[-1]["type"] == "done"
    samples = trainer.model.sample(20, seed=0, labels=torch.arange(20) % 10)
    assert samples.shape == (20, *shape) and trainer.model.config.num_classes == 10


def test_cgan_refuses_point_data():
    with pytest.raises(ConfigError, match="image"):
        Trainer(RunConfig(model="cgan", dataset="ring", steps=1))


def test_cgan_refuses_a_folder_without_class_subfolders(tmp_path):
    for i in range(4):
        Image.new("RGB", (16, 16), (i * 60, 0, 0)).save(tmp_path / f"{i}.png")
    with pytest.raises(ConfigError, match="labelled"):
        Trainer(RunConfig(model="cgan", dataset=f"folder:{tmp_path}", steps=1, image_size=16))


def test_cgan_trains_on_a_folder_with_class_subfolders(tmp_path):
    for name, colour in (("red", (255, 0, 0)), ("blue", (0, 0, 255))):
        (tmp_path / name).mkdir()
        for i in range(4):
            Image.new("RGB", (16, 16), colour).save(tmp_path / name / f"{i}.png")
    trainer = Trainer(RunConfig(model="cgan", dataset=f"folder:{tmp_path}", steps=1, batch_size=4,
                                image_size=16, overrides={"g_width": 8, "d_width": 8}))
    assert trainer.model.config.num_classes == 2 and trainer.model.config.channels == 3
    assert list(trainer.run())[-1]["type"] == "done"


@pytest.mark.parametrize("overrides, key", [
    ({"conditioning": "film"}, "conditioning"),
    ({"d_conditioning": "film"}, "d_conditioning"),
    ({"embed_dim": 0}, "embed_dim"),
    ({"num_classes": 1}, "num_classes"),
    ({"image_size": 30}, "image_size"),
    ({"objective": "wgan-gp"}, "objective"),
])
def test_cgan_bad_config_is_refused_by_name(overrides, key):
    with pytest.raises(ConfigError, match=key):
        from_dict(CGANConfig, overrides)


def test_cgan_num_classes_comes_from_the_data():
    with pytest.raises(ConfigError, match="num_classes"):
        Trainer(RunConfig(model="cgan", dataset="digits", steps=1, overrides={"num_classes": 5}))


@pytest.mark.parametrize("overrides, key", [({"objective": "non-saturating"}, "objective"),
                                            ({"image_size": 20}, "image_size")])
def test_lsgan_bad_config_is_refused_by_name(overrides, key):
    with pytest.raises(ConfigError, match=key):
        from_dict(LSGANConfig, overrides)


@pytest.mark.parametrize("overrides, key", [({"objective": "hinge"}, "objective"), ({"layers": 0}, "layers")])
def test_vanilla_gan_bad_config_is_refused_by_name(overrides, key):
    from trainers.models.vanilla_gan import VanillaGANConfig

    with pytest.raises(ConfigError, match=key):
        from_dict(VanillaGANConfig, overrides)
