"""The sample-quality metrics (trainers/metrics): FID, KID, IS, precision/recall, density/coverage,
mode coverage, their feature networks and cache, on real data and on fixed features."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pytest
import scipy.linalg
import torch

from trainers.data import load_dataset
from trainers.errors import ConfigError
from trainers.metrics import features as feats
from trainers.metrics import sample_quality as sq
from trainers.metrics.quality import held_out_images
from trainers.metrics.toy import grid_divergences

#: test accuracy each shipped domain classifier must keep (their cards report the measured value)
MIN_ACCURACY = {"mnist": 0.985, "fashion-mnist": 0.88, "cifar10": 0.60}
#: the classifier score (IS on the domain classifier) of 10,000 real test images must reach this
MIN_REAL_SCORE = {"mnist": 9.0, "fashion-mnist": 7.5, "cifar10": 4.5}


def test_fid_agrees_with_a_reference_computation_on_fixed_features():
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(3000, 32, generator=generator, dtype=torch.float64)
    mixing = torch.randn(32, 32, generator=generator, dtype=torch.float64) / 6
    b = (torch.randn(3000, 32, generator=generator, dtype=torch.float64) @ (torch.eye(32) + mixing)) + 0.3
    # the textbook formula with scipy's matrix square root
    mu_a, mu_b = a.mean(0).numpy(), b.mean(0).numpy()
    cov_a, cov_b = np.cov(a.numpy(), rowvar=False), np.cov(b.numpy(), rowvar=False)
    root = scipy.linalg.sqrtm(cov_a @ cov_b).real
    reference = float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))
    assert sq.frechet_distance(a, b) == pytest.approx(reference, rel=1e-6)
    assert sq.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_kid_is_unbiased_near_zero_and_its_standard_error_shrinks_with_the_sample_count():
    generator = torch.Generator().manual_seed(1)

    def draw(n: int, shift: float) -> torch.Tensor:
        return torch.randn(n, 64, generator=generator) + shift

    small = sq.kernel_distance(draw(500, 0), draw(500, 0.25))
    large = sq.kernel_distance(draw(8000, 0), draw(8000, 0.25))
    # 16 times the samples: about a quarter of the standard error (1/sqrt(n))
    assert 2.5 < small[1] / large[1] < 6.5, (small, large)
    # both estimate one true value: they agree within their errors
    assert abs(small[0] - large[0]) < 3 * small[1], (small, large)
    same = sq.kernel_distance(draw(4000, 0), draw(4000, 0))
    assert abs(same[0]) < 3 * same[1] and large[0] > 10 * large[1], (same, large)


def test_precision_recall_density_coverage_separate_matching_shifted_and_collapsed_samples():
    generator = torch.Generator().manual_seed(2)
    real = torch.randn(2000, 16, generator=generator)
    alike = sq.precision_recall(real, torch.randn(2000, 16, generator=generator))
    far = sq.precision_recall(real, torch.randn(2000, 16, generator=generator) + 3)
    collapsed_samples = real[:1].repeat(2000, 1) + 0.01 * torch.randn(2000, 16, generator=generator)
    collapsed = sq.precision_recall(real, collapsed_samples)
    assert alike["precision"] > 0.6 and alike["recall"] > 0.6, alike
    assert far["precision"] < 0.05 and far["recall"] < 0.05, far
    assert collapsed["precision"] > 0.9 and collapsed["recall"] < 0.05, collapsed  # sharp but one mode
    coverage = sq.density_coverage(real, collapsed_samples)
    assert coverage["coverage"] < 0.05 and sq.density_coverage(real, real.flip(0))["coverage"] > 0.95


# --------------------------------------------------------------------------- the domain classifiers
@pytest.fixture(scope="module", params=["mnist", "fashion-mnist", "cifar10"])
def domain(request, data_dir):
    """(dataset name, its shipped classifier, its 10,000 test images and labels)."""
    name = request.param
    network = feats.domain_network(name)
    test = load_dataset(name, str(data_dir), "test")
    return name, network, test


def test_shipped_domain_classifier_reads_its_test_split(domain):
    name, network, test = domain
    _, logits = network(test.to_model_range(test.data))
    accuracy = float((logits.argmax(1) == test.labels).float().mean())
    print(f"{network.name}: test accuracy {accuracy:.4f} on {len(test)} images")
    assert accuracy >= MIN_ACCURACY[name]
    assert network.class_names == test.class_names


def _shuffled_pixels(images: torch.Tensor, seed: int) -> torch.Tensor:
    """Every image's pixels in a random order: the same intensities, no shape."""
    generator = torch.Generator().manual_seed(seed)
    flat = images.flatten(2)
    order = torch.argsort(torch.rand(flat.shape[0], 1, flat.shape[2], generator=generator), dim=2)
    return flat.gather(2, order.expand_as(flat)).view_as(images)


