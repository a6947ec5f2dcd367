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
import copy
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from ..optim import PackedAdam, adam, gradient_norm
from ..errors import ConfigError
from ..objectives import Objective, clip_weights, get_objective, gradient_penalty


def grad_norm(module: nn.Module) -> Tensor:
    """L2 norm of all of a module's gradients together (0 when none)."""
    return gradient_norm(module.parameters())


def per_sample(module: nn.Module) -> bool:
    """True when each output depends on its own input alone, so the module may judge real and fake
    images in one batch: no batch norm (its batch statistics mix the samples) and no submodule that
    says ``mixes_samples = True`` (ProGAN's minibatch standard deviation)."""
    return not any(isinstance(m, nn.modules.batchnorm._BatchNorm) or getattr(m, "mixes_samples", False)
                   for m in module.modules())


@contextlib.contextmanager
def frozen(module: nn.Module):
    """No parameter gradients for ``module`` inside the block (saves D's weight grads in G's step).

    A DDP-wrapped module also skips its gradient sync there: it only judges, and DDP would
    otherwise wait for gradients that never come."""
    flags = [p.requires_grad for p in module.parameters()]
    module.requires_grad_(False)
    quiet = module.no_sync() if isinstance(module, DistributedDataParallel) else contextlib.nullcontext()
    try:
        with quiet:
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


class StepDropout(nn.Dropout):
    """Dropout whose masks come from the training step's own generator (inside
    :func:`drawing_from`), not torch's global one: a step stays a function of the seed and the step
    number (a resumed run repeats an unbroken one), and no other thread's draws can shift it.
    Outside a step it is plain dropout. No weights: checkpoints are unchanged."""

    generator: torch.Generator | None = None

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0 or self.generator is None:
            return super().forward(x)
        if self.p >= 1:
            return x * 0
        kept = torch.empty_like(x).bernoulli_(1 - self.p, generator=self.generator)
        return x * kept / (1 - self.p)


@contextlib.contextmanager
def drawing_from(networks: nn.Module, rng: torch.Generator):
    """Inside the block every :class:`StepDropout` of ``networks`` draws from ``rng``."""
    layers = [m for m in networks.modules() if isinstance(m, StepDropout)]
    for layer in layers:
        layer.generator = rng
    try:
        yield
    finally:
        for layer in layers:
            layer.generator = None


def adversarial_step(generator: nn.Module, discriminator: nn.Module,
                     opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
                     real: Tensor, noise: Tensor, objective: Objective,
                     update: str = "both", *, labels: Tensor | None = None,
                     g_turn: bool = True, clip_value: float = 0.01, gp_weight: float = 10.0,
                     rng: torch.Generator | None = None) -> dict[str, Tensor]:
    """One iteration: (1) a D step on real vs G(noise), then (2) a G step on the same fakes.

    ``update`` is "both", "d" or "g" (the lab's Step D / Step G). ``g_turn=False`` skips the G
    step of a "both" iteration: that is how n_critic works (G moves every n_critic-th step).
    ``labels`` condition both networks (``G(z, y)``, ``D(x, y)``); the fakes take the real
    batch's labels, so they follow the data's class frequencies. The Wasserstein objectives clip
    the critic (``clip_value``) or add a gradient penalty (``gp_weight``). Reusing the D step's
    fakes for the G step saves one generator forward pass, as the DCGAN reference does.
    """
    extra = () if labels is None else (labels,)

    def judge(x: Tensor) -> Tensor:
        return discriminator(x, *extra)

    out: dict[str, Tensor] = {}
    do_d = update in ("both", "d")
    do_g = update == "g" or (update == "both" and g_turn)
    fake = generator(noise, *extra) if do_g else None

    # (1) update D: maximise log D(x) + log(1 - D(G(z))) (or the objective's equivalent)
    if do_d:
        if fake is None:  # a D-only step must leave G exactly as it was, batch-norm statistics too
            with torch.no_grad(), buffers_kept(generator):
                fake_for_d = generator(noise, *extra)
        else:
            fake_for_d = fake.detach()
        if per_sample(discriminator):
            # one pass over real and fake together: the same logits in half the calls, which is
            # most of a small network's step (with batch norm the batches must stay apart)
            both = discriminator(torch.cat([real, fake_for_d]), *(torch.cat([x, x]) for x in extra))
            real_logits, fake_logits = both.split([len(real), len(fake_for_d)])
        else:
            real_logits, fake_logits = judge(real), judge(fake_for_d)
        loss_d = objective.d_loss(real_logits, fake_logits)
        if objective.lipschitz == "penalty":
            penalty = gradient_penalty(judge, real, fake_for_d, rng)
            out["gradient_penalty"] = penalty.detach()
            out["wasserstein_estimate"] = (real_logits.mean() - fake_logits.mean()).detach()
            loss_d = loss_d + gp_weight * penalty
        elif objective.wasserstein:
            out["wasserstein_estimate"] = (real_logits.mean() - fake_logits.mean()).detach()
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        out["grad_norm_d"] = grad_norm(discriminator)
        opt_d.step()
        if objective.lipschitz == "clip":
            clip_weights(discriminator, clip_value)
        out["loss_d"] = loss_d.detach()
        out["d_real"] = objective.score(real_logits.detach()).mean()
        out["d_fake"] = objective.score(fake_logits.detach()).mean()

    # (2) update G: make D call its fakes real
    if do_g:
        with frozen(discriminator), buffers_kept(discriminator):  # D is only a judge here
            fake_logits = judge(fake)
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

