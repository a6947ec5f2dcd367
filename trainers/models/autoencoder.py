"""autoencoder: a deep convolutional autoencoder whose halves mirror DCGAN's D and G.

Reference: Hinton & Salakhutdinov, "Reducing the dimensionality of data with neural networks"
(Science, 2006), https://www.cs.toronto.edu/~hinton/absps/science.pdf, here with convolutions.
The encoder E is DCGAN's discriminator stack (strided convolutions, batch norm, LeakyReLU(0.2))
ending in ``latent_dim`` numbers instead of one logit; the decoder is DCGAN's generator (imported
from :mod:`dcgan`, not copied) reading that code. Both minimise the mean squared (or absolute)
reconstruction error ||x - dec(E(x))|| with Adam(2e-4, beta1=0.5). There is no adversary and no
prior on the code, so decoding random N(0, I) codes ("samples") is only as good as the code
space happens to be Gaussian: the adversarial autoencoder adds exactly that prior. The live
view shows input/reconstruction pairs, and the same encoder feeds the linear-probe evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..optim import adam
from ..config import field
from ..family import FamilySpec, image_fields
from . import dcgan
from .adversarial import encode_images, evaluating, gaussian_noise, grad_norm


@dataclass
class AutoencoderConfig:
    image_size: int = field(28, "image side in pixels (set from the dataset)", range=(8, 256))
    channels: int = field(1, "image channels (set from the dataset)", choices=(1, 3))
    latent_dim: int = field(32, "size of the code E(x)", range=(1, 512))
    g_width: int = field(64, "decoder feature maps at its last hidden layer (DCGAN's ngf)", range=(4, 512))
    d_width: int = field(64, "encoder feature maps at its first layer (DCGAN's ndf)", range=(4, 512))
    loss: str = field("mse", "reconstruction error: mean squared (mse) or mean absolute (l1)",
                      choices=("mse", "l1"))
    lr: float = field(2e-4, "learning rate of both halves (Adam)", range=(1e-6, 1.0))
    beta1: float = field(0.5, "Adam beta1", range=(0.0, 0.999))
    beta2: float = field(0.999, "Adam beta2", range=(0.0, 0.9999))

    def check(self) -> None:
        dcgan.upsamplings(self.image_size)


class Encoder(nn.Module):
    """DCGAN's discriminator stack with a ``latent_dim`` output:
    (B, channels, size, size) -> (B, width, seed, seed) -> (B, latent_dim)."""

    def __init__(self, config: AutoencoderConfig):
        super().__init__()
        stack = dcgan.Discriminator(SimpleNamespace(
            image_size=config.image_size, channels=config.channels, d_width=config.d_width,
            critic_norm="batch")).net
        last = stack[-1]  # Conv2d(width, 1, seed): swap the one logit for the code
        self.features = stack[:-1]
        self.code = nn.Conv2d(last.in_channels, config.latent_dim, last.kernel_size, bias=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.code(self.features(x)).flatten(1)


def build(config: AutoencoderConfig) -> nn.ModuleDict:
    decoder = dcgan.Generator(SimpleNamespace(image_size=config.image_size, channels=config.channels,
                                              latent_dim=config.latent_dim, g_width=config.g_width))
    networks = nn.ModuleDict({"encoder": Encoder(config), "decoder": decoder})
    networks.apply(dcgan.init_weights)
    return networks


def make_optimizers(config: AutoencoderConfig, networks: nn.ModuleDict) -> dict[str, torch.optim.Optimizer]:
    return {"autoencoder": adam(networks.parameters(), config.lr, betas=(config.beta1, config.beta2))}


def reconstruction_error(config: AutoencoderConfig, x: Tensor, rebuilt: Tensor) -> Tensor:
    return F.mse_loss(rebuilt, x) if config.loss == "mse" else F.l1_loss(rebuilt, x)


def train_step(config: AutoencoderConfig, networks: nn.ModuleDict, optimizers: dict, real: Tensor,
               labels: Tensor | None, step: int, rng: torch.Generator,
               update: str = "both") -> dict[str, Tensor]:
    """One reconstruction step on both halves (there is no D/G turn: ``update`` is ignored)."""
    optimizer = optimizers["autoencoder"]
    code = networks["encoder"](real)
    loss = reconstruction_error(config, real, networks["decoder"](code))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    norm = grad_norm(networks)
    optimizer.step()
    return {"loss_recon": loss.detach(), "grad_norm": norm, "code_std": code.detach().std()}


@torch.no_grad()
def reconstruct(config: AutoencoderConfig, networks: nn.ModuleDict, x: Tensor) -> Tensor:
    """dec(E(x)) with batch norm on running statistics; the weights are untouched."""
    with evaluating(networks["encoder"], networks["decoder"]):
        return networks["decoder"](networks["encoder"](x))


@torch.no_grad()
def sample(config: AutoencoderConfig, networks: nn.ModuleDict, z: Tensor, labels: Tensor | None = None) -> Tensor:
    """dec(z) for codes z ~ N(0, I): a plain autoencoder's code space is not trained to be Gaussian."""
    with evaluating(networks["decoder"]):
        return networks["decoder"](z)


SPEC = FamilySpec(
    name="autoencoder",
    description="Deep convolutional autoencoder (DCGAN's D as encoder, G as decoder): live reconstructions",
    paper="https://www.cs.toronto.edu/~hinton/absps/science.pdf",
    config_cls=AutoencoderConfig,
    data_kinds=("image",),
    build=build,
    make_optimizers=make_optimizers,
    train_step=train_step,
    sample=sample,
    noise=gaussian_noise,
    data_fields=image_fields,
    presets={"cpu-small": {"g_width": 32, "d_width": 32, "latent_dim": 32, "lr": 1e-3},
             "paper": {"g_width": 64, "d_width": 64, "latent_dim": 64}},
    reconstruct=reconstruct,
    encode=encode_images,
)
