"""cyclegan: unpaired image-to-image translation with cycle consistency (Zhu et al., ICCV 2017).

Reference: https://arxiv.org/abs/1703.10593. Two generators, G: A -> B and F: B -> A, each a
ResNet (c7s1-64, two stride-2 convolutions, residual blocks, two transposed convolutions,
c7s1-3; instance norm, reflection padding), and two 70x70 PatchGAN discriminators, D_B on B
images and D_A on A images. The GAN loss is least squares. G and F also minimise the cycle loss
lambda (|F(G(a)) - a| + |G(F(b)) - b|) with lambda = 10, and optionally the identity loss
0.5 lambda (|G(b) - b| + |F(a) - a|), which keeps colours when the domains share them. Each D
learns from a history of the last 50 translated images rather than only the newest batch
(Shrivastava et al.). Adam(2e-4, beta1 = 0.5) for the generators together and for the
discriminators together. The rate is constant for the first half of the run and then falls
linearly to 0, as the paper's 100 + 100 epochs do.

Domain A is the dataset's ``sources`` and domain B its images; with an unpaired dataset no
batch holds a true pair, and nothing here would use one if it did.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..optim import adam
from ..config import field
from ..errors import ConfigError
from ..family import FamilySpec, Preview
from ..metrics.image_quality import l1, psnr
from ..objectives import get_objective
from .adversarial import buffers_kept, evaluating, frozen, grad_norm, linear_decay
from .image_to_image import (NORMS, PatchDiscriminator, check_patch_layers, d_loss, fit_check, init_normal,
                             no_sampling, norm_layer, set_lr)

DIRECTIONS = ("a_to_b", "b_to_a")


@dataclass
class CycleGANConfig:
    image_size: int = field(128, "image side in pixels (set from the dataset)", range=(8, 512))
    channels_a: int = field(3, "domain A channels (set from the dataset)", choices=(1, 3))
    channels_b: int = field(3, "domain B channels (set from the dataset)", choices=(1, 3))
    g_width: int = field(64, "generator feature maps at full resolution (the paper's 64)", range=(4, 256))
    d_width: int = field(64, "PatchGAN feature maps at its first layer", range=(4, 256))
    res_blocks: int = field(6, "residual blocks in each generator (6 for 128x128, 9 for 256x256)",
                            range=(1, 16))
    d_layers: int = field(3, "PatchGAN hidden layers: 3 judges 70x70 patches, 2 34x34", range=(1, 5))
    norm: str = field("instance", "normalisation in G and D", choices=NORMS)
    cycle_weight: float = field(10.0, "lambda: weight of the cycle-consistency L1 losses", range=(0.0, 1e3))
    identity_weight: float = field(0.5, "identity loss weight, as a fraction of lambda (0: off)",
                                   range=(0.0, 10.0))
    pool_size: int = field(50, "translated images each D remembers (0: only the newest batch)",
                           range=(0, 1000))
    lr: float = field(2e-4, "learning rate of every network (Adam)", range=(1e-6, 1.0))
    beta1: float = field(0.5, "Adam beta1", range=(0.0, 0.999))
    beta2: float = field(0.999, "Adam beta2", range=(0.0, 0.9999))
    decay_from: float = field(0.5, "fraction of the run after which the rate falls linearly to 0 "
                              "(1: never)", range=(0.0, 1.0))
    total_steps: int = field(0, "steps in the run, for the decay (set by the engine)", range=(0, 10_000_000))

    def check(self) -> None:
        fit_check(self.image_size, 4, "the generator's two stride-2 convolutions")
        check_patch_layers(self.image_size, self.d_layers)
        if self.identity_weight > 0 and self.channels_a != self.channels_b:
            raise ConfigError(f"identity_weight: the identity loss needs both domains to have the same "
                              f"channels ({self.channels_a} vs {self.channels_b}); set it to 0")


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, norm: str):
        super().__init__()
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=norm == "instance"),
            norm_layer(norm, channels), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=norm == "instance"),
            norm_layer(norm, channels))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.block(x)


class ResnetGenerator(nn.Module):
    """(B, in, S, S) -> c7s1 -> (B, w, S, S) -> d2w -> (B, 2w, S/2, S/2) -> d4w -> (B, 4w, S/4, S/4)
    -> residual blocks -> u2w -> (B, 2w, S/2, S/2) -> uw -> (B, w, S, S) -> c7s1 -> (B, out, S, S), tanh
    """

    def __init__(self, in_channels: int, out_channels: int, config: CycleGANConfig):
        super().__init__()
        w, norm, bias = config.g_width, config.norm, config.norm == "instance"
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(in_channels, w, 7, bias=bias),
                                   norm_layer(norm, w), nn.ReLU(True)]
        for mult in (1, 2):
            layers += [nn.Conv2d(w * mult, w * mult * 2, 3, 2, 1, bias=bias), norm_layer(norm, w * mult * 2),
                       nn.ReLU(True)]
        layers += [ResidualBlock(w * 4, norm) for _ in range(config.res_blocks)]
        for mult in (4, 2):
            layers += [nn.ConvTranspose2d(w * mult, w * mult // 2, 3, 2, 1, output_padding=1, bias=bias),
                       norm_layer(norm, w * mult // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(w, out_channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class ImagePool(nn.Module):
    """The last ``size`` translated images (Shrivastava et al.): until full, new images are stored
    and returned as they are; then each is returned as it is or, with probability 1/2, swapped for a
    random remembered one, which it replaces. The history is a buffer, so a checkpoint saves it and a
    resumed run replays exactly. All on the device: no host-device sync inside a step."""

    def __init__(self, size: int, channels: int, image_size: int):
        super().__init__()
        self.size = size
        self.register_buffer("images", torch.zeros(size, channels, image_size, image_size))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))
        self._filled: int | None = None  # the host's copy of ``count``, read once after a load
        self.register_load_state_dict_post_hook(lambda module, _: setattr(module, "_filled", None))

    @torch.no_grad()
    def query(self, batch: Tensor, rng: torch.Generator) -> Tensor:
        if self.size == 0:
            return batch
        if self._filled is None:
            self._filled = int(self.count)
        stored = min(self.size - self._filled, len(batch))  # the first images fill the free slots
        if stored:
            self.images[self._filled:self._filled + stored] = batch[:stored]
            self._filled += stored
            self.count.fill_(self._filled)
        out = batch.clone()
        incoming = batch[stored:]
        if len(incoming):
            swap = (torch.rand(len(incoming), generator=rng, device=rng.device) < 0.5)[:, None, None, None]
            slots = torch.randint(self.size, (len(incoming),), generator=rng, device=rng.device)
            remembered = self.images[slots]
            out[stored:] = torch.where(swap, remembered, incoming)
            self.images.index_copy_(0, slots, torch.where(swap, incoming, remembered))
        return out


def build(config: CycleGANConfig) -> nn.ModuleDict:
    a, b = config.channels_a, config.channels_b
    networks = nn.ModuleDict({
        "generator_ab": ResnetGenerator(a, b, config),
        "generator_ba": ResnetGenerator(b, a, config),
        "discriminator_a": PatchDiscriminator(a, config.d_width, config.d_layers, config.norm),
        "discriminator_b": PatchDiscriminator(b, config.d_width, config.d_layers, config.norm),
    })
    networks.apply(init_normal)
    networks["pool_a"] = ImagePool(config.pool_size, a, config.image_size)
    networks["pool_b"] = ImagePool(config.pool_size, b, config.image_size)
    return networks


def make_optimizers(config: CycleGANConfig, networks: nn.ModuleDict) -> dict[str, torch.optim.Optimizer]:
    betas = (config.beta1, config.beta2)
    generators = [*networks["generator_ab"].parameters(), *networks["generator_ba"].parameters()]
    discriminators = [*networks["discriminator_a"].parameters(), *networks["discriminator_b"].parameters()]
    return {"generator": adam(generators, config.lr, betas=betas),
            "discriminator": adam(discriminators, config.lr, betas=betas)}


def train_step(config: CycleGANConfig, networks: nn.ModuleDict, optimizers: dict, real_b: Tensor,
               real_a: Tensor, step: int, rng: torch.Generator, update: str = "both") -> dict[str, Tensor]:
    """(1) G and F on GAN + cycle (+ identity) losses, then (2) D_A and D_B on real vs pooled
    translations: the CycleGAN repo's order, which lets D see this step's translations."""
    rate = config.lr * linear_decay(config, step)
    set_lr(optimizers, {"generator": rate, "discriminator": rate})
    g_ab, g_ba = networks["generator_ab"], networks["generator_ba"]
    d_a, d_b = networks["discriminator_a"], networks["discriminator_b"]
    objective = get_objective("least-squares")
    out: dict[str, Tensor] = {"lr": torch.full((), rate, device=real_a.device)}
    do_d, do_g = update in ("both", "d"), update in ("both", "g")

    if do_g:
        fake_b, fake_a = g_ab(real_a), g_ba(real_b)
    else:  # a D-only step leaves both generators exactly as they were
        with torch.no_grad(), buffers_kept(g_ab), buffers_kept(g_ba):
            fake_b, fake_a = g_ab(real_a), g_ba(real_b)

    # (1) update G and F: fool both Ds, come back where they started, leave target-domain images alone
    if do_g:
        with frozen(d_a), frozen(d_b), buffers_kept(d_a), buffers_kept(d_b):
            loss_gan_ab = objective.g_loss(d_b(fake_b))
            loss_gan_ba = objective.g_loss(d_a(fake_a))
            loss_cycle_a = F.l1_loss(g_ba(fake_b), real_a)
            loss_cycle_b = F.l1_loss(g_ab(fake_a), real_b)
            loss_g = loss_gan_ab + loss_gan_ba + config.cycle_weight * (loss_cycle_a + loss_cycle_b)
            if config.identity_weight > 0:
                loss_identity = F.l1_loss(g_ab(real_b), real_b) + F.l1_loss(g_ba(real_a), real_a)
                loss_g = loss_g + config.identity_weight * config.cycle_weight * loss_identity
                out["loss_identity"] = loss_identity.detach()
            optimizers["generator"].zero_grad(set_to_none=True)
            loss_g.backward()  # inside the block: batch norm's backward checks its running statistics
        out["grad_norm_g"] = grad_norm(g_ab) + grad_norm(g_ba)
        optimizers["generator"].step()
        out["loss_g"] = (loss_gan_ab + loss_gan_ba).detach()
        out["loss_cycle"] = (loss_cycle_a + loss_cycle_b).detach()

    # (2) update D_A and D_B on real images vs translations drawn from their histories
    if do_d:
        pooled_b = networks["pool_b"].query(fake_b.detach(), rng)
        pooled_a = networks["pool_a"].query(fake_a.detach(), rng)
        real_b_logits, fake_b_logits = d_b(real_b), d_b(pooled_b)
        real_a_logits, fake_a_logits = d_a(real_a), d_a(pooled_a)
        loss_d = (d_loss(objective, real_b_logits, fake_b_logits)
                  + d_loss(objective, real_a_logits, fake_a_logits))
        optimizers["discriminator"].zero_grad(set_to_none=True)
        loss_d.backward()
        out["grad_norm_d"] = grad_norm(d_a) + grad_norm(d_b)
        optimizers["discriminator"].step()
        out["loss_d"] = loss_d.detach()
        out["d_real"] = (real_a_logits.mean() + real_b_logits.mean()).detach() / 2
        out["d_fake"] = (fake_a_logits.mean() + fake_b_logits.mean()).detach() / 2
    return out


@torch.no_grad()
def translate(config: CycleGANConfig, networks: nn.ModuleDict, source: Tensor,
              direction: str = "a_to_b") -> Tensor:
    """G(a) ("a_to_b") or F(b) ("b_to_a"); the weights are untouched."""
    if direction not in DIRECTIONS:
        raise ConfigError(f"direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}")
    generator = networks["generator_ab" if direction == "a_to_b" else "generator_ba"]
    with evaluating(generator):
        return generator(source)


@torch.no_grad()
def round_trip(config: CycleGANConfig, networks: nn.ModuleDict, source: Tensor,
               direction: str = "a_to_b") -> tuple[Tensor, Tensor]:
    """(the translation, and that translated back): G(a), F(G(a)) or F(b), G(F(b))."""
    back = "b_to_a" if direction == "a_to_b" else "a_to_b"
    translated = translate(config, networks, source, direction)
    return translated, translate(config, networks, translated, back)


def preview(config: CycleGANConfig, networks: nn.ModuleDict, real_b: Tensor, real_a: Tensor) -> Preview:
    """The paper's figure: real A / G(A) / F(G(A)) and real B / F(B) / G(F(B))."""
    fake_b, back_a = round_trip(config, networks, real_a, "a_to_b")
    fake_a, back_b = round_trip(config, networks, real_b, "b_to_a")
    return Preview([real_a, fake_b, back_a, real_b, fake_a, back_b],
                   ["real A", "A to B", "A to B to A", "real B", "B to A", "B to A to B"],
                   {"cycle_l1_a": l1(back_a, real_a), "cycle_l1_b": l1(back_b, real_b),
                    "cycle_psnr_a": psnr(back_a, real_a), "cycle_psnr_b": psnr(back_b, real_b)})


def data_fields(dataset) -> dict[str, int]:
    return {"image_size": dataset.data.shape[-1], "channels_b": dataset.data.shape[1],
            "channels_a": dataset.sources.shape[1]}


SPEC = FamilySpec(
    name="cyclegan",
    description="CycleGAN: two ResNet generators, two PatchGANs, least squares + cycle loss (unpaired translation)",
    paper="https://arxiv.org/abs/1703.10593",
    config_cls=CycleGANConfig,
    data_kinds=("unpaired", "pairs"),
    build=build,
    make_optimizers=make_optimizers,
    train_step=train_step,
    sample=no_sampling,
    noise=no_sampling,
    data_fields=data_fields,
    has_generator=False,
    translate=translate,
    preview=preview,
    suggested_datasets=("mnist-colorized", "facades-unpaired"),
    presets={"cpu-small": {"g_width": 16, "d_width": 32, "res_blocks": 3},
             "mnist": {"g_width": 16, "d_width": 32, "res_blocks": 3, "d_layers": 2},
             "paper": {"g_width": 64, "d_width": 64, "res_blocks": 6}},
)
