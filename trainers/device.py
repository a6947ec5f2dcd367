"""Device choice (``auto`` means CUDA when present, else Apple's MPS, else the CPU) and the fast path
a run takes there: on a GPU, and, when asked for, on a CPU with bf16 matrix units (Intel AMX)."""

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
    mps = getattr(torch.backends, "mps", None)
    if device.type == "mps" and not (mps is not None and mps.is_available()):
        raise ConfigError("device: mps (Apple's GPU) was asked for but is not available here; use auto or cpu")
    if device.type not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"device: {name!r} is not a device this library runs on (use auto, cpu, cuda, cuda:1, mps)")
    return device


@dataclass(frozen=True)
class FastPath:
    """What a run does to go fast: on a GPU all three where they apply (unless ``fast=False``); on a
    CPU with AMX bf16 autocast alone, when ``cpu_bf16`` asks for it; nothing elsewhere."""

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


def cpu_has_bf16_matrix_units() -> bool:
    """Intel AMX with its bf16 unit (Xeon Sapphire Rapids and later), which oneDNN uses for bf16
    convolutions and matrix products. Measured on a 2-core Xeon with it: a bf16 matrix product of
    2048x2048 matrices 6x as fast as float32, DCGAN's training step 1.4-1.9x. Without it (AVX2, or
    AVX-512 alone) bf16 is emulated and DCGAN's step was about 20x slower."""
    cpu = getattr(torch, "cpu", None)
    checks = (getattr(cpu, "_is_amx_tile_supported", None), getattr(cpu, "_is_avx512_bf16_supported", None))
    return all(check is not None and check() for check in checks)


def choose_fast_path(enabled: bool, device: torch.device, *, images: bool, bf16_safe: bool,
                     cpu_bf16: bool = False, bf16_pays_on_cpu: bool = True) -> FastPath:
    """The fast path for a run. On CUDA, unless switched off (``enabled``): bf16 autocast where the
    family (and its objective) is stable in it, channels_last for image data, pinned batches. On a
    CPU only when asked for (``cpu_bf16``) and the CPU has AMX: bf16 autocast alone, where the
    family is stable in it and faster for it (not the MLP GANs, bound by per-operation overhead
    that the casts add to). It is not the CPU's default: runs sharing the cores (the playground's
    sessions) stepped 1.2-1.6x slower in bf16 than in float32. Elsewhere nothing: channels_last gave
    no gain on a CPU, and pinning only serves copies to a GPU."""
    if device.type == "cuda":
        return FastPath(bf16=bf16_safe, channels_last=images, pinned=True) if enabled else FastPath()
    if device.type == "cpu" and cpu_bf16 and cpu_bf16_refusal(bf16_safe, bf16_pays_on_cpu) is None:
        return FastPath(bf16=True)
    return FastPath()


def cpu_bf16_refusal(bf16_safe: bool, bf16_pays_on_cpu: bool) -> str | None:
    """Why a run that asked for bf16 on the CPU trains in float32 instead (None: it does not)."""
    if not cpu_has_bf16_matrix_units():
        return "this CPU has no AMX bf16 units, and emulated bf16 is about 20x slower"
    if not bf16_safe:
        return "the family or objective needs float32"
    if not bf16_pays_on_cpu:
        return "this family measured slower in bf16 on a CPU"
    return None
