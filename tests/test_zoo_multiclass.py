"""mc-gan (the seed's multiclass GAN) and its discriminator trained alone as a classifier.

Criteria (stated once, here; the shared MNIST judge of tests/judges.py reads the samples):
- mc-gan on MNIST (preset cpu-small, STEPS_MC steps of batch 64, seed 0), 1,000 samples cycling
  through the ten heads: the judge's mean top-class confidence is at least 0.5 and at least 0.25
  above the untrained generator's, and at least 8 of the 10 digits each make up 2% or more of the
  samples (the untrained generator covers 1 or 2).
- mc-gan's heads draw their class: at least 60% of the samples from head k are read as digit k
  by the judge (chance is 10%; the untrained generator scores 10%).
- multiclass-discriminator (preset cpu-small, STEPS_CLF steps of batch 64) reaches at least 95%
  accuracy on the whole MNIST test split (10,000 images).
- Bad input: an unlabelled dataset, labels outside the heads, a num_classes below 2, a negative
  specific_weight, an unknown d_norm and an image size the DCGAN trunk cannot build are
  ConfigErrors naming the key.
The comparison with DCGAN at equal width and steps is bench/compare_families.py (too slow here).
"""

from __future__ import annotations

import time

import pytest
import torch

from judges import mnist_judge, read_digits
from trainers.config import from_dict
from trainers.data import Dataset, load_dataset
from trainers.engine import RunConfig, Trainer
from trainers.errors import ConfigError
from trainers.model import GANModel
from trainers.models import mc_gan, multiclass_discriminator

STEPS_MC = 600
STEPS_CLF = 1000
#: the tests that share the trained MC-GAN run on one xdist worker, so it is trained once (its
#: fixture is session-scoped: xdist may run other modules between them)
WITH_TRAINED_MC_GAN = pytest.mark.xdist_group("trained_mc_gan")


@pytest.fixture(scope="session")
def mnist_classifier(data_dir):
    net, accuracy = mnist_judge(str(data_dir))
    print(f"judge: MNIST test accuracy {accuracy:.4f}")
    assert accuracy > 0.95, f"the judge itself is too weak: {accuracy:.3f}"
    return net


def head_accuracy(digits: torch.Tensor, classes: int = 10) -> float:
    """GANModel.sample cycles through the heads: sample i comes from head i % classes."""
    return (digits == torch.arange(len(digits)) % classes).float().mean().item()


@pytest.fixture(scope="session")
def trained_mc_gan(mnist_classifier, data_dir):
    trainer = Trainer(RunConfig(model="mc-gan", dataset="mnist", data_dir=str(data_dir), steps=STEPS_MC,
                                batch_size=64, seed=0, log_every=100, sample_every=10**6, preset="cpu-small"))
    untrained = read_digits(mnist_classifier, trainer.model.sample(1000, seed=5))
    started = time.perf_counter()
    events = list(trainer.run())
    seconds = time.perf_counter() - started
    assert events[-1]["type"] == "done", events[-1]
    trained = read_digits(mnist_classifier, trainer.model.sample(1000, seed=5))
    print(f"mc-gan/mnist: {STEPS_MC} steps in {seconds:.0f} s")
    return trainer, untrained, trained


@pytest.mark.slow
@WITH_TRAINED_MC_GAN
def test_mc_gan_on_mnist_draws_recognisable_and_varied_digits(trained_mc_gan):
    _, (untrained_confidence, untrained_histogram, _), (confidence, histogram, _) = trained_mc_gan
    covered, untrained_covered = int((histogram >= 20).sum()), int((untrained_histogram >= 20).sum())
    print(f"mc-gan/mnist: confidence {confidence:.3f} (untrained {untrained_confidence:.3f}), "
          f"{covered} classes covered (untrained {untrained_covered}), histogram {histogram.tolist()}")
    assert confidence >= 0.5, (confidence, histogram.tolist())
    assert confidence >= untrained_confidence + 0.25, (confidence, untrained_confidence)
    assert covered >= 8, histogram.tolist()


@pytest.mark.slow
@WITH_TRAINED_MC_GAN
def test_mc_gan_head_k_draws_digit_k(trained_mc_gan):
    _, (_, _, untrained_digits), (_, _, digits) = trained_mc_gan
    rate, untrained_rate = head_accuracy(digits), head_accuracy(untrained_digits)
    per_head = [(digits[k::10] == k).float().mean().item() for k in range(10)]
    print(f"mc-gan/mnist: samples of head k read as k: {rate:.3f} (untrained {untrained_rate:.3f}, "
          f"chance 0.100); per head {[round(r, 2) for r in per_head]}")
    assert rate >= 0.6, per_head


