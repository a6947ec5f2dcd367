"""wgan-gp: WGAN with a gradient penalty on SN-GAN's CIFAR-10 ResNet (or SN-GAN itself, with hinge).

Papers: Gulrajani et al. 2017, https://arxiv.org/abs/1704.00028 (the penalty, lambda = 10, n_critic
= 5, Adam(2e-4, betas (0, 0.9)), learning rate linearly annealed to 0); Miyato et al. 2018,
https://arxiv.org/abs/1802.05957 (appendix: the CIFAR-10 ResNet, and spectral normalisation with
the hinge loss). Kept: z ~ N(0, I) in R^128; G = dense to a 4x4 seed, three up-sampling ResBlocks,
BN-ReLU-conv3x3-tanh; the critic = an "optimised" first ResBlock down, a ResBlock down, two plain
ResBlocks, ReLU, global sum pooling, dense to one score; no normalisation in the critic for
wgan-gp (the penalty is per sample); spectral norm on every critic layer for ``objective="hinge"``.
Changed: G's ResBlocks up-sample by depth-to-space (a conv to 4x channels, then nn.PixelShuffle)
and the critic's down-sample by space-to-depth (nn.PixelUnshuffle, then a conv) instead of
nearest up-sampling / average pooling; one width for every block of each network (``g_width``,
``d_width``); sizes other than 32: 28x28 (MNIST) starts from a 7x7 seed, and in general
image_size = 4 or 7 times 2**k; the critic halves the side until it is at most 8.
The learning rate falls linearly from its base to 0 over ``total_steps`` critic steps (the
engine fills that from the run's length); it is set from the step number in every train_step,
so there is no scheduler state and a resumed run anneals exactly as an unbroken one.

Presets: "cpu" (16 filters, learning rate 5e-4) trains on MNIST on a CPU: 1,000 steps (200
generator steps) take about 2 minutes on 2 cores. "paper" is the papers' CIFAR-10 set-up (128
filters): run it with batch_size=256 and steps=125000 (125,000 critic steps = 25,000 generator
steps with n_critic = 5; batch size and steps are RunConfig values, not model config), e.g.
``python -m trainers train --model wgan-gp --dataset cifar10 --preset paper --batch-size 256
--steps 125000``. The number to compare against is an Inception Score of 7.28 on CIFAR-10 (the
figure this family was specified with), where Inception weights are available; it has not been
measured here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from ..optim import adam
from ..config import field
from ..errors import ConfigError
from ..family import FamilySpec, image_fields
from .adversarial import adversarial_critic, gan_train_step, gaussian_noise, sample_generator


@dataclass
class WGANGPConfig:
    image_size: int = field(32, "image side in pixels (set from the dataset)", range=(8, 256))
    channels: int = field(3, "image channels (set from the dataset)", choices=(1, 3))
    latent_dim: int = field(128, "size of the noise vector z", range=(1, 512))
    g_width: int = field(128, "generator channels in every ResBlock", range=(4, 1024))
    d_width: int = field(128, "critic channels in every ResBlock", range=(4, 1024))
    objective: str = field("wgan-gp", "wgan-gp: gradient penalty, no normalisation in the critic; "
                           "hinge: SN-GAN, spectral norm on every critic layer",
                           choices=("wgan-gp", "hinge"))
    n_critic: int = field(5, "critic updates per generator update", range=(1, 100))
    gp_weight: float = field(10.0, "wgan-gp: weight of the gradient penalty (lambda)", range=(0.0, 1000.0))
    lr_g: float = field(2e-4, "generator base learning rate (Adam)", range=(1e-6, 1.0))
    lr_d: float = field(2e-4, "critic base learning rate (Adam)", range=(1e-6, 1.0))
    beta1: float = field(0.0, "Adam beta1 for both networks", range=(0.0, 0.999))
    beta2: float = field(0.9, "Adam beta2 for both networks", range=(0.0, 0.9999))
    anneal_lr: bool = field(True, "lower both learning rates linearly to 0 at the last step")
    total_steps: int = field(0, "steps over which the learning rate anneals (set from the run; "
                             "0: no annealing)", range=(0, 10_000_000))

    def check(self) -> None:
        layout(self.image_size)


def layout(image_size: int) -> tuple[int, int, int]:
    """(seed side, G's x2 up-samplings, the critic's /2 down-samplings) for an image side."""
    for seed in (4, 7):
        ups, side = 0, image_size
        while side > seed and side % 2 == 0:
            side //= 2
            ups += 1
        if side == seed and ups >= 1:
            downs, side = 1, image_size // 2  # the first critic block always halves the side
            while side > 8:
                side //= 2
                downs += 1
            return seed, ups, downs
    raise ConfigError(f"image_size: the wgan-gp ResNet needs 4 or 7 times a power of two (8, 14, 16, "
                      f"28, 32, 64, ...), not {image_size}")


def _conv(c_in: int, c_out: int, kernel: int, gain: float = 1.0) -> nn.Conv2d:
    conv = nn.Conv2d(c_in, c_out, kernel, 1, kernel // 2)
    nn.init.xavier_uniform_(conv.weight, gain)
    nn.init.zeros_(conv.bias)
    return conv


class UpBlock(nn.Module):
    """G's ResBlock: (B, c, s, s) -> (B, c, 2s, 2s); BN-ReLU-up-conv3x3-BN-ReLU-conv3x3 + up-conv1x1."""

    def __init__(self, c: int):
        super().__init__()
        self.residual = nn.Sequential(
            nn.BatchNorm2d(c), nn.ReLU(),
            _conv(c, 4 * c, 3, math.sqrt(2)), nn.PixelShuffle(2),  # (B, 4c, s, s) -> (B, c, 2s, 2s)
            nn.BatchNorm2d(c), nn.ReLU(),
            _conv(c, c, 3, math.sqrt(2)))
        self.shortcut = nn.Sequential(_conv(c, 4 * c, 1), nn.PixelShuffle(2))

    def forward(self, x: Tensor) -> Tensor:
        return self.residual(x) + self.shortcut(x)


