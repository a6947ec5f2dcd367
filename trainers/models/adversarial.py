"""The alternating D/G update shared by the plain GAN families (mlp-gan, dcgan, ...).

A family hands in its generator, discriminator, their optimizers and an objective; this updates
exactly those and returns the losses and signals the lab shows, as tensors (the engine decides
when to read them back, so there is no device sync per step here).

The functions at the bottom are the family-contract pieces that any family with a
``generator``/``discriminator`` pair, Gaussian noise and Adam can use as they are; their config
needs ``latent_dim``, ``objective``, ``lr_g``, ``lr_d``, ``beta1`` and ``beta2``.
"""

from __future__ import annotations

import contextlib

import torch
from torch import Tensor, nn

from ..objectives import Objective, get_objective


def grad_norm(module: nn.Module) -> Tensor:
    """L2 norm of all of a module's gradients together (0 when none)."""
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))


@contextlib.contextmanager
def frozen(module: nn.Module):
    """No parameter gradients for ``module`` inside the block (saves D's weight grads in G's step)."""
    flags = [p.requires_grad for p in module.parameters()]
    module.requires_grad_(False)
    try:
        yield module
    finally:
        for p, flag in zip(module.parameters(), flags):
            p.requires_grad_(flag)


@contextlib.contextmanager
def buffers_kept(module: nn.Module):
    """Restore ``module``'s buffers (batch-norm running statistics) on leaving the block."""
    saved = [b.detach().clone() for b in module.buffers()]
    try:
        yield module
    finally:
        with torch.no_grad():
            for buffer, value in zip(module.buffers(), saved):
                buffer.copy_(value)


@contextlib.contextmanager
def evaluating(*modules: nn.Module):
    """Eval mode (batch norm on running statistics) inside the block, then back as it was."""
    modes = [m.training for m in modules]
    for m in modules:
        m.eval()
    try:
        yield
    finally:
        for m, mode in zip(modules, modes):
            m.train(mode)


def adversarial_step(generator: nn.Module, discriminator: nn.Module,
                     opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
                     real: Tensor, noise: Tensor, objective: Objective,
                     update: str = "both") -> dict[str, Tensor]:
    """One iteration: (1) a D step on real vs G(noise), then (2) a G step on the same fakes.

    ``update`` is "both", "d" or "g" (the lab's Step D / Step G). Reusing the D step's fakes for
    the G step saves one generator forward pass, as the DCGAN reference does.
    """
    out: dict[str, Tensor] = {}
    fake = generator(noise) if update in ("both", "g") else None

    # (1) update D: maximise log D(x) + log(1 - D(G(z))) (or the objective's equivalent)
    if update in ("both", "d"):
        if fake is None:  # a "D only" step must leave G exactly as it was, batch-norm statistics too
            with torch.no_grad(), buffers_kept(generator):
                fake_for_d = generator(noise)
        else:
            fake_for_d = fake.detach()
        real_logits = discriminator(real)
        fake_logits = discriminator(fake_for_d)
        loss_d = objective.d_loss(real_logits, fake_logits)
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        out["grad_norm_d"] = grad_norm(discriminator)
        opt_d.step()
        out["loss_d"] = loss_d.detach()
        out["d_real"] = objective.score(real_logits.detach()).mean()
        out["d_fake"] = objective.score(fake_logits.detach()).mean()

    # (2) update G: make D call its fakes real
    if update in ("both", "g"):
        with frozen(discriminator), buffers_kept(discriminator):  # D is only a judge here
            fake_logits = discriminator(fake)
            loss_g = objective.g_loss(fake_logits)
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
        out["grad_norm_g"] = grad_norm(generator)
        opt_g.step()
        out["loss_g"] = loss_g.detach()
        if "d_fake" not in out:
            out["d_fake"] = objective.score(fake_logits.detach()).mean()
    return out


# ----------------------------------------------------------------------------------------------
# The family contract for a plain generator/discriminator pair (see trainers/family.py).

def make_adam_pair(config, networks: nn.ModuleDict) -> dict[str, torch.optim.Optimizer]:
    """Adam for each network with its own learning rate (TTUR-ready), shared betas."""
    betas = (config.beta1, config.beta2)
    return {
        "generator": torch.optim.Adam(networks["generator"].parameters(), config.lr_g, betas=betas),
        "discriminator": torch.optim.Adam(networks["discriminator"].parameters(), config.lr_d, betas=betas),
    }


def gaussian_noise(config, n: int, generator: torch.Generator | None = None, device="cpu") -> Tensor:
    """z ~ N(0, I) of size ``config.latent_dim``."""
    return torch.randn(n, config.latent_dim, generator=generator, device=device)


def gan_train_step(config, networks: nn.ModuleDict, optimizers: dict, real: Tensor,
                   labels: Tensor | None, step: int, rng: torch.Generator,
                   update: str = "both") -> dict[str, Tensor]:
    """One :func:`adversarial_step` with fresh noise from this step's generator."""
    z = gaussian_noise(config, real.shape[0], rng, real.device)
    return adversarial_step(networks["generator"], networks["discriminator"],
                            optimizers["generator"], optimizers["discriminator"],
                            real, z, get_objective(config.objective), update)


@torch.no_grad()
def sample_generator(config, networks: nn.ModuleDict, z: Tensor, labels: Tensor | None = None) -> Tensor:
    """G(z) with batch norm on its running statistics; the weights are untouched."""
    with evaluating(networks["generator"]):
        return networks["generator"](z)
