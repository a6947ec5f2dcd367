"""Feature networks for the sample-quality metrics, and a disk cache of real images' features.

A :class:`FeatureNetwork` maps images in [-1, 1] to (features, logits). Two kinds:

- ``inception_v3``: FID's standard network (the TF 2015-12-05 graph as torch-fidelity ports it,
  used through torchmetrics), when ``torch-fidelity`` is installed and its weights are in torch
  hub's cache or can be downloaded. Otherwise :class:`MetricUnavailable` says what is missing;
  no other network ever reports under its name.
- ``<dataset>_cnn``: the project's own domain classifiers (``pretrained/mnist_cnn``, ...; see
  :mod:`trainers.models.domain_classifier`), which work offline and cost a CPU a few MFLOPs an
  image. Metrics from them carry their name (``fid_mnist_cnn``).

Real features are computed once per (images, network) and kept in ``$GAN_CACHE_DIR/features``
(default ``~/.cache/gan-playground/features``), keyed by a hash of the images' bytes and of the
network's weights, so a second evaluation does not recompute them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor

from ..checkpoint import WEIGHTS_FILE
from ..data.base import from_pixels, to_pixels
from ..data.images import downloads_allowed
from ..errors import PlaygroundError
from ..pretrained import pretrained_path

INCEPTION = "inception_v3"
#: torch-fidelity's port of the TF Inception graph that FID was defined with; torch hub names
#: the cached file after this URL and checks its SHA-256 starts with the hex in the name
INCEPTION_URL = ("https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
                 "weights-inception-2015-12-05-6726825d.pth")
INCEPTION_HASH_PREFIX = "6726825d"
_LOAD_LOCK = threading.Lock()


class MetricUnavailable(PlaygroundError):
    """A metric's feature network cannot be had here (no weights offline, no classifier for a
    dataset); the message says what would make it available."""


@dataclass(frozen=True)
class FeatureNetwork:
    """images in [-1, 1] (B, C, H, W) -> (features (B, d), logits (B, K)), on CPU in float32."""

    name: str
    description: str
    #: embed(images on the network's device) -> (features, logits)
    embed: Callable[[Tensor], tuple[Tensor, Tensor]]
    #: identifies the weights, for the feature cache
    fingerprint: str
    #: (C, H, W) it reads; other images are converted (channels) and resized to it first
    input_shape: tuple[int, int, int] | None
    device: torch.device
    class_names: tuple[str, ...] = ()
    #: (K, K) shares: row = true class, column = what the network reads, measured on a test split;
    #: class coverage undoes this confusion (None: taken as read)
    confusion: Tensor | None = None
    batch_size: int = 500

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @torch.no_grad()
    def __call__(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """(features, logits) of a batch of any size, computed ``batch_size`` at a time."""
        features, logits = [], []
        for start in range(0, len(images), self.batch_size):
            chunk = self.adapt(images[start:start + self.batch_size].to(self.device).float())
            f, lg = self.embed(chunk)
            features.append(f.float().cpu())
            logits.append(lg.float().cpu())
        if not features:
            raise ValueError("no images to embed")
        return torch.cat(features), torch.cat(logits)

    def adapt(self, images: Tensor) -> Tensor:
        """Convert channels (grey <-> RGB) and resize to the network's input, when it has a fixed one."""
        if self.input_shape is None:
            return images
        channels, height, width = self.input_shape
        if images.shape[1] != channels:
            images = images.expand(-1, 3, -1, -1) if channels == 3 else images.mean(1, keepdim=True)
        if tuple(images.shape[-2:]) != (height, width):
            images = F.interpolate(images, size=(height, width), mode="bilinear", align_corners=False,
                                   antialias=True).clamp(-1, 1)
        return images


# --------------------------------------------------------------------------- domain classifiers
def domain_network_name(dataset: str) -> str:
    """mnist -> mnist_cnn, fashion-mnist -> fashion_mnist_cnn."""
    return dataset.replace("-", "_") + "_cnn"


