"""multiclass-discriminator: the seed's deep convolutional multiclass discriminator, as a classifier.

Idea: the project seed's multiclass GAN (see mc_gan.py; related: Odena 2016,
https://arxiv.org/abs/1606.01583). This is its discriminator on its own: the same network as
mc-gan's D (:class:`trainers.models.mc_gan.MulticlassDiscriminator`, DCGAN's strided-conv trunk
from https://arxiv.org/abs/1511.06434) with K outputs instead of K + 1 (no "fake" class), trained
by supervised cross-entropy on a labelled dataset. It shows that the building block of mc-gan
reads the classes well; :func:`accuracy` measures it on a test split.

It has no generator: ``FamilySpec.has_generator`` is False, so the engine emits no sample
grids, and ``sample``/``noise`` raise a ConfigError saying so. The lab's "Step G" has nothing to
update: it only measures the batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..optim import adam
from ..config import field
from ..family import FamilySpec
from . import dcgan
from .adversarial import classification_accuracy, classification_step, evaluating, no_generator
from .mc_gan import MulticlassDiscriminator, labelled_fields


@dataclass
class MulticlassDiscriminatorConfig:
    image_size: int = field(28, "image side in pixels (set from the dataset)", range=(8, 256))
    channels: int = field(1, "image channels (set from the dataset)", choices=(1, 3))
    num_classes: int = field(10, "K, the classes it reads (set from the dataset)", range=(2, 1000))
    d_width: int = field(64, "feature maps at its first layer (ndf)", range=(4, 512))
    d_norm: str = field("none", "normalisation: none (mc-gan's default), batch norm (the DCGAN paper's) "
                        "or layer norm", choices=("none", "batch", "layer"))
    lr: float = field(1e-3, "learning rate (Adam)", range=(1e-6, 1.0))
    beta1: float = field(0.9, "Adam beta1", range=(0.0, 0.999))
    beta2: float = field(0.999, "Adam beta2", range=(0.0, 0.9999))

    def check(self) -> None:
        dcgan.upsamplings(self.image_size)

    @property
    def critic_norm(self) -> str:  # the name dcgan's discriminator trunk reads
        return self.d_norm


def build(config: MulticlassDiscriminatorConfig) -> nn.ModuleDict:
    networks = nn.ModuleDict({"discriminator": MulticlassDiscriminator(config, config.num_classes)})
    networks.apply(dcgan.init_weights)
    return networks


def make_optimizers(config: MulticlassDiscriminatorConfig, networks: nn.ModuleDict) -> dict:
    return {"discriminator": adam(networks["discriminator"].parameters(), config.lr,
                                              betas=(config.beta1, config.beta2))}


def train_step(config: MulticlassDiscriminatorConfig, networks: nn.ModuleDict, optimizers: dict,
               real: Tensor, labels: Tensor | None, step: int, rng: torch.Generator,
               update: str = "both") -> dict[str, Tensor]:
    """One supervised cross-entropy step on the batch ("g": no network to update, only measure it)."""
    return classification_step(networks["discriminator"], optimizers["discriminator"], real, labels, update,
                               "multiclass-discriminator")


@torch.no_grad()
def predict(config: MulticlassDiscriminatorConfig, networks: nn.ModuleDict, x: Tensor) -> Tensor:
    """Class probabilities (B, K) for images in [-1, 1], batch norm on running statistics."""
    with evaluating(networks["discriminator"]):
        return F.softmax(networks["discriminator"](x), dim=1)


def accuracy(config: MulticlassDiscriminatorConfig, networks: nn.ModuleDict, dataset,
             limit: int | None = None, batch_size: int = 1000) -> float:
    """Top-1 accuracy on a labelled dataset (e.g. the test split), the first ``limit`` images."""
    return classification_accuracy(networks["discriminator"], dataset, limit, batch_size)


SPEC = FamilySpec(
    name="multiclass-discriminator",
    description="mc-gan's deep convolutional multiclass discriminator trained alone as a classifier",
    paper="https://arxiv.org/abs/1606.01583",
    config_cls=MulticlassDiscriminatorConfig,
    data_kinds=("image",),
    build=build,
    make_optimizers=make_optimizers,
    train_step=train_step,
    sample=no_generator("multiclass-discriminator"),
    noise=no_generator("multiclass-discriminator"),
    data_fields=labelled_fields,
    has_generator=False,
    presets={
        "cpu-small": {"d_width": 16},
        "default": {},
    },
)