class DownBlock(nn.Module):
    """The critic's ResBlock: (B, c_in, s, s) -> (B, c, s/2, s/2) when ``down``, else same side.

    ``first`` is SN-GAN's optimised block for the image: no ReLU before its first conv.
    """

    def __init__(self, c_in: int, c: int, down: bool, first: bool = False):
        super().__init__()
        layers: list[nn.Module] = [] if first else [nn.ReLU()]
        layers += [_conv(c_in, c, 3, math.sqrt(2)), nn.ReLU()]
        if down:  # (B, c, s, s) -> (B, 4c, s/2, s/2) -> (B, c, s/2, s/2)
            layers += [nn.PixelUnshuffle(2), _conv(4 * c, c, 3, math.sqrt(2))]
        else:
            layers.append(_conv(c, c, 3, math.sqrt(2)))
        self.residual = nn.Sequential(*layers)
        if down:  # (B, c_in, s, s) -> (B, 4 c_in, s/2, s/2) -> (B, c, s/2, s/2)
            self.shortcut: nn.Module = nn.Sequential(nn.PixelUnshuffle(2), _conv(4 * c_in, c, 1))
        else:
            self.shortcut = nn.Identity() if c_in == c else _conv(c_in, c, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.residual(x) + self.shortcut(x)


class Generator(nn.Module):
    def __init__(self, config: WGANGPConfig):
        super().__init__()
        seed, ups, _ = layout(config.image_size)
        c = config.g_width
        self.seed, self.width = seed, c
        # (B, z) -> (B, c * seed * seed) -> (B, c, seed, seed)
        self.dense = nn.Linear(config.latent_dim, c * seed * seed)
        nn.init.xavier_uniform_(self.dense.weight)
        nn.init.zeros_(self.dense.bias)
        # each block doubles the side: (B, c, seed, seed) -> (B, c, size, size)
        self.blocks = nn.Sequential(*(UpBlock(c) for _ in range(ups)))
        # (B, c, size, size) -> (B, channels, size, size) in [-1, 1]
        self.head = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(), _conv(c, config.channels, 3), nn.Tanh())

    def forward(self, z: Tensor) -> Tensor:
        x = self.dense(z).view(-1, self.width, self.seed, self.seed)
        return self.head(self.blocks(x))