def domain_network(dataset: str, device: str | torch.device = "cpu") -> FeatureNetwork:
    """The project's classifier of ``dataset`` (``pretrained/<dataset>_cnn``)."""
    from ..data import DATASETS

    if dataset not in DATASETS:  # a folder:PATH of one's own has no shipped reader
        raise MetricUnavailable(f"no domain classifier for {dataset}: the shipped ones read mnist, fashion-mnist "
                                f"and cifar10; Inception-v3 judges any images when its weights are here")
    root = pretrained_path(domain_network_name(dataset))
    if not (root / WEIGHTS_FILE).is_file():
        raise MetricUnavailable(
            f"no domain classifier for {dataset}: {root} has no {WEIGHTS_FILE}. Make one with `python -m trainers "
            f"train --model domain-classifier --dataset {dataset} --out runs/c` and `python -m trainers export "
            f"--checkpoint runs/c --out {root}`; the shipped ones are mnist_cnn, fashion_mnist_cnn and cifar10_cnn")
    return _load_domain_network(dataset, str(root), str(device), (root / WEIGHTS_FILE).stat().st_mtime)


def _load_domain_network(dataset: str, folder: str, device: str, mtime: float) -> FeatureNetwork:
    """Built once per process (weights read-only in eval mode, their digest, the confusion
    matrix): every run's live metric and every evaluation share it. ``mtime`` is in the key so a
    replaced checkpoint is read again."""
    with _LOAD_LOCK:
        key = (folder, device, mtime)
        if key not in _DOMAIN_NETWORKS:
            from ..model import GANModel

            model = GANModel.from_pretrained(folder, device=device)
            if model.family.name != "domain-classifier":
                raise MetricUnavailable(f"{folder} is a {model.family.name} checkpoint, not a domain-classifier")
            model.networks.eval().requires_grad_(False)
            config, root = model.config, Path(folder)
            _DOMAIN_NETWORKS[key] = FeatureNetwork(
                name=domain_network_name(dataset), description=f"the project's {dataset} classifier ({folder})",
                embed=model.networks["classifier"].embed, fingerprint=_file_digest(root / WEIGHTS_FILE),
                device=model.device, input_shape=(config.channels, config.image_size, config.image_size),
                class_names=tuple(config.class_names) or tuple(str(i) for i in range(config.num_classes)),
                confusion=_measured_confusion(root, config.num_classes))
        return _DOMAIN_NETWORKS[key]


_DOMAIN_NETWORKS: dict[tuple[str, str, float], FeatureNetwork] = {}


def _measured_confusion(root: Path, classes: int) -> Tensor | None:
    """The row-normalised confusion matrix `python -m trainers export` stored with the classifier."""
    from ..checkpoint import read_json
    from ..errors import CheckpointError
    from ..pretrained import EVALUATION_FILE

    try:
        counts = torch.tensor(read_json(root / EVALUATION_FILE).get("confusion"), dtype=torch.float64)
    except (CheckpointError, TypeError, ValueError, RuntimeError):
        return None
    if counts.shape != (classes, classes) or (counts.sum(1) <= 0).any():
        return None
    return counts / counts.sum(1, keepdim=True)


