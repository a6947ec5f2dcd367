"""vanilla-gan: the original GAN (Goodfellow et al., 2014) with MLPs on flattened images.

Paper: https://arxiv.org/abs/1406.2661. Kept: fully connected generator and discriminator on the
flattened image, the two-player game with either the minimax (saturating) generator loss or the
paper's non-saturating alternative, a tanh output for pixels in [-1, 1]. Changed, as most modern
re-implementations do: LeakyReLU(0.2) instead of maxout, batch norm in G's hidden layers, no
dropout in D (it would draw from a random stream outside the run's seed), and Adam(2e-4,
beta1=0.5) instead of SGD with momentum, so MNIST digits appear within minutes on a CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from ..config import field
from ..family import FamilySpec, image_fields
from .adversarial import adversarial_critic, gan_train_step, gaussian_noise, make_adam_pair, sample_generator


@dataclass
class VanillaGANConfig:
    image_size: int = field(28, "image side in pixels (set from the dataset)", range=(8, 128))
    channels: int = field(1, "image channels (set from the dataset)", choices=(1, 3))
    latent_dim: int = field(100, "size of the noise vector z", range=(1, 512))
    hidden: int = field(256, "neurons in G's first and D's last hidden layer; the others double",
                        range=(8, 2048))
    layers: int = field(3, "hidden layers in each network", range=(1, 5))
    objective: str = field("non-saturating", "the generator's loss",
                           choices=("minimax", "non-saturating"))
    lr_g: float = field(2e-4, "generator learning rate (Adam)", range=(1e-6, 1.0))
    lr_d: float = field(2e-4, "discriminator learning rate (Adam)", range=(1e-6, 1.0))
    beta1: float = field(0.5, "Adam beta1 for both networks", range=(0.0, 0.999))
    beta2: float = field(0.999, "Adam beta2 for both networks", range=(0.0, 0.9999))

    @property
    def pixels(self) -> int:
        return self.channels * self.image_size * self.image_size


class Generator(nn.Module):
    """z (B, latent) -> hidden, 2*hidden, ... (Linear, BatchNorm, LeakyReLU) -> tanh (B, C, H, W)."""

    def __init__(self, config: VanillaGANConfig):
        super().__init__()
        self.shape = (config.channels, config.image_size, config.image_size)
        layers: list[nn.Module] = []
        width_in = config.latent_dim
        for i in range(config.layers):
            width = config.hidden * 2**i
            layers += [nn.Linear(width_in, width), nn.BatchNorm1d(width), nn.LeakyReLU(0.2, True)]
            width_in = width
        layers += [nn.Linear(width_in, config.pixels), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).view(z.shape[0], *self.shape)


class Discriminator(nn.Module):
    """x (B, C, H, W) flattened -> ..., 2*hidden, hidden (Linear, LeakyReLU) -> one logit (B,)."""

    def __init__(self, config: VanillaGANConfig):
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width_in = config.pixels
        for i in reversed(range(config.layers)):
            width = config.hidden * 2**i
            layers += [nn.Linear(width_in, width), nn.LeakyReLU(0.2, True)]
            width_in = width
        layers.append(nn.Linear(width_in, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).flatten()


def build(config: VanillaGANConfig) -> nn.ModuleDict:
    return nn.ModuleDict({"generator": Generator(config), "discriminator": Discriminator(config)})


SPEC = FamilySpec(
    name="vanilla-gan",
    description="Original GAN with MLPs on flattened images (MNIST, Fashion-MNIST); minimax or non-saturating",
    paper="https://arxiv.org/abs/1406.2661",
    config_cls=VanillaGANConfig,
    data_kinds=("image",),
    build=build,
    make_optimizers=make_adam_pair,
    train_step=gan_train_step,
    sample=sample_generator,
    critic=adversarial_critic,
    noise=gaussian_noise,
    data_fields=image_fields,
    bf16_on_cpu=False,  # bf16 autocast ran at 0.94-0.97x on an AMX CPU (cpu-small): small linear layers
    min_batch=(2, "its batch norm takes each feature's variance across the batch"),
    presets={
        "cpu-small": {"hidden": 128, "layers": 3, "latent_dim": 64, "lr_g": 5e-4, "lr_d": 5e-4},
        "paper": {"hidden": 256, "layers": 3, "objective": "minimax"},
    },
)
