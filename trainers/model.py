"""A trained (or untrained) model: its family, typed config and networks, with
``save_pretrained`` / ``from_pretrained`` that rebuild it from its folder alone."""

from __future__ import annotations

import inspect
import numbers
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps
from torch import Tensor, nn

from . import __version__
from .checkpoint import (CONFIG_FILE, FORMAT_VERSION, PICKLE_REFUSAL, PICKLE_SUFFIXES, WEIGHTS_FILE,
                         _plain_state_dict, read_json, read_tensors, recover_interrupted_write,
                         write_folder_atomically)
from .config import from_dict, to_dict
from .data.folder import over_white
from .data.base import from_pixels, to_pixels
from .device import resolve_device
from .errors import CheckpointError, ConfigError
from .family import FamilySpec
from .registry import get_family
from .seeding import global_rng_lock
from .settings import ON_WORDS
from .tiling import apply_tiled, default_tile


def with_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """(H, W) or (H, W, C) uint8 -> (H, W, channels): grey to RGB by copying, RGB to grey by luma,
    transparency composited over white (as a viewer shows it)."""
    if image.ndim == 2:
        image = image[:, :, None]
    if image.shape[-1] == 4:
        image = over_white(image)
    if image.shape[-1] == channels:
        return image
    if channels == 3:
        return np.repeat(image[:, :, :1], 3, axis=-1)
    return np.asarray(Image.fromarray(image).convert("L"))[:, :, None]


#: What a Hub repo id looks like (owner/name), as opposed to a local path.
HUB_REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


def checkpoint_folder(name: str | Path) -> Path:
    """A local checkpoint folder for ``name``: the folder itself, a shipped checkpoint by name, or a
    Hub repo's files (config.json, model.safetensors and the card) fetched into the Hub cache."""
    from .pretrained import is_pretrained, pretrained_path

    if not isinstance(name, (str, os.PathLike)):
        raise CheckpointError(f"a checkpoint is a folder, a shipped name or a Hub repo id; got {name!r}")
    root = Path(name)
    recover_interrupted_write(root)  # a save killed midway: the previous checkpoint takes the name back
    if root.is_dir():
        return root
    if not root.exists() and re.fullmatch(r"\w[\w-]*", str(name)) and is_pretrained(str(name)):
        return pretrained_path(str(name))
    if root.is_file() and root.suffix.lower() in PICKLE_SUFFIXES:
        raise CheckpointError(f"{root} is a pickle-based PyTorch file, not a checkpoint folder: {PICKLE_REFUSAL}")
    if root.exists() or not HUB_REPO_ID.fullmatch(str(name)):
        raise CheckpointError(f"{root} is not a checkpoint folder")
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise CheckpointError(f"{name} is not a local folder; reading a Hub repo needs huggingface_hub "
                              f"(pip install huggingface_hub)") from None
    try:
        return Path(snapshot_download(str(name), allow_patterns=[CONFIG_FILE, WEIGHTS_FILE, "README.md"]))
    except Exception as error:  # offline, no such repo, no access: all say the same to a person
        offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ON_WORDS
        offline = " (HF_HUB_OFFLINE is set, so the Hub is not asked)" if offline else ""
        raise CheckpointError(f"{name} is not a local folder, and the Hugging Face Hub could not give it{offline}: "
                              f"{type(error).__name__}") from None


#: Networks only training needs (by a word of their name): an inference checkpoint leaves them out.
TRAINING_ONLY_NETWORKS = ("discriminator", "critic", "pool")


def inference_networks(networks: nn.ModuleDict) -> list[str]:
    """The networks sampling, encoding and translating use: all but the discriminators, critics and
    CycleGAN's image pools (``discriminator_a``, AAE's ``latent_discriminator``, ...). A model that
    is a discriminator alone (a classifier) keeps it."""
    kept = [name for name in networks if not any(word in name for word in TRAINING_ONLY_NETWORKS)]
    return kept or list(networks)


