"""esrgan: enhanced super-resolution GAN (Wang et al., ECCV 2018 workshops).

Reference: https://arxiv.org/abs/1809.00219. Changes from SRGAN, all here:

- Generator: Residual-in-Residual Dense Blocks (RRDB), no batch norm anywhere. An RRDB is three
  residual dense blocks (five 3x3 convolutions, each reading all earlier outputs, LeakyReLU(0.2))
  whose outputs are scaled by 0.2 before the skip, inside another 0.2-scaled skip. Upsampling is
  nearest-neighbour x2 followed by a convolution, per factor of 2.
- Relativistic average discriminator (RaGAN): D estimates whether a real image is more realistic
  than the average fake, and vice versa; G gets gradients from real and fake images alike.
- Perceptual loss on VGG19's conv5_4 features before the activation (sharper, better-behaved
  gradients than after it), L1.
- Training: first the PSNR-oriented model (pixel L1 only, ``pretrain_steps``; its rate falls
  linearly to 0 over the phase's second half, ``decay_from``), then the GAN phase, which starts
  from it: G minimises perceptual + 5e-3 RaGAN + 1e-2 L1.
- Network interpolation: the weights at the end of the PSNR phase are kept in the checkpoint
  (``generator_psnr``), and ``translate(..., alpha=a)`` runs (1 - a) theta_PSNR + a theta_GAN:
  one slider from smooth and faithful (0) to sharp and textured (1), with no retraining.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call

from ..optim import adam
from ..config import field
from ..errors import ConfigError
from ..family import FamilySpec, image_fields
from ..objectives import at_least_float32
from .adversarial import buffers_kept, frozen, grad_norm
from .image_to_image import no_sampling, set_lr
from .super_resolution import (SCALES, VGGStyleDiscriminator, check_scale, content_loss, gan_pixel_weight,
                               perceptual_note, pixel_phase_step, preview, run_generator, training_pair,
                               upsampling_steps)


@dataclass
class ESRGANConfig:
    image_size: int = field(128, "high-resolution crop side (set from the dataset)", range=(8, 512))
    channels: int = field(3, "image channels (set from the dataset)", choices=(1, 3))
    scale: int = field(4, "upscaling factor", choices=SCALES)
    g_width: int = field(64, "generator feature maps (nf, the paper's 64)", range=(4, 256))
    growth: int = field(32, "feature maps each dense-block convolution adds (gc, the paper's 32)",
                        range=(4, 128))
    blocks: int = field(23, "RRDB blocks (the paper's 23)", range=(1, 64))
    residual_scale: float = field(0.2, "scale of each residual before its skip (beta)", range=(0.0, 1.0))
    d_width: int = field(64, "discriminator feature maps at its first layer", range=(4, 256))
    pretrain_steps: int = field(1000, "steps of the PSNR-oriented model (pixel L1 only) before the GAN phase",
                                range=(0, 10_000_000))
    perceptual: str = field("auto", "perceptual-loss features: vgg19 (ImageNet weights needed), the "
                            "discriminator's own, or auto (vgg19 when available)",
                            choices=("auto", "vgg19", "discriminator"))
    perceptual_weight: float = field(1.0, "weight of the perceptual L1 loss", range=(0.0, 100.0))
    adversarial_weight: float = field(5e-3, "weight of the RaGAN loss (lambda)", range=(0.0, 10.0))
    pixel_weight: float = field(1e-2, "weight of the pixel L1 in the GAN phase (eta)", range=(0.0, 100.0))
    substitute_pixel_weight: float = field(1.0, "pixel-loss weight the GAN phase keeps at least when the "
                                           "content features are D's own (no VGG19 weights)", range=(0.0, 100.0))
    lr: float = field(2e-4, "learning rate of the PSNR phase (Adam)", range=(1e-6, 1.0))
    decay_from: float = field(0.5, "fraction of the pixel-loss phase after which its rate falls linearly "
                              "to 0 (1: never)", range=(0.0, 1.0))
    total_steps: int = field(0, "steps in the run, for the decay (set by the engine)", range=(0, 10_000_000))
    lr_gan: float = field(1e-4, "learning rate of G and D in the GAN phase", range=(1e-7, 1.0))
    beta1: float = field(0.9, "Adam beta1", range=(0.0, 0.999))
    beta2: float = field(0.99, "Adam beta2", range=(0.0, 0.9999))

    def check(self) -> None:
        upsampling_steps(self.scale)
        check_scale(self.image_size, self.scale)


class ResidualDenseBlock(nn.Module):
    """x -> five 3x3 convs, the k-th reading x ++ all k-1 earlier outputs (nf + (k-1) gc maps) -> nf maps,
    then x + beta * that."""

    def __init__(self, width: int, growth: int, beta: float):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(width + k * growth, growth if k < 4 else width, 3, 1, 1)
                                    for k in range(5)])
        self.activation = nn.LeakyReLU(0.2, inplace=True)
        self.beta = beta

    def forward(self, x: Tensor) -> Tensor:
        features = [x]
        for k, conv in enumerate(self.convs):
            out = conv(torch.cat(features, 1))
            if k < 4:
                features.append(self.activation(out))
        return x + self.beta * out


class RRDB(nn.Module):
    def __init__(self, width: int, growth: int, beta: float):
        super().__init__()
        self.dense = nn.Sequential(*[ResidualDenseBlock(width, growth, beta) for _ in range(3)])
        self.beta = beta

    def forward(self, x: Tensor) -> Tensor:
        return x + self.beta * self.dense(x)


class RRDBNet(nn.Module):
    """(B, C, h, w) -> conv3 -> (B, nf, h, w) -> RRDBs -> conv3, + first -> [nearest x2 -> conv3 ->
    LReLU] per x2 -> (B, nf, sh, sw) -> conv3 -> LReLU -> conv3 -> (B, C, sh, sw)"""

    def __init__(self, config: ESRGANConfig):
        super().__init__()
        nf = config.g_width
        self.head = nn.Conv2d(config.channels, nf, 3, 1, 1)
        self.body = nn.Sequential(*[RRDB(nf, config.growth, config.residual_scale) for _ in range(config.blocks)],
                                  nn.Conv2d(nf, nf, 3, 1, 1))
        self.upsample = nn.ModuleList([nn.Conv2d(nf, nf, 3, 1, 1) for _ in range(upsampling_steps(config.scale))])
        self.tail = nn.Sequential(nn.Conv2d(nf, nf, 3, 1, 1), nn.LeakyReLU(0.2, True),
                                  nn.Conv2d(nf, config.channels, 3, 1, 1))
        self.activation = nn.LeakyReLU(0.2, True)
        # the paper's smaller initialisation inside the dense blocks, which stabilises deep RRDB stacks;
        # the layers around them keep PyTorch's (scaled down too, the picture would leave the network
        # 10^5 times too faint and the PSNR phase would plateau below bicubic)
        for module in self.body.modules():
            if isinstance(module, nn.Conv2d) and module is not self.body[-1]:
                nn.init.kaiming_normal_(module.weight, a=0, mode="fan_in")
                module.weight.data.mul_(0.1)
                nn.init.zeros_(module.bias)

    def forward(self, x: Tensor) -> Tensor:
        first = self.head(x)
        x = first + self.body(first)
        for conv in self.upsample:
            x = self.activation(conv(F.interpolate(x, scale_factor=2, mode="nearest")))
        return self.tail(x)


class PSNRSnapshot(nn.Module):
    """A copy of the generator as it was when the PSNR phase ended (``taken`` is 0 until then)."""

    def __init__(self, config: ESRGANConfig):
        super().__init__()
        self.generator = RRDBNet(config)
        self.generator.requires_grad_(False)
        self.register_buffer("taken", torch.zeros((), dtype=torch.uint8))
        self._taken: bool | None = None  # the host's copy of ``taken``, read once after a load
        self.register_load_state_dict_post_hook(lambda module, _: setattr(module, "_taken", None))

    @property
    def is_taken(self) -> bool:
        """Whether the snapshot was taken (without a host-device sync at every step)."""
        if self._taken is None:
            self._taken = bool(self.taken)
        return self._taken

    @torch.no_grad()
    def take(self, generator: nn.Module) -> None:
        self.generator.load_state_dict(generator.state_dict())
        self.taken.fill_(1)
        self._taken = True


def build(config: ESRGANConfig) -> nn.ModuleDict:
    return nn.ModuleDict({"generator": RRDBNet(config), "generator_psnr": PSNRSnapshot(config),
                          "discriminator": VGGStyleDiscriminator(config.channels, config.d_width)})


def make_optimizers(config: ESRGANConfig, networks: nn.ModuleDict) -> dict[str, torch.optim.Optimizer]:
    betas = (config.beta1, config.beta2)
    return {"generator": adam(networks["generator"].parameters(), config.lr, betas=betas),
            "discriminator": adam(networks["discriminator"].parameters(), config.lr_gan, betas=betas)}


def relativistic_losses(real_logits: Tensor, fake_logits: Tensor) -> tuple[Tensor, Tensor]:
    """RaGAN with the logistic loss: (the loss of the side that calls real images "more real than
    the average fake", the loss of the side that calls fakes so). D minimises the first, G the second.
    In float32 under a CPU's bf16 autocast too (see trainers/objectives.py)."""
    real_logits, fake_logits = at_least_float32(real_logits), at_least_float32(fake_logits)
    real_vs_fake = real_logits - fake_logits.mean()
    fake_vs_real = fake_logits - real_logits.mean()
    d_side = 0.5 * (F.softplus(-real_vs_fake).mean() + F.softplus(fake_vs_real).mean())
    g_side = 0.5 * (F.softplus(real_vs_fake).mean() + F.softplus(-fake_vs_real).mean())
    return d_side, g_side


def train_step(config: ESRGANConfig, networks: nn.ModuleDict, optimizers: dict, hr: Tensor,
               labels: Tensor | None, step: int, rng: torch.Generator, update: str = "both") -> dict[str, Tensor]:
    """The PSNR phase's L1 step before ``pretrain_steps``; after it (1) D, then (2) G on perceptual +
    RaGAN + L1. The first GAN step keeps the PSNR model for interpolation."""
    generator, discriminator = networks["generator"], networks["discriminator"]
    lr_image, hr = training_pair(hr, config.scale, rng)
    if step < config.pretrain_steps:  # the PSNR-oriented model: pixel L1 alone
        return pixel_phase_step(config, networks, optimizers, lr_image, hr, step, update, "l1")
    out: dict[str, Tensor] = {}

    if not networks["generator_psnr"].is_taken:
        networks["generator_psnr"].take(generator)
    set_lr(optimizers, {"generator": config.lr_gan, "discriminator": config.lr_gan})
    do_d, do_g = update in ("both", "d"), update in ("both", "g")
    with torch.set_grad_enabled(do_g):
        sr = generator(lr_image)

    # (1) update D: real more realistic than the average fake, fakes less than the average real
    if do_d:
        real_logits, fake_logits = discriminator(hr), discriminator(sr.detach())
        loss_d, _ = relativistic_losses(real_logits, fake_logits)
        optimizers["discriminator"].zero_grad(set_to_none=True)
        loss_d.backward()
        out["grad_norm_d"] = grad_norm(discriminator)
        optimizers["discriminator"].step()
        out["loss_d"] = loss_d.detach()
        out["d_real"] = torch.sigmoid(real_logits.detach() - fake_logits.detach().mean()).mean()
        out["d_fake"] = torch.sigmoid(fake_logits.detach() - real_logits.detach().mean()).mean()

    # (2) update G: the same game from the other side, plus features and pixels
    if do_g:
        with frozen(discriminator), buffers_kept(discriminator):
            real_logits = discriminator(hr).detach()
            fake_logits = discriminator(sr)
            _, loss_adv = relativistic_losses(real_logits, fake_logits)
            loss_perceptual = content_loss(config, networks, sr, hr, config.perceptual_weight, F.l1_loss,
                                           before_activation=True)
            loss_l1 = F.l1_loss(sr, hr)
            loss_g = config.adversarial_weight * loss_adv + gan_pixel_weight(config) * loss_l1
            if loss_perceptual is not None:
                loss_g = (config.perceptual_weight * loss_perceptual + config.adversarial_weight * loss_adv
                          + gan_pixel_weight(config) * loss_l1)
                out["loss_perceptual"] = loss_perceptual.detach()
            optimizers["generator"].zero_grad(set_to_none=True)
            loss_g.backward()  # inside the block: batch norm's backward checks its running statistics
        out["grad_norm_g"] = grad_norm(generator)
        optimizers["generator"].step()
        out["loss_g"] = loss_adv.detach()
        out["loss_l1"] = loss_l1.detach()
    return out


def interpolated_weights(networks: nn.ModuleDict, alpha: float) -> dict[str, Tensor]:
    """(1 - alpha) theta_PSNR + alpha theta_GAN, parameter by parameter."""
    psnr = dict(networks["generator_psnr"].generator.named_parameters())
    return {name: torch.lerp(psnr[name], value, alpha) for name, value in networks["generator"].named_parameters()}


@torch.no_grad()
def upscale(config: ESRGANConfig, networks: nn.ModuleDict, lr_image: Tensor, alpha: float = 1.0) -> Tensor:
    """G(low-resolution image) with weights interpolated between the PSNR model (alpha=0) and the
    GAN model (alpha=1); before the GAN phase there is only one model and alpha has no effect."""
    if not 0.0 <= alpha <= 1.0:
        raise ConfigError(f"alpha must be between 0 (PSNR model) and 1 (GAN model), not {alpha}")
    generator = networks["generator"]
    if alpha == 1.0 or not networks["generator_psnr"].is_taken:
        return run_generator(generator, lr_image)
    return functional_call(generator, interpolated_weights(networks, alpha), (lr_image,)).clamp(-1, 1)


def notes(config: ESRGANConfig) -> list[str]:
    return [f"steps 0-{config.pretrain_steps - 1} train the PSNR-oriented RRDB model (pixel L1 only); the GAN "
            f"phase follows and its start is kept for network interpolation"
            if config.pretrain_steps else "pretrain_steps=0: the GAN phase starts at step 0, from the initial weights",
            perceptual_note(config, config.perceptual_weight)]


SPEC = FamilySpec(
    name="esrgan",
    description="ESRGAN: RRDB generator (no BN), relativistic average D, perceptual loss before activation, "
                "PSNR/GAN network interpolation",
    paper="https://arxiv.org/abs/1809.00219",
    config_cls=ESRGANConfig,
    data_kinds=("image",),
    build=build,
    make_optimizers=make_optimizers,
    train_step=train_step,
    sample=no_sampling,
    noise=no_sampling,
    data_fields=image_fields,
    has_generator=False,
    translate=upscale,
    preview=preview(upscale, "ESRGAN"),
    notes=notes,
    tile_scale=lambda config: config.scale,
    suggested_datasets=("sr-natural", "cifar10"),
    presets={"cpu-small": {"g_width": 32, "growth": 16, "blocks": 3, "d_width": 32},
             "paper": {"g_width": 64, "growth": 32, "blocks": 23, "d_width": 64}},
)
