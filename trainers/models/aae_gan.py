"""aae-gan: an autoencoder whose decoder is also a GAN generator, regularised on both sides.

The project seed's AAE-regularised GAN (close to Larsen et al.'s VAE/GAN,
https://arxiv.org/abs/1512.09300, with the VAE's KL term replaced by an adversarial autoencoder's
latent discriminator, https://arxiv.org/abs/1511.05644). Four networks, all DCGAN building
blocks so it compares with dcgan, autoencoder and aae at equal size:
  E  encoder: the autoencoder family's (DCGAN's D stack ending in latent_dim numbers);
  G  generator/decoder: DCGAN's G;
  D1 latent discriminator: the aae family's MLP, separating E(x) from prior samples z ~ p(z);
  D2 image discriminator: DCGAN's D, separating real x from G(E(x)) and from G(z).
Each step:
  (1) update D1 on z vs E(x);
  (2) update D2 on x vs both kinds of fakes, G(E(x)) and G(z);
  (3) update E and G together on recon_weight * ||x - G(E(x))||^2 + the non-saturating losses
      that make D1 call E(x) prior and D2 call G(E(x)) and G(z) real.
The reconstruction term gives G every mode of the data (each real image must be rebuilt), which
a plain GAN does not promise; D2 sharpens what the squared error alone blurs; D1 keeps the codes
on the prior so G(z) for fresh z lands where G(E(x)) was trained.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..optim import adam
from ..config import field
from ..family import FamilySpec, image_fields
from ..objectives import get_objective
from . import aae, autoencoder, dcgan
from .adversarial import (buffers_kept, encode_images, frozen, grad_norm, rebuild_through_generator,
                          sample_generator)


@dataclass
class AAEGANConfig:
    image_size: int = field(28, "image side in pixels (set from the dataset)", range=(8, 256))
    channels: int = field(1, "image channels (set from the dataset)", choices=(1, 3))
    latent_dim: int = field(32, "size of z and of the code E(x)", range=(1, 512))
    g_width: int = field(64, "generator feature maps at its last hidden layer (DCGAN's ngf)", range=(4, 512))
    d_width: int = field(64, "encoder and image discriminator feature maps at their first layer "
                         "(DCGAN's ndf)", range=(4, 512))
    latent_d_width: int = field(256, "units in each hidden layer of the latent discriminator D1",
                                range=(4, 4096))
    prior: str = field("gaussian", "p(z) for G's noise and E's codes", choices=aae.PRIORS)
    recon_weight: float = field(10.0, "weight of ||x - G(E(x))||^2 against the adversarial terms",
                                range=(0.0, 1e4))
    lr_g: float = field(2e-4, "learning rate of E and G (Adam)", range=(1e-6, 1.0))
    lr_d: float = field(2e-4, "learning rate of D1 and D2 (Adam)", range=(1e-6, 1.0))
    beta1: float = field(0.5, "Adam beta1", range=(0.0, 0.999))
    beta2: float = field(0.999, "Adam beta2", range=(0.0, 0.9999))

    def check(self) -> None:
        dcgan.upsamplings(self.image_size)


def build(config: AAEGANConfig) -> nn.ModuleDict:
    shapes = SimpleNamespace(image_size=config.image_size, channels=config.channels, latent_dim=config.latent_dim,
                             g_width=config.g_width, d_width=config.d_width, critic_norm="batch")
    networks = nn.ModuleDict({"encoder": autoencoder.Encoder(shapes), "generator": dcgan.Generator(shapes),
                              "discriminator": dcgan.Discriminator(shapes)})
    networks.apply(dcgan.init_weights)
    networks["latent_discriminator"] = aae.LatentDiscriminator(config.latent_dim, config.latent_d_width)
    return networks


def make_optimizers(config: AAEGANConfig, networks: nn.ModuleDict) -> dict[str, torch.optim.Optimizer]:
    betas = (config.beta1, config.beta2)
    encoder_generator = [*networks["encoder"].parameters(), *networks["generator"].parameters()]
    return {
        "generator": adam(encoder_generator, config.lr_g, betas=betas),
        "discriminator": adam(networks["discriminator"].parameters(), config.lr_d, betas=betas),
        "latent_discriminator": adam(networks["latent_discriminator"].parameters(), config.lr_d,
                                                 betas=betas),
    }


def train_step(config: AAEGANConfig, networks: nn.ModuleDict, optimizers: dict, real: Tensor,
               labels: Tensor | None, step: int, rng: torch.Generator,
               update: str = "both") -> dict[str, Tensor]:
    """D1 and D2, then E and G, on one batch; ``update`` "d" or "g" runs only that side."""
    encoder, generator = networks["encoder"], networks["generator"]
    image_d, latent_d = networks["discriminator"], networks["latent_discriminator"]
    objective = get_objective("non-saturating")
    z = aae.prior_sample(config, real.shape[0], rng, real.device)
    do_g = update != "d"
    if do_g:
        code = encoder(real)
        rebuilt, fake = generator(torch.cat([code, z])).split(real.shape[0])
    else:  # a D-only step leaves E and G exactly as they were, batch-norm statistics too
        with torch.no_grad(), buffers_kept(encoder), buffers_kept(generator):
            code = encoder(real)
            rebuilt, fake = generator(torch.cat([code, z])).split(real.shape[0])
    out: dict[str, Tensor] = {}

    if update != "g":
        # (1) update D1: prior samples z against codes E(x)
        prior_logits, code_logits = latent_d(z), latent_d(code.detach())
        loss_latent = objective.d_loss(prior_logits, code_logits)
        optimizers["latent_discriminator"].zero_grad(set_to_none=True)
        loss_latent.backward()
        optimizers["latent_discriminator"].step()
        out["loss_d_latent"] = loss_latent.detach()
        # (2) update D2: real images against reconstructions G(E(x)) and samples G(z)
        real_logits = image_d(real)
        fake_logits = image_d(torch.cat([rebuilt.detach(), fake.detach()]))
        loss_d = objective.d_loss(real_logits, fake_logits)
        optimizers["discriminator"].zero_grad(set_to_none=True)
        loss_d.backward()
        out["grad_norm_d"] = grad_norm(image_d)
        optimizers["discriminator"].step()
        out.update(loss_d=loss_d.detach(), d_real=torch.sigmoid(real_logits.detach()).mean(),
                   d_fake=torch.sigmoid(fake_logits.detach()[real.shape[0]:]).mean())

    if do_g:
        # (3) update E and G: rebuild x, codes that look prior, images that look real
        with frozen(image_d), buffers_kept(image_d), frozen(latent_d):
            loss_recon = F.mse_loss(rebuilt, real)
            fake_logits = image_d(torch.cat([rebuilt, fake]))
            loss_adversarial = objective.g_loss(fake_logits) + objective.g_loss(latent_d(code))
            loss_g = config.recon_weight * loss_recon + loss_adversarial
            optimizers["generator"].zero_grad(set_to_none=True)
            loss_g.backward()
        out["grad_norm_g"] = grad_norm(generator)
        optimizers["generator"].step()
        out.update(loss_g=loss_adversarial.detach(), loss_recon=loss_recon.detach(), code_std=code.detach().std())
        out.setdefault("d_fake", torch.sigmoid(fake_logits.detach()[real.shape[0]:]).mean())
    return out


SPEC = FamilySpec(
    name="aae-gan",
    description="AAE-regularised GAN: E and G autoencode, D1 keeps codes on the prior, D2 judges "
                "reconstructions and samples",
    paper="https://arxiv.org/abs/1512.09300",
    config_cls=AAEGANConfig,
    data_kinds=("image",),
    build=build,
    make_optimizers=make_optimizers,
    train_step=train_step,
    sample=sample_generator,
    noise=aae.prior_sample,
    data_fields=image_fields,
    presets={"cpu-small": {"g_width": 32, "d_width": 32},
             "paper": {"g_width": 64, "d_width": 64}},
    reconstruct=rebuild_through_generator,
    encode=encode_images,
)
