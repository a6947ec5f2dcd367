"""aae: adversarial autoencoder (Makhzani, Shlens, Jaitly, Goodfellow & Frey, 2015).

Paper: https://arxiv.org/abs/1511.05644. An autoencoder whose code q(z) = E(x) is pushed onto a
chosen prior p(z) by a discriminator on the code space, so that decoding prior samples gives
data. Each training step has the paper's two phases on the same batch:
  (1) reconstruction: E and the decoder minimise ||x - dec(E(x))||^2;
  (2) regularisation: the latent discriminator D_z learns to tell prior samples z ~ p(z) from
      codes E(x), then E (alone, as the "generator" of codes) learns to make D_z call its
      codes prior samples (non-saturating log-loss).
Kept: the two phases, a separate optimiser for each update, the priors of the paper's figures
(a Gaussian, a mixture of 10 Gaussians, and a ring, as in its swiss-roll / mixture figures).
Changed: the encoder and decoder are the autoencoder family's DCGAN stacks (convolutions, not the
paper's 1000-unit MLPs), so AE, AAE and AAE-GAN compare at equal size; Adam instead of SGD with
momentum; D_z is a 2-hidden-layer MLP (``latent_d_width`` units, LeakyReLU(0.2)).
Priors in more than two dimensions: the mixture's 10 means (radius 4, std 0.5) and the ring
(radius 4, radial std 0.1) live in the first two code dimensions; the others are N(0, 1).
With ``latent_dim=2`` the playground draws every code, coloured by its digit, as it trains.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..optim import adam
from ..config import field
from ..family import FamilySpec, image_fields
from ..objectives import get_objective
from . import autoencoder, dcgan
from .adversarial import buffers_kept, encode_images, frozen, grad_norm

PRIORS = ("gaussian", "mixture", "ring")
MIXTURE_COMPONENTS, PRIOR_RADIUS, MIXTURE_STD, RING_STD = 10, 4.0, 0.5, 0.1


@dataclass
class AAEConfig:
    image_size: int = field(28, "image side in pixels (set from the dataset)", range=(8, 256))
    channels: int = field(1, "image channels (set from the dataset)", choices=(1, 3))
    latent_dim: int = field(8, "size of the code E(x) (2 to see the codes live)", range=(1, 512))
    g_width: int = field(64, "decoder feature maps at its last hidden layer (DCGAN's ngf)", range=(4, 512))
    d_width: int = field(64, "encoder feature maps at its first layer (DCGAN's ndf)", range=(4, 512))
    latent_d_width: int = field(256, "units in each hidden layer of the latent discriminator",
                                range=(4, 4096))
    prior: str = field("gaussian", "p(z) the codes are matched to: N(0, I), a mixture of 10 Gaussians "
                       "on a circle, or a ring", choices=PRIORS)
    loss: str = field("mse", "reconstruction error: mean squared (mse) or mean absolute (l1)",
                      choices=("mse", "l1"))
    lr: float = field(2e-4, "learning rate of the reconstruction phase (Adam, E and decoder)",
                      range=(1e-6, 1.0))
    lr_d: float = field(2e-4, "learning rate of the latent discriminator (Adam)", range=(1e-6, 1.0))
    lr_g: float = field(2e-4, "learning rate of the encoder's regularisation update (Adam)",
                        range=(1e-6, 1.0))
    beta1: float = field(0.5, "Adam beta1", range=(0.0, 0.999))
    beta2: float = field(0.999, "Adam beta2", range=(0.0, 0.9999))

    def check(self) -> None:
        dcgan.upsamplings(self.image_size)


def prior_sample(config, n: int, generator: torch.Generator | None = None, device="cpu") -> Tensor:
    """n draws from the config's prior p(z), shape (n, latent_dim)."""
    z = torch.randn(n, config.latent_dim, generator=generator, device=device)
    if config.prior == "gaussian" or config.latent_dim < 2:
        return z
    if config.prior == "mixture":  # one of 10 equally likely means on a circle, std MIXTURE_STD
        component = torch.randint(0, MIXTURE_COMPONENTS, (n,), generator=generator, device=device)
        angle = component * (2 * math.pi / MIXTURE_COMPONENTS)
        radius, offset = torch.full((n,), PRIOR_RADIUS, device=device), MIXTURE_STD * z[:, :2]
    else:  # ring: a uniform angle, a radius of PRIOR_RADIUS with std RING_STD
        angle = torch.rand(n, generator=generator, device=device) * (2 * math.pi)
        radius, offset = PRIOR_RADIUS + RING_STD * z[:, 0], torch.zeros_like(z[:, :2])
    z[:, 0] = radius * torch.cos(angle) + offset[:, 0]
    z[:, 1] = radius * torch.sin(angle) + offset[:, 1]
    return z


