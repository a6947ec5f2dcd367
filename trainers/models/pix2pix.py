"""pix2pix: image-to-image translation with a conditional GAN (Isola et al., CVPR 2017).

Reference: https://arxiv.org/abs/1611.07004. G is a U-Net: an encoder of stride-2 4x4
convolutions down to 1x1 (C64-C128-C256-C512-C512...), a mirrored decoder, and a skip
connection from each encoder layer to its decoder twin, so low-level structure (edges, layout)
passes straight across. D is a PatchGAN that judges (input, output) pairs patch by patch: 70x70
patches with three hidden layers. G minimises the GAN loss plus 100 times the L1 distance to the
target; D's loss is halved. Adam(2e-4, beta1=0.5).

Choices here: instance norm by default. The paper trains with batch size 1, where batch norm is
instance norm (its own remark), and instance norm keeps that behaviour at any batch size and at
test time. Dropout (0.5, in the three decoder layers after the bottleneck) is G's only noise, as
in the paper; translations here are deterministic (eval mode), where the paper keeps dropout on
at test time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..optim import adam
from ..config import field
from ..family import FamilySpec, Preview
from ..metrics.image_quality import l1, psnr
from ..objectives import get_objective
from .adversarial import StepDropout, buffers_kept, drawing_from, evaluating, frozen, grad_norm
from .image_to_image import (NORMS, PatchDiscriminator, as_rgb, check_patch_layers, d_loss, fit_check,
                             init_normal, no_sampling, norm_layer)


@dataclass
class Pix2PixConfig:
    image_size: int = field(128, "image side in pixels (set from the dataset)", range=(8, 512))
    in_channels: int = field(3, "input image channels (set from the dataset)", choices=(1, 3))
    channels: int = field(3, "output image channels (set from the dataset)", choices=(1, 3))
    g_width: int = field(64, "U-Net feature maps at its first layer (the paper's 64)", range=(4, 256))
    d_width: int = field(64, "PatchGAN feature maps at its first layer", range=(4, 256))
    depth: int = field(0, "U-Net downsamplings (0: down to 1x1, at most 8)", range=(0, 8))
    d_layers: int = field(3, "PatchGAN hidden layers: 3 judges 70x70 patches, 2 34x34, 1 16x16",
                          range=(1, 5))
    norm: str = field("instance", "normalisation in G and D", choices=NORMS)
    dropout: float = field(0.5, "dropout in the decoder layers after the bottleneck", range=(0.0, 0.9))
    objective: str = field("non-saturating", "GAN loss", choices=("non-saturating", "least-squares"))
    l1_weight: float = field(100.0, "weight of the L1 distance to the target (lambda)", range=(0.0, 1e4))
    lr_g: float = field(2e-4, "generator learning rate (Adam)", range=(1e-6, 1.0))
    lr_d: float = field(2e-4, "discriminator learning rate (Adam)", range=(1e-6, 1.0))
    beta1: float = field(0.5, "Adam beta1", range=(0.0, 0.999))
    beta2: float = field(0.999, "Adam beta2", range=(0.0, 0.9999))

    @property
    def downsamplings(self) -> int:
        return self.depth or min(8, int(math.log2(self.image_size)))

    def check(self) -> None:
        fit_check(self.image_size, 2 ** self.downsamplings, f"a U-Net with {self.downsamplings} downsamplings")
        check_patch_layers(self.image_size, self.d_layers)


class UNet(nn.Module):
    """Encoder-decoder with skips. For 128x128 and width 64 (7 downsamplings):

    down: (B, in, 128, 128) -> (B, 64, 64, 64) -> (B, 128, 32, 32) -> (B, 256, 16, 16)
          -> (B, 512, 8, 8) -> (B, 512, 4, 4) -> (B, 512, 2, 2) -> (B, 512, 1, 1)
    up:   (B, 512, 1, 1) -> (B, 512, 2, 2) ++ skip = 1024 -> (B, 512, 4, 4) ++ skip -> ...
          -> (B, 64, 64, 64) ++ skip = 128 -> (B, out, 128, 128), tanh
    """

    def __init__(self, config: Pix2PixConfig):
        super().__init__()
        depth, width = config.downsamplings, config.g_width
        widths = [width * min(2 ** i, 8) for i in range(depth)]
        self.downs = nn.ModuleList()
        for i, out in enumerate(widths):
            if i == 0:  # the first layer has no activation before it and no norm
                block = [nn.Conv2d(config.in_channels, out, 4, 2, 1)]
            elif i == depth - 1:  # the bottleneck (1x1 when fully down): no norm on one pixel
                block = [nn.LeakyReLU(0.2), nn.Conv2d(widths[i - 1], out, 4, 2, 1)]
            else:
                block = [nn.LeakyReLU(0.2), nn.Conv2d(widths[i - 1], out, 4, 2, 1, bias=False),
                         norm_layer(config.norm, out)]
            self.downs.append(nn.Sequential(*block))
        self.ups = nn.ModuleList()
        for j, i in enumerate(reversed(range(depth))):  # innermost first
            incoming = widths[i] * (1 if j == 0 else 2)  # below the bottleneck, skip ++ upsampled
            if i == 0:
                block = [nn.ReLU(), nn.ConvTranspose2d(incoming, config.channels, 4, 2, 1), nn.Tanh()]
            else:
                block = [nn.ReLU(), nn.ConvTranspose2d(incoming, widths[i - 1], 4, 2, 1, bias=False),
                         norm_layer(config.norm, widths[i - 1])]
                if 1 <= j <= 3 and config.dropout > 0:
                    block.append(StepDropout(config.dropout))
            self.ups.append(nn.Sequential(*block))

    def forward(self, x: Tensor) -> Tensor:
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
        x = skips.pop()
        for up in self.ups:
            x = up(x)
            if skips:
                x = torch.cat([skips.pop(), x], dim=1)
        return x


def build(config: Pix2PixConfig) -> nn.ModuleDict:
    networks = nn.ModuleDict({
        "generator": UNet(config),
        # D sees the input and the (real or translated) output stacked channel-wise
        "discriminator": PatchDiscriminator(config.in_channels + config.channels, config.d_width,
                                            config.d_layers, config.norm),
    })
    networks.apply(init_normal)
    return networks


def make_optimizers(config: Pix2PixConfig, networks: nn.ModuleDict) -> dict[str, torch.optim.Optimizer]:
    betas = (config.beta1, config.beta2)
    return {"generator": adam(networks["generator"].parameters(), config.lr_g, betas=betas),
            "discriminator": adam(networks["discriminator"].parameters(), config.lr_d, betas=betas)}


def train_step(config: Pix2PixConfig, networks: nn.ModuleDict, optimizers: dict, target: Tensor,
               source: Tensor, step: int, rng: torch.Generator, update: str = "both") -> dict[str, Tensor]:
    """(1) D on (source, target) vs (source, G(source)); (2) G on the GAN loss + lambda * L1."""
    generator, discriminator = networks["generator"], networks["discriminator"]
    objective = get_objective(config.objective)
    out: dict[str, Tensor] = {}
    do_d, do_g = update in ("both", "d"), update in ("both", "g")
    with drawing_from(generator, rng):  # dropout's masks: from this step's own generator
        if do_g:
            fake = generator(source)
        else:  # a D-only step leaves G exactly as it was
            with torch.no_grad(), buffers_kept(generator):
                fake = generator(source)

    # (1) update D: real pairs -> 1, translated pairs -> 0
    if do_d:
        real_logits = discriminator(torch.cat([source, target], 1))
        fake_logits = discriminator(torch.cat([source, fake.detach()], 1))
        loss_d = d_loss(objective, real_logits, fake_logits)
        optimizers["discriminator"].zero_grad(set_to_none=True)
        loss_d.backward()
        out["grad_norm_d"] = grad_norm(discriminator)
        optimizers["discriminator"].step()
        out["loss_d"] = loss_d.detach()
        out["d_real"] = objective.score(real_logits.detach()).mean()
        out["d_fake"] = objective.score(fake_logits.detach()).mean()

    # (2) update G: fool D and stay close to the target in L1
    if do_g:
        with frozen(discriminator), buffers_kept(discriminator):
            fake_logits = discriminator(torch.cat([source, fake], 1))
            loss_gan = objective.g_loss(fake_logits)
            loss_l1 = F.l1_loss(fake, target)
            loss_g = loss_gan + config.l1_weight * loss_l1
            optimizers["generator"].zero_grad(set_to_none=True)
            loss_g.backward()  # inside the block: batch norm's backward checks its running statistics
        out["grad_norm_g"] = grad_norm(generator)
        optimizers["generator"].step()
        out["loss_g"] = loss_gan.detach()
        out["loss_l1"] = loss_l1.detach()
        out.setdefault("d_fake", objective.score(fake_logits.detach()).mean())
    return out


@torch.no_grad()
def translate(config: Pix2PixConfig, networks: nn.ModuleDict, source: Tensor) -> Tensor:
    """G(source), deterministic (eval mode: no dropout); the weights are untouched."""
    with evaluating(networks["generator"]):
        return networks["generator"](source)


def identity_baseline(source: Tensor, target: Tensor) -> Tensor:
    """The naive translation: the input itself, as an image with the target's channels."""
    return as_rgb(source) if target.shape[1] == 3 else source.mean(1, keepdim=True)


