"""dcgan: Deep Convolutional GAN (Radford, Metz & Chintala, 2015).

Paper: https://arxiv.org/abs/1511.06434. Kept: strided (transposed) convolutions instead of
pooling, batch norm in both networks except G's output and D's input layers, ReLU in G with a
tanh output, LeakyReLU(0.2) in D, weights from N(0, 0.02), Adam(2e-4, beta1=0.5).
Changed: the stack is sized from the image: 64x64 is the paper's 4-up generator, 32x32 and 8x8
start from a 4x4 seed, 28x28 (MNIST) from a 7x7 seed; D ends in a logit (no sigmoid) so the
objective is a choice: minimax, non-saturating, least-squares, hinge, Wasserstein with weight
clipping, or WGAN-GP (then D uses layer norm, since batch norm breaks the per-sample penalty, and
D takes n_critic=5 steps per G step).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from ..config import field
from ..errors import ConfigError
from ..family import FamilySpec, image_fields
from .adversarial import (adversarial_critic, gan_train_step, gaussian_noise, make_adam_pair, sample_generator,
                          with_averaged_generator)


@dataclass
class DCGANConfig:
    image_size: int = field(28, "image side in pixels (set from the dataset)", range=(8, 256))
    channels: int = field(1, "image channels (set from the dataset)", choices=(1, 3))
    latent_dim: int = field(100, "size of the noise vector z", range=(1, 512))
    g_width: int = field(64, "generator feature maps at its last hidden layer (ngf)", range=(4, 512))
    d_width: int = field(64, "discriminator feature maps at its first layer (ndf)", range=(4, 512))
    objective: str = field("non-saturating", "the GAN loss",
                           choices=("minimax", "non-saturating", "least-squares", "hinge",
                                    "wasserstein", "wgan-gp"))
    d_norm: str = field("auto", "normalisation in D: auto is batch norm, or layer norm for wgan-gp "
                        "(whose penalty is per sample)", choices=("auto", "batch", "layer", "none"))
    n_critic: int = field(0, "D updates per G update (0: 5 for Wasserstein objectives, else 1)",
                          range=(0, 100))
    clip_value: float = field(0.01, "wasserstein: clip the critic's weights to [-c, c]", range=(1e-4, 1.0))
    gp_weight: float = field(10.0, "wgan-gp: weight of the gradient penalty (lambda)", range=(0.0, 1000.0))
    lr_g: float = field(2e-4, "generator learning rate (Adam)", range=(1e-6, 1.0))
    lr_d: float = field(2e-4, "discriminator learning rate (Adam)", range=(1e-6, 1.0))
    beta1: float = field(0.5, "Adam beta1 for both networks", range=(0.0, 0.999))
    beta2: float = field(0.999, "Adam beta2 for both networks", range=(0.0, 0.9999))
    ema_decay: float = field(0.0, "samples come from a moving average of G's weights with this decay per "
                             "G update: steadier grids of cleaner-reading digits (0: off, sample from G itself)",
                             range=(0.0, 0.9999))

    def check(self) -> None:
        upsamplings(self.image_size)
        if self.objective == "wgan-gp" and self.d_norm == "batch":
            raise ConfigError("d_norm: batch norm mixes samples, which breaks wgan-gp's per-sample "
                              "gradient penalty; use layer, none or auto")

    @property
    def critic_norm(self) -> str:
        if self.d_norm != "auto":
            return self.d_norm
        return "layer" if self.objective == "wgan-gp" else "batch"


def upsamplings(image_size: int) -> tuple[int, int]:
    """(seed side, number of x2 stages): image_size = seed * 2**stages with seed 4 or 7."""
    for seed in (4, 7):
        stages, side = 0, image_size
        while side > seed and side % 2 == 0:
            side //= 2
            stages += 1
        if side == seed and stages >= 1:
            return seed, stages
    # shared by every family built on these stacks (lsgan, wgan, e-gan, cgan, mc-gan, progan, ...):
    # the message names the rule, not one family
    raise ConfigError(f"image_size: the network's x2 stages need 4 or 7 times a power of two (8, 14, 16, 28, "
                      f"32, 64, 128, ...), not {image_size}")


class Generator(nn.Module):
    def __init__(self, config: DCGANConfig):
        super().__init__()
        seed, stages = upsamplings(config.image_size)
        width = config.g_width * 2 ** (stages - 1)
        # (B, z, 1, 1) -> (B, width, seed, seed)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(config.latent_dim, width, seed, 1, 0, bias=False),
            nn.BatchNorm2d(width), nn.ReLU(True)]
        # each stage doubles the side and halves the width: (B, w, s, s) -> (B, w/2, 2s, 2s)
        for _ in range(stages - 1):
            layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(width // 2), nn.ReLU(True)]
            width //= 2
        # (B, g_width, size/2, size/2) -> (B, channels, size, size) in [-1, 1]
        layers += [nn.ConvTranspose2d(width, config.channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z[:, :, None, None])


class Discriminator(nn.Module):
    def __init__(self, config: DCGANConfig):
        super().__init__()
        seed, stages = upsamplings(config.image_size)
        width = config.d_width
        # (B, channels, size, size) -> (B, d_width, size/2, size/2); no batch norm on the input layer
        layers: list[nn.Module] = [nn.Conv2d(config.channels, width, 4, 2, 1, bias=False),
                                   nn.LeakyReLU(0.2, True)]
        # each stage halves the side and doubles the width
        for _ in range(stages - 1):
            layers += [nn.Conv2d(width, width * 2, 4, 2, 1, bias=False),
                       critic_norm(config.critic_norm, width * 2), nn.LeakyReLU(0.2, True)]
            width *= 2
        # (B, width, seed, seed) -> (B, 1, 1, 1): one logit per image
        layers.append(nn.Conv2d(width, 1, seed, 1, 0, bias=False))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).flatten()


def critic_norm(kind: str, channels: int) -> nn.Module:
    """Batch norm (the paper), layer norm over (C, H, W) (GroupNorm with one group), or nothing."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    return nn.Identity()


