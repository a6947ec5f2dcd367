"""mlp-gan: the original GAN (Goodfellow et al., 2014) with small MLPs, on 1-D and 2-D toy data.

Paper: https://arxiv.org/abs/1406.2661. Kept: the two-player game with either the minimax
(saturating) generator loss or the paper's non-saturating alternative. Changed: LeakyReLU MLPs
trained with Adam instead of maxout networks with SGD+momentum, as GAN Lab does, so a run on a
toy distribution converges in seconds on a CPU.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor, nn

from ..config import field
from ..family import FamilySpec
from ..objectives import Objective, get_objective
from ..optim import PackedAdam
from .adversarial import evaluating, gan_train_step, gaussian_noise, grad_norm, make_adam_pair, sample_generator

#: LeakyReLU's slope for negative inputs in both networks (GAN Lab's choice).
SLOPE = 0.2


@dataclass
class MLPGANConfig:
    data_dim: int = field(2, "dimension of a data point (set from the dataset)", range=(1, 2))
    latent_dim: int = field(8, "size of the noise vector z", range=(1, 128))
    hidden: int = field(128, "neurons per hidden layer", range=(4, 1024))
    g_layers: int = field(3, "hidden layers in the generator", range=(1, 8))
    d_layers: int = field(3, "hidden layers in the discriminator", range=(1, 8))
    objective: str = field("non-saturating", "the generator's loss",
                           choices=("minimax", "non-saturating"))
    lr_g: float = field(1e-3, "generator learning rate (Adam)", range=(1e-6, 1.0))
    lr_d: float = field(1e-3, "discriminator learning rate (Adam)", range=(1e-6, 1.0))
    beta1: float = field(0.5, "Adam beta1 for both networks", range=(0.0, 0.999))
    beta2: float = field(0.999, "Adam beta2 for both networks", range=(0.0, 0.9999))


def _mlp(inputs: int, hidden: int, layers: int, outputs: int) -> nn.Sequential:
    modules: list[nn.Module] = []
    width = inputs
    for _ in range(layers):
        modules += [nn.Linear(width, hidden), nn.LeakyReLU(SLOPE)]
        width = hidden
    modules.append(nn.Linear(width, outputs))
    return nn.Sequential(*modules)


def build(config: MLPGANConfig) -> nn.ModuleDict:
    # G: z (B, latent) -> x (B, data_dim), linear output: toy data is not bounded by tanh's range
    # D: x (B, data_dim) -> logit (B, 1)
    return nn.ModuleDict({
        "generator": _mlp(config.latent_dim, config.hidden, config.g_layers, config.data_dim),
        "discriminator": _mlp(config.data_dim, config.hidden, config.d_layers, 1),
    })


# ----------------------------------------------------------------------------------------------
# The training step, with the MLPs' gradients written out. These networks are so small that
# autograd's bookkeeping (recording the graph, module calls, zeroing and accumulating gradients)
# costs as much as their arithmetic. By hand, from the objective's written-out gradients, the same
# alternating update runs faster than any autograd loop can (bench figure 1).
# tests/test_learning.py holds it to autograd's result; under the engine's ``compile`` its two passes
# run through torch.compile (tests/test_fast_path.py holds that run to the eager one).

def _linear_layers(mlp: nn.Module) -> list[nn.Linear] | None:
    """The Linear layers of an MLP exactly as :func:`_mlp` builds it, compiled in place or not (see
    :func:`_compiled_in_place`), else None: a network wrapped for DistributedDataParallel (which
    averages gradients in autograd's hooks) or by ``torch.compile(network)`` takes the autograd step."""
    if type(mlp) is not nn.Sequential:
        return None
    modules = list(mlp)
    linears, activations = modules[0::2], modules[1::2]
    plain = (all(type(m) is nn.Linear for m in linears)
             and all(type(m) is nn.LeakyReLU and m.negative_slope == SLOPE for m in activations))
    return linears if plain else None


def _compiled_in_place(mlp: nn.Module) -> bool:
    """Compiled by ``nn.Module.compile()`` (the engine's ``compile``), which keeps the type and sets
    ``_compiled_call_impl``: then the written-out passes below run compiled too."""
    return getattr(mlp, "_compiled_call_impl", None) is not None


def _forward(layers: list[nn.Linear], x: Tensor) -> tuple[Tensor, list[Tensor]]:
    """(the MLP's output, each layer's input): what :func:`_backward` needs."""
    inputs = [x]
    for layer in layers[:-1]:
        x = torch.nn.functional.leaky_relu_(torch.addmm(layer.bias, x, layer.weight.t()), SLOPE)
        inputs.append(x)
    return torch.addmm(layers[-1].bias, x, layers[-1].weight.t()), inputs


def _gradient_slot(param: Tensor) -> Tensor:
    if param.grad is None:
        param.grad = torch.empty_like(param)
    return param.grad


def _grad_norm(optimizer: torch.optim.Optimizer, network: nn.Module) -> Tensor:
    return optimizer.grad_norm() if isinstance(optimizer, PackedAdam) else grad_norm(network)


def _update(optimizer: torch.optim.Optimizer) -> None:
    if isinstance(optimizer, PackedAdam):
        optimizer.update()
    else:
        optimizer.step()


_leaky_relu_backward_into = torch.ops.aten.leaky_relu_backward.grad_input


def _backward(layers: list[nn.Linear], inputs: list[Tensor], grad: Tensor, *, weights: bool) -> Tensor | None:
    """Carry dL/d(output) back through the MLP: set each layer's ``.grad`` when ``weights``;
    return dL/d(input) when not (a judge's weights get no gradient, its input does)."""
    for i in range(len(layers) - 1, -1, -1):
        layer = layers[i]
        if weights:  # into the .grad there is: PackedAdam's slice of its one buffer
            torch.mm(grad.t(), inputs[i], out=_gradient_slot(layer.weight))  # (out, B) @ (B, in)
            torch.sum(grad, 0, out=_gradient_slot(layer.bias))
            if i == 0:
                return None
        grad = grad.mm(layer.weight)  # (B, out) @ (out, in)
        if i > 0:  # through the LeakyReLU that made this layer's input (its sign is its input's),
            # in place: one array fewer to write and read back (the step 1.02x as fast at batch 512)
            _leaky_relu_backward_into(grad, inputs[i], SLOPE, True, grad_input=grad)
    return grad


def _discriminator_pass(objective: Objective, g_layers: list[nn.Linear], d_layers: list[nn.Linear],
                        real: Tensor, z: Tensor) -> tuple[Tensor, list[Tensor], dict[str, Tensor]]:
    """G's fakes (and what G's backward pass needs), D's gradients on real and fake in one pass (into
    its ``.grad``), and D's figures."""
    fake, g_inputs = _forward(g_layers, z)
    logits, d_inputs = _forward(d_layers, torch.cat([real, fake]))
    real_logits, fake_logits = logits.split([len(real), len(fake)])
    _backward(d_layers, d_inputs, torch.cat(objective.d_loss_grad(real_logits, fake_logits)), weights=True)
    figures = {"loss_d": objective.d_loss(real_logits, fake_logits),
               "d_real": objective.score(real_logits).mean(), "d_fake": objective.score(fake_logits).mean()}
    return fake, g_inputs, figures


def _generator_pass(objective: Objective, g_layers: list[nn.Linear], d_layers: list[nn.Linear],
                    fake: Tensor, g_inputs: list[Tensor]) -> dict[str, Tensor]:
    """G's gradients (into its ``.grad``) through D, whose weights get none, and G's figures."""
    fake_logits, d_inputs = _forward(d_layers, fake)
    to_fake = _backward(d_layers, d_inputs, objective.g_loss_grad(fake_logits), weights=False)
    _backward(g_layers, g_inputs, to_fake, weights=True)
    return {"loss_g": objective.g_loss(fake_logits), "d_fake": objective.score(fake_logits).mean()}


@functools.cache
def _compiled(written_out_pass: Callable) -> Callable:
    """The pass through torch.compile, made once: Inductor fuses the elementwise work between the
    matrix products. Measured on the 2-core CPU (2-D ring, batch 256 and 512): a run with
    ``compile`` trains 1.02-1.07x as fast as the eager written-out step, where compiling the
    networks and stepping through autograd ran at 0.33-0.35x of it."""
    return torch.compile(written_out_pass)


def train_step(config: MLPGANConfig, networks: nn.ModuleDict, optimizers: dict, real: Tensor,
               labels: Tensor | None, step: int, rng: torch.Generator, update: str = "both") -> dict[str, Tensor]:
    """:func:`~.adversarial.gan_train_step` (the same update, noise and figures) with the gradients
    by hand; a network it cannot read as a plain MLP, or autocast, takes that autograd step."""
    generator, discriminator = networks["generator"], networks["discriminator"]
    g_layers, d_layers = _linear_layers(generator), _linear_layers(discriminator)
    if g_layers is None or d_layers is None or torch.is_autocast_enabled(real.device.type):
        return gan_train_step(config, networks, optimizers, real, labels, step, rng, update)
    discriminator_pass, generator_pass = _discriminator_pass, _generator_pass
    if _compiled_in_place(generator) or _compiled_in_place(discriminator):
        discriminator_pass, generator_pass = _compiled(_discriminator_pass), _compiled(_generator_pass)
    z = gaussian_noise(config, real.shape[0], rng, real.device)
    objective = get_objective(config.objective)
    out: dict[str, Tensor] = {}
    with torch.no_grad():
        # (1) update D: one pass over real and fake together
        if update in ("both", "d"):
            fake, g_inputs, out = discriminator_pass(objective, g_layers, d_layers, real, z)
            out["grad_norm_d"] = _grad_norm(optimizers["discriminator"], discriminator)
            _update(optimizers["discriminator"])
        else:
            fake, g_inputs = _forward(g_layers, z)

        # (2) update G: through the updated D, whose weights get no gradient
        if update in ("both", "g"):
            figures = generator_pass(objective, g_layers, d_layers, fake, g_inputs)
            out["grad_norm_g"] = _grad_norm(optimizers["generator"], generator)
            _update(optimizers["generator"])
            out["loss_g"] = figures["loss_g"]
            out.setdefault("d_fake", figures["d_fake"])  # D's verdict before its update, where it had one
    return out


def make_optimizers(config: MLPGANConfig, networks: nn.ModuleDict) -> dict[str, torch.optim.Optimizer]:
    """Adam for each network, packed into one buffer (trainers/optim.py): a step of these small
    MLPs is mostly per-tensor overhead."""
    return make_adam_pair(config, networks, packed=True)


@torch.no_grad()
def critic(config: MLPGANConfig, networks: nn.ModuleDict, x: Tensor) -> Tensor:
    with evaluating(networks["discriminator"]):
        return get_objective(config.objective).score(networks["discriminator"](x)).squeeze(-1)


def generator_gradient(config: MLPGANConfig, networks: nn.ModuleDict, x: Tensor) -> Tensor:
    """-dL_G/dx at each generated point: the direction and strength with which G's loss moves it.
    Per point (the loss's mean over the batch is undone), D in eval mode and untouched."""
    points = x.detach().clone().requires_grad_(True)
    with torch.enable_grad(), evaluating(networks["discriminator"]):
        loss = get_objective(config.objective).g_loss(networks["discriminator"](points))
        (gradient,) = torch.autograd.grad(loss * len(points), points)
    return -gradient


SPEC = FamilySpec(
    name="mlp-gan",
    description="Original GAN with MLPs on 1-D/2-D toy data; minimax or non-saturating loss",
    paper="https://arxiv.org/abs/1406.2661",
    config_cls=MLPGANConfig,
    data_kinds=("points",),
    build=build,
    make_optimizers=make_optimizers,
    train_step=train_step,
    sample=sample_generator,
    noise=gaussian_noise,
    data_fields=lambda dataset: {"data_dim": dataset.sample_shape[0]},
    critic=critic,
    generator_gradient=generator_gradient,
    bf16_on_cpu=False,  # the written-out float32 step; bf16 matrix products made it 0.88x on an AMX CPU
    presets={
        "default": {},
        "gan-lab": {"hidden": 16, "g_layers": 2, "d_layers": 2, "latent_dim": 2, "lr_g": 3e-3, "lr_d": 3e-3},
    },
)