def make_adam_pair(config, networks: nn.ModuleDict, *, packed: bool = False) -> dict[str, torch.optim.Optimizer]:
    """Adam for each network with its own learning rate (TTUR-ready), shared betas; ``packed``:
    :class:`~trainers.optim.PackedAdam`, for small networks."""
    betas = (config.beta1, config.beta2)
    make = PackedAdam if packed else adam
    return {
        "generator": make(networks["generator"].parameters(), config.lr_g, betas=betas),
        "discriminator": make(networks["discriminator"].parameters(), config.lr_d, betas=betas),
    }


def adversarial_critic(config, networks: nn.ModuleDict, x: Tensor, labels: Tensor | None = None) -> Tensor:
    """D's verdict on each of ``x`` as a person reads it (a probability for the log-losses, the raw
    score otherwise), shape (B,): what the lab's histograms of D(x) and D(G(z)) show."""
    extra = () if labels is None else (labels,)
    with torch.no_grad(), evaluating(networks["discriminator"]):
        return get_objective(config.objective).score(networks["discriminator"](x, *extra)).reshape(len(x), -1).mean(1)


def gaussian_noise(config, n: int, generator: torch.Generator | None = None, device="cpu") -> Tensor:
    """z ~ N(0, I) of size ``config.latent_dim``."""
    return torch.randn(n, config.latent_dim, generator=generator, device=device)


def gan_train_step(config, networks: nn.ModuleDict, optimizers: dict, real: Tensor,
                   labels: Tensor | None, step: int, rng: torch.Generator,
                   update: str = "both") -> dict[str, Tensor]:
    """One :func:`adversarial_step` with fresh noise from this step's generator.

    A step is one D update; G moves on every ``n_critic``-th step. Optional config fields:
    ``n_critic``, ``clip_value``, ``gp_weight``, ``num_classes`` (> 0: a conditional pair),
    ``ema_decay`` (with :func:`with_averaged_generator` in the family's build).
    """
    z = gaussian_noise(config, real.shape[0], rng, real.device)
    objective = get_objective(config.objective)
    n_critic = critic_steps(config, objective)
    out = adversarial_step(networks["generator"], networks["discriminator"],
                           optimizers["generator"], optimizers["discriminator"],
                           real, z, objective, update,
                           labels=labels if getattr(config, "num_classes", 0) else None,
                           g_turn=step % n_critic == n_critic - 1,
                           clip_value=getattr(config, "clip_value", 0.01),
                           gp_weight=getattr(config, "gp_weight", 10.0), rng=rng)
    if AVERAGED_GENERATOR in networks and "loss_g" in out:  # G moved: its average follows
        follow_average(networks[AVERAGED_GENERATOR], networks["generator"], average_decay(config.ema_decay, step))
    return out


