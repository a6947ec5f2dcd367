"""A trained (or untrained) model: its family, typed config and networks, with
``save_pretrained`` / ``from_pretrained`` that rebuild it from its folder alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from . import __version__
from .checkpoint import (CONFIG_FILE, FORMAT_VERSION, WEIGHTS_FILE, _plain_state_dict, read_json,
                         read_tensors, write_folder_atomically)
from .config import from_dict, to_dict
from .device import resolve_device
from .errors import CheckpointError, ConfigError
from .family import FamilySpec
from .registry import get_family


class GANModel:
    """Networks plus the config that built them. Sampling never changes the weights."""

    def __init__(self, family: FamilySpec, config: Any, networks: nn.ModuleDict | None = None,
                 device: str | torch.device = "cpu"):
        self.family = family
        self.config = config
        self.device = torch.device(device)
        self.networks = (networks if networks is not None else family.build(config)).to(self.device)

    @classmethod
    def from_config(cls, family: str, overrides: dict[str, Any] | None = None,
                    device: str = "cpu") -> "GANModel":
        spec = get_family(family)
        return cls(spec, from_dict(spec.config_cls, overrides), device=resolve_device(device))

    def noise(self, n: int, seed: int = 0) -> Tensor:
        generator = torch.Generator().manual_seed(seed)
        return self.family.noise(self.config, n, generator).to(self.device)

    def sample(self, n: int = 64, seed: int = 0, labels: Tensor | None = None) -> Tensor:
        """``n`` samples from the noise drawn with ``seed`` (same seed, same samples)."""
        if not 1 <= n <= 4096:
            raise ConfigError(f"number of samples must be between 1 and 4096, not {n}")
        if not 0 <= seed <= 2**63 - 1:
            raise ConfigError(f"seed must be between 0 and 2**63 - 1, not {seed}")
        if labels is None and self.family.conditional:  # cycle through the classes
            labels = torch.arange(n, device=self.device) % self.config.num_classes
        return self.family.sample(self.config, self.networks, self.noise(n, seed), labels)

    def reconstruct(self, x: Tensor) -> Tensor:
        """dec(E(x)) for images in [-1, 1], for families with an encoder."""
        return self._through_encoder(self.family.reconstruct, "reconstruct", x)

    def encode(self, x: Tensor) -> Tensor:
        """E(x): (B, latent_dim) codes, for families with an encoder."""
        return self._through_encoder(self.family.encode, "encode", x)

    def _through_encoder(self, function, what: str, x: Tensor) -> Tensor:
        if function is None:
            raise ConfigError(f"{self.family.name} has no encoder, so it cannot {what} images")
        return function(self.config, self.networks, x.to(self.device))

    def config_json(self) -> dict[str, Any]:
        return {"family": self.family.name, "config": to_dict(self.config),
                "library_version": __version__, "format_version": FORMAT_VERSION}

    def save_pretrained(self, folder: str | Path, extra_files: dict[str, Any] | None = None) -> Path:
        files: dict[str, Any] = {WEIGHTS_FILE: _plain_state_dict(self.networks.state_dict())}
        files.update(extra_files or {})
        files[CONFIG_FILE] = self.config_json()
        return write_folder_atomically(folder, files)

    @classmethod
    def from_pretrained(cls, folder: str | Path, device: str = "cpu") -> "GANModel":
        root = Path(folder)
        if not root.is_dir():
            raise CheckpointError(f"{root} is not a checkpoint folder")
        meta = read_json(root / CONFIG_FILE)
        if meta.get("format_version") != FORMAT_VERSION or "family" not in meta:
            raise CheckpointError(f"{root / CONFIG_FILE} was not written by this library (format "
                                  f"{meta.get('format_version')!r}, expected {FORMAT_VERSION})")
        spec = get_family(str(meta["family"]))
        if not isinstance(meta.get("config") or {}, dict):
            raise CheckpointError(f"{root / CONFIG_FILE}: \"config\" should be a mapping of config values")
        config = from_dict(spec.config_cls, meta.get("config") or {})
        model = cls(spec, config, device=resolve_device(device))
        weights = read_tensors(root / WEIGHTS_FILE, model.device)
        try:
            model.networks.load_state_dict(weights, strict=True)
        except RuntimeError as error:
            raise CheckpointError(f"{root / WEIGHTS_FILE} does not match its config: {error}") from None
        return model