class LatentDiscriminator(nn.Module):
    """D_z: (B, latent_dim) -> (B,) logits that a code came from the prior."""

    def __init__(self, latent_dim: int, width: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(latent_dim, width), nn.LeakyReLU(0.2, True),
                                 nn.Linear(width, width), nn.LeakyReLU(0.2, True),
                                 nn.Linear(width, 1))

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).flatten()


def build(config: AAEConfig) -> nn.ModuleDict:
    networks = autoencoder.build(config)
    networks["latent_discriminator"] = LatentDiscriminator(config.latent_dim, config.latent_d_width)
    return networks


def make_optimizers(config: AAEConfig, networks: nn.ModuleDict) -> dict[str, torch.optim.Optimizer]:
    betas = (config.beta1, config.beta2)
    autoencoder_parameters = [*networks["encoder"].parameters(), *networks["decoder"].parameters()]
    return {
        "autoencoder": adam(autoencoder_parameters, config.lr, betas=betas),
        "latent_discriminator": adam(networks["latent_discriminator"].parameters(),
                                                 config.lr_d, betas=betas),
        "encoder": adam(networks["encoder"].parameters(), config.lr_g, betas=betas),
    }


def latent_adversarial_step(encoder: nn.Module, latent_discriminator: nn.Module,
                            opt_d: torch.optim.Optimizer, opt_e: torch.optim.Optimizer,
                            real: Tensor, prior: Tensor, update: str = "both") -> dict[str, Tensor]:
    """The regularisation phase: (1) D_z on prior vs codes, then (2) E to make its codes look
    like prior samples. ``update`` is "both", "d" (only (1)) or "g" (only (2))."""
    objective = get_objective("non-saturating")
    out: dict[str, Tensor] = {}
    codes = encoder(real) if update != "d" else None
    # (1) update D_z: prior samples are "real", the encoder's codes "fake"
    if update != "g":
        if codes is None:  # a D-only step leaves E exactly as it was, batch-norm statistics too
            with torch.no_grad(), buffers_kept(encoder):
                fake = encoder(real)
        else:
            fake = codes.detach()
        prior_logits, code_logits = latent_discriminator(prior), latent_discriminator(fake)
        loss_d = objective.d_loss(prior_logits, code_logits)
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        out.update(loss_d=loss_d.detach(), d_real=torch.sigmoid(prior_logits.detach()).mean(),
                   d_fake=torch.sigmoid(code_logits.detach()).mean())
    # (2) update E: make D_z call its codes prior samples
    if codes is not None:
        with frozen(latent_discriminator):
            code_logits = latent_discriminator(codes)
            loss_g = objective.g_loss(code_logits)
            opt_e.zero_grad(set_to_none=True)
            loss_g.backward()
        opt_e.step()
        out["loss_g"] = loss_g.detach()
        out.setdefault("d_fake", torch.sigmoid(code_logits.detach()).mean())
    return out


def train_step(config: AAEConfig, networks: nn.ModuleDict, optimizers: dict, real: Tensor,
               labels: Tensor | None, step: int, rng: torch.Generator,
               update: str = "both") -> dict[str, Tensor]:
    """Both phases on one batch. ``update="d"`` runs only D_z's update; ``"g"`` the
    reconstruction and the encoder's regularisation update (the lab's Step D / Step G)."""
    out: dict[str, Tensor] = {}
    if update != "d":
        # (0) reconstruction phase: E and the decoder
        code = networks["encoder"](real)
        loss = autoencoder.reconstruction_error(config, real, networks["decoder"](code))
        optimizers["autoencoder"].zero_grad(set_to_none=True)
        loss.backward()
        out["grad_norm"] = grad_norm(networks["encoder"])
        optimizers["autoencoder"].step()
        out["loss_recon"] = loss.detach()
        out["code_std"] = code.detach().std()
    prior = prior_sample(config, real.shape[0], rng, real.device)
    out.update(latent_adversarial_step(networks["encoder"], networks["latent_discriminator"],
                                       optimizers["latent_discriminator"], optimizers["encoder"],
                                       real, prior, update))
    return out


SPEC = FamilySpec(
    name="aae",
    description="Adversarial autoencoder: codes matched to a Gaussian, 10-Gaussian or ring prior; "
                "live reconstructions and (2-D codes) the code map",
    paper="https://arxiv.org/abs/1511.05644",
    config_cls=AAEConfig,
    data_kinds=("image",),
    build=build,
    make_optimizers=make_optimizers,
    train_step=train_step,
    sample=autoencoder.sample,  # dec(z) for z ~ p(z): what the regularisation makes work
    noise=prior_sample,
    data_fields=image_fields,
    presets={"cpu-small": {"g_width": 32, "d_width": 32, "latent_dim": 8, "lr": 1e-3, "lr_d": 1e-3, "lr_g": 1e-3},
             "paper": {"g_width": 64, "d_width": 64, "latent_dim": 8, "latent_d_width": 1000}},
    reconstruct=autoencoder.reconstruct,
    encode=encode_images,
)
