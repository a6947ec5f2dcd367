"""wgan: Wasserstein GAN with weight clipping (Arjovsky, Chintala & Bottou, 2017).

Paper: https://arxiv.org/abs/1701.07875. Kept: the critic has no sigmoid and maximises
E[D(x)] - E[D(G(z))], an estimate of the Wasserstein-1 distance (shown live as
``wasserstein_estimate``; it should fall as G improves); every critic weight is clipped to
[-c, c] with c = 0.01 after each critic update; n_critic = 5 critic updates per generator
update; RMSProp with lr 5e-5 for both networks (the paper's Algorithm 1).
Networks: DCGAN's (imported from :mod:`dcgan`, not copied): G with batch norm, and the critic
without normalisation by default (``d_norm="batch"`` gives the reference code's batch-norm
critic). Changed: the reference code's 100 critic updates for the first 25 generator updates
(and every 500th) are left out: n_critic is constant. The "cpu-small" preset uses RMSProp lr 2e-4
(4x the paper's: at 5e-5 the critic's estimate still climbs after 200 steps on MNIST) and the
reference code's batch-norm critic: measured on MNIST (batch 64), without normalisation G
still covered only 3 digits after 1,500 steps (Frechet distance in an MNIST classifier's features
1440, untrained 1830), with batch norm 9 digits after 1,000 (distance 237). "paper" keeps 5e-5.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..config import field
from ..family import FamilySpec, image_fields
from .adversarial import adversarial_critic, gan_train_step, gaussian_noise, sample_generator
from .dcgan import Discriminator, Generator, init_weights, upsamplings


@dataclass
class WGANConfig:
    image_size: int = field(28, "image side in pixels (set from the dataset)", range=(8, 256))
    channels: int = field(1, "image channels (set from the dataset)", choices=(1, 3))
    latent_dim: int = field(100, "size of the noise vector z", range=(1, 512))
    g_width: int = field(64, "generator feature maps at its last hidden layer (ngf)", range=(4, 512))
    d_width: int = field(64, "critic feature maps at its first layer (ndf)", range=(4, 512))
    objective: str = field("wasserstein", "the loss: the critic estimates the Wasserstein-1 distance",
                           choices=("wasserstein",))
    d_norm: str = field("none", "normalisation in the critic: none, or batch norm as in the "
                        "reference code", choices=("none", "batch"))
    n_critic: int = field(5, "critic updates per generator update", range=(1, 100))
    clip_value: float = field(0.01, "clip every critic weight to [-c, c] after each update",
                              range=(1e-4, 1.0))
    lr_g: float = field(5e-5, "generator learning rate (RMSProp)", range=(1e-6, 1.0))
    lr_d: float = field(5e-5, "critic learning rate (RMSProp)", range=(1e-6, 1.0))

    def check(self) -> None:
        upsamplings(self.image_size)

    @property
    def critic_norm(self) -> str:
        """What :class:`dcgan.Discriminator` reads to pick its normalisation."""
        return self.d_norm


def build(config: WGANConfig) -> nn.ModuleDict:
    # G: (B, latent_dim) -> (B, channels, size, size); critic: (B, channels, size, size) -> (B,) raw scores
    networks = nn.ModuleDict({"generator": Generator(config), "discriminator": Discriminator(config)})
    networks.apply(init_weights)
    return networks


def make_optimizers(config: WGANConfig, networks: nn.ModuleDict) -> dict[str, torch.optim.Optimizer]:
    """RMSProp for both networks, as the paper advises (momentum-based optimizers were unstable)."""
    return {
        "generator": torch.optim.RMSprop(networks["generator"].parameters(), lr=config.lr_g),
        "discriminator": torch.optim.RMSprop(networks["discriminator"].parameters(), lr=config.lr_d),
    }


SPEC = FamilySpec(
    name="wgan",
    description="Wasserstein GAN: DCGAN networks, a clipped critic, RMSProp, n_critic = 5",
    paper="https://arxiv.org/abs/1701.07875",
    config_cls=WGANConfig,
    data_kinds=("image",),
    build=build,
    make_optimizers=make_optimizers,
    train_step=gan_train_step,
    sample=sample_generator,
    critic=adversarial_critic,
    noise=gaussian_noise,
    data_fields=image_fields,
    presets={
        # smaller networks, 4x the paper's learning rate and a batch-norm critic, so a CPU run
        # shows digits within a minute or two
        "cpu-small": {"g_width": 32, "d_width": 32, "lr_g": 2e-4, "lr_d": 2e-4, "d_norm": "batch"},
        "paper": {"g_width": 64, "d_width": 64, "lr_g": 5e-5, "lr_d": 5e-5},
    },
)
