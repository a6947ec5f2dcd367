"""progan: Progressive Growing of GANs (Karras, Aila, Laine & Lehtinen, 2018).

Paper: https://arxiv.org/abs/1710.10196. Kept: training starts at the smallest resolution and
grows both networks one doubling at a time, fading each new block in (alpha 0 -> 1) while the
real images are blended between resolutions the same way; minibatch standard deviation in D's
last block; equalised learning rate (weights ~ N(0, 1), scaled by He's constant at run time);
pixel norm after every generator convolution; Adam(1e-3, betas (0, 0.99)); the WGAN-GP loss with
n_critic = 1. Changed: CPU sizes (4x4 -> 32x32 for CIFAR-10, 7x7 -> 28x28 for MNIST; 64x64 and up
where there is a GPU), a fixed number of steps per fade-in and per stable phase instead of a
count of images, a tanh on the output so samples stay in [-1, 1], and no drift penalty. The
current resolution and alpha are buffers of the networks (saved with them) and live signals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import field
from ..family import FamilySpec, image_fields
from ..objectives import get_objective
from . import dcgan
from .adversarial import adversarial_step, gaussian_noise, make_adam_pair, sample_generator


@dataclass
class ProGANConfig:
    image_size: int = field(28, "final image side (set from the dataset): 4 or 7 times a power of two",
                            range=(8, 256))
    channels: int = field(1, "image channels (set from the dataset)", choices=(1, 3))
    latent_dim: int = field(128, "size of the noise vector z", range=(1, 512))
    width: int = field(64, "feature maps in every block (the paper's 512, shrunk for CPUs)", range=(4, 512))
    phase_steps: int = field(300, "steps per fade-in and per stable phase at each resolution",
                             range=(1, 1_000_000))
    objective: str = field("wgan-gp", "the GAN loss", choices=("wgan-gp", "non-saturating", "least-squares"))
    gp_weight: float = field(10.0, "wgan-gp: weight of the gradient penalty", range=(0.0, 1000.0))
    lr_g: float = field(1e-3, "generator learning rate (Adam)", range=(1e-6, 1.0))
    lr_d: float = field(1e-3, "discriminator learning rate (Adam)", range=(1e-6, 1.0))
    beta1: float = field(0.0, "Adam beta1 for both networks", range=(0.0, 0.999))
    beta2: float = field(0.99, "Adam beta2 for both networks", range=(0.0, 0.9999))

    def check(self) -> None:
        dcgan.upsamplings(self.image_size)

    @property
    def levels(self) -> int:
        """Resolutions trained: the seed side, then each doubling up to image_size."""
        return dcgan.upsamplings(self.image_size)[1] + 1


def schedule(config: ProGANConfig, step: int) -> tuple[int, float]:
    """(level, alpha) at ``step``: level 0 is stable for one phase; each later level fades in
    for one phase (alpha rises linearly 0 -> 1) and is then stable for one phase."""
    phase = config.phase_steps
    if step < phase:
        return 0, 1.0
    level, within = divmod(step - phase, 2 * phase)
    level += 1
    if level >= config.levels:
        return config.levels - 1, 1.0
    return level, min(1.0, within / phase)


class EqualizedConv2d(nn.Conv2d):
    """A convolution whose weights are N(0, 1) and scaled by sqrt(2 / fan_in) on every call, so
    Adam's per-parameter step sizes are the same for every layer (equalised learning rate)."""

    def __init__(self, inputs: int, outputs: int, kernel: int, padding: int = 0):
        super().__init__(inputs, outputs, kernel, padding=padding)
        nn.init.normal_(self.weight)
        nn.init.zeros_(self.bias)
        self.scale = math.sqrt(2.0 / (inputs * kernel * kernel))

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


