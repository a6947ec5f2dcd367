"""Device choice (``auto`` means CUDA when present, else Apple's MPS, else the CPU) and the GPU fast
path a run takes there."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .errors import ConfigError


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"device: {name!r} is not a device name (use auto, cpu, cuda, cuda:1, mps)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device: CUDA was asked for but no CUDA GPU is available; use auto or cpu")
    return device


@dataclass(frozen=True)
class FastPath:
    """What a run on a GPU does to go fast (all off elsewhere, or with ``fast=False``)."""

    #: bfloat16 autocast around each training step (no loss scaling needed, unlike float16)
    bf16: bool = False
    #: image batches and convolution weights in channels_last (NHWC), which tensor cores prefer
    channels_last: bool = False
    #: the in-memory dataset pinned, so batches copy to the GPU asynchronously
    pinned: bool = False

    def describe(self) -> str:
        parts = [name for name, on in (("bf16 autocast", self.bf16), ("channels_last", self.channels_last),
                                       ("pinned memory", self.pinned)) if on]
        return ", ".join(parts) or "off"


def choose_fast_path(enabled: bool, device: torch.device, *, images: bool, bf16_safe: bool) -> FastPath:
    """The GPU fast path for a run: on CUDA unless switched off; bf16 only where the family (and its
    objective) is stable in it, channels_last only for image data."""
    if not enabled or device.type != "cuda":
        return FastPath()
    return FastPath(bf16=bf16_safe, channels_last=images, pinned=True)