#: The name of the moving average of G's weights in a family's networks (when its config's
#: ``ema_decay`` is above 0): samples come from it, the plain generator is what trains.
AVERAGED_GENERATOR = "generator_ema"


def with_averaged_generator(networks: nn.ModuleDict, decay: float) -> nn.ModuleDict:
    """``networks`` plus a frozen copy of the generator that :func:`gan_train_step` keeps as an
    exponential moving average of its weights (Yazici et al. 2019, https://arxiv.org/abs/1806.04498;
    BigGAN, StyleGAN and StudioGAN sample from one), when ``decay`` > 0."""
    if decay > 0:
        networks[AVERAGED_GENERATOR] = copy.deepcopy(networks["generator"]).requires_grad_(False)
    return networks


def fit_average(state: dict[str, Tensor], keeps_average: bool) -> dict[str, Tensor]:
    """A state dict saved with or without G's moving average, fitted to networks that keep one
    (``keeps_average``) or not, for a run that starts from another's weights: a missing average
    starts as a copy of G; one the networks do not keep is dropped."""
    prefix = AVERAGED_GENERATOR + "."
    plain = {key: value for key, value in state.items() if not key.startswith(prefix)}
    if not keeps_average:
        return plain
    if len(plain) < len(state):
        return state
    return plain | {prefix + key[len("generator."):]: value.clone() for key, value in plain.items()
                    if key.startswith("generator.")}


def average_decay(decay: float, step: int) -> float:
    """The decay at ``step``: below ``decay`` early on (TensorFlow's ExponentialMovingAverage
    warm-up), so the first samples a person watches are not held back by the random start."""
    return min(decay, (1 + step) / (10 + step))


@torch.no_grad()
def follow_average(average: nn.Module, network: nn.Module, decay: float) -> None:
    """average <- decay * average + (1 - decay) * network, weight by weight; buffers (batch-norm
    running statistics) are copied, as StudioGAN does: they describe the current activations."""
    for kept, current in zip(average.parameters(), network.parameters()):
        kept.lerp_(current, 1 - decay)
    for kept, current in zip(average.buffers(), network.buffers()):
        kept.copy_(current)


def critic_steps(config, objective: Objective) -> int:
    """D updates per G update: the config's ``n_critic``; 0 means 5 for Wasserstein objectives
    (Arjovsky et al., Gulrajani et al.) and 1 otherwise."""
    n_critic = getattr(config, "n_critic", 0)
    return n_critic if n_critic > 0 else (5 if objective.wasserstein else 1)


@torch.no_grad()
def encode_images(config, networks: nn.ModuleDict, x: Tensor) -> Tensor:
    """E(x): (B, C, H, W) -> (B, latent_dim) with batch norm on running statistics, for any family
    with an ``encoder``; the weights are untouched."""
    with evaluating(networks["encoder"]):
        return networks["encoder"](x)


@torch.no_grad()
def rebuild_through_generator(config, networks: nn.ModuleDict, x: Tensor) -> Tensor:
    """G(E(x)) for a family with an ``encoder`` and a ``generator`` (BiGAN, AAE-GAN)."""
    with evaluating(networks["encoder"], networks["generator"]):
        return networks["generator"](networks["encoder"](x))


def sampling_generator(networks: nn.ModuleDict) -> nn.Module:
    """The generator samples come from: the moving average of G's weights when the family keeps
    one, else G itself."""
    return networks[AVERAGED_GENERATOR] if AVERAGED_GENERATOR in networks else networks["generator"]