class EqualizedLinear(nn.Linear):
    def __init__(self, inputs: int, outputs: int, gain: float = math.sqrt(2.0)):
        super().__init__(inputs, outputs)
        nn.init.normal_(self.weight)
        nn.init.zeros_(self.bias)
        self.scale = gain / math.sqrt(inputs)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)


def pixel_norm(x: Tensor) -> Tensor:
    """Normalise each pixel's feature vector to unit average square (the paper's PixelNorm)."""
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-8)


def minibatch_stddev(x: Tensor) -> Tensor:
    """Append the batch's average feature standard deviation as one more constant channel, so D
    can see a collapsed batch (all samples alike) at a glance."""
    std = x.std(dim=0, unbiased=False).mean().expand(x.shape[0], 1, x.shape[2], x.shape[3])
    return torch.cat([x, std], dim=1)


class GrowingNetwork(nn.Module):
    """Holds the current level and alpha as buffers, so checkpoints and samples know them."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("level", torch.zeros((), dtype=torch.long))
        self.register_buffer("alpha", torch.ones(()))


class Generator(GrowingNetwork):
    def __init__(self, config: ProGANConfig):
        super().__init__()
        self.seed, stages = dcgan.upsamplings(config.image_size)
        self.image_size, w = config.image_size, config.width
        # z (B, latent) -> (B, w, seed, seed)
        self.project = EqualizedLinear(config.latent_dim, w * self.seed * self.seed, gain=math.sqrt(2) / 4)
        self.seed_conv = EqualizedConv2d(w, w, 3, padding=1)
        # each stage: upsample x2, then two 3x3 convolutions: (B, w, s, s) -> (B, w, 2s, 2s)
        self.stages = nn.ModuleList(
            nn.ModuleList([EqualizedConv2d(w, w, 3, padding=1), EqualizedConv2d(w, w, 3, padding=1)])
            for _ in range(stages))
        # one 1x1 "to RGB" per level: (B, w, s, s) -> (B, channels, s, s)
        self.to_rgb = nn.ModuleList(EqualizedConv2d(w, config.channels, 1) for _ in range(stages + 1))

    def forward(self, z: Tensor) -> Tensor:
        level, alpha = int(self.level), float(self.alpha)
        x = self.project(pixel_norm(z)).view(z.shape[0], -1, self.seed, self.seed)
        x = pixel_norm(F.leaky_relu(x, 0.2))
        x = pixel_norm(F.leaky_relu(self.seed_conv(x), 0.2))
        previous = x
        for stage in self.stages[:level]:
            previous = x
            x = F.interpolate(x, scale_factor=2, mode="nearest")
            for conv in stage:
                x = pixel_norm(F.leaky_relu(conv(x), 0.2))
        image = self.to_rgb[level](x)
        if level > 0 and alpha < 1:  # fade in: blend with the upsampled output of the level below
            below = F.interpolate(self.to_rgb[level - 1](previous), scale_factor=2, mode="nearest")
            image = alpha * image + (1 - alpha) * below
        return torch.tanh(image)


class Discriminator(GrowingNetwork):
    #: its minibatch standard deviation reads the whole batch: real and fake must be judged apart
    mixes_samples = True

    def __init__(self, config: ProGANConfig):
        super().__init__()
        self.seed, stages = dcgan.upsamplings(config.image_size)
        w = config.width
        # one 1x1 "from RGB" per level: (B, channels, s, s) -> (B, w, s, s)
        self.from_rgb = nn.ModuleList(EqualizedConv2d(config.channels, w, 1) for _ in range(stages + 1))
        # stage k (k = 1..stages) halves the side: (B, w, 2s, 2s) -> (B, w, s, s)
        self.stages = nn.ModuleList(
            nn.ModuleList([EqualizedConv2d(w, w, 3, padding=1), EqualizedConv2d(w, w, 3, padding=1)])
            for _ in range(stages))
        # last block at the seed side: minibatch stddev (+1 channel), 3x3 conv, then two dense layers
        self.final_conv = EqualizedConv2d(w + 1, w, 3, padding=1)
        self.dense = EqualizedLinear(w * self.seed * self.seed, w)
        self.out = EqualizedLinear(w, 1, gain=1.0)

    def _stage(self, index: int, x: Tensor) -> Tensor:
        for conv in self.stages[index]:
            x = F.leaky_relu(conv(x), 0.2)
        return F.avg_pool2d(x, 2)

    def forward(self, x: Tensor) -> Tensor:
        level, alpha = int(self.level), float(self.alpha)
        h = F.leaky_relu(self.from_rgb[level](x), 0.2)
        if level > 0:
            h = self._stage(level - 1, h)
            if alpha < 1:  # fade in: blend with the level below's path on the downsampled image
                below = F.leaky_relu(self.from_rgb[level - 1](F.avg_pool2d(x, 2)), 0.2)
                h = alpha * h + (1 - alpha) * below
            for index in reversed(range(level - 1)):
                h = self._stage(index, h)
        h = F.leaky_relu(self.final_conv(minibatch_stddev(h)), 0.2)
        h = F.leaky_relu(self.dense(h.flatten(1)), 0.2)
        return self.out(h).flatten()


def build(config: ProGANConfig) -> nn.ModuleDict:
    return nn.ModuleDict({"generator": Generator(config), "discriminator": Discriminator(config)})


def real_at(images: Tensor, side: int, level: int, alpha: float) -> Tensor:
    """The real batch at the training resolution, blended across the fade-in like G's output."""
    x = F.adaptive_avg_pool2d(images, side) if images.shape[-1] != side else images
    if level > 0 and alpha < 1:
        below = F.interpolate(F.avg_pool2d(x, 2), scale_factor=2, mode="nearest")
        x = alpha * x + (1 - alpha) * below
    return x


