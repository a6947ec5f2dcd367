"""Independent judges for learning tests: a small CNN trained here on MNIST's train split.

Trained once per test process (about 15 s on 2 cores) and shared by every test that needs it.
It never sees generated images while training, so it judges them independently.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

from trainers.data import load_dataset


def small_cnn(channels: int = 1, classes: int = 10) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # (B, 32, 14, 14)
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),         # (B, 64, 7, 7)
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, classes))


@functools.lru_cache(maxsize=2)
def mnist_judge(data_dir: str, steps: int = 400) -> tuple[nn.Module, float]:
    """(classifier in eval mode, its accuracy on 2,000 MNIST test images); about 97.5%."""
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