class Critic(nn.Module):
    def __init__(self, config: WGANGPConfig):
        super().__init__()
        _, _, downs = layout(config.image_size)
        c = config.d_width
        # (B, channels, size, size) -> (B, c, size / 2**downs, ...): the first block is SN-GAN's optimised one
        blocks = [DownBlock(config.channels, c, down=True, first=True)]
        blocks += [DownBlock(c, c, down=True) for _ in range(downs - 1)]
        # two plain blocks at the smallest side, as in SN-GAN's 32x32 critic (8x8 there, 7x7 for MNIST)
        blocks += [DownBlock(c, c, down=False), DownBlock(c, c, down=False)]
        self.blocks = nn.Sequential(*blocks, nn.ReLU())
        # global sum pooling (B, c, s, s) -> (B, c), then (B, c) -> (B, 1): one raw score per image
        self.dense = nn.Linear(c, 1)
        nn.init.xavier_uniform_(self.dense.weight)
        nn.init.zeros_(self.dense.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.dense(self.blocks(x).sum(dim=(2, 3))).flatten()


def build(config: WGANGPConfig) -> nn.ModuleDict:
    critic = Critic(config)
    if config.objective == "hinge":  # SN-GAN: every conv and dense layer of the critic
        for module in list(critic.modules()):
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                spectral_norm(module)
    return nn.ModuleDict({"generator": Generator(config), "discriminator": critic})


def make_optimizers(config: WGANGPConfig, networks: nn.ModuleDict) -> dict[str, torch.optim.Optimizer]:
    betas = (config.beta1, config.beta2)
    return {
        "generator": adam(networks["generator"].parameters(), config.lr_g, betas=betas),
        "discriminator": adam(networks["discriminator"].parameters(), config.lr_d, betas=betas),
    }


def lr_scale(config: WGANGPConfig, step: int) -> float:
    """1 at step 0, falling linearly to 1/total_steps at the last step (total_steps - 1), as in
    Gulrajani et al.'s code (decay = 1 - iteration / ITERS); 1 throughout without annealing."""
    if not config.anneal_lr or config.total_steps <= 0:
        return 1.0
    return max(0.0, 1.0 - step / config.total_steps)


def train_step(config: WGANGPConfig, networks: nn.ModuleDict, optimizers: dict, real: Tensor,
               labels: Tensor | None, step: int, rng: torch.Generator,
               update: str = "both") -> dict[str, Tensor]:
    """Set this step's annealed learning rates, then one shared D/G step (G every n_critic-th)."""
    scale = lr_scale(config, step)
    for name, base in (("generator", config.lr_g), ("discriminator", config.lr_d)):
        for group in optimizers[name].param_groups:
            group["lr"] = base * scale
    out = gan_train_step(config, networks, optimizers, real, labels, step, rng, update)
    out["lr_g"] = torch.full((), config.lr_g * scale, device=real.device)
    return out


SPEC = FamilySpec(
    name="wgan-gp",
    description="WGAN-GP (or SN-GAN with hinge) on the SN-GAN CIFAR-10 ResNet, annealed Adam, n_critic = 5",
    paper="https://arxiv.org/abs/1704.00028",
    config_cls=WGANGPConfig,
    data_kinds=("image",),
    build=build,
    make_optimizers=make_optimizers,
    train_step=train_step,
    sample=sample_generator,
    critic=adversarial_critic,
    noise=gaussian_noise,
    data_fields=image_fields,
    presets={
        # MNIST on a CPU: 16 channels in every block and 2.5x the learning rate. Measured on MNIST,
        # batch 64, 2 cores: 0.12 s/step, Frechet distance (MNIST-classifier features) 160 after
        # 1,000 steps; 32 channels at 2e-4 take 0.29 s/step and reached 487 after 500 steps
        "cpu": {"g_width": 16, "d_width": 16, "lr_g": 5e-4, "lr_d": 5e-4},
        # CIFAR-10 as in the papers; run with batch_size=256, steps=125000 (25,000 G steps)
        "paper": {"g_width": 128, "d_width": 128, "latent_dim": 128},
    },
)
