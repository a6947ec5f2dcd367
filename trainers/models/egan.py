"""e-gan: Evolutionary GAN (Wang, Xu, Yao & Tao, 2018).

Paper: https://arxiv.org/abs/1803.00657. Kept: each iteration (1) updates D on real vs the current
generator's fakes, then (2) evolves G: from the parent generator, one child per mutation (minimax,
heuristic i.e. non-saturating, least-squares) takes one Adam step with that mutation's loss; each
child is scored by fitness F = F_q + gamma * F_d, where the quality term F_q = E[D(G(z))] and the
diversity term F_d = -log ||grad_D L_D|| (a child whose fakes barely move D's loss is not
collapsing onto what D already rejects); the fittest child survives (mu = 1 parent).
Changed: DCGAN networks at CPU size (the paper also uses DCGAN-style networks); the survivor's
optimizer state is kept with it, so evolution and Adam's moments stay consistent across steps.
The live signals ``win_minimax``, ``win_heuristic`` and ``win_least_squares`` (one per mutation
offered) say which mutation won: averaged over a logging window, each is that mutation's share
of the wins.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import field
from ..distributed import mean_over_ranks
from ..errors import ConfigError
from ..family import FamilySpec, image_fields
from . import dcgan
from .adversarial import buffers_kept, frozen, gaussian_noise, grad_norm, make_adam_pair, sample_generator

#: The mutations of the paper, in the order the ``mutation`` signal numbers them.
MUTATIONS = ("minimax", "heuristic", "least-squares")


@dataclass
class EGANConfig:
    image_size: int = field(28, "image side in pixels (set from the dataset)", range=(8, 256))
    channels: int = field(1, "image channels (set from the dataset)", choices=(1, 3))
    latent_dim: int = field(100, "size of the noise vector z", range=(1, 512))
    g_width: int = field(32, "generator feature maps at its last hidden layer", range=(4, 512))
    d_width: int = field(32, "discriminator feature maps at its first layer", range=(4, 512))
    mutations: str = field("minimax,heuristic,least-squares",
                           "comma-separated mutations that make the children of each generation")
    gamma: float = field(0.05, "weight of the diversity term F_d in the fitness", range=(0.0, 10.0))
    lr_g: float = field(2e-4, "generator learning rate (Adam)", range=(1e-6, 1.0))
    lr_d: float = field(2e-4, "discriminator learning rate (Adam)", range=(1e-6, 1.0))
    beta1: float = field(0.5, "Adam beta1 for both networks", range=(0.0, 0.999))
    beta2: float = field(0.999, "Adam beta2 for both networks", range=(0.0, 0.9999))

    def check(self) -> None:
        dcgan.upsamplings(self.image_size)
        names = self.mutation_list
        unknown = [m for m in names if m not in MUTATIONS]
        if unknown or not names or len(set(names)) != len(names):
            raise ConfigError(f"mutations: {self.mutations!r} must name each of {', '.join(MUTATIONS)} "
                              f"at most once, separated by commas")

    @property
    def mutation_list(self) -> list[str]:
        return [m.strip() for m in self.mutations.split(",") if m.strip()]


def build(config: EGANConfig) -> nn.ModuleDict:
    # the same generator and discriminator as DCGAN, at the same sizes
    return dcgan.build(dcgan.DCGANConfig(image_size=config.image_size, channels=config.channels,
                                         latent_dim=config.latent_dim, g_width=config.g_width,
                                         d_width=config.d_width))


def mutation_loss(name: str, fake_logits: Tensor) -> Tensor:
    """The paper's three generator objectives, on D's logits (D(G(z)) = sigmoid(logit))."""
    if name == "minimax":  # 1/2 E[log(1 - D(G(z)))]
        return -0.5 * F.softplus(fake_logits).mean()
    if name == "heuristic":  # -1/2 E[log D(G(z))]
        return 0.5 * F.softplus(-fake_logits).mean()
    return ((torch.sigmoid(fake_logits) - 1) ** 2).mean()  # least-squares: E[(D(G(z)) - 1)^2]


def d_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def fitness(discriminator: nn.Module, real: Tensor, fake: Tensor, gamma: float) -> tuple[Tensor, Tensor]:
    """(F_q + gamma * F_d, F_q): quality E[D(G(z))] and diversity -log ||grad_D L_D||."""
    real_logits, fake_logits = discriminator(real), discriminator(fake)
    quality = torch.sigmoid(fake_logits).mean()
    grads = torch.autograd.grad(d_loss(real_logits, fake_logits), list(discriminator.parameters()))
    norm = torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))
    diversity = -torch.log(norm + 1e-12)
    # under torchrun each rank sees its share of the batch: every rank must keep the same child.
    # Detached: a score, not a loss (its graph would otherwise hold D's activations until the
    # engine reads it back)
    return mean_over_ranks((quality + gamma * diversity).detach()), mean_over_ranks(quality.detach())


def _child(config: EGANConfig, generator: nn.Module, discriminator: nn.Module,
           opt_g: torch.optim.Optimizer, parent: tuple, name: str, index: int, real: Tensor,
           z: Tensor, z_eval: Tensor, best: tuple | None) -> tuple:
    """Make the child of ``parent`` by mutation ``name``; return the fitter of it and ``best``."""
    generator.load_state_dict(parent[0])
    opt_g.load_state_dict(parent[1])
    with frozen(discriminator):
        loss_g = mutation_loss(name, discriminator(generator(z)))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
    child_norm = grad_norm(generator)
    opt_g.step()
    with torch.no_grad():
        fake = generator(z_eval)
    score, quality = fitness(discriminator, real, fake, config.gamma)
    if best is not None and score <= best[0]:
        return best
    return (score, index, quality, loss_g.detach(), child_norm,
            copy.deepcopy(generator.state_dict()), copy.deepcopy(opt_g.state_dict()))


def train_step(config: EGANConfig, networks: nn.ModuleDict, optimizers: dict, real: Tensor,
               labels: Tensor | None, step: int, rng: torch.Generator,
               update: str = "both") -> dict[str, Tensor]:
    generator, discriminator = networks["generator"], networks["discriminator"]
    opt_g, opt_d = optimizers["generator"], optimizers["discriminator"]
    out: dict[str, Tensor] = {}
    batch = real.shape[0]

    # (1) update D on real vs the current generator's fakes
    if update in ("both", "d"):
        z = gaussian_noise(config, batch, rng, real.device)
        with torch.no_grad(), buffers_kept(generator):  # only the evolution step changes G
            fake = generator(z)
        real_logits, fake_logits = discriminator(real), discriminator(fake)
        loss = d_loss(real_logits, fake_logits)
        opt_d.zero_grad(set_to_none=True)
        loss.backward()
        out["grad_norm_d"] = grad_norm(discriminator)
        opt_d.step()
        out.update(loss_d=loss.detach(), d_real=torch.sigmoid(real_logits.detach()).mean(),
                   d_fake=torch.sigmoid(fake_logits.detach()).mean())

    # (2) evolve G: one child per mutation from the same parent; the fittest survives
    if update in ("both", "g"):
        parent = (copy.deepcopy(generator.state_dict()), copy.deepcopy(opt_g.state_dict()))
        z = gaussian_noise(config, batch, rng, real.device)
        z_eval = gaussian_noise(config, batch, rng, real.device)
        best: tuple | None = None
        with buffers_kept(discriminator):  # D judges the children; its batch-norm statistics stay
            for index, name in ((MUTATIONS.index(m), m) for m in config.mutation_list):
                best = _child(config, generator, discriminator, opt_g, parent, name, index, real, z, z_eval, best)
        score, index, quality, loss_g, child_norm, g_state, opt_state = best
        generator.load_state_dict(g_state)
        opt_g.load_state_dict(opt_state)
        out.update(loss_g=loss_g, grad_norm_g=child_norm, fitness=score,
                   **{f"win_{m.replace('-', '_')}": torch.tensor(float(MUTATIONS.index(m) == index),
                                                                 device=real.device)
                      for m in config.mutation_list})  # only the mutations that competed
        out.setdefault("d_fake", quality)
    return out


SPEC = FamilySpec(
    name="e-gan",
    description="Evolutionary GAN: generator children by three mutations, the fittest survives each step",
    paper="https://arxiv.org/abs/1803.00657",
    config_cls=EGANConfig,
    data_kinds=("image",),
    build=build,
    make_optimizers=make_adam_pair,
    train_step=train_step,
    sample=sample_generator,
    noise=gaussian_noise,
    data_fields=image_fields,
    presets={"cpu-small": {"g_width": 32, "d_width": 32}, "paper": {"g_width": 64, "d_width": 64}},
    bf16=False,  # fitness reads D's gradient norm: float32 on the GPU fast path too
)