def train_step(config: ProGANConfig, networks: nn.ModuleDict, optimizers: dict, real: Tensor,
               labels: Tensor | None, step: int, rng: torch.Generator,
               update: str = "both") -> dict[str, Tensor]:
    level, alpha = schedule(config, step)
    for network in networks.values():  # grow (or fade) both networks to this step's stage
        network.level.fill_(level)
        network.alpha.fill_(alpha)
    side = networks["generator"].seed * 2 ** level
    z = gaussian_noise(config, real.shape[0], rng, real.device)
    out = adversarial_step(networks["generator"], networks["discriminator"],
                           optimizers["generator"], optimizers["discriminator"],
                           real_at(real, side, level, alpha), z, get_objective(config.objective), update,
                           gp_weight=config.gp_weight, rng=rng)
    out["resolution"] = torch.full((), float(side), device=real.device)
    out["alpha"] = torch.full((), alpha, device=real.device)
    return out


@torch.no_grad()
def sample(config: ProGANConfig, networks: nn.ModuleDict, z: Tensor, labels: Tensor | None = None) -> Tensor:
    """Samples at the current resolution, enlarged (nearest) to the final size so grids keep their size."""
    images = sample_generator(config, networks, z)
    if images.shape[-1] != config.image_size:
        images = F.interpolate(images, size=config.image_size, mode="nearest")
    return images


SPEC = FamilySpec(
    name="progan",
    description="Progressive growing GAN: grows from 4x4 (or 7x7) to full size with fade-in, live resolution and alpha",
    paper="https://arxiv.org/abs/1710.10196",
    config_cls=ProGANConfig,
    data_kinds=("image",),
    build=build,
    make_optimizers=make_adam_pair,
    train_step=train_step,
    sample=sample,
    noise=gaussian_noise,
    data_fields=image_fields,
    presets={"cpu-small": {"width": 32, "phase_steps": 150}, "cpu": {"width": 64, "phase_steps": 300}},
    unused_parameters=True,  # the levels above the current one sit out
    min_batch=(2, "D's minibatch standard deviation is taken across the batch"),
)