@torch.no_grad()
def sample_generator(config, networks: nn.ModuleDict, z: Tensor, labels: Tensor | None = None) -> Tensor:
    """G(z) (or G(z, y)) with batch norm on its running statistics, from G's moving average when
    there is one; the weights are untouched."""
    generator = sampling_generator(networks)
    with evaluating(generator):
        return generator(z, *(() if labels is None else (labels,)))


def linear_decay(config, step: int) -> float:
    """Learning-rate factor: 1 until ``config.decay_from`` of the run, then linearly down to 0 at
    ``config.total_steps`` (BiGAN, CycleGAN). A pure function of the step, so a resumed run
    follows the same schedule."""
    return decay_factor(step, config.total_steps, config.decay_from)


def decay_factor(step: int, end: int, decay_from: float) -> float:
    """1 until ``decay_from * end``, then linearly down to 0 at ``end`` (no decay when end <= 0)."""
    if end <= 0 or decay_from >= 1.0:
        return 1.0
    start = decay_from * end
    if step < start:
        return 1.0
    return max(0.0, 1.0 - (step - start) / (end - start))


def classification_step(classifier: nn.Module, optimizer: torch.optim.Optimizer, images: Tensor,
                        labels: Tensor | None, update: str, family: str,
                        augment: Callable[[Tensor], Tensor] | None = None) -> dict[str, Tensor]:
    """One supervised cross-entropy step of a classifier family (on ``augment(images)`` when
    given); "g" has no network to update, so it only measures the batch."""
    if labels is None:
        raise ConfigError(f"{family} needs class labels: train it on a labelled dataset")
    if update == "g":
        with torch.no_grad(), evaluating(classifier):
            logits = classifier(images)
            loss = F.cross_entropy(logits, labels)
        return {"loss_d": loss, "accuracy": (logits.argmax(1) == labels).float().mean()}
    # (1) update the classifier: cross-entropy with the true classes (there is no (2): no generator)
    logits = classifier(augment(images) if augment is not None else images)
    loss = F.cross_entropy(logits, labels)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    norm = grad_norm(classifier)
    optimizer.step()
    return {"loss_d": loss.detach(), "accuracy": (logits.detach().argmax(1) == labels).float().mean(),
            "grad_norm_d": norm}


@torch.no_grad()
def confusion_matrix(classifier: nn.Module, dataset, limit: int | None = None, batch_size: int = 1000) -> Tensor:
    """(K, K) counts of a logits-out network's readings of a labelled dataset (e.g. a test split),
    its first ``limit`` images: row = true class, column = predicted class. Batch norm on running
    statistics; the network's mode is left as it was."""
    if dataset.labels is None:
        raise ConfigError(f"{dataset.name} has no labels to measure accuracy against")
    device = next(classifier.parameters()).device
    count = len(dataset) if limit is None else min(limit, len(dataset))
    classes = max(dataset.num_classes, int(dataset.labels.max()) + 1)
    counts = torch.zeros(classes, classes, dtype=torch.long)
    with evaluating(classifier):
        for start in range(0, count, batch_size):
            x, y = dataset.batch(torch.arange(start, min(start + batch_size, count)), device)
            predicted = classifier(x).argmax(1).cpu()
            counts += torch.bincount(y.cpu() * classes + predicted, minlength=classes * classes).view(classes, classes)
    return counts


def classification_accuracy(classifier: nn.Module, dataset, limit: int | None = None, batch_size: int = 1000) -> float:
    """Top-1 accuracy on a labelled dataset, its first ``limit`` images (see :func:`confusion_matrix`)."""
    counts = confusion_matrix(classifier, dataset, limit, batch_size)
    return float(counts.diagonal().sum()) / max(int(counts.sum()), 1)


def no_generator(family: str) -> Callable[..., Tensor]:
    """A classifier family's ``sample`` and ``noise``: they say there is nothing to sample."""
    def refuse(*args, **kwargs) -> Tensor:
        raise ConfigError(f"{family} is a classifier; it has no generator to sample from")
    return refuse