def preview(config: Pix2PixConfig, networks: nn.ModuleDict, target: Tensor, source: Tensor) -> Preview:
    output = translate(config, networks, source)
    baseline = identity_baseline(source, target)
    return Preview([source, output, target], ["input", "pix2pix", "target"],
                   {"l1": l1(output, target), "psnr": psnr(output, target),
                    "l1_identity": l1(baseline, target), "psnr_identity": psnr(baseline, target)})


def data_fields(dataset) -> dict[str, int]:
    return {"image_size": dataset.data.shape[-1], "channels": dataset.data.shape[1],
            "in_channels": dataset.sources.shape[1]}


SPEC = FamilySpec(
    name="pix2pix",
    description="pix2pix: U-Net generator + PatchGAN on (input, output) pairs, GAN + 100 L1 (paired translation)",
    paper="https://arxiv.org/abs/1611.07004",
    config_cls=Pix2PixConfig,
    data_kinds=("pairs",),
    build=build,
    make_optimizers=make_optimizers,
    train_step=train_step,
    sample=no_sampling,
    noise=no_sampling,
    data_fields=data_fields,
    has_generator=False,
    translate=translate,
    preview=preview,
    suggested_datasets=("facades", "mnist-edges"),
    presets={"cpu-small": {"g_width": 32, "d_width": 32},
             "mnist": {"g_width": 32, "d_width": 32, "d_layers": 2},
             "paper": {"g_width": 64, "d_width": 64, "d_layers": 3}},
)
