"""dip-inpaint: deep image prior inpainting (Ulyanov, Vedaldi & Lempitsky, CVPR 2018).

Reference: https://arxiv.org/abs/1711.10925. There is no training data. A randomly initialised
encoder-decoder with skip connections maps a fixed noise image z to a picture, and is fitted to
the known pixels of one image: it minimises || (f(z) - x) * m ||^2, where the mask m is 1 where a
pixel is known. The missing pixels are never seen. What fills them is the network's own bias
towards natural images (it fits structure long before it can fit noise): the prior is the
architecture.

The network is the paper's "skip" architecture for inpainting: ``scales`` levels, each a stride-2
3x3 convolution and a 3x3 convolution down (``width`` maps), a 1x1 skip branch (``skip_channels``),
and on the way up batch norm, a 3x3 and a 1x1 convolution after concatenating skip and upsampled
deeper features; LeakyReLU(0.2), reflection padding, nearest upsampling, a sigmoid at the end.
z has ``input_depth`` channels of U(0, 0.1) noise from ``input_seed``, perturbed each step by
Gaussian noise of std ``input_noise`` (the paper's regulariser). Adam(0.01).

Batch norm always uses the statistics of the one image (there is no batch to average over),
so the output does not depend on training or evaluation mode.

The dataset is ``inpaint:IMAGE:MASK`` (:mod:`trainers.data.pairs`): the image, and the mask
(white where pixels are missing). The image's hidden pixels stay in memory only to score the
fill (PSNR inside the hole); the loss never reads them.
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
from ..metrics.image_quality import psnr
from ..metrics.image_to_image import mean_fill
from .adversarial import grad_norm
from .image_to_image import no_sampling


@dataclass
class DIPConfig:
    image_height: int = field(512, "image height (set from the image)", range=(32, 2048))
    image_width: int = field(512, "image width (set from the image)", range=(32, 2048))
    channels: int = field(3, "image channels (set from the image)", choices=(1, 3))
    input_depth: int = field(32, "channels of the noise input z", range=(1, 256))
    width: int = field(128, "feature maps at every level (the paper's 128)", range=(4, 256))
    skip_channels: int = field(4, "feature maps of each skip connection (the paper's 4)", range=(0, 64))
    scales: int = field(5, "levels of the encoder-decoder (the image sides must divide by 2^scales)",
                        range=(1, 7))
    input_noise: float = field(0.03, "std of the noise added to z each step (0: off)", range=(0.0, 1.0))
    input_seed: int = field(0, "seed of the fixed noise input z", range=(0, 2**31 - 1))
    lr: float = field(0.01, "learning rate (Adam)", range=(1e-6, 1.0))

    def check(self) -> None:
        factor = 2 ** self.scales
        if self.image_height % factor or self.image_width % factor:
            raise ConfigError(f"the image is {self.image_width}x{self.image_height}: with scales={self.scales} "
                              f"both sides must be multiples of {factor}")
        # the deepest level's 3x3 reflection padding needs 2 pixels there, not 1
        if min(self.image_height, self.image_width) < 2 * factor:
            raise ConfigError(f"the image is {self.image_width}x{self.image_height}: with scales={self.scales} "
                              f"both sides must be at least {2 * factor} (a larger image, or fewer scales)")


def _conv(incoming: int, out: int, kernel: int, stride: int = 1) -> list[nn.Module]:
    """Reflection-padded conv, batch norm on the image's own statistics, LeakyReLU."""
    return [nn.ReflectionPad2d(kernel // 2), nn.Conv2d(incoming, out, kernel, stride),
            nn.BatchNorm2d(out, track_running_stats=False), nn.LeakyReLU(0.2, True)]


class SkipLevel(nn.Module):
    """One level: x -> [skip: 1x1 conv] ++ [deeper: stride-2 conv, conv, the next level, upsample]
    -> batch norm -> 3x3 conv -> 1x1 conv. (B, c, H, W) -> (B, width, H, W)."""

    def __init__(self, incoming: int, config: DIPConfig, levels_below: int):
        super().__init__()
        w, s = config.width, config.skip_channels
        self.skip = nn.Sequential(*_conv(incoming, s, 1)) if s else None
        deeper = [*_conv(incoming, w, 3, stride=2), *_conv(w, w, 3)]
        if levels_below:
            deeper.append(SkipLevel(w, config, levels_below - 1))
        deeper.append(nn.Upsample(scale_factor=2, mode="nearest"))
        self.deeper = nn.Sequential(*deeper)
        self.merge = nn.Sequential(nn.BatchNorm2d(s + w, track_running_stats=False),
                                   *_conv(s + w, w, 3), *_conv(w, w, 1))

    def forward(self, x: Tensor) -> Tensor:
        deeper = self.deeper(x)
        return self.merge(deeper if self.skip is None else torch.cat([self.skip(x), deeper], 1))


class SkipNet(nn.Module):
    """z (1, input_depth, H, W) -> ``scales`` nested levels -> (1, width, H, W) -> 1x1 conv -> sigmoid
    -> (1, channels, H, W) in [-1, 1]."""

    def __init__(self, config: DIPConfig):
        super().__init__()
        self.levels = SkipLevel(config.input_depth, config, config.scales - 1)
        self.out = nn.Conv2d(config.width, config.channels, 1)
        g = torch.Generator().manual_seed(config.input_seed)
        z = torch.rand(1, config.input_depth, config.image_height, config.image_width, generator=g) * 0.1
        self.register_buffer("z", z, persistent=False)  # rebuilt from input_seed: never stored

    def forward(self, z: Tensor | None = None) -> Tensor:
        return torch.sigmoid(self.out(self.levels(self.z if z is None else z))) * 2 - 1


def build(config: DIPConfig) -> nn.ModuleDict:
    return nn.ModuleDict({"generator": SkipNet(config)})


def make_optimizers(config: DIPConfig, networks: nn.ModuleDict) -> dict[str, torch.optim.Optimizer]:
    return {"generator": adam(networks["generator"].parameters(), config.lr)}


def train_step(config: DIPConfig, networks: nn.ModuleDict, optimizers: dict, image: Tensor, mask: Tensor,
               step: int, rng: torch.Generator, update: str = "both") -> dict[str, Tensor]:
    """One fit of f(z + noise) to the known pixels (there is no D: a "d" step does nothing)."""
    if update == "d":
        return {}
    net = networks["generator"]
    known = (mask < 0).float()  # the mask reads -1 where a pixel is known, +1 where it is missing
    z = net.z
    if config.input_noise > 0:
        z = z + config.input_noise * torch.randn(z.shape, generator=rng, device=rng.device)
    output = net(z)
    loss = F.mse_loss(output * known, image * known)
    optimizers["generator"].zero_grad(set_to_none=True)
    loss.backward()
    norm = grad_norm(net)
    optimizers["generator"].step()
    return {"loss_fit": loss.detach(), "grad_norm_g": norm}


@torch.no_grad()
def restore(config: DIPConfig, networks: nn.ModuleDict) -> Tensor:
    """f(z): the whole restored picture, (1, channels, H, W) in [-1, 1]."""
    return networks["generator"]()


def preview(config: DIPConfig, networks: nn.ModuleDict, image: Tensor, mask: Tensor) -> Preview:
    """The image with its holes (grey), the network's restoration, the original; PSNR inside the
    hole for the restoration and for the mean-colour fill."""
    hole = mask > 0
    restored = restore(config, networks)
    shown = torch.where(hole.expand_as(image), torch.zeros_like(image), image)
    baseline = mean_fill(image, hole.expand_as(image))
    return Preview([shown, restored, image], ["with holes", "deep image prior", "original"],
                   {"psnr_hole": psnr(restored, image, hole), "psnr_hole_mean_fill": psnr(baseline, image, hole),
                    "psnr_known": psnr(restored, image, ~hole)})


def data_fields(dataset) -> dict[str, int]:
    _, channels, height, width = dataset.data.shape
    return {"image_height": height, "image_width": width, "channels": channels}


SPEC = FamilySpec(
    name="dip-inpaint",
    description="Deep image prior: an untrained skip encoder-decoder fitted to one image's known pixels fills "
                "its holes",
    paper="https://arxiv.org/abs/1711.10925",
    config_cls=DIPConfig,
    data_kinds=("masked",),
    build=build,
    make_optimizers=make_optimizers,
    train_step=train_step,
    sample=no_sampling,
    noise=no_sampling,
    data_fields=data_fields,
    has_generator=False,
    preview=preview,
    presets={"cpu-small": {"width": 48, "input_depth": 16},
             "paper": {"width": 128, "input_depth": 32, "skip_channels": 4, "scales": 5}},
    bf16=False,  # fits one picture's pixels: float32 on the GPU fast path too
)