def init_weights(module: nn.Module) -> None:
    """Radford et al.: conv weights ~ N(0, 0.02); batch-norm scale ~ N(1, 0.02), shift 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def build(config: DCGANConfig) -> nn.ModuleDict:
    networks = nn.ModuleDict({"generator": Generator(config), "discriminator": Discriminator(config)})
    networks.apply(init_weights)
    return with_averaged_generator(networks, config.ema_decay)


SPEC = FamilySpec(
    name="dcgan",
    description="Deep convolutional GAN for 8-128 px images (MNIST, CIFAR-10, faces, your folder)",
    paper="https://arxiv.org/abs/1511.06434",
    config_cls=DCGANConfig,
    data_kinds=("image",),
    build=build,
    make_optimizers=make_adam_pair,
    train_step=gan_train_step,
    sample=sample_generator,
    critic=adversarial_critic,
    noise=gaussian_noise,
    data_fields=image_fields,
    presets={
        # the lab's default (first "cpu" preset): tuned for time to good MNIST digits on 2 CPU cores.
        # 1,000 samples judged by pretrained/mnist_cnn after 60 s of training (seeds 0, 1, 2): mean
        # confidence 0.905, 0.897, 0.903 (smallest digit 6.0%, 5.2%, 3.2%), against 0.879 with
        # Adam's (0.5, 0.999) and no average, 0.79 with cpu-small's z=100 and Adam 2e-4. A small z
        # spreads G over the digits sooner (the 100-d runs drew one digit for their first 300-600
        # steps); a 16-wide D makes a step a third cheaper without judging worse; beta1 0 with beta2
        # 0.9 (as in WGAN-GP and SN-GAN) let lr 1e-3 move faster (0.890 vs 0.879); sampling from
        # G's weight average (0.995 per step) smooths away the high-lr jitter (0.905 vs 0.890).
        "cpu-quick": {"g_width": 32, "d_width": 16, "latent_dim": 8, "lr_g": 1e-3, "lr_d": 1e-3,
                      "beta1": 0.0, "beta2": 0.9, "ema_decay": 0.995},
        "cpu-small": {"g_width": 32, "d_width": 32},
        "paper": {"g_width": 64, "d_width": 64},
    },
)
