"""GAN objectives as small functions on the discriminator's raw outputs (logits).

Each objective is a pair ``d_loss(real_logits, fake_logits)`` / ``g_loss(fake_logits)``. Working on
logits rather than probabilities keeps the log-losses stable (``softplus`` instead of
``log(sigmoid)``: the Sigmoid+BCELoss trap). Identities used below:
``-log sigmoid(l) = softplus(-l)`` and ``-log(1 - sigmoid(l)) = softplus(l)``.

Losses and scores are taken in float32 (at least) whatever the logits' dtype: under a CPU's bf16 autocast a
bf16 logit's softplus, square or mean stays bf16 (CUDA's autocast lists softplus as a float32 op,
the CPU's does not), which would round a loss to three digits and its gradient with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def at_least_float32(logits: Tensor) -> Tensor:
    """``logits`` in float32 if they come in a 16-bit type (bf16 autocast), else as they are."""
    return logits.float() if logits.dtype in (torch.bfloat16, torch.float16) else logits


def d_loss_logistic(real: Tensor, fake: Tensor) -> Tensor:
    """-[log D(x) + log(1 - D(G(z)))], the discriminator side of minimax and non-saturating."""
    return F.softplus(-at_least_float32(real)).mean() + F.softplus(at_least_float32(fake)).mean()


def g_loss_minimax(fake: Tensor) -> Tensor:
    """log(1 - D(G(z))): Goodfellow et al.'s original (saturating) generator loss."""
    return -F.softplus(at_least_float32(fake)).mean()


def g_loss_non_saturating(fake: Tensor) -> Tensor:
    """-log D(G(z)): the non-saturating generator loss, strong gradients early in training."""
    return F.softplus(-at_least_float32(fake)).mean()


def d_grad_logistic(real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor]:
    """d_loss_logistic's gradients with respect to ``real`` and ``fake``."""
    return torch.sigmoid(-real).div_(-real.numel()), torch.sigmoid(fake).div_(fake.numel())


def g_grad_minimax(fake: Tensor) -> Tensor:
    return torch.sigmoid(fake).div_(-fake.numel())


def g_grad_non_saturating(fake: Tensor) -> Tensor:
    return torch.sigmoid(-fake).div_(-fake.numel())


def d_loss_least_squares(real: Tensor, fake: Tensor) -> Tensor:
    """LSGAN (Mao et al.), a=0, b=c=1: 1/2 E[(D(x)-1)^2] + 1/2 E[D(G(z))^2]."""
    return 0.5 * ((at_least_float32(real) - 1) ** 2).mean() + 0.5 * (at_least_float32(fake) ** 2).mean()


def g_loss_least_squares(fake: Tensor) -> Tensor:
    return 0.5 * ((at_least_float32(fake) - 1) ** 2).mean()


def d_grad_least_squares(real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor]:
    return (real - 1).div_(real.numel()), fake / fake.numel()


def g_grad_least_squares(fake: Tensor) -> Tensor:
    return (fake - 1).div_(fake.numel())


def d_loss_wasserstein(real: Tensor, fake: Tensor) -> Tensor:
    """The critic maximises E[D(x)] - E[D(G(z))]; pair with clipping or a gradient penalty."""
    return at_least_float32(fake).mean() - at_least_float32(real).mean()


def g_loss_wasserstein(fake: Tensor) -> Tensor:
    return -at_least_float32(fake).mean()


def d_grad_wasserstein(real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor]:
    return torch.full_like(real, -1 / real.numel()), torch.full_like(fake, 1 / fake.numel())


def g_grad_wasserstein(fake: Tensor) -> Tensor:
    return torch.full_like(fake, -1 / fake.numel())


def d_loss_hinge(real: Tensor, fake: Tensor) -> Tensor:
    """Hinge loss (SN-GAN / Geometric GAN): E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]."""
    return F.relu(1 - at_least_float32(real)).mean() + F.relu(1 + at_least_float32(fake)).mean()


def d_grad_hinge(real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor]:
    # relu's gradient at 0 is 0, as autograd has it
    return (real < 1).to(real.dtype).div_(-real.numel()), (fake > -1).to(fake.dtype).div_(fake.numel())


