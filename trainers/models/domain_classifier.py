"""domain-classifier: a small CNN that reads one dataset's classes, the feature network of the metrics.

Inception-v3 features (FID's standard) need weights the library cannot ship and a 299x299 input
that costs a CPU about 6 GFLOPs an image. For MNIST, Fashion-MNIST and CIFAR-10 the project
trains its own classifier instead: a VGG-style stack (two 3x3 convolutions per stage, batch
norm, max pooling; Simonyan & Zisserman, https://arxiv.org/abs/1409.1556) ending in global
average pooling and a ``feature_dim`` hidden layer. That layer is what FID, KID and
precision/recall compare (see :mod:`trainers.metrics.features`); the logits give the
classifier score (IS on this network) and the class histogram of mode coverage. Metrics from it
carry its name (``fid_mnist_cnn``), never Inception's.

It has no generator: the engine emits no sample grids for it, and ``sample``/``noise`` raise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..optim import adam
from ..config import field
from ..family import FamilySpec
from .adversarial import StepDropout, classification_step, drawing_from, no_generator
from .mc_gan import labelled_fields


@dataclass
class DomainClassifierConfig:
    image_size: int = field(28, "image side in pixels (set from the dataset)", range=(8, 256))
    channels: int = field(1, "image channels (set from the dataset)", choices=(1, 3))
    num_classes: int = field(10, "classes it reads (set from the dataset)", range=(2, 1000))
    class_names: tuple[str, ...] = field((), "the classes' names (set from the dataset)")
    width: int = field(32, "feature maps of the first stage (doubled at each of the next two)", range=(4, 256))
    feature_dim: int = field(128, "size of the hidden layer the metrics compare", range=(8, 2048))
    dropout: float = field(0.3, "dropout before the class layer while training", range=(0.0, 0.9))
    augment: str = field("none", "training augmentation: none, shift (random 2-pixel shifts) or shift-flip "
                         "(also horizontal flips: natural images, not digits)", choices=("none", "shift", "shift-flip"))
    lr: float = field(2e-3, "peak learning rate (AdamW, cosine decay to the end of the run)", range=(1e-6, 1.0))
    weight_decay: float = field(5e-4, "AdamW weight decay", range=(0.0, 1.0))
    total_steps: int = field(2000, "steps of the cosine schedule (set from the run)", range=(1, 10_000_000))


def conv_block(inputs: int, outputs: int) -> list[nn.Module]:
    return [nn.Conv2d(inputs, outputs, 3, padding=1, bias=False), nn.BatchNorm2d(outputs), nn.ReLU(inplace=True)]


class DomainClassifier(nn.Module):
    """(B, C, S, S) in [-1, 1] -> logits (B, K); :meth:`embed` also returns the features."""

    def __init__(self, config: DomainClassifierConfig):
        super().__init__()
        w = config.width
        self.trunk = nn.Sequential(
            *conv_block(config.channels, w), *conv_block(w, w), nn.MaxPool2d(2),      # (B, w, S/2, S/2)
            *conv_block(w, 2 * w), *conv_block(2 * w, 2 * w), nn.MaxPool2d(2),        # (B, 2w, S/4, S/4)
            *conv_block(2 * w, 4 * w), *conv_block(4 * w, 4 * w),                     # (B, 4w, S/4, S/4)
            nn.AdaptiveAvgPool2d(1), nn.Flatten())                                   # (B, 4w)
        self.hidden = nn.Sequential(nn.Linear(4 * w, config.feature_dim), nn.ReLU(inplace=True))  # (B, feature_dim)
        self.dropout = StepDropout(config.dropout)
        self.head = nn.Linear(config.feature_dim, config.num_classes)                 # (B, K)

    def embed(self, x: Tensor) -> tuple[Tensor, Tensor]:
        features = self.hidden(self.trunk(x))
        return features, self.head(self.dropout(features))

    def forward(self, x: Tensor) -> Tensor:
        return self.embed(x)[1]


def build(config: DomainClassifierConfig) -> nn.ModuleDict:
    return nn.ModuleDict({"classifier": DomainClassifier(config)})


def make_optimizers(config: DomainClassifierConfig, networks: nn.ModuleDict) -> dict:
    return {"classifier": adam(networks["classifier"].parameters(), config.lr, decoupled=True,
                                            weight_decay=config.weight_decay)}


def learning_rate(config: DomainClassifierConfig, step: int) -> float:
    """Cosine decay from ``lr`` to 0 over ``total_steps``, after a 5% linear warm-up."""
    warmup = max(1, config.total_steps // 20)
    if step < warmup:
        return config.lr * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, config.total_steps - warmup))
    return config.lr * 0.5 * (1 + math.cos(progress * math.pi))


def augment(config: DomainClassifierConfig, images: Tensor, rng: torch.Generator) -> Tensor:
    """Random shifts of up to 2 pixels (replicated borders), and flips when asked."""
    if config.augment == "none":
        return images
    b, _, h, w = images.shape
    padded = F.pad(images, (2, 2, 2, 2), mode="replicate")
    # the shift is picked on the device, from every 5x5 window of the padded batch: no host sync
    dy, dx = torch.randint(0, 5, (2,), generator=rng, device=rng.device)
    shifted = padded.unfold(2, h, 1).unfold(3, w, 1)[:, :, dy, dx]
    if config.augment == "shift-flip":
        flip = torch.rand(b, generator=rng, device=rng.device) < 0.5
        shifted = torch.where(flip[:, None, None, None], shifted.flip(-1), shifted)
    return shifted


def train_step(config: DomainClassifierConfig, networks: nn.ModuleDict, optimizers: dict, real: Tensor,
               labels: Tensor | None, step: int, rng: torch.Generator, update: str = "both") -> dict[str, Tensor]:
    """One supervised cross-entropy step on an augmented batch ("g": nothing to update, only measure)."""
    optimizer = optimizers["classifier"]
    for group in optimizer.param_groups:
        group["lr"] = learning_rate(config, step)
    with drawing_from(networks, rng):
        return classification_step(networks["classifier"], optimizer, real, labels, update, "domain-classifier",
                                   augment=lambda images: augment(config, images, rng))


def data_fields(dataset) -> dict:
    return {**labelled_fields(dataset), "class_names": tuple(dataset.class_names)}


SPEC = FamilySpec(
    name="domain-classifier",
    description="a small CNN classifier of one dataset: the feature network of FID/KID/IS and mode coverage",
    paper="https://arxiv.org/abs/1409.1556",
    config_cls=DomainClassifierConfig,
    data_kinds=("image",),
    build=build,
    make_optimizers=make_optimizers,
    train_step=train_step,
    sample=no_generator("domain-classifier"),
    noise=no_generator("domain-classifier"),
    data_fields=data_fields,
    has_generator=False,
    suggested_datasets=("mnist", "fashion-mnist", "cifar10"),
    presets={
        "cpu-small": {"width": 16, "feature_dim": 64},
        "default": {},
        "digits": {"augment": "shift"},
        "natural": {"augment": "shift-flip", "dropout": 0.4},
    },
)
