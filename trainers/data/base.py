"""The in-memory dataset every loader returns, and deterministic batching over it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import torch
from torch import Tensor

from ..seeding import mix_seed

#: Dataset.pairing -> Dataset.kind
PAIRINGS = {"paired": "pairs", "unpaired": "unpaired", "mask": "masked"}


def from_pixels(images: Tensor) -> Tensor:
    """uint8 pixels (0..255) as the float range the networks work in, [-1, 1]."""
    x = images.float()
    return (x.div_(127.5) if x is not images else x / 127.5).sub_(1.0)  # in place only on its own copy


def to_pixels(x: Tensor) -> Tensor:
    """The networks' [-1, 1] (clamped) as uint8 pixels, rounded to the nearest."""
    return ((x.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


@dataclass
class Dataset:
    """A whole dataset held in memory.

    Images are kept as uint8 (N, C, H, W), a quarter of float32's memory, and scaled to [-1, 1]
    on the way into a step. Point data (toys) is float32 (N, D), already in about [-1, 1].

    Image-to-image data adds ``sources``, uint8 images of the same count, whose meaning
    ``pairing`` names: "paired" (sources[i] translates to data[i]: pix2pix), "unpaired" (two
    domains, A in ``sources`` and B in ``data``, with no correspondence: CycleGAN) or "mask"
    (255 where a pixel of data[i] is missing: inpainting).
    """

    name: str
    data: Tensor
    labels: Tensor | None = None
    class_names: tuple[str, ...] = ()
    #: How many inputs were skipped as unreadable (user folders): reported, never fatal.
    skipped: int = 0
    description: str = ""
    extra: dict = field(default_factory=dict)
    sources: Tensor | None = None
    pairing: str = ""
    #: gather each batch into pinned (page-locked) memory, so it copies to the GPU asynchronously
    #: (DataLoader's pin_memory); set by :meth:`pinned` on the GPU fast path
    pin: bool = False

    def __post_init__(self) -> None:
        if (self.sources is None) != (self.pairing == ""):
            raise ValueError("sources and pairing go together")
        if self.pairing and self.pairing not in PAIRINGS:
            raise ValueError(f"pairing must be one of {', '.join(PAIRINGS)}, not {self.pairing!r}")
        if self.sources is not None and len(self.sources) != len(self.data):
            raise ValueError(f"{len(self.sources)} sources for {len(self.data)} images")

    @property
    def kind(self) -> str:
        """"points", "image", or for image-to-image data "pairs", "unpaired" or "masked"."""
        if self.data.dtype != torch.uint8:
            return "points"
        return PAIRINGS[self.pairing] if self.pairing else "image"

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __len__(self) -> int:
        return self.data.shape[0]

    def to_model_range(self, x: Tensor) -> Tensor:
        """uint8 images to float in [-1, 1]; points unchanged."""
        return from_pixels(x) if x.dtype == torch.uint8 else x

    def batch(self, indices: Tensor, device: torch.device | str = "cpu") -> tuple[Tensor, Tensor | None]:
        """(images or points, their condition): the class labels, or for image-to-image data the
        sources in [-1, 1] (a mask reads -1 where the pixel is known, +1 where it is missing)."""
        def gather(tensor: Tensor) -> Tensor:
            picked = tensor.index_select(0, indices)  # MNIST's uint8 batch: 6 us against indexing's 63 us
            return (picked.pin_memory() if self.pin else picked).to(device, non_blocking=True)

        x = gather(self.data)
        if self.sources is not None:
            condition = self.to_model_range(gather(self.sources))
        elif self.labels is not None:
            condition = gather(self.labels)
        else:
            condition = None
        return self.to_model_range(x), condition

    def pinned(self) -> "Dataset":
        """This dataset, its batches gathered into pinned memory (needs CUDA)."""
        return dataclasses.replace(self, pin=True)

    def subset(self, count: int) -> "Dataset":
        """The first ``count`` items (same classes, sources and pairing)."""
        return dataclasses.replace(
            self, data=self.data[:count], labels=None if self.labels is None else self.labels[:count],
            sources=None if self.sources is None else self.sources[:count])


class EpochSampler:
    """Shuffled batches whose order is a pure function of (seed, step).

    Each epoch is a permutation drawn from a generator seeded by (seed, epoch), so the batch at
    any step can be recomputed after a resume without saving sampler state. Batches never
    straddle two epochs: the last partial batch of each epoch is dropped.
    """

    def __init__(self, size: int, batch_size: int, seed: int):
        if size < 1:
            raise ValueError("empty dataset")
        self.size = size
        self.batch_size = min(batch_size, size)
        self.seed = seed
        self.per_epoch = max(1, size // self.batch_size)
        self._epoch = -1
        self._perm: Tensor | None = None

    def indices(self, step: int) -> Tensor:
        epoch, position = divmod(step, self.per_epoch)
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(mix_seed(self.seed, epoch, "epoch"))
            self._perm = torch.randperm(self.size, generator=g)
            self._epoch = epoch
        start = position * self.batch_size
        return self._perm[start:start + self.batch_size]
