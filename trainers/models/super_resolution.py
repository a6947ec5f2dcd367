"""Pieces SRGAN and ESRGAN share: the degradation, augmentation, the VGG-style discriminator, the
content loss's feature network, the live preview and the benchmark evaluation.

Training pairs are made on the fly, as the SR papers do: a high-resolution crop (the dataset's
image), randomly flipped and rotated by a multiple of 90 degrees, and its bicubic downscale by
``scale``. Quality is PSNR/SSIM on the Y channel with ``scale`` pixels shaved, always next to
bicubic upsampling of the same input (:mod:`trainers.metrics.image_quality`).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import perceptual
from ..data.base import from_pixels
from ..errors import ConfigError
from ..family import Preview
from ..metrics.image_quality import downscale, modcrop, sr_psnr_ssim, upscale_bicubic
from .adversarial import decay_factor, evaluating, grad_norm
from .image_to_image import set_lr

SCALES = (2, 4)


def check_scale(image_size: int, scale: int) -> None:
    if image_size % scale:
        raise ConfigError(f"image_size {image_size} must be a multiple of the scale {scale}: the training "
                          f"crops are downscaled by it")
    smallest = -(-(2 * scale + 11) // scale) * scale  # SSIM's 11x11 window inside the shaved border
    if image_size < smallest:
        raise ConfigError(f"image_size {image_size} is too small to score at x{scale}: the crops need at "
                          f"least {smallest} pixels a side (set --image-size or use sr-natural)")


def augment(hr: Tensor, rng: torch.Generator) -> Tensor:
    """The batch flipped and rotated by one of the 8 symmetries of the square (drawn per step)."""
    choice = int(torch.randint(8, (1,), generator=rng, device=rng.device))
    if choice & 4:
        hr = hr.flip(-1)
    return torch.rot90(hr, choice % 4, dims=(-2, -1)).contiguous()


def training_pair(hr: Tensor, scale: int, rng: torch.Generator) -> tuple[Tensor, Tensor]:
    """(low-resolution input, high-resolution target) for one step."""
    hr = augment(hr, rng)
    return downscale(hr, scale), hr


class VGGStyleDiscriminator(nn.Module):
    """SRGAN's discriminator (Ledig et al., Fig. 4): eight 3x3 convolutions, 64 to 512 feature
    maps, stride 2 every second one, batch norm after all but the first, LeakyReLU(0.2); then
    Dense(1024), LeakyReLU, Dense(1). Average pooling to 4x4 before the dense layers lets it judge
    any crop size (the paper's 96x96 crops reach 6x6 there).

    (B, C, S, S) -> (B, w, S, S) -> (B, w, S/2, S/2) -> (B, 2w, S/2) -> (B, 2w, S/4) -> (B, 4w, S/4)
    -> (B, 4w, S/8) -> (B, 8w, S/8) -> (B, 8w, S/16) -> pool (B, 8w, 4, 4) -> (B, 1024) -> (B, 1)
    """

    def __init__(self, channels: int, width: int):
        super().__init__()
        blocks, incoming = [], channels
        for i in range(8):
            out, stride = width * 2 ** (i // 2), 1 + i % 2
            norm = nn.Identity() if i == 0 else nn.BatchNorm2d(out)
            blocks.append(nn.ModuleList([nn.Conv2d(incoming, out, 3, stride, 1, bias=i == 0), norm]))
            incoming = out
        self.blocks = nn.ModuleList(blocks)
        self.activation = nn.LeakyReLU(0.2)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(incoming * 16, 1024),
                                  nn.LeakyReLU(0.2), nn.Linear(1024, 1))

    def features(self, x: Tensor, before_activation: bool = False) -> Tensor:
        """The last convolution block's output (its pre-activation, if asked): the substitute
        feature space of the content loss when VGG19 is not available."""
        for i, (conv, norm) in enumerate(self.blocks):
            x = norm(conv(x))
            if i + 1 < len(self.blocks) or not before_activation:
                x = self.activation(x)
        return x

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


def feature_network(config, networks: nn.ModuleDict, device: torch.device,
                    before_activation: bool) -> Callable[[Tensor], Tensor]:
    """The content loss's feature map: VGG19 when its weights are here, else D's own features."""
    chosen, _ = perceptual.resolve(config.perceptual)
    if chosen == "vgg19":
        return perceptual.vgg_features(before_activation, str(device))
    discriminator = networks["discriminator"]
    return lambda x: discriminator.features(x, before_activation)


def content_loss(config, networks: nn.ModuleDict, sr: Tensor, hr: Tensor, weight: float,
                 distance: Callable[[Tensor, Tensor], Tensor], before_activation: bool) -> Tensor | None:
    """distance(features(sr), features(hr)) for the GAN phase's content loss, or None when its
    ``weight`` is 0 (then no feature network runs at all)."""
    if weight == 0:
        return None
    features = feature_network(config, networks, hr.device, before_activation)
    return distance(features(sr), features(hr).detach())


def gan_pixel_weight(config) -> float:
    """The GAN phase's pixel-loss weight: ``pixel_weight`` with VGG19's features, and at least
    ``substitute_pixel_weight`` with D's own, which do not hold a picture's content as VGG's do (a
    300-step SRGAN phase on them alone took SRResNet x4 from 29.9 to 18.2 dB on Set5)."""
    if perceptual.resolve(config.perceptual)[0] == "vgg19":
        return config.pixel_weight
    return max(config.pixel_weight, config.substitute_pixel_weight)


def perceptual_note(config, weight: float) -> str:
    """What the GAN phase's content loss is; ``weight`` is the family's weight of it."""
    if weight == 0:
        return (f"no content (perceptual) loss: its weight is 0, so the GAN phase is the pixel loss (weight "
                f"{gan_pixel_weight(config):g}) plus the adversarial loss (weight {config.adversarial_weight:g})")
    chosen, note = perceptual.resolve(config.perceptual)
    if chosen != "vgg19" and config.substitute_pixel_weight > config.pixel_weight:
        note += (f"; with these features the GAN phase keeps a pixel loss of weight "
                 f"{config.substitute_pixel_weight:g} (substitute_pixel_weight) to hold the picture's content")
    return note


def preview(upscale: Callable[..., Tensor], name: str) -> Callable[..., Preview]:
    """A preview function for a family whose ``upscale(config, networks, lr)`` super-resolves."""

    def make(config, networks: nn.ModuleDict, hr: Tensor, source: Tensor | None = None) -> Preview:
        hr = modcrop(hr, config.scale)
        lr = downscale(hr, config.scale)
        bicubic = upscale_bicubic(lr, config.scale)
        output = upscale(config, networks, lr)
        psnr, ssim = sr_psnr_ssim(output, hr, config.scale)
        psnr_bicubic, ssim_bicubic = sr_psnr_ssim(bicubic, hr, config.scale)
        return Preview([bicubic, output, hr], [f"bicubic x{config.scale}", name, "original"],
                       {"psnr": psnr, "ssim": ssim, "psnr_bicubic": psnr_bicubic, "ssim_bicubic": ssim_bicubic})

    return make


@torch.no_grad()
def run_generator(generator: nn.Module, lr: Tensor) -> Tensor:
    with evaluating(generator):
        return generator(lr).clamp(-1, 1)


@torch.no_grad()
def evaluate_benchmark(upscale: Callable[[Tensor], Tensor], images: dict[str, np.ndarray],
                       scale: int, device: torch.device | str = "cpu") -> dict[str, dict[str, float]]:
    """PSNR/SSIM (Y, shaved) of ``upscale`` and of bicubic on whole benchmark images: each HR
    image (uint8 H x W x 3) is cropped to a multiple of ``scale`` and bicubic-downscaled."""
    rows: dict[str, dict[str, float]] = {}
    for name, array in images.items():
        hr = torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))[None].to(device)
        hr = modcrop(from_pixels(hr), scale)
        lr = downscale(hr, scale)
        psnr, ssim = sr_psnr_ssim(upscale(lr), hr, scale)
        psnr_b, ssim_b = sr_psnr_ssim(upscale_bicubic(lr, scale), hr, scale)
        rows[name] = {"psnr": psnr, "ssim": ssim, "psnr_bicubic": psnr_b, "ssim_bicubic": ssim_b}
    return rows


def pretrain_rate(config, step: int) -> float:
    """The learning rate of the pixel-loss (PSNR) phase at ``step``: ``config.lr`` until
    ``decay_from`` of the phase, then linearly down to 0 at its end (the run's end, when the run
    stops before the GAN phase), so the PSNR model settles rather than ending on a noisy step."""
    end = min(config.pretrain_steps, config.total_steps) if config.total_steps > 0 else config.pretrain_steps
    return config.lr * decay_factor(step, end, config.decay_from)


def pixel_phase_step(config, networks: nn.ModuleDict, optimizers: dict, lr_image: Tensor, hr: Tensor,
                     step: int, update: str, loss: str) -> dict[str, Tensor]:
    """One step of the PSNR-oriented pre-training: G alone on the pixel loss ("mse" for SRResNet,
    "l1" for ESRGAN). D waits, so a D-only step does nothing."""
    if update == "d":
        return {}
    generator = networks["generator"]
    set_lr(optimizers, {"generator": pretrain_rate(config, step), "discriminator": config.lr_gan})
    error = (F.mse_loss if loss == "mse" else F.l1_loss)(generator(lr_image), hr)
    optimizers["generator"].zero_grad(set_to_none=True)
    error.backward()
    norm = grad_norm(generator)
    optimizers["generator"].step()
    return {f"loss_{loss}": error.detach(), "grad_norm_g": norm}


def upsampling_steps(scale: int) -> int:
    steps = int(math.log2(scale))
    if 2 ** steps != scale:
        raise ConfigError(f"scale must be one of {', '.join(map(str, SCALES))}, not {scale}")
    return steps
