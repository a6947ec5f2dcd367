"""Feature networks for perceptual (content) losses: VGG19 when its ImageNet weights are here.

SRGAN and ESRGAN compare super-resolved and real images in the feature space of VGG19 trained on
ImageNet (conv5_4: after its ReLU for SRGAN, before it for ESRGAN). Those weights are
torchvision's ``vgg19-dcbb9e9d.pth`` (548 MB). They are used when the file is in torch's hub cache
(``$TORCH_HOME/hub/checkpoints``) or when downloads are allowed and the download works. Nothing
here fails silently: :func:`resolve` says which network a run really uses, in words that go into
the run's log and its model card. The substitute when VGG19 cannot be had is the run's own
discriminator's features (a learned similarity, as in Larsen et al. 2016,
https://arxiv.org/abs/1512.09300): a network this project trains itself on the same images.
"""

from __future__ import annotations

import functools
import socket
from pathlib import Path

import torch
from torch import Tensor, nn

from .data.images import downloads_allowed
from .errors import ConfigError

VGG19_FILE = "vgg19-dcbb9e9d.pth"
VGG19_URL = f"https://download.pytorch.org/models/{VGG19_FILE}"
#: torchvision vgg19.features indices: conv5_4 is 34, its ReLU 35.
CONV5_4, RELU5_4 = 34, 35
CHOICES = ("auto", "vgg19", "discriminator")
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def vgg19_path() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / VGG19_FILE


@functools.lru_cache(maxsize=1)
def _download_vgg19() -> bool:
    """Try once per process; a silent network must not hang a run."""
    if not downloads_allowed():
        return False
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(20)
    try:
        vgg19_path().parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(VGG19_URL, str(vgg19_path()), progress=False)
        return True
    except Exception:  # no network, a proxy error page, a full disk: all mean "not available"
        vgg19_path().unlink(missing_ok=True)
        return False
    finally:
        socket.setdefaulttimeout(previous)


def vgg19_available(download: bool = True) -> bool:
    return vgg19_path().is_file() or (download and _download_vgg19())


def resolve(choice: str, download: bool = True) -> tuple[str, str]:
    """(the feature network a run will use, a sentence saying so and why)."""
    if choice not in CHOICES:
        raise ConfigError(f"perceptual must be one of {', '.join(CHOICES)}, not {choice!r}")
    if choice == "discriminator":
        return "discriminator", "perceptual loss: the run's own discriminator's features (as asked)"
    if vgg19_available(download):
        return "vgg19", f"perceptual loss: VGG19 (ImageNet) conv5_4 features from {vgg19_path()}"
    if choice == "vgg19":
        raise ConfigError(f"perceptual=vgg19, but the VGG19 ImageNet weights are not at {vgg19_path()} and "
                          f"cannot be downloaded here; put {VGG19_FILE} there (from {VGG19_URL}) or use "
                          f"perceptual=auto to train with the discriminator's features instead")
    return "discriminator", (f"perceptual loss: VGG19's ImageNet weights are not at {vgg19_path()} and could "
                             f"not be downloaded, so the content loss uses this run's own discriminator's "
                             f"features instead of VGG19 (a substitute: results are not comparable with "
                             f"the paper's VGG loss)")


class VGGFeatures(nn.Module):
    """VGG19's convolutional stack up to conv5_4 (``before_activation``) or its ReLU, frozen, eval
    mode; input in [-1, 1], normalised with ImageNet's statistics inside."""

    def __init__(self, before_activation: bool):
        super().__init__()
        from torchvision.models import vgg19

        model = vgg19()
        state = torch.load(vgg19_path(), map_location="cpu", weights_only=True)  # tensors only, no code
        model.load_state_dict(state)
        self.features = model.features[: (CONV5_4 if before_activation else RELU5_4) + 1].eval()
        self.requires_grad_(False)
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1))

    def train(self, mode: bool = True) -> "VGGFeatures":
        return super().train(False)  # always eval: the features are fixed

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        return self.features(((x + 1) / 2 - self.mean) / self.std)


@functools.lru_cache(maxsize=4)
def vgg_features(before_activation: bool, device: str) -> VGGFeatures:
    """One frozen copy per device and layer, shared read-only by every run in the process."""
    return VGGFeatures(before_activation).to(device)
