"""Image datasets from local files: the project's ``.npz`` archives, torchvision's own files, or
torchvision's download when a file is missing and the network answers.

Every loader returns uint8 (N, C, H, W) in memory. Loading is cached per process, so the 60,000
MNIST images are decoded once however many runs use them.
"""

from __future__ import annotations

import functools
import os
import socket
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import DatasetUnavailable
from ..settings import switch_setting
from .base import Dataset

MNIST_CLASSES = tuple(str(i) for i in range(10))
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")


def default_data_dir() -> Path:
    """The data folder: ``$GAN_DATA_DIR`` if set, else ``./data``."""
    return Path(os.environ.get("GAN_DATA_DIR") or "data").expanduser()


def downloads_allowed() -> bool:
    """False when ``GAN_OFFLINE`` is on (tests, air-gapped Spaces): never touch the network."""
    return not switch_setting("GAN_OFFLINE")


def _to_nchw(images: np.ndarray) -> torch.Tensor:
    array = np.ascontiguousarray(images, dtype=np.uint8)
    if array.ndim == 3:  # N, H, W grayscale
        array = array[:, None]
    elif array.ndim == 4 and array.shape[-1] in (1, 3):  # N, H, W, C
        array = array.transpose(0, 3, 1, 2)
    return torch.from_numpy(np.ascontiguousarray(array))


@functools.lru_cache(maxsize=16)
def _read_npz(path: str, mtime: float, split: str) -> tuple[torch.Tensor, torch.Tensor | None]:
    # mtime is part of the cache key so a replaced file is read again.
    try:
        archive = np.load(path, allow_pickle=False)
        if not hasattr(archive, "files"):  # a bare .npy array, not an archive
            raise ValueError("a single array, not an .npz archive")
        with archive:
            key = f"x_{split}"
            if key not in archive:
                raise DatasetUnavailable(f"{path} has no array {key!r} (it has {', '.join(archive.files)})")
            images = _to_nchw(archive[key])
            labels = archive[f"y_{split}"] if f"y_{split}" in archive else None
    except DatasetUnavailable:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        # a truncated download or some other file under the expected name
        raise DatasetUnavailable(f"{path} is not a readable .npz archive ({error}); replace it or "
                                 f"delete it") from None
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise DatasetUnavailable(f"{path}: x_{split} has shape {tuple(images.shape)}; expected "
                                 f"N x H x W or N x H x W x C images")
    if labels is not None and len(labels) != len(images):
        raise DatasetUnavailable(f"{path}: y_{split} has {len(labels)} labels for {len(images)} images")
    return images, (torch.from_numpy(labels.astype(np.int64)) if labels is not None else None)


def _try_torchvision(factory: Callable[[bool], object], *, download: bool) -> tuple[np.ndarray, np.ndarray] | None:
    """Load a torchvision dataset object; returns (images, labels) arrays or None if absent."""
    try:
        if download:
            previous = socket.getdefaulttimeout()
            socket.setdefaulttimeout(20)  # a silent network must not hang the app
            try:
                dataset = factory(True)
            finally:
                socket.setdefaulttimeout(previous)
        else:
            dataset = factory(False)
    except (RuntimeError, OSError, ValueError):
        return None
    images = np.asarray(getattr(dataset, "data"))
    labels = np.asarray(getattr(dataset, "targets"))
    return images, labels


@functools.lru_cache(maxsize=16)
def _read_torchvision(kind: str, root: str, split: str, download: bool):
    import torchvision.datasets as tvd

    train = split == "train"
    constructors = {
        "mnist": lambda d: tvd.MNIST(root, train=train, download=d),
        "fashion-mnist": lambda d: tvd.FashionMNIST(root, train=train, download=d),
        "cifar10": lambda d: tvd.CIFAR10(root, train=train, download=d),
    }
    result = _try_torchvision(constructors[kind], download=False)
    if result is None and download:
        result = _try_torchvision(constructors[kind], download=True)
    if result is None:
        return None
    images, labels = result
    return _to_nchw(images), torch.from_numpy(labels.astype(np.int64))


# name -> (npz file names to look for, torchvision folder to look for, classes)
_SOURCES = {
    "mnist": (("mnist.npz",), "MNIST/raw", MNIST_CLASSES),
    "fashion-mnist": (("fashion_mnist.npz", "fashion-mnist.npz"), "FashionMNIST/raw", FASHION_CLASSES),
    "cifar10": (("cifar10.npz", "cifar10_subset.npz"), "cifar-10-batches-py", CIFAR10_CLASSES),
}


def find_standard(name: str, data_dir: Path) -> Path | None:
    """The local file (an .npz) or torchvision folder that holds ``name``, without reading it."""
    npz_names, tv_folder, _ = _SOURCES[name]
    for file_name in npz_names:
        if (data_dir / file_name).is_file():
            return data_dir / file_name
    folder = data_dir / tv_folder
    # a failed download leaves an empty folder behind: that is not the dataset
    return folder if folder.is_dir() and any(folder.iterdir()) else None


def missing_message(name: str, data_dir: Path) -> str:
    """What a person reads when ``name`` is not in ``data_dir``: where we looked, how to fix it."""
    npz_names, tv_folder, _ = _SOURCES[name]
    looked = " or ".join(str(data_dir / n) for n in npz_names)
    hint = ("downloads are switched off (GAN_OFFLINE is set)" if not downloads_allowed()
            else "and torchvision's download failed (no network?)")
    return (f"Dataset {name!r} is not available: looked for {looked} and torchvision's files in "
            f"{data_dir / tv_folder}, {hint}. Put the file there, or set GAN_DATA_DIR to the folder "
            f"that holds it.")


def load_standard(name: str, data_dir: Path, split: str = "train") -> Dataset:
    """MNIST, Fashion-MNIST or CIFAR-10 from ``data_dir``; download only when allowed and needed."""
    classes = _SOURCES[name][2]
    found = find_standard(name, data_dir)
    if found is not None and found.suffix == ".npz":
        images, labels = _read_npz(str(found.resolve()), found.stat().st_mtime, split)
        return Dataset(name, images, labels, classes, description=f"{name} ({split}) from {found}")
    loaded = _read_torchvision(name, str(data_dir), split, downloads_allowed())
    if loaded is not None:
        images, labels = loaded
        return Dataset(name, images, labels, classes, description=f"{name} ({split}) from torchvision files")
    raise DatasetUnavailable(missing_message(name, data_dir))


def load_digits_8x8(split: str = "train") -> Dataset:
    """scikit-learn's 1,797 8x8 handwritten digits: ships with the package, works offline.

    There is no official split; the last 297 images form the test split.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.clip(bunch.images * (255.0 / 16.0), 0, 255).round().astype(np.uint8)
    labels = bunch.target.astype(np.int64)
    cut = 1500
    sl = slice(0, cut) if split == "train" else slice(cut, None)
    return Dataset("digits", _to_nchw(images[sl]), torch.from_numpy(labels[sl]), MNIST_CLASSES,
                   description="scikit-learn 8x8 digits")


def resize_images(images: torch.Tensor, size: int) -> torch.Tensor:
    """Resize uint8 (N, C, H, W) to size x size with antialiasing, in chunks to bound memory."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    out = []
    for chunk in images.split(2048):
        resized = F.interpolate(chunk.float(), size=(size, size), mode="bilinear",
                                antialias=True, align_corners=False)
        out.append(resized.round_().clamp_(0, 255).to(torch.uint8))
    return torch.cat(out)