def gradient_penalty(critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor,
                     generator: torch.Generator | None = None) -> Tensor:
    """WGAN-GP penalty E[(||grad_x D(x_hat)||_2 - 1)^2] on random interpolates x_hat.

    The norm is taken per sample over the whole flattened input gradient (a common bug takes it
    over one dimension only), and ``create_graph=True`` so the penalty trains the critic.
    The critic must not use batch norm: the penalty is defined per sample.
    """
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    eps = torch.rand(shape, device=real.device, dtype=real.dtype, generator=generator)
    mixed = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    out = critic(mixed)
    (grad,) = torch.autograd.grad(out.sum(), mixed, create_graph=True)
    norms = grad.flatten(1).norm(2, dim=1)
    return ((norms - 1) ** 2).mean()


@torch.no_grad()
def clip_weights(module: nn.Module, limit: float) -> None:
    """WGAN's weight clipping: every parameter of the critic into [-limit, limit]."""
    for p in module.parameters():
        p.clamp_(-limit, limit)


@dataclass(frozen=True)
class Objective:
    """A named pair of losses, plus how to show D's output to a person.

    ``d_loss_grad`` and ``g_loss_grad`` are the losses' gradients with respect to the logits,
    written out: a family that carries its own gradients back (the MLP GAN) starts from them."""

    name: str
    d_loss: Callable[[Tensor, Tensor], Tensor]
    g_loss: Callable[[Tensor], Tensor]
    #: True when the logits mean a probability through a sigmoid (shown as D(x) in [0, 1]).
    probabilistic: bool
    help: str
    d_loss_grad: Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]
    g_loss_grad: Callable[[Tensor], Tensor]
    #: What keeps the critic Lipschitz, for the Wasserstein objectives: "clip" or "penalty".
    lipschitz: str | None = None

    @property
    def wasserstein(self) -> bool:
        return self.lipschitz is not None

    def score(self, logits: Tensor) -> Tensor:
        """D's output as a person reads it: a probability for log-losses, the raw value otherwise."""
        return torch.sigmoid(at_least_float32(logits)) if self.probabilistic else at_least_float32(logits)


OBJECTIVES: dict[str, Objective] = {
    "minimax": Objective("minimax", d_loss_logistic, g_loss_minimax, True,
                         "Goodfellow's original game: G minimises log(1 - D(G(z))); saturates early.",
                         d_grad_logistic, g_grad_minimax),
    "non-saturating": Objective("non-saturating", d_loss_logistic, g_loss_non_saturating, True,
                                "G maximises log D(G(z)) instead: same fixed point, stronger early gradients.",
                                d_grad_logistic, g_grad_non_saturating),
    "least-squares": Objective("least-squares", d_loss_least_squares, g_loss_least_squares, False,
                               "LSGAN: squared error to the real/fake targets; smoother gradients.",
                               d_grad_least_squares, g_grad_least_squares),
    "wasserstein": Objective("wasserstein", d_loss_wasserstein, g_loss_wasserstein, False,
                             "WGAN: the critic's weights are clipped to [-c, c] after each update.",
                             d_grad_wasserstein, g_grad_wasserstein, lipschitz="clip"),
    "wgan-gp": Objective("wgan-gp", d_loss_wasserstein, g_loss_wasserstein, False,
                         "WGAN-GP: a gradient penalty on interpolates keeps the critic 1-Lipschitz.",
                         d_grad_wasserstein, g_grad_wasserstein, lipschitz="penalty"),
    "hinge": Objective("hinge", d_loss_hinge, g_loss_wasserstein, False,
                       "Hinge loss as in SN-GAN; G maximises the critic's output.",
                       d_grad_hinge, g_grad_wasserstein),
}


def get_objective(name: str) -> Objective:
    from .errors import ConfigError

    try:
        return OBJECTIVES[name]
    except KeyError:
        raise ConfigError(f"unknown objective {name!r}; choose one of {', '.join(OBJECTIVES)}") from None


def needs_float32(config: Any) -> bool:
    """True when a config's objective must run in float32: the gradient penalty differentiates D's
    gradient again, and bf16's 8-bit mantissa would blur the penalty it is held to."""
    objective = OBJECTIVES.get(getattr(config, "objective", None) or "")
    return objective is not None and objective.lipschitz == "penalty"
