"""Independent judges for learning tests: a small CNN trained here on MNIST's train split.

Trained once per test run (about 15 s on 2 cores) and shared by every test that needs it: the
first pytest-xdist worker to need it trains it (seeded, so always the same weights) and leaves
its weights in a folder the workers share; the others wait on a file lock and read them. It never
sees generated images while training, so it judges them independently.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from trainers.data import load_dataset
from trainers.engine import RunConfig, Trainer

#: what every unconditional MNIST learning test asks of 1,000 samples drawn with seed 5: mean
#: top-class confidence at least MIN_CONFIDENCE, at least MIN_CLASSES digits each making up
#: MIN_SHARE (2%) or more of the samples, and an improvement over the untrained generator:
#: confidence up by MIN_GAIN, or (with ``improvement="frechet"``, for generators whose untrained
#: blobs already read as fairly confident digits) the Frechet distance to real test digits in the
#: judge's features down to MAX_FRECHET_RATIO of the untrained generator's.
MIN_CONFIDENCE, MIN_GAIN, MIN_CLASSES, MIN_SHARE = 0.5, 0.2, 8, 20
MAX_FRECHET_RATIO = 0.5


def small_cnn(channels: int = 1, classes: int = 10) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # (B, 32, 14, 14)
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),         # (B, 64, 7, 7)
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, classes))


#: Set by conftest to a folder every worker of this test run shares (pytest's base temp's parent).
SHARED_DIR: list[Path] = []


@functools.lru_cache(maxsize=2)
def mnist_judge(data_dir: str, steps: int = 400) -> tuple[nn.Module, float]:
    """(classifier in eval mode, its accuracy on 2,000 MNIST test images); about 97.5%."""
    if not SHARED_DIR:
        return _train_judge(data_dir, steps)
    from filelock import FileLock
    from safetensors.torch import load_file, save_file

    folder = SHARED_DIR[0]
    weights, accuracy_file = folder / f"mnist-judge-{steps}.safetensors", folder / f"mnist-judge-{steps}.txt"
    with FileLock(str(folder / f"mnist-judge-{steps}.lock")):
        if weights.is_file() and accuracy_file.is_file():
            net = small_cnn()
            net.load_state_dict(load_file(str(weights)))
            return net.eval().requires_grad_(False), float(accuracy_file.read_text())
        net, accuracy = _train_judge(data_dir, steps)
        save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(weights))
        accuracy_file.write_text(repr(accuracy))
        return net, accuracy


def _train_judge(data_dir: str, steps: int) -> tuple[nn.Module, float]:
    train_set, test_set = load_dataset("mnist", data_dir), load_dataset("mnist", data_dir, "test")
    generator = torch.Generator().manual_seed(0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = small_cnn()
    optimizer = torch.optim.Adam(net.parameters(), 1e-3)
    for _ in range(steps):
        x, y = train_set.batch(torch.randint(len(train_set), (128,), generator=generator))
        loss = F.cross_entropy(net(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    net.eval().requires_grad_(False)
    with torch.no_grad():
        x, y = test_set.batch(torch.arange(2000))
        accuracy = (net(x).argmax(1) == y).float().mean().item()
    return net, accuracy


def read_digits(classifier: nn.Module, images: torch.Tensor) -> tuple[float, torch.Tensor, torch.Tensor]:
    """(mean top-class confidence, class histogram, predicted class per image) for images in [-1, 1]."""
    with torch.no_grad():
        probabilities = F.softmax(classifier(images), dim=1)
    confidence, digit = probabilities.max(dim=1)
    return confidence.mean().item(), torch.bincount(digit, minlength=10), digit


def frechet_distance(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)), FID's formula on any features."""
    a, b = features_a.double(), features_b.double()
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
    # Tr((S_a S_b)^(1/2)) = sum of sqrt(eigenvalues of S_a^(1/2) S_b S_a^(1/2)), a symmetric matrix
    values, vectors = torch.linalg.eigh(cov_a)
    root_a = vectors @ torch.diag(values.clamp(min=0).sqrt()) @ vectors.T
    cross = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp(min=0).sqrt().sum()
    return float((mu_a - mu_b).pow(2).sum() + cov_a.trace() + cov_b.trace() - 2 * cross)


def judge_features(classifier: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """The judge's last hidden layer (128 features) for images in [-1, 1]."""
    with torch.no_grad():
        return classifier[:-1](images)


@functools.lru_cache(maxsize=2)
def real_digits(data_dir: str, count: int = 1000) -> torch.Tensor:
    """MNIST test images the judge was not scored on (indices 2,000 onwards)."""
    return load_dataset("mnist", data_dir, "test").batch(torch.arange(2000, 2000 + count))[0]


def train_and_judge(judge: nn.Module, data_dir, name: str, steps: int, batch_size: int, preset: str,
                    overrides: dict | None = None,
                    before_training: Callable[[Trainer], None] | None = None,
                    improvement: str = "confidence"):
    """Train ``name`` on MNIST and hold it to the bars above. ``before_training`` may put the
    untrained model in the state it will be judged in (progan: at the final resolution).
    Returns the judge's readings (confidence, histogram, digit per sample) before and after,
    and the run's events (about 40 metrics events, each the mean over its window)."""
    assert improvement in ("confidence", "frechet"), improvement
    started = time.perf_counter()
    trainer = Trainer(RunConfig(model=name, dataset="mnist", data_dir=str(data_dir), steps=steps,
                                batch_size=batch_size, seed=0, log_every=max(1, steps // 40),
                                sample_every=10**6, preset=preset, overrides=overrides or {}))
    if before_training is not None:
        before_training(trainer)
    real = judge_features(judge, real_digits(str(data_dir)))
    untrained = trainer.model.sample(1000, seed=5)
    before = read_digits(judge, untrained)
    distance_before = frechet_distance(judge_features(judge, untrained), real)
    events = list(trainer.run())
    assert events[-1]["type"] == "done", events[-1]
    trained = trainer.model.sample(1000, seed=5)
    after, distance = read_digits(judge, trained), frechet_distance(judge_features(judge, trained), real)
    confidence, histogram, _ = after
    covered = int((histogram >= MIN_SHARE).sum())
    print(f"{name}/mnist ({steps} steps, {time.perf_counter() - started:.0f} s): confidence "
          f"{confidence:.3f} (untrained {before[0]:.3f}), {covered} classes covered, Frechet distance "
          f"to real {distance:.1f} (untrained {distance_before:.1f}), histogram {histogram.tolist()}")
    assert confidence >= MIN_CONFIDENCE, (confidence, histogram.tolist())
    assert covered >= MIN_CLASSES, histogram.tolist()
    if improvement == "frechet":
        assert distance <= MAX_FRECHET_RATIO * distance_before, (distance, distance_before)
    else:
        assert confidence >= before[0] + MIN_GAIN, (confidence, before[0])
    return before, after, events