# --------------------------------------------------------------------------- Inception
def inception_weights_path() -> Path:
    """Where torch hub keeps the FID Inception weights (``$TORCH_HOME/hub/checkpoints``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_URL.rsplit("/", 1)[1]


def inception_network(device: str | torch.device = "cpu") -> FeatureNetwork:
    """FID's Inception-v3 (2048 pool features, 1008 logits), or :class:`MetricUnavailable`."""
    try:
        from torchmetrics.image.fid import NoTrainInceptionV3
    except (ImportError, ModuleNotFoundError):
        raise MetricUnavailable("inception_v3: torch-fidelity is not installed (pip install torch-fidelity); "
                                "Inception metrics are unavailable, the domain classifiers' still work") from None
    path = inception_weights_path()
    if not path.is_file():
        if not downloads_allowed():
            raise MetricUnavailable(
                f"inception_v3: its weights are not at {path} and downloads are off (GAN_OFFLINE); put "
                f"{INCEPTION_URL} there to report Inception FID/KID/IS. Domain-classifier metrics still work")
        try:
            torch.hub.download_url_to_file(INCEPTION_URL, str(path), progress=False)
        except Exception as error:  # any network failure: say so, never substitute another network
            raise MetricUnavailable(f"inception_v3: could not download its weights ({error}); put {INCEPTION_URL} "
                                    f"at {path}. Domain-classifier metrics still work") from None
    digest = _file_digest(path)
    if not digest.startswith(INCEPTION_HASH_PREFIX):
        raise MetricUnavailable(f"inception_v3: {path} is not the published weights file (its SHA-256 starts "
                                f"{digest[:8]}, not {INCEPTION_HASH_PREFIX}); delete it and fetch {INCEPTION_URL}")
    with _LOAD_LOCK, _weights_only_loading():
        network = NoTrainInceptionV3(name="inception-v3-compat", features_list=["2048", "logits_unbiased"],
                                     feature_extractor_weights_path=str(path)).to(device)

    def embed(images: Tensor) -> tuple[Tensor, Tensor]:
        features, logits = network(to_pixels(images))  # torch-fidelity reads uint8
        return features, logits

    return FeatureNetwork(name=INCEPTION, description="Inception-v3 (FID's TF 2015-12-05 weights, via torch-fidelity)",
                          embed=embed, fingerprint=digest, input_shape=None, device=torch.device(device),
                          class_names=tuple(str(i) for i in range(1008)), batch_size=100)


#: one load at a time under the setting below: a second thread's restore must not lift it from under the first
_WEIGHTS_ONLY_LOCK = threading.Lock()


@contextlib.contextmanager
def _weights_only_loading():
    """torch-fidelity reads its .pth with a full unpickler; force torch's tensors-only loader so the
    file can hold weights and nothing that runs."""
    with _WEIGHTS_ONLY_LOCK:
        previous = os.environ.get("TORCH_FORCE_WEIGHTS_ONLY_LOAD")
        os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = "1"
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop("TORCH_FORCE_WEIGHTS_ONLY_LOAD", None)
            else:
                os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = previous


def feature_networks(dataset: str | None, device: str | torch.device = "cpu",
                     include_inception: bool = True) -> tuple[list[FeatureNetwork], dict[str, str]]:
    """The networks that can judge samples of ``dataset``: its domain classifier, then Inception.
    Returns (available networks, {name: why unavailable})."""
    available, missing = [], {}
    candidates: list[tuple[str, Callable[[], FeatureNetwork]]] = []
    if dataset:
        candidates.append((domain_network_name(dataset), lambda: domain_network(dataset, device)))
    if include_inception:
        candidates.append((INCEPTION, lambda: inception_network(device)))
    for name, load in candidates:
        try:
            available.append(load())
        except MetricUnavailable as why:
            missing[name] = str(why)
    return available, missing


# --------------------------------------------------------------------------- the real-feature cache
def cache_dir() -> Path:
    configured = os.environ.get("GAN_CACHE_DIR")
    root = Path(configured).expanduser() if configured else Path.home() / ".cache" / "gan-playground"
    return root / "features"


def real_features(network: FeatureNetwork, images: Tensor, *, cache: bool = True) -> tuple[Tensor, Tensor]:
    """(features, logits) of real uint8 (or float) images, from the disk cache when it has them."""
    digest = hashlib.sha256()
    digest.update(network.fingerprint.encode())
    digest.update(str(tuple(images.shape)).encode() + str(images.dtype).encode())
    digest.update(images.contiguous().numpy().tobytes())
    path = cache_dir() / f"{network.name}-{digest.hexdigest()[:24]}.safetensors"
    if cache and path.is_file():
        try:
            stored = load_file(str(path))
            return stored["features"], stored["logits"]
        except (SafetensorError, OSError, KeyError, ValueError):
            pass  # a damaged cache file is recomputed and rewritten
    as_float = from_pixels(images) if images.dtype == torch.uint8 else images
    features, logits = network(as_float)
    if cache:
        partial = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            save_file({"features": features.contiguous(), "logits": logits.contiguous()}, str(partial))
            os.replace(partial, path)
        except (OSError, SafetensorError):
            # only a cache: one that cannot be written (a read-only home, a file in its way) costs
            # the computation next time, not the evaluation
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
    return features, logits


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
