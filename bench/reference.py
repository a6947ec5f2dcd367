"""The plain training loops people copy, written out here as the benchmarks' baselines.

Each takes the same networks (built by the library's family, so architecture and initial
weights match), the same optimizer settings and the same data as the library's run, and trains
them the way the well-known scripts do:

- :func:`dcgan_loop`: pytorch/examples' ``dcgan/main.py``: a ``DataLoader`` (shuffled, over the
  images already as tensors in [-1, 1], no per-sample transforms: the kindest version of it),
  label tensors made with ``torch.full`` each step, D's loss as real + fake backward passes,
  G's step on the same fakes, ``.item()`` of the losses and D's outputs every step (the example
  prints them every step), and a fixed-noise sample grid every 100 steps.
- :func:`wgan_gp_loop`: the common WGAN-GP script (PyTorch-GAN's ``wgan_gp.py``): the generator
  runs with gradients on every critic step, the penalty via ``autograd.grad`` on random
  interpolates, G steps every ``n_critic``-th iteration with fresh fakes.
- :func:`toy_loop`: a typical 2-D toy GAN script: a fresh batch drawn from the mixture with NumPy
  each step, fresh noise and a second G forward for G's step, ``.item()`` every step for the plot.

Each returns a :class:`bench.timing.Window` whose ``run(n)`` trains n iterations and returns the
images (or points) seen.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from bench.timing import Window

SAMPLE_EVERY = 100


def _adam_pair(config, networks: nn.ModuleDict) -> tuple[torch.optim.Adam, torch.optim.Adam]:
    betas = (config.beta1, config.beta2)
    return (torch.optim.Adam(networks["generator"].parameters(), lr=config.lr_g, betas=betas),
            torch.optim.Adam(networks["discriminator"].parameters(), lr=config.lr_d, betas=betas))


def _sample_now_and_then(generator: nn.Module, fixed_noise: torch.Tensor, step: int) -> None:
    """The fixed-noise sample grid the scripts save every ``SAMPLE_EVERY`` steps."""
    if step % SAMPLE_EVERY == 0:
        with torch.no_grad():
            generator(fixed_noise)


def _endless_loader(images: torch.Tensor, batch_size: int, seed: int) -> itertools.chain:
    loader = DataLoader(TensorDataset(images), batch_size=batch_size, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(seed))
    return itertools.chain.from_iterable(itertools.repeat(loader))


def dcgan_loop(config, networks: nn.ModuleDict, images: torch.Tensor, batch_size: int, seed: int = 0) -> Window:
    generator, discriminator = networks["generator"], networks["discriminator"]
    device = next(generator.parameters()).device
    opt_g, opt_d = _adam_pair(config, networks)
    batches = _endless_loader(images, batch_size, seed)
    fixed_noise = torch.randn(64, config.latent_dim, device=device)
    criterion = nn.BCEWithLogitsLoss()
    state = {"step": 0}

    def run(iterations: int) -> float:
        for _ in range(iterations):
            (real,) = next(batches)
            real = real.to(device)
            n = real.size(0)
            # (1) update D: maximize log(D(x)) + log(1 - D(G(z)))
            discriminator.zero_grad()
            label = torch.full((n,), 1.0, device=device)
            output = discriminator(real).view(-1)
            err_real = criterion(output, label)
            err_real.backward()
            d_x = output.mean().item()
            noise = torch.randn(n, config.latent_dim, device=device)
            fake = generator(noise)
            label.fill_(0.0)
            output = discriminator(fake.detach()).view(-1)
            err_fake = criterion(output, label)
            err_fake.backward()
            d_g_z1 = output.mean().item()
            err_d = err_real + err_fake
            opt_d.step()
            # (2) update G: maximize log(D(G(z)))
            generator.zero_grad()
            label.fill_(1.0)
            output = discriminator(fake).view(-1)
            err_g = criterion(output, label)
            err_g.backward()
            d_g_z2 = output.mean().item()
            opt_g.step()
            _ = (err_d.item(), err_g.item(), d_x, d_g_z1, d_g_z2)  # the example prints these every step
            state["step"] += 1
            _sample_now_and_then(generator, fixed_noise, state["step"])
        return float(iterations * batch_size)

    return Window("reference loop", run)


def wgan_gp_loop(config, networks: nn.ModuleDict, images: torch.Tensor, batch_size: int, seed: int = 0,
                 n_critic: int = 5) -> Window:
    generator, discriminator = networks["generator"], networks["discriminator"]
    device = next(generator.parameters()).device
    opt_g, opt_d = _adam_pair(config, networks)
    batches = _endless_loader(images, batch_size, seed)
    fixed_noise = torch.randn(64, config.latent_dim, device=device)
    state = {"step": 0}

    def gradient_penalty(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        alpha = torch.from_numpy(np.random.random((real.size(0), 1, 1, 1))).float().to(real.device)
        interpolates = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        d_interpolates = discriminator(interpolates)
        ones = torch.ones(d_interpolates.shape, device=real.device)
        (gradients,) = torch.autograd.grad(d_interpolates, interpolates, grad_outputs=ones,
                                           create_graph=True, retain_graph=True, only_inputs=True)
        return ((gradients.view(gradients.size(0), -1).norm(2, dim=1) - 1) ** 2).mean()

    def run(iterations: int) -> float:
        for _ in range(iterations):
            (real,) = next(batches)
            real = real.to(device)
            # (1) update the critic
            opt_d.zero_grad()
            z = torch.randn(real.size(0), config.latent_dim, device=device)
            fake = generator(z)
            real_validity, fake_validity = discriminator(real), discriminator(fake)
            penalty = gradient_penalty(real.data, fake.data)
            d_loss = -real_validity.mean() + fake_validity.mean() + config.gp_weight * penalty
            d_loss.backward()
            opt_d.step()
            opt_g.zero_grad()
            # (2) update G every n_critic steps
            if state["step"] % n_critic == 0:
                fake = generator(z)
                g_loss = -discriminator(fake).mean()
                g_loss.backward()
                opt_g.step()
                _ = (d_loss.item(), g_loss.item())
            state["step"] += 1
            _sample_now_and_then(generator, fixed_noise, state["step"])
        return float(iterations * batch_size)

    return Window("reference loop", run)


def ring_sampler(batch_size: int, seed: int = 0, modes: int = 8, radius: float = 0.8, std: float = 0.05):
    """The 8-Gaussian ring drawn afresh each step with NumPy, as toy scripts do."""
    rng = np.random.default_rng(seed)
    angles = 2 * np.pi * np.arange(modes) / modes
    centres = radius * np.stack([np.cos(angles), np.sin(angles)], 1)

    def draw() -> torch.Tensor:
        points = centres[rng.integers(modes, size=batch_size)] + std * rng.standard_normal((batch_size, 2))
        return torch.from_numpy(points).float()
    return draw


def toy_loop(config, networks: nn.ModuleDict, batch_size: int, seed: int = 0) -> Window:
    generator, discriminator = networks["generator"], networks["discriminator"]
    device = next(generator.parameters()).device
    opt_g, opt_d = _adam_pair(config, networks)
    draw = ring_sampler(batch_size, seed)
    history: list[tuple[float, float]] = []

    def run(iterations: int) -> float:
        for _ in range(iterations):
            real = draw().to(device)
            # (1) update D
            opt_d.zero_grad()
            fake = generator(torch.randn(batch_size, config.latent_dim, device=device))
            real_logits, fake_logits = discriminator(real), discriminator(fake.detach())
            d_loss = (F.binary_cross_entropy_with_logits(real_logits, torch.ones(batch_size, 1, device=device))
                      + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros(batch_size, 1, device=device)))
            d_loss.backward()
            opt_d.step()
            # (2) update G (non-saturating) on fresh noise
            opt_g.zero_grad()
            fake = generator(torch.randn(batch_size, config.latent_dim, device=device))
            g_loss = F.binary_cross_entropy_with_logits(discriminator(fake), torch.ones(batch_size, 1, device=device))
            g_loss.backward()
            opt_g.step()
            history.append((d_loss.item(), g_loss.item()))
        return float(iterations * batch_size)

    return Window("reference loop", run)


def toy_floor_loop(config, networks: nn.ModuleDict, batch_size: int, seed: int = 0) -> Window:
    """Not a baseline but a ceiling for autograd: the same alternating update reduced to its
    arithmetic (real points already a tensor, one D pass over real and fake together, G's step on
    the same fakes with D's weights frozen, fused Adam, nothing read back or recorded). No loop
    that keeps the algorithm and lets autograd find the gradients steps faster in eager PyTorch;
    the library's MLP step writes them out instead (trainers/models/mlp_gan.py), and figure 1
    reports this loop beside the toy cases."""
    from trainers.optim import adam

    generator, discriminator = networks["generator"], networks["discriminator"]
    device = next(generator.parameters()).device
    betas = (config.beta1, config.beta2)
    opt_g = adam(generator.parameters(), config.lr_g, betas=betas)
    opt_d = adam(discriminator.parameters(), config.lr_d, betas=betas)
    pool = torch.cat([ring_sampler(batch_size, seed)() for _ in range(64)]).to(device)
    chooser = torch.Generator(device=device).manual_seed(seed)
    targets = torch.cat([torch.ones(batch_size, 1), torch.zeros(batch_size, 1)]).to(device)
    d_weights = list(discriminator.parameters())

    def run(iterations: int) -> float:
        for _ in range(iterations):
            real = pool[torch.randint(len(pool), (batch_size,), generator=chooser, device=device)]
            fake = generator(torch.randn(batch_size, config.latent_dim, device=device))
            # (1) update D on real and fake in one pass
            opt_d.zero_grad(set_to_none=True)
            logits = discriminator(torch.cat([real, fake.detach()]))
            (2 * F.binary_cross_entropy_with_logits(logits, targets)).backward()
            opt_d.step()
            # (2) update G through the updated, frozen D
            opt_g.zero_grad(set_to_none=True)
            for weight in d_weights:
                weight.requires_grad_(False)
            F.binary_cross_entropy_with_logits(discriminator(fake), targets[:batch_size]).backward()
            for weight in d_weights:
                weight.requires_grad_(True)
            opt_g.step()
        return float(iterations * batch_size)

    return Window("the step's arithmetic alone, through autograd", run)