@pytest.mark.slow
def test_multiclass_discriminator_classifies_mnist_test(data_dir):
    trainer = Trainer(RunConfig(model="multiclass-discriminator", dataset="mnist", data_dir=str(data_dir),
                                steps=STEPS_CLF, batch_size=64, seed=0, log_every=50, sample_every=10**6,
                                preset="cpu-small"))
    started = time.perf_counter()
    events = list(trainer.run())
    seconds = time.perf_counter() - started
    assert events[-1]["type"] == "done", events[-1]
    assert not [e for e in events if e["type"] == "samples"]  # a classifier draws nothing
    train_accuracy = [e["stats"]["accuracy"] for e in events if e["type"] == "metrics"]
    test_set = load_dataset("mnist", data_dir, "test")
    accuracy = multiclass_discriminator.accuracy(trainer.model.config, trainer.model.networks, test_set)
    print(f"multiclass-discriminator/mnist: {STEPS_CLF} steps in {seconds:.0f} s, test accuracy "
          f"{accuracy:.4f} on {len(test_set)} images; batch accuracy {train_accuracy[0]:.3f} -> "
          f"{train_accuracy[-1]:.3f}")
    assert accuracy >= 0.95


# ----- bad input ---------------------------------------------------------------------------


def unlabelled_digits() -> Dataset:
    labelled = load_dataset("digits")
    return Dataset("unlabelled", labelled.data[:64], labels=None)


@pytest.mark.parametrize("model", ["mc-gan", "multiclass-discriminator"])
def test_an_unlabelled_dataset_is_a_config_error(model):
    run = RunConfig(model=model, dataset="digits", steps=1, batch_size=16)
    with pytest.raises(ConfigError, match="label"):
        Trainer(run, dataset=unlabelled_digits())


def test_the_data_fields_refuse_an_unlabelled_dataset_by_key():
    with pytest.raises(ConfigError, match="^num_classes: unlabelled has no class labels"):
        mc_gan.labelled_fields(unlabelled_digits())
    assert mc_gan.labelled_fields(load_dataset("digits")) == {"channels": 1, "image_size": 8, "num_classes": 10}


@pytest.mark.parametrize("model", ["mc-gan", "multiclass-discriminator"])
def test_a_train_step_without_labels_is_a_config_error(model):
    trainer = Trainer(RunConfig(model=model, dataset="digits", steps=1, batch_size=16,
                                overrides={"d_width": 8}))
    real, _ = trainer.dataset.batch(torch.arange(16))
    with pytest.raises(ConfigError, match="labels"):
        trainer.family.train_step(trainer.model.config, trainer.model.networks, trainer.optimizers, real,
                                  None, 0, torch.Generator())


@pytest.mark.parametrize("key, value", [("num_classes", 1), ("num_classes", 0), ("specific_weight", -1.0),
                                        ("image_size", 20), ("channels", 2), ("d_norm", "group")])
def test_mc_gan_config_constraints_name_the_key(key, value):
    for cls in (mc_gan.MCGANConfig, multiclass_discriminator.MulticlassDiscriminatorConfig):
        if key in cls.__dataclass_fields__:
            with pytest.raises(ConfigError, match=f"^{key}:"):
                from_dict(cls, {key: value})


def test_mc_gan_samples_each_head_and_refuses_labels_outside_them():
    model = GANModel.from_config("mc-gan", {"image_size": 8, "num_classes": 3, "g_width": 8, "d_width": 8,
                                            "latent_dim": 8})
    cycled = model.sample(6, seed=1)
    assert cycled.shape == (6, 1, 8, 8) and cycled.abs().max() <= 1
    # labels None cycles through the heads 0, 1, 2, 0, ...: the same as asking for them
    assert torch.equal(cycled, model.sample(6, seed=1, labels=torch.tensor([0, 1, 2, 0, 1, 2])))
    # heads differ: the same noise through another head gives another image
    assert not torch.equal(cycled, model.sample(6, seed=1, labels=torch.zeros(6, dtype=torch.long)))
    for labels in (torch.tensor([0, 1, 3, 0]), torch.tensor([-1, 0, 0, 0]), torch.tensor([0, 1])):
        with pytest.raises(ConfigError, match="^labels:"):
            model.sample(4, seed=1, labels=labels)


def test_mc_gan_losses_follow_the_issue():
    """D: cross-entropy with real -> its class, fake -> K; G: -log(1 - P(fake)) - w log P(class g)."""
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 3.0]])  # K = 2, the last column is "fake"
    p = logits.softmax(1)
    assert torch.allclose(mc_gan.not_fake_log_prob(logits).exp(), 1 - p[:, 2])


def test_multiclass_discriminator_is_mc_gans_discriminator_with_k_outputs():
    clf = GANModel.from_config("multiclass-discriminator", {"image_size": 8, "d_width": 8})
    gan = GANModel.from_config("mc-gan", {"image_size": 8, "d_width": 8, "g_width": 8})
    d_clf, d_gan = clf.networks["discriminator"], gan.networks["discriminator"]
    assert type(d_clf) is type(d_gan) is mc_gan.MulticlassDiscriminator
    assert d_clf(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
    assert d_gan(torch.zeros(2, 1, 8, 8)).shape == (2, 11)
    with pytest.raises(ConfigError, match="no generator"):
        clf.sample(4)
