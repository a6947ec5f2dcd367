"""How good an encoder's codes are: how close they sit to a prior, and how linearly they separate
the classes (the linear probe of the BiGAN paper and of self-supervised learning since)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import ConfigError
from ..model import GANModel
from ..seeding import seeded_global_rng


def mmd_rbf(a: Tensor, b: Tensor) -> float:
    """Squared maximum mean discrepancy between two samples (unbiased estimate) with a Gaussian
    kernel whose bandwidth is the median distance of the pooled sample (Gretton et al., 2012).

    About 0 (it can dip below) when a and b come from one distribution; grows as they part.
    """
    a, b = a.double().flatten(1), b.double().flatten(1)
    pooled = torch.cat([a, b])
    distances = torch.cdist(pooled, pooled) ** 2
    bandwidth = distances[distances > 0].median()
    kernel = torch.exp(-distances / bandwidth)
    n = len(a)
    k_aa, k_bb, k_ab = kernel[:n, :n], kernel[n:, n:], kernel[:n, n:]
    m = len(b)
    within_a = (k_aa.sum() - k_aa.diagonal().sum()) / (n * (n - 1))
    within_b = (k_bb.sum() - k_bb.diagonal().sum()) / (m * (m - 1))
    return float(within_a + within_b - 2 * k_ab.mean())


@dataclass(frozen=True)
class ProbeResult:
    """Test accuracy of a linear softmax classifier on frozen codes."""

    accuracy: float
    train_accuracy: float
    code_size: int
    train_images: int
    test_images: int


def linear_probe(encode, train_x: Tensor, train_y: Tensor, test_x: Tensor, test_y: Tensor, *,
                 weight_decay: float = 1e-4, max_iter: int = 300, batch: int = 1000) -> ProbeResult:
    """Freeze the encoder, fit a linear softmax classifier on its codes, report test accuracy.

    ``encode`` maps an image batch to (B, d) codes and is only ever run without gradients. The
    codes are standardised with the training codes' mean and std (so the probe's one weight
    decay suits any code scale), and the classifier is fitted to convergence by full-batch L-BFGS
    on cross-entropy plus ``weight_decay`` * ||W||^2: deterministic, no learning rate to tune.
    """
    if len(train_x) != len(train_y) or len(test_x) != len(test_y):
        raise ConfigError("linear probe: every image needs a label (lengths differ)")
    if len(train_x) < 2 or len(test_x) < 1:
        raise ConfigError("linear probe: needs at least 2 training and 1 test image")
    with torch.no_grad():
        train_codes = torch.cat([encode(train_x[i:i + batch]).float().cpu() for i in range(0, len(train_x), batch)])
        test_codes = torch.cat([encode(test_x[i:i + batch]).float().cpu() for i in range(0, len(test_x), batch)])
    if not torch.isfinite(train_codes).all() or not torch.isfinite(test_codes).all():
        raise ConfigError("linear probe: the encoder gives NaN or infinite codes")
    mean, std = train_codes.mean(0), train_codes.std(0).clamp_min(1e-6)
    train_codes, test_codes = (train_codes - mean) / std, (test_codes - mean) / std
    train_y, test_y = train_y.long().cpu(), test_y.long().cpu()
    classes = int(max(train_y.max(), test_y.max())) + 1
    classifier = torch.nn.Linear(train_codes.shape[1], classes, dtype=torch.float64)
    torch.nn.init.zeros_(classifier.weight)
    torch.nn.init.zeros_(classifier.bias)
    codes64 = train_codes.double()
    optimizer = torch.optim.LBFGS(classifier.parameters(), max_iter=max_iter, history_size=20,
                                  line_search_fn="strong_wolfe", tolerance_grad=1e-9, tolerance_change=1e-12)

    def closure() -> Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(classifier(codes64), train_y) + weight_decay * classifier.weight.square().sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    with torch.no_grad():
        train_accuracy = (classifier(codes64).argmax(1) == train_y).double().mean().item()
        accuracy = (classifier(test_codes.double()).argmax(1) == test_y).double().mean().item()
    return ProbeResult(accuracy, train_accuracy, train_codes.shape[1], len(train_x), len(test_x))


def probe_against_random(model: GANModel, train_set, test_set, *, train_images: int = 10_000,
                         test_images: int = 10_000, seed: int = 0) -> dict[str, float | int]:
    """The linear probe on ``model``'s encoder and, as the baseline, on a randomly initialised
    encoder of the same architecture (same config, seeded fresh weights), on the same images.

    ``model`` is a GANModel with an encoder; ``train_set``/``test_set``
    are labelled datasets of images the model's size (the probe's training images are a seeded
    random subset of ``train_set``; its test images are the first ``test_images`` of ``test_set``).
    """
    if model.family.encode is None:
        raise ConfigError(f"{model.family.name} has no encoder, so there is nothing to probe")
    for split in (train_set, test_set):
        if split.labels is None:
            raise ConfigError(f"linear probe: {split.name} has no labels to classify")
        if split.kind != "image" or tuple(split.sample_shape) != _image_shape(model.config):
            raise ConfigError(f"linear probe: {split.name} holds {tuple(split.sample_shape)} samples; "
                              f"this {model.family.name} encodes {_image_shape(model.config)} images")
    if train_images < 2 or test_images < 1:
        raise ConfigError("linear probe: needs at least 2 training and 1 test image")
    chosen = torch.randperm(len(train_set), generator=torch.Generator().manual_seed(seed))[:train_images]
    train_x, train_y = train_set.batch(chosen, model.device)
    test_x, test_y = test_set.batch(torch.arange(min(test_images, len(test_set))), model.device)
    with seeded_global_rng(seed + 1):
        untrained = GANModel(model.family, model.config, device=model.device)
    trained = linear_probe(model.encode, train_x, train_y, test_x, test_y)
    baseline = linear_probe(untrained.encode, train_x, train_y, test_x, test_y)
    return {"accuracy": trained.accuracy, "random_accuracy": baseline.accuracy,
            "margin": trained.accuracy - baseline.accuracy, "code_size": trained.code_size,
            "train_images": trained.train_images, "test_images": trained.test_images}


def _image_shape(config) -> tuple[int, int, int]:
    return (config.channels, config.image_size, config.image_size)