def test_fid_kid_and_the_classifier_score_rank_real_shuffled_and_noise_images(domain, tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_CACHE_DIR", str(tmp_path))
    name, network, test = domain
    # random halves: MNIST's first and last 5,000 test digits come from different writers, and
    # the CIFAR-10 file cycles through the classes, so neither a cut nor even/odd is a fair split
    order = torch.randperm(len(test), generator=torch.Generator().manual_seed(0))
    first, second = test.data[order[:5000]], test.data[order[5000:]]
    noise = torch.randint(0, 256, second.shape, generator=torch.Generator().manual_seed(3), dtype=torch.uint8)
    real_f, real_logits = feats.real_features(network, first)
    rows = {}
    for label, images in (("real", second), ("shuffled", _shuffled_pixels(second, 4)), ("noise", noise)):
        f, logits = feats.real_features(network, images, cache=False)
        rows[label] = (sq.frechet_distance(real_f, f), sq.kernel_distance(real_f, f)[0], sq.classifier_score(logits)[0])
    print(name, {k: tuple(round(x, 3) for x in v) for k, v in rows.items()})
    fid_real, kid_real, score_real = rows["real"]
    for corrupt in ("shuffled", "noise"):
        fid, kid, score = rows[corrupt]
        assert fid_real < 0.05 * fid, (name, corrupt, rows)
        assert kid_real < 0.05 * kid, (name, corrupt, rows)
        assert score < 0.6 * score_real, (name, corrupt, rows)
    assert score_real >= MIN_REAL_SCORE[name] and score_real <= network.num_classes
    assert sq.classifier_score(real_logits)[0] >= MIN_REAL_SCORE[name]


def test_mode_coverage_reads_one_class_for_a_collapsed_generator_and_every_class_for_real_data(domain):
    name, network, test = domain
    real = test.data[:2000]
    # a collapsed generator: whatever the noise, it draws the same class (here: real images of it;
    # class 3, a cat in CIFAR-10, is the one its classifier confuses most: 16% read as dogs)
    collapsed = test.data[test.labels == 3][:1000]
    _, real_logits = network(test.to_model_range(real))
    _, collapsed_logits = network(test.to_model_range(collapsed))
    assert network.confusion is not None, "the shipped classifier's evaluation.json has no confusion matrix"
    real_cover = sq.class_coverage(real_logits, network.confusion)
    collapsed_cover = sq.class_coverage(collapsed_logits, network.confusion)
    print(name, "read", collapsed_cover["histogram"], "shares", [round(x, 3) for x in collapsed_cover["shares"]])
    assert real_cover["classes_covered"] == 10 and real_cover["kl_uniform"] < 0.05, real_cover
    assert collapsed_cover["classes_covered"] == 1, collapsed_cover
    assert collapsed_cover["kl_uniform"] > 0.8 * np.log(10), collapsed_cover
    # taken as read, a weak classifier's confusion would pass for coverage
    if name == "cifar10":
        assert sq.class_coverage(collapsed_logits)["classes_covered"] > 1
    # conditional accuracy: images asked for their true class vs for a wrong one
    labels = test.labels[:2000]
    assert sq.conditional_accuracy(real_logits, labels) >= MIN_ACCURACY[name] - 0.02
    assert sq.conditional_accuracy(real_logits, (labels + 1) % 10) < 0.1


def test_real_features_are_cached_on_disk_by_content(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_CACHE_DIR", str(tmp_path))
    network = feats.domain_network("mnist")
    calls = []

    def counting(images):
        calls.append(len(images))
        return network.embed(images)

    counted = dataclasses.replace(network, embed=counting)
    images = load_dataset("mnist", str(data_dir), "test").data[:700]
    first = feats.real_features(counted, images)
    assert sum(calls) == 700 and len(list(tmp_path.rglob("*.safetensors"))) == 1
    second = feats.real_features(counted, images)
    assert sum(calls) == 700, "the second evaluation recomputed the real features"
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
    changed = images.clone()
    changed[0, 0, 0, 0] ^= 1  # one pixel differs: another content hash
    feats.real_features(counted, changed)
    assert sum(calls) == 1400 and len(list(tmp_path.rglob("*.safetensors"))) == 2


def test_a_cache_folder_that_cannot_be_written_costs_the_cache_not_the_features(data_dir, tmp_path, monkeypatch):
    """GAN_CACHE_DIR a file (or a read-only home): the features are computed and returned, each time."""
    in_the_way = tmp_path / "cache"
    in_the_way.write_text("not a folder")
    monkeypatch.setenv("GAN_CACHE_DIR", str(in_the_way))
    network = feats.domain_network("mnist")
    images = load_dataset("mnist", str(data_dir), "test").data[:50]
    features, logits = feats.real_features(network, images)
    assert features.shape[0] == 50 and logits.argmax(1).eq(load_dataset("mnist", str(data_dir), "test")
                                                            .labels[:50]).float().mean() > 0.9
    assert in_the_way.read_text() == "not a folder" and sorted(p.name for p in tmp_path.iterdir()) == ["cache"]


# --------------------------------------------------------------------------- Inception, offline
def test_inception_is_unavailable_offline_and_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("GAN_OFFLINE", "1")
    with pytest.raises(feats.MetricUnavailable, match="inception_v3: its weights are not at .*GAN_OFFLINE"):
        feats.inception_network()
    available, missing = feats.feature_networks("mnist")
    assert [n.name for n in available] == ["mnist_cnn"] and set(missing) == {"inception_v3"}
    assert feats.INCEPTION_URL in missing["inception_v3"]


def test_a_planted_pickle_at_the_inception_weights_path_never_runs(tmp_path, monkeypatch, planted_pickle):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    payload, sentinel = planted_pickle
    path = feats.inception_weights_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(payload)
    with pytest.raises(feats.MetricUnavailable, match="not the published weights file"):
        feats.inception_network()
    assert not sentinel.exists()
    # and torch-fidelity's own loader runs under torch's tensors-only unpickler
    with feats._weights_only_loading(), pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=False)
    assert not sentinel.exists()


# --------------------------------------------------------------------------- toys
def test_grid_divergences_tell_a_fitted_ring_from_a_collapsed_one():
    ring = load_dataset("ring")
    fresh = ring.data[4096:]  # the same distribution, other draws
    one_mode = ring.data[(ring.data[:, 0] > 0.6)][:1000]
    fitted, collapsed = grid_divergences(ring.data[:4096], fresh), grid_divergences(ring.data[:4096], one_mode)
    assert fitted["js_grid"] < 0.05 and collapsed["js_grid"] > 0.3, (fitted, collapsed)
    assert collapsed["kl_grid"] > 5 * fitted["kl_grid"]


def test_held_out_images_are_the_test_split_when_there_is_one(data_dir):
    images, described = held_out_images("mnist", str(data_dir), 1000)
    assert len(images) == 1000 and described == "mnist test, 1000 images"
    with pytest.raises(ConfigError):
        from trainers.metrics.quality import evaluate_generator
        from trainers.model import GANModel

        evaluate_generator(GANModel.from_config("dcgan"), "mnist", samples=5, data_dir=str(data_dir))


def test_the_domain_classifier_family_learns_mnist_in_a_few_hundred_steps(data_dir):
    from trainers.engine import RunConfig, Trainer
    from trainers.models.adversarial import classification_accuracy

    trainer = Trainer(RunConfig(model="domain-classifier", dataset="mnist", preset="cpu-small", steps=150,
                                batch_size=64, data_dir=str(data_dir), overrides={"augment": "shift"}))
    test = load_dataset("mnist", str(data_dir), "test").subset(2000)
    before = classification_accuracy(trainer.model.networks["classifier"], test)
    events = list(trainer.run())
    assert events[-1]["type"] == "done"
    after = classification_accuracy(trainer.model.networks["classifier"], test)
    print(f"domain-classifier cpu-small, 150 steps: test accuracy {before:.3f} -> {after:.3f}")
    assert before < 0.3 and after > 0.93


@pytest.mark.parametrize("dataset", ["digits", "folder:../../etc", "celeba"])
def test_datasets_without_a_shipped_classifier_say_so(dataset):
    with pytest.raises(feats.MetricUnavailable, match=f"no domain classifier for {dataset}"):
        feats.domain_network(dataset)
