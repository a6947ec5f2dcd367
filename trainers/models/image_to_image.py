"""Pieces the image-to-image families share: the PatchGAN discriminator (pix2pix, CycleGAN), the
normalisation choice, the halved discriminator loss, and the contract functions of a family that
translates images rather than sampling noise."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..errors import ConfigError
from ..objectives import Objective

NORMS = ("instance", "batch")


def norm_layer(kind: str, channels: int) -> nn.Module:
    """Instance norm (statistics of each image alone: the output never depends on the rest of the
    batch, at training and at test time) or batch norm."""
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    raise ConfigError(f"norm must be one of {', '.join(NORMS)}, not {kind!r}")


class PatchDiscriminator(nn.Module):
    """The pix2pix/CycleGAN "PatchGAN": a fully convolutional classifier whose every output judges
    one overlapping patch. With ``layers=3`` each output sees 70x70 input pixels (the paper's
    choice); ``layers=2`` sees 34x34, ``layers=1`` 16x16.

    (B, in_channels, H, W) -> (B, width, H/2, W/2) -> ... -> (B, width*2^layers', H/2^layers, ...)
    -> stride-1 conv -> (B, 1, H/2^layers - 2, W/2^layers - 2) logits
    """

    def __init__(self, in_channels: int, width: int = 64, layers: int = 3, norm: str = "batch"):
        super().__init__()
        blocks: list[nn.Module] = [nn.Conv2d(in_channels, width, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        channels = width
        for i in range(1, layers + 1):
            out = width * min(2 ** i, 8)
            stride = 2 if i < layers else 1  # the last hidden layer keeps the resolution
            blocks += [nn.Conv2d(channels, out, 4, stride, 1, bias=norm == "instance"),
                       norm_layer(norm, out), nn.LeakyReLU(0.2, True)]
            channels = out
        blocks.append(nn.Conv2d(channels, 1, 4, 1, 1))
        self.net = nn.Sequential(*blocks)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


def init_normal(module: nn.Module) -> None:
    """The pix2pix/CycleGAN initialisation: conv weights ~ N(0, 0.02), norm scales ~ N(1, 0.02)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def d_loss(objective: Objective, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """D's loss, halved "to slow down the rate at which D learns relative to G" (pix2pix, CycleGAN;
    the least-squares loss already carries the 1/2)."""
    loss = objective.d_loss(real_logits, fake_logits)
    return 0.5 * loss if objective.probabilistic else loss


def fit_check(image_size: int, factor: int, what: str) -> None:
    if image_size % factor:
        raise ConfigError(f"image_size {image_size} must be a multiple of {factor} for {what}")


def check_patch_layers(image_size: int, layers: int) -> None:
    """The PatchGAN halves the image ``layers`` times, then two stride-1 4x4 convolutions each take
    one pixel off: at least 3 pixels must be left after the halvings."""
    if image_size // 2 ** layers < 3:
        most = max([n for n in range(1, 8) if image_size // 2 ** n >= 3], default=1)
        raise ConfigError(f"d_layers {layers} is too deep for {image_size}x{image_size} images: use at most {most}")


def no_sampling(*args, **kwargs) -> Tensor:
    raise ConfigError("this family translates images; it has no noise to sample from: use translate")


def as_rgb(x: Tensor) -> Tensor:
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


def set_lr(optimizers: dict[str, torch.optim.Optimizer], rates: dict[str, float]) -> None:
    for name, optimizer in optimizers.items():
        for group in optimizer.param_groups:
            group["lr"] = rates[name]
