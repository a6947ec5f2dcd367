"""What a model family provides: the contract between a model file and the engine."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import torch
from torch import Tensor, nn

#: train_step(config, networks, optimizers, real, labels, step, rng, update) -> {name: scalar tensor}
TrainStep = Callable[..., dict[str, Tensor]]


@dataclass(frozen=True)
class FamilySpec:
    """A registered model family.

    Functions, not a class hierarchy: each model file defines its config dataclass and these
    functions, and ends with ``SPEC = FamilySpec(...)``.
    """

    name: str
    description: str
    paper: str
    config_cls: type
    #: "points" and/or "image": which datasets it can train on
    data_kinds: tuple[str, ...]
    build: Callable[[Any], nn.ModuleDict]
    make_optimizers: Callable[[Any, nn.ModuleDict], dict[str, torch.optim.Optimizer]]
    train_step: TrainStep
    #: sample(config, networks, noise, labels=None) -> samples in [-1, 1] (images) or data space
    sample: Callable[..., Tensor]
    #: noise(config, n, generator, device) -> latent batch
    noise: Callable[..., Tensor]
    #: config fields set from the data: data_shape(dataset) -> {field: value}
    data_fields: Callable[[Any], dict[str, Any]]
    #: critic(config, networks, x[, labels]) -> D's output on each of x as a person reads it (a
    #: probability for log-losses); labels are passed to a conditional family's. The engine draws
    #: it as a field over the plane (2-D toys) and as histograms of D(x) and D(G(z))
    critic: Optional[Callable[..., Tensor]] = None
    #: generator_gradient(config, networks, x) -> -dL_G/dx for each generated point x: where G's loss
    #: pushes its samples (GAN Lab's arrows; minimax's vanish where D is sure, non-saturating's don't)
    generator_gradient: Optional[Callable[..., Tensor]] = None
    presets: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: the datasets the family is meant for, the usual first (front ends list them first)
    suggested_datasets: tuple[str, ...] = ()
    #: True when G and D take class labels: the dataset must be labelled, samples are drawn per class
    conditional: bool = False
    #: False for a family with nothing to sample from (a classifier): the engine emits no sample
    #: grids, and its ``sample``/``noise`` raise a ConfigError saying why
    has_generator: bool = True
    #: reconstruct(config, networks, x) -> dec(E(x)) in the data's range, for families with an
    #: encoder (autoencoders, BiGAN): the engine adds input/reconstruction pairs to sample events
    reconstruct: Optional[Callable[..., Tensor]] = None
    #: encode(config, networks, x) -> (B, latent_dim) codes, for families with an encoder
    encode: Optional[Callable[..., Tensor]] = None
    #: translate(config, networks, source, **options) -> output in [-1, 1], for image-to-image
    #: families: pix2pix's label map -> photo, CycleGAN's either direction, super-resolution's
    #: upscaling, inpainting's restoration
    translate: Optional[Callable[..., Tensor]] = None
    #: preview(config, networks, target, source) -> Preview of held-out examples: the before/after
    #: rows the engine draws as the sample grid of an image-to-image family, with their figures
    preview: Optional[Callable[..., "Preview"]] = None
    #: notes(config) -> sentences for the start event (and so the log and the model card), e.g.
    #: which feature network a perceptual loss really uses
    notes: Optional[Callable[[Any], list[str]]] = None
    #: for a fully convolutional image-to-image family: output side / input side, so the engine and
    #: the front ends may run it tile by tile (:mod:`trainers.tiling`); None when tiling does not apply
    tile_scale: Optional[Callable[[Any], int]] = None
    #: True when a step may leave part of a trained network out of its forward pass (ProGAN's levels
    #: above the current one): under torchrun, DDP must then search for unused parameters each step
    unused_parameters: bool = False
    #: False when the step needs float32 throughout (E-GAN's fitness reads gradient norms, deep image
    #: prior fits one picture's pixels): the fast path (GPU or AMX CPU) then leaves bf16 autocast off
    bf16: bool = True
    #: False where bf16 autocast measured slower than float32 on a CPU with AMX (the MLP GANs: their
    #: small fully connected layers are bound by per-operation overhead, which the casts add to):
    #: the CPU's fast path then leaves them in float32 (bench/fast_path_families.py)
    bf16_on_cpu: bool = True
    #: fewest samples a step can hold, with the reason: 2 where a layer takes statistics across the
    #: batch (BatchNorm1d's per-feature variance; ProGAN's minibatch standard deviation, which is 0
    #: over one sample, and its gradient NaN). The engine refuses a smaller batch before it starts.
    min_batch: tuple[int, str] = (1, "")

    @property
    def objectives(self) -> tuple[str, ...]:
        """The choices of the config's ``objective`` field (empty when it has none)."""
        for f in dataclasses.fields(self.config_cls):
            if f.name == "objective":
                return tuple(f.metadata.get("choices", ()))
        return ()


@dataclass
class Preview:
    """Rows of images in [-1, 1], each (N, C, H, W) with the same N, H and W (C is 1 or 3), with a
    title each; and figures about them, e.g. {"psnr": 21.3, "psnr_baseline": 18.0}."""

    rows: list[Tensor]
    titles: list[str]
    metrics: dict[str, float]


def image_fields(dataset: Any) -> dict[str, int]:
    """The config fields an image family takes from its dataset: channels and image_size."""
    return {"channels": dataset.sample_shape[0], "image_size": dataset.sample_shape[-1]}
