"""mlp-gan: the original GAN (Goodfellow et al., 2014) with small MLPs, on 1-D and 2-D toy data.

Paper: https://arxiv.org/abs/1406.2661. Kept: the two-player game with either the minimax
(saturating) generator loss or the paper's non-saturating alternative. Changed: LeakyReLU MLPs
trained with Adam instead of maxout networks with SGD+momentum, as GAN Lab does, so a run on a
toy distribution converges in seconds on a CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..config import field
from ..family import FamilySpec
from ..objectives import get_objective
from .adversarial import evaluating, gan_train_step, gaussian_noise, make_adam_pair, sample_generator


@dataclass
class MLPGANConfig:
    data_dim: int = field(2, "dimension of a data point (set from the dataset)", range=(1, 2))
    latent_dim: int = field(8, "size of the noise vector z", range=(1, 128))
    hidden: int = field(128, "neurons per hidden layer", range=(4, 1024))
    g_layers: int = field(3, "hidden layers in the generator", range=(1, 8))
    d_layers: int = field(3, "hidden layers in the discriminator", range=(1, 8))
    objective: str = field("non-saturating", "the generator's loss",
                           choices=("minimax", "non-saturating"))
    lr_g: float = field(1e-3, "generator learning rate (Adam)", range=(1e-6, 1.0))
    lr_d: float = field(1e-3, "discriminator learning rate (Adam)", range=(1e-6, 1.0))
    beta1: float = field(0.5, "Adam beta1 for both networks", range=(0.0, 0.999))
    beta2: float = field(0.999, "Adam beta2 for both networks", range=(0.0, 0.9999))


def _mlp(inputs: int, hidden: int, layers: int, outputs: int) -> nn.Sequential:
    modules: list[nn.Module] = []
    width = inputs
    for _ in range(layers):
        modules += [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]
        width = hidden
    modules.append(nn.Linear(width, outputs))
    return nn.Sequential(*modules)


def build(config: MLPGANConfig) -> nn.ModuleDict:
    # G: z (B, latent) -> x (B, data_dim), linear output: toy data is not bounded by tanh's range
    # D: x (B, data_dim) -> logit (B, 1)
    return nn.ModuleDict({
        "generator": _mlp(config.latent_dim, config.hidden, config.g_layers, config.data_dim),
        "discriminator": _mlp(config.data_dim, config.hidden, config.d_layers, 1),
    })


@torch.no_grad()
def critic(config: MLPGANConfig, networks: nn.ModuleDict, x: Tensor) -> Tensor:
    with evaluating(networks["discriminator"]):
        return get_objective(config.objective).score(networks["discriminator"](x)).squeeze(-1)


def generator_gradient(config: MLPGANConfig, networks: nn.ModuleDict, x: Tensor) -> Tensor:
    """-dL_G/dx at each generated point: the direction and strength with which G's loss moves it.
    Per point (the loss's mean over the batch is undone), D in eval mode and untouched."""
    points = x.detach().clone().requires_grad_(True)
    with torch.enable_grad(), evaluating(networks["discriminator"]):
        loss = get_objective(config.objective).g_loss(networks["discriminator"](points))
        (gradient,) = torch.autograd.grad(loss * len(points), points)
    return -gradient


SPEC = FamilySpec(
    name="mlp-gan",
    description="Original GAN with MLPs on 1-D/2-D toy data; minimax or non-saturating loss",
    paper="https://arxiv.org/abs/1406.2661",
    config_cls=MLPGANConfig,
    data_kinds=("points",),
    build=build,
    make_optimizers=make_adam_pair,
    train_step=gan_train_step,
    sample=sample_generator,
    noise=gaussian_noise,
    data_fields=lambda dataset: {"data_dim": dataset.sample_shape[0]},
    critic=critic,
    generator_gradient=generator_gradient,
    presets={
        "default": {},
        "gan-lab": {"hidden": 16, "g_layers": 2, "d_layers": 2, "latent_dim": 2, "lr_g": 3e-3, "lr_d": 3e-3},
    },
)
