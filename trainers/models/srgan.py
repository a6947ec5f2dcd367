"""srgan: photo-realistic single-image super-resolution with a GAN (Ledig et al., CVPR 2017).

Reference: https://arxiv.org/abs/1609.04802. The generator is SRResNet: a 9x9 convolution, B
residual blocks (3x3 conv, batch norm, PReLU, 3x3 conv, batch norm, plus the input), a 3x3 conv
with batch norm added to the first layer's output, then one sub-pixel block (3x3 conv to 4x the
feature maps, pixel shuffle by 2, PReLU) per factor of 2, and a 9x9 convolution to the image.
The discriminator is the VGG-style network of the paper's Fig. 4.

Training has the paper's two phases in one run. For the first ``pretrain_steps`` steps G alone
minimises the pixel MSE: that is SRResNet, the PSNR-oriented model, and the one to compare with
bicubic. After them, D learns real vs super-resolved, and G minimises the content loss plus 1e-3
times the non-saturating adversarial loss. The content loss is the MSE of VGG19's conv5_4
features, rescaled by 1/12.75^2 (the paper's VGG54); when VGG19's ImageNet weights cannot be
had, it uses D's own features instead and says so (:mod:`trainers.perceptual`); those do not hold a
picture's content as VGG's do, so the GAN phase then keeps a pixel MSE (``substitute_pixel_weight``).
Adam(beta1 = 0.9). The paper runs 10^6 MSE steps at a constant 1e-4; for CPU-sized runs the
MSE phase's rate (``lr``) holds for its first half and then falls linearly to 0 (``decay_from``),
so the PSNR model settles instead of ending on a noisy step. The GAN phase uses ``lr_gan``
(the paper: 1e-4, then 1e-5 halfway).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..optim import adam
from ..config import field
from ..family import FamilySpec, image_fields
from ..objectives import get_objective
from .adversarial import buffers_kept, frozen, grad_norm
from .image_to_image import no_sampling, set_lr
from .super_resolution import (SCALES, VGGStyleDiscriminator, check_scale, content_loss, gan_pixel_weight,
                               perceptual_note, pixel_phase_step, preview, run_generator, training_pair,
                               upsampling_steps)


@dataclass
class SRGANConfig:
    image_size: int = field(96, "high-resolution crop side (set from the dataset)", range=(8, 512))
    channels: int = field(3, "image channels (set from the dataset)", choices=(1, 3))
    scale: int = field(4, "upscaling factor", choices=SCALES)
    g_width: int = field(64, "generator feature maps (the paper's 64)", range=(4, 256))
    res_blocks: int = field(16, "residual blocks in the generator (the paper's 16)", range=(1, 64))
    d_width: int = field(64, "discriminator feature maps at its first layer", range=(4, 256))
    pretrain_steps: int = field(1000, "steps of MSE-only training (SRResNet) before the GAN phase",
                                range=(0, 10_000_000))
    perceptual: str = field("auto", "content-loss features: vgg19 (ImageNet weights needed), the "
                            "discriminator's own, or auto (vgg19 when available)", choices=("auto", "vgg19",
                                                                                            "discriminator"))
    content_weight: float = field(1 / 12.75 ** 2, "weight of the feature MSE (1/12.75^2 rescales VGG54)",
                                  range=(0.0, 100.0))
    pixel_weight: float = field(0.0, "weight of the pixel MSE in the GAN phase (0 in the paper)", range=(0.0, 100.0))
    substitute_pixel_weight: float = field(1.0, "pixel-loss weight the GAN phase keeps at least when the "
                                           "content features are D's own (no VGG19 weights)", range=(0.0, 100.0))
    adversarial_weight: float = field(1e-3, "weight of the adversarial loss", range=(0.0, 10.0))
    lr: float = field(1e-4, "learning rate of the MSE phase (Adam)", range=(1e-6, 1.0))
    decay_from: float = field(0.5, "fraction of the pixel-loss phase after which its rate falls linearly "
                              "to 0 (1: never)", range=(0.0, 1.0))
    total_steps: int = field(0, "steps in the run, for the decay (set by the engine)", range=(0, 10_000_000))
    lr_gan: float = field(1e-4, "learning rate of G and D in the GAN phase", range=(1e-7, 1.0))
    beta1: float = field(0.9, "Adam beta1", range=(0.0, 0.999))
    beta2: float = field(0.999, "Adam beta2", range=(0.0, 0.9999))

    def check(self) -> None:
        upsampling_steps(self.scale)
        check_scale(self.image_size, self.scale)


class ResidualBlock(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.block = nn.Sequential(nn.Conv2d(width, width, 3, 1, 1), nn.BatchNorm2d(width), nn.PReLU(width),
                                   nn.Conv2d(width, width, 3, 1, 1), nn.BatchNorm2d(width))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.block(x)


class SRResNet(nn.Module):
    """(B, C, h, w) -> conv9 -> (B, 64, h, w) -> residual blocks -> conv3 + BN, + first -> [conv3 ->
    (B, 256, h, w) -> pixel shuffle -> (B, 64, 2h, 2w) -> PReLU] per x2 -> conv9 -> (B, C, sh, sw)"""

    def __init__(self, config: SRGANConfig):
        super().__init__()
        w = config.g_width
        self.head = nn.Sequential(nn.Conv2d(config.channels, w, 9, 1, 4), nn.PReLU(w))
        self.body = nn.Sequential(*[ResidualBlock(w) for _ in range(config.res_blocks)],
                                  nn.Conv2d(w, w, 3, 1, 1), nn.BatchNorm2d(w))
        upsampling = []
        for _ in range(upsampling_steps(config.scale)):
            upsampling += [nn.Conv2d(w, w * 4, 3, 1, 1), nn.PixelShuffle(2), nn.PReLU(w)]
        self.tail = nn.Sequential(*upsampling, nn.Conv2d(w, config.channels, 9, 1, 4))

    def forward(self, x: Tensor) -> Tensor:
        first = self.head(x)
        return self.tail(first + self.body(first))


def build(config: SRGANConfig) -> nn.ModuleDict:
    return nn.ModuleDict({"generator": SRResNet(config),
                          "discriminator": VGGStyleDiscriminator(config.channels, config.d_width)})


def make_optimizers(config: SRGANConfig, networks: nn.ModuleDict) -> dict[str, torch.optim.Optimizer]:
    betas = (config.beta1, config.beta2)
    return {"generator": adam(networks["generator"].parameters(), config.lr, betas=betas),
            "discriminator": adam(networks["discriminator"].parameters(), config.lr_gan, betas=betas)}


def train_step(config: SRGANConfig, networks: nn.ModuleDict, optimizers: dict, hr: Tensor,
               labels: Tensor | None, step: int, rng: torch.Generator, update: str = "both") -> dict[str, Tensor]:
    """SRResNet's MSE step before ``pretrain_steps``; after it (1) D, then (2) G on content + adversarial."""
    generator, discriminator = networks["generator"], networks["discriminator"]
    lr_image, hr = training_pair(hr, config.scale, rng)
    if step < config.pretrain_steps:  # SRResNet: the pixel MSE alone
        return pixel_phase_step(config, networks, optimizers, lr_image, hr, step, update, "mse")
    out: dict[str, Tensor] = {}

    set_lr(optimizers, {"generator": config.lr_gan, "discriminator": config.lr_gan})
    objective = get_objective("non-saturating")
    do_d, do_g = update in ("both", "d"), update in ("both", "g")
    if do_g:
        sr = generator(lr_image)
    else:
        with torch.no_grad(), buffers_kept(generator):
            sr = generator(lr_image)

    # (1) update D: real high-resolution crops vs super-resolved ones
    if do_d:
        real_logits, fake_logits = discriminator(hr), discriminator(sr.detach())
        loss_d = objective.d_loss(real_logits, fake_logits)
        optimizers["discriminator"].zero_grad(set_to_none=True)
        loss_d.backward()
        out["grad_norm_d"] = grad_norm(discriminator)
        optimizers["discriminator"].step()
        out["loss_d"] = loss_d.detach()
        out["d_real"] = objective.score(real_logits.detach()).mean()
        out["d_fake"] = objective.score(fake_logits.detach()).mean()

    # (2) update G: look like the original in feature space, and real to D
    if do_g:
        # backward inside the block: batch norm's backward checks the running statistics it saw
        with frozen(discriminator), buffers_kept(discriminator):
            loss_content = content_loss(config, networks, sr, hr, config.content_weight, F.mse_loss,
                                        before_activation=False)
            fake_logits = discriminator(sr)
            loss_adv = objective.g_loss(fake_logits)
            loss_mse = F.mse_loss(sr, hr)
            loss_g = config.adversarial_weight * loss_adv + gan_pixel_weight(config) * loss_mse
            if loss_content is not None:
                loss_g = (config.content_weight * loss_content + config.adversarial_weight * loss_adv
                          + gan_pixel_weight(config) * loss_mse)
                out["loss_content"] = loss_content.detach()
            optimizers["generator"].zero_grad(set_to_none=True)
            loss_g.backward()
        out["grad_norm_g"] = grad_norm(generator)
        optimizers["generator"].step()
        out["loss_g"] = loss_adv.detach()
        out["loss_mse"] = loss_mse.detach()
        out.setdefault("d_fake", objective.score(fake_logits.detach()).mean())
    return out


