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
    #: critic(config, networks, x) -> D's output as a person reads it (a probability for log-losses)
    critic: Optional[Callable[..., Tensor]] = None
    presets: dict[str, dict[str, Any]] = field(default_factory=dict)
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

    @property
    def objectives(self) -> tuple[str, ...]:
        """The choices of the config's ``objective`` field (empty when it has none)."""
        for f in dataclasses.fields(self.config_cls):
            if f.name == "objective":
                return tuple(f.metadata.get("choices", ()))
        return ()


def image_fields(dataset: Any) -> dict[str, int]:
    """The config fields an image family takes from its dataset: channels and image_size."""
    return {"channels": dataset.sample_shape[0], "image_size": dataset.sample_shape[-1]}