class GANModel:
    """Networks plus the config that built them. Sampling never changes the weights."""

    def __init__(self, family: FamilySpec, config: Any, networks: nn.ModuleDict | None = None,
                 device: str | torch.device = "cpu"):
        self.family = family
        self.config = config
        self.device = torch.device(device)
        if networks is None:
            with global_rng_lock:  # its initial weights must not interleave with a seeded draw elsewhere
                networks = family.build(config)
        self.networks = networks.to(self.device)
        self.stored_networks = tuple(self.networks)

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
        for name, value in (("number of samples", n), ("seed", seed)):
            if not isinstance(value, numbers.Integral) or isinstance(value, bool):
                raise ConfigError(f"{name} must be a whole number, not {value!r}")
        n, seed = int(n), int(seed)  # numpy's integers too, which torch's generator refuses
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
        shape = tuple(getattr(self.config, key, None) for key in ("channels", "image_size", "image_size"))
        expected = f"(B, {shape[0]}, {shape[1]}, {shape[2]})" if None not in shape else "(B, C, H, W)"
        if not isinstance(x, Tensor) or not x.is_floating_point():
            kind = f"a {x.dtype} tensor" if isinstance(x, Tensor) else f"a {type(x).__name__}"
            raise ConfigError(f"{what} takes a float tensor of images in [-1, 1], {expected}; got {kind} "
                              f"(trainers.data.base.from_pixels scales uint8 pixels)")
        if None not in shape and (x.dim() != 4 or tuple(x.shape[1:]) != shape):
            raise ConfigError(f"{what} takes images shaped {expected} (the data it was trained on); "
                              f"got {tuple(x.shape)}")
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
        image = with_channels(np.asarray(image, dtype=np.uint8), self._input_channels(options))
        scale = self.family.tile_scale(self.config) if self.family.tile_scale is not None else 0
        if tile is not None and not scale:
            raise ConfigError(f"tile: only super-resolution works tile by tile; {self.family.name} sees the whole "
                              f"picture, fitted to the size it was trained at")
        if scale:
            return apply_tiled(lambda x: self.translate(x, **options), image, scale,
                               tile=default_tile(self.device) if tile is None else tile, device=self.device)
        size = self.config.image_size
        fitted = np.asarray(ImageOps.fit(Image.fromarray(image.squeeze(-1) if image.shape[-1] == 1 else image),
                                         (size, size), method=Image.Resampling.LANCZOS))
        x = torch.from_numpy(with_channels(fitted, image.shape[-1]).transpose(2, 0, 1).copy())[None]
        out = self.translate(from_pixels(x), **options)[0]
        return to_pixels(out).permute(1, 2, 0).cpu().numpy()

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

    def save_pretrained(self, folder: str | Path, extra_files: dict[str, Any] | None = None, *,
                        inference_only: bool = False, half: bool = False) -> Path:
        """Write config.json + model.safetensors (+ ``extra_files``) as a folder `from_pretrained` rebuilds.

        ``inference_only`` leaves out the networks only training needs (discriminators and
        critics: see `inference_networks`); ``half`` stores floating-point weights in float16
        (loading casts them back to float32). config.json records both under ``"weights"``, so a
        loader knows what to expect and a trainer knows it is not resuming a full model.
        """
        kept = inference_networks(self.networks) if inference_only else list(self.networks)
        state = {key: value for key, value in self.networks.state_dict().items() if key.split(".", 1)[0] in kept}
        if half:
            state = {key: value.half() if value.is_floating_point() else value for key, value in state.items()}
        files: dict[str, Any] = {WEIGHTS_FILE: _plain_state_dict(state)}
        files.update(extra_files or {})
        meta = self.config_json()
        if inference_only or half:
            meta["weights"] = {"networks": kept, "dtype": "float16" if half else "float32"}
        files[CONFIG_FILE] = {**(files.get(CONFIG_FILE) or {}), **meta}  # extra keys (how it was trained) kept
        return write_folder_atomically(folder, files)

    def push_to_hub(self, repo_id: str, *, token: str | None = None, private: bool = False,
                    inference_only: bool = False, half: bool = False, card: str | None = None) -> str:
        """Upload this model as a Hugging Face Hub model repo in the same folder format (config.json
        + model.safetensors, + README.md when ``card`` is given); returns the repo's URL. Needs a
        token with write access (``token=`` or ``huggingface-cli login``) and a network."""
        import tempfile

        from huggingface_hub import HfApi

        api = HfApi(token=token)
        with tempfile.TemporaryDirectory() as staging:
            folder = self.save_pretrained(Path(staging) / "model", {"README.md": card} if card else None,
                                          inference_only=inference_only, half=half)
            url = api.create_repo(repo_id, private=private, exist_ok=True)
            api.upload_folder(repo_id=repo_id, folder_path=str(folder), commit_message="Upload GAN Playground model")
        return str(url)

    @classmethod
    def from_pretrained(cls, folder: str | Path, device: str = "cpu") -> "GANModel":
        """Rebuild a model from a folder written by `save_pretrained`, a shipped checkpoint's name
        (``dcgan_mnist``), or a Hugging Face Hub repo id (``owner/name``: only its config.json and
        model.safetensors are fetched, so nothing executable ever is)."""
        root = checkpoint_folder(folder)
        meta = read_json(root / CONFIG_FILE)
        if meta.get("format_version") != FORMAT_VERSION or "family" not in meta:
            raise CheckpointError(f"{root / CONFIG_FILE} was not written by this library (format "
                                  f"{meta.get('format_version')!r}, expected {FORMAT_VERSION})")
        spec = get_family(str(meta["family"]))
        if not isinstance(meta.get("config") or {}, dict):
            raise CheckpointError(f"{root / CONFIG_FILE}: \"config\" should be a mapping of config values")
        config = from_dict(spec.config_cls, meta.get("config") or {})
        model = cls(spec, config, device=resolve_device(device))
        stored = meta.get("weights") or {}
        listed = stored.get("networks", list(model.networks)) if isinstance(stored, dict) else None
        if not isinstance(listed, list) or not all(isinstance(name, str) for name in listed) \
                or not set(listed) <= set(model.networks):
            raise CheckpointError(f"{root / CONFIG_FILE}: \"weights\" lists networks {listed!r}; "
                                  f"{spec.name} has {', '.join(model.networks)}")
        weights = read_tensors(root / WEIGHTS_FILE, model.device)
        own = model.networks.state_dict()
        # every tensor is checked against the networks' own before any is loaded
        wrong = [f"{key} {tuple(value.shape)} (the config makes {tuple(own[key].shape)})"
                 for key, value in weights.items() if key in own and value.shape != own[key].shape]
        unexpected = [key for key in weights if key not in own]
        missing = [key for key in own if key not in weights and key.split(".", 1)[0] in listed]
        if wrong or missing or unexpected:
            found = [f"{what} {', '.join(keys[:3])}" for what, keys in
                     (("wrong shapes:", wrong), ("missing", missing), ("unexpected", unexpected)) if keys]
            raise CheckpointError(f"{root / WEIGHTS_FILE} does not match its config: {'; '.join(found)}")
        # a run that diverged is never saved (the engine keeps the last good checkpoint), so these are damage
        broken = [key for key, value in weights.items()
                  if value.is_floating_point() and not torch.isfinite(value).all()]
        if broken:
            raise CheckpointError(f"{root / WEIGHTS_FILE} holds NaN or infinite weights ({', '.join(broken[:3])}): "
                                  f"it would draw noise; use an earlier checkpoint")
        # float16 storage comes back as the networks' own dtype
        model.networks.load_state_dict({key: value.to(own[key].dtype) if value.is_floating_point() else value
                                        for key, value in weights.items()}, strict=False)
        model.stored_networks = tuple(listed)  # the others keep their initial weights
        return model
