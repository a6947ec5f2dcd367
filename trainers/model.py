"""A trained (or untrained) model: its family, typed config and networks, with
``save_pretrained`` / ``from_pretrained`` that rebuild it from its folder alone."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps
from torch import Tensor, nn

from . import __version__
from .checkpoint import (CONFIG_FILE, FORMAT_VERSION, WEIGHTS_FILE, _plain_state_dict, read_json,
                         read_tensors, write_folder_atomically)
from .config import from_dict, to_dict
from .device import resolve_device
from .errors import CheckpointError, ConfigError
from .family import FamilySpec
from .registry import get_family
from .tiling import apply_tiled, default_tile


def _with_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """(H, W) or (H, W, C) uint8 -> (H, W, channels): grey to RGB by copying, RGB to grey by luma,
    alpha dropped."""
    if image.ndim == 2:
        image = image[:, :, None]
    if image.shape[-1] == 4:
        image = image[:, :, :3]
    if image.shape[-1] == channels:
        return image
    if channels == 3:
        return np.repeat(image[:, :, :1], 3, axis=-1)
    return np.asarray(Image.fromarray(image).convert("L"))[:, :, None]


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

    def translate(self, x: Tensor, **options: Any) -> Tensor:
        """The family's translation of images in [-1, 1] (pix2pix, CycleGAN's ``direction``,
        super-resolution, ESRGAN's ``alpha``); the weights are untouched."""
        self._check_translates()
        accepted = list(inspect.signature(self.family.translate).parameters)[3:]
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            raise ConfigError(f"{self.family.name} has no option {', '.join(unknown)} when translating "
                              f"(it takes {', '.join(accepted) or 'none'}): direction is CycleGAN's, alpha ESRGAN's")
        return self.family.translate(self.config, self.networks, x.to(self.device), **options)

    def translate_image(self, image: np.ndarray, *, tile: int | None = None, **options: Any) -> np.ndarray:
        """A uint8 (H, W, C) picture in, the translated uint8 picture out. Super-resolution runs tile
        by tile in bounded memory at any size up to the tiling limits; the translation families
        see the picture fitted to the square size they were trained at."""
        self._check_translates()
        image = _with_channels(np.asarray(image, dtype=np.uint8), self._input_channels(options))
        scale = self.family.tile_scale(self.config) if self.family.tile_scale is not None else 0
        if scale:
            return apply_tiled(lambda x: self.translate(x, **options), image, scale,
                               tile=tile or default_tile(self.device), device=self.device)
        size = self.config.image_size
        fitted = np.asarray(ImageOps.fit(Image.fromarray(image.squeeze(-1) if image.shape[-1] == 1 else image),
                                         (size, size), method=Image.Resampling.LANCZOS))
        x = torch.from_numpy(_with_channels(fitted, image.shape[-1]).transpose(2, 0, 1).copy())[None]
        out = self.translate(x.float() / 127.5 - 1, **options)[0]
        return ((out.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).cpu().numpy()

    def _check_translates(self) -> None:
        if self.family.translate is None:
            raise ConfigError(f"{self.family.name} does not translate images; the translating families "
                              f"are pix2pix, cyclegan, srgan and esrgan")

    def _input_channels(self, options: dict[str, Any]) -> int:
        config = self.config
        if hasattr(config, "in_channels"):
            return config.in_channels
        if hasattr(config, "channels_a"):
            return config.channels_a if options.get("direction", "a_to_b") == "a_to_b" else config.channels_b
        return config.channels

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
