"""bigan: Bidirectional GAN (Donahue, Krähenbühl & Darrell, 2016) with MLPs, for MNIST.

Paper: https://arxiv.org/abs/1605.09782. Besides G: z -> x, an encoder E: x -> z is learned, and
the discriminator judges pairs: D(x, E(x)) for real images against D(G(z), z) for generated
ones. At the optimum E inverts G, so E(x) is a feature of x learned without labels: the linear
probe (trainers.metrics.representation.linear_probe) measures how good a feature it is.
Kept, from the paper's permutation-invariant MNIST set-up (appendix C.1, as we read it):
z ~ N(0, I) in R^50; E, G and D are MLPs with two hidden layers of 1024 units; G uses ReLU and
batch norm on its second hidden layer, E LeakyReLU(0.2) and batch norm likewise; D embeds x and
z with one LeakyReLU layer each and judges the concatenation with another; Adam(2e-4, beta1 0.5)
with l2 weight decay 2.5e-5 on every network; the learning rate is constant for the first half
of the run and then falls linearly to 0 at its end.
Changed: G ends in tanh (images live in [-1, 1] here, not [0, 1]); E and G minimise D's loss with
the labels swapped (the non-saturating form) rather than maximising it.
The learning rate is set from the step number in every train_step (``total_steps`` is filled
from the run's length by the engine), so a resumed run decays exactly as an unbroken one.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..optim import adam
from ..config import field
from ..family import FamilySpec, image_fields
from ..objectives import get_objective
from .adversarial import (buffers_kept, encode_images, frozen, gaussian_noise, grad_norm, linear_decay,
                          rebuild_through_generator, sample_generator)


@dataclass
class BiGANConfig:
    image_size: int = field(28, "image side in pixels (set from the dataset)", range=(4, 128))
    channels: int = field(1, "image channels (set from the dataset)", choices=(1, 3))
    latent_dim: int = field(50, "size of z and of the code E(x)", range=(1, 1024))
    width: int = field(1024, "units in every hidden layer of E, G and D", range=(8, 8192))
    lr: float = field(2e-4, "base learning rate of every network (Adam)", range=(1e-6, 1.0))
    beta1: float = field(0.5, "Adam beta1", range=(0.0, 0.999))
    beta2: float = field(0.999, "Adam beta2", range=(0.0, 0.9999))
    weight_decay: float = field(2.5e-5, "l2 weight decay on every network", range=(0.0, 1.0))
    decay_from: float = field(0.5, "share of the run after which the learning rate falls linearly "
                              "to 0 (1: never)", range=(0.0, 1.0))
    total_steps: int = field(0, "steps of the run, for the learning-rate decay (set from the run; "
                             "0: no decay)", range=(0, 10_000_000))

    @property
    def pixels(self) -> int:
        return self.channels * self.image_size * self.image_size


class Encoder(nn.Module):
    """E: (B, C, H, W) -> flat (B, C*H*W) -> 1024 -> 1024 -> (B, latent_dim)."""

    def __init__(self, config: BiGANConfig):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(config.pixels, config.width), nn.LeakyReLU(0.2, True),
            nn.Linear(config.width, config.width, bias=False), nn.BatchNorm1d(config.width),
            nn.LeakyReLU(0.2, True),
            nn.Linear(config.width, config.latent_dim))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x.flatten(1))


class Generator(nn.Module):
    """G: (B, latent_dim) -> 1024 -> 1024 -> (B, C*H*W) in [-1, 1] -> (B, C, H, W)."""

    def __init__(self, config: BiGANConfig):
        super().__init__()
        self.shape = (config.channels, config.image_size, config.image_size)
        self.net = nn.Sequential(
            nn.Linear(config.latent_dim, config.width), nn.ReLU(True),
            nn.Linear(config.width, config.width, bias=False), nn.BatchNorm1d(config.width), nn.ReLU(True),
            nn.Linear(config.width, config.pixels), nn.Tanh())

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).view(-1, *self.shape)


class JointDiscriminator(nn.Module):
    """D(x, z): x -> 1024 and z -> 1024 (LeakyReLU each), concatenated -> 1024 -> one logit."""

    def __init__(self, config: BiGANConfig):
        super().__init__()
        self.image = nn.Sequential(nn.Linear(config.pixels, config.width), nn.LeakyReLU(0.2, True))
        self.code = nn.Sequential(nn.Linear(config.latent_dim, config.width), nn.LeakyReLU(0.2, True))
        self.joint = nn.Sequential(nn.Linear(2 * config.width, config.width), nn.LeakyReLU(0.2, True),
                                   nn.Linear(config.width, 1))

    def forward(self, x: Tensor, z: Tensor) -> Tensor:
        return self.joint(torch.cat([self.image(x.flatten(1)), self.code(z)], dim=1)).flatten()


def build(config: BiGANConfig) -> nn.ModuleDict:
    return nn.ModuleDict({"encoder": Encoder(config), "generator": Generator(config),
                          "discriminator": JointDiscriminator(config)})


def make_optimizers(config: BiGANConfig, networks: nn.ModuleDict) -> dict[str, torch.optim.Optimizer]:
    """D against E and G together (they play one side of the game)."""
    betas = (config.beta1, config.beta2)
    encoder_generator = [*networks["encoder"].parameters(), *networks["generator"].parameters()]
    return {
        "generator": adam(encoder_generator, config.lr, betas=betas, weight_decay=config.weight_decay),
        "discriminator": adam(networks["discriminator"].parameters(), config.lr, betas=betas,
                                          weight_decay=config.weight_decay),
    }


def train_step(config: BiGANConfig, networks: nn.ModuleDict, optimizers: dict, real: Tensor,
               labels: Tensor | None, step: int, rng: torch.Generator,
               update: str = "both") -> dict[str, Tensor]:
    """(1) D on (x, E(x)) vs (G(z), z), then (2) E and G on the same pairs with labels swapped."""
    scale = linear_decay(config, step)
    for optimizer in optimizers.values():
        for group in optimizer.param_groups:
            group["lr"] = config.lr * scale
    encoder, generator, discriminator = networks["encoder"], networks["generator"], networks["discriminator"]
    objective = get_objective("non-saturating")
    z = gaussian_noise(config, real.shape[0], rng, real.device)
    out: dict[str, Tensor] = {"lr": torch.full((), config.lr * scale, device=real.device)}
    do_g = update != "d"
    if do_g:
        code, fake = encoder(real), generator(z)
    else:  # a D-only step leaves E and G exactly as they were, batch-norm statistics too
        with torch.no_grad(), buffers_kept(encoder), buffers_kept(generator):
            code, fake = encoder(real), generator(z)

    # (1) update D: real pairs (x, E(x)) against generated pairs (G(z), z)
    if update != "g":
        real_logits = discriminator(real, code.detach())
        fake_logits = discriminator(fake.detach(), z)
        loss_d = objective.d_loss(real_logits, fake_logits)
        optimizers["discriminator"].zero_grad(set_to_none=True)
        loss_d.backward()
        out["grad_norm_d"] = grad_norm(discriminator)
        optimizers["discriminator"].step()
        out.update(loss_d=loss_d.detach(), d_real=torch.sigmoid(real_logits.detach()).mean(),
                   d_fake=torch.sigmoid(fake_logits.detach()).mean())

    # (2) update E and G: D's loss with the labels swapped
    if do_g:
        with frozen(discriminator):
            real_logits, fake_logits = discriminator(real, code), discriminator(fake, z)
            loss_g = objective.d_loss(fake_logits, real_logits)
            optimizers["generator"].zero_grad(set_to_none=True)
            loss_g.backward()
        out["grad_norm_g"] = grad_norm(generator)
        optimizers["generator"].step()
        out["loss_g"] = loss_g.detach()
        out.setdefault("d_fake", torch.sigmoid(fake_logits.detach()).mean())
        out["code_std"] = code.detach().std()
    return out


SPEC = FamilySpec(
    name="bigan",
    description="BiGAN: an encoder learned adversarially with G (MLPs, z in R^50); linear-probe features",
    paper="https://arxiv.org/abs/1605.09782",
    config_cls=BiGANConfig,
    data_kinds=("image",),
    build=build,
    make_optimizers=make_optimizers,
    train_step=train_step,
    sample=sample_generator,
    noise=gaussian_noise,
    data_fields=image_fields,
    presets={"cpu-small": {"width": 512, "lr": 5e-4}, "paper": {"width": 1024, "latent_dim": 50}},
    # G(E(x)): BiGAN never trains for it, so it shows what E kept (the digit more than its pixels)
    reconstruct=rebuild_through_generator,
    encode=encode_images,
    min_batch=(2, "its batch norm takes each feature's variance across the batch"),
)