def upscale(config: SRGANConfig, networks: nn.ModuleDict, lr_image: Tensor) -> Tensor:
    """G(low-resolution image), clamped to [-1, 1]; the weights are untouched."""
    return run_generator(networks["generator"], lr_image)


def notes(config: SRGANConfig) -> list[str]:
    return [f"steps 0-{config.pretrain_steps - 1} train SRResNet (pixel MSE only); the GAN phase follows"
            if config.pretrain_steps else "pretrain_steps=0: the GAN phase starts at step 0, from the initial weights",
            perceptual_note(config, config.content_weight)]


SPEC = FamilySpec(
    name="srgan",
    description="SRGAN: SRResNet generator (MSE pre-training), VGG-style D, content + adversarial loss (x2/x4)",
    paper="https://arxiv.org/abs/1609.04802",
    config_cls=SRGANConfig,
    data_kinds=("image",),
    build=build,
    make_optimizers=make_optimizers,
    train_step=train_step,
    sample=no_sampling,
    noise=no_sampling,
    data_fields=image_fields,
    has_generator=False,
    translate=upscale,
    preview=preview(upscale, "SRResNet/SRGAN"),
    notes=notes,
    tile_scale=lambda config: config.scale,
    suggested_datasets=("sr-natural", "cifar10"),
    presets={"cpu-small": {"g_width": 32, "res_blocks": 6, "d_width": 32, "lr": 1e-3},
             "paper": {"g_width": 64, "res_blocks": 16, "d_width": 64}},
)
