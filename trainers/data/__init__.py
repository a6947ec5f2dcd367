"""Datasets by name.

``load_dataset("mnist")`` returns an in-memory :class:`Dataset`: images as uint8 (N, C, H, W)
scaled to [-1, 1] per batch, points as float32 (N, D) in about [-1, 1], labels where they exist.
``folder:PATH`` loads a person's own images from a folder or zip, ``inpaint:IMAGE:MASK`` one
image with holes (see :mod:`.pairs` for the image-to-image datasets).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import DatasetUnavailable
from . import toys
from .base import Dataset, EpochSampler
from .folder import celeba_folder, celeba_missing_message, load_celeba, load_folder, missing_folder_message
from .pairs import (FACADES_FILE, INPAINT_IMAGES, INPAINT_MASKS, INPAINT_MAX_SIDE, SR_FILE, load_facades,
                    load_inpainting, load_mnist_colorized, load_mnist_edges, load_sr_natural)
from .images import (default_data_dir, downloads_allowed, find_standard, load_digits_8x8, load_standard,
                     missing_message, resize_images)

FOLDER_PREFIX = "folder:"
INPAINT_PREFIX = "inpaint:"


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    kind: str  # "points", "image", "pairs" or "unpaired" (see Dataset.kind)
    description: str
    #: (data_dir, split, image_size) -> Dataset
    loader: Callable[[Path, str, int | None], Dataset]
    needs_files: bool
    #: the file in the data folder it reads, when that is not one of the standard sets
    file: str = ""


def _toy(factory: Callable[[], Dataset]) -> Callable[[Path, str, int | None], Dataset]:
    return lambda data_dir, split, size: factory()


def _standard(name: str) -> Callable[[Path, str, int | None], Dataset]:
    return lambda data_dir, split, size: load_standard(name, data_dir, split)


DATASETS: dict[str, DatasetInfo] = {
    info.name: info for info in (
        DatasetInfo("gaussian-1d", "points", "1-D bimodal Gaussian mixture", _toy(toys.gaussian_1d), False),
        DatasetInfo("ring", "points", "8 Gaussians on a ring", _toy(toys.ring), False),
        DatasetInfo("grid", "points", "25 Gaussians on a 5x5 grid", _toy(toys.grid), False),
        DatasetInfo("spiral", "points", "a 2-D spiral", _toy(toys.spiral), False),
        DatasetInfo("two-moons", "points", "two interleaved half circles", _toy(toys.two_moons), False),
        DatasetInfo("digits", "image", "scikit-learn 8x8 digits (offline)",
                    lambda d, split, size: load_digits_8x8(split), False),
        DatasetInfo("mnist", "image", "MNIST 28x28 handwritten digits", _standard("mnist"), True),
        DatasetInfo("fashion-mnist", "image", "Fashion-MNIST 28x28 clothing", _standard("fashion-mnist"), True),
        DatasetInfo("cifar10", "image", "CIFAR-10 32x32 colour images", _standard("cifar10"), True),
        DatasetInfo("celeba", "image", "CelebA faces, centre-cropped to 64x64",
                    lambda d, split, size: load_celeba(d, split, size or 64), True),
        DatasetInfo("facades", "pairs", "pix2pix facades, label map -> photo, 128x128",
                    lambda d, split, size: load_facades(d, split), True, FACADES_FILE),
        DatasetInfo("facades-unpaired", "unpaired", "facades label maps <-> photos, shuffled (unpaired)",
                    lambda d, split, size: load_facades(d, split, unpaired=True), True, FACADES_FILE),
        DatasetInfo("mnist-edges", "pairs", "MNIST 32x32, digit outline -> digit in its class colour",
                    lambda d, split, size: load_mnist_edges(d, split), True, "mnist.npz"),
        DatasetInfo("mnist-colorized", "unpaired", "MNIST 32x32 grey <-> coloured digits (unpaired)",
                    lambda d, split, size: load_mnist_colorized(d, split), True, "mnist.npz"),
        DatasetInfo("sr-natural", "image", "96x96 crops of CBSD68, facades photos and scikit-image photos "
                    "(for super-resolution)", lambda d, split, size: load_sr_natural(d, split), True, SR_FILE),
    )
}


def list_datasets(kind: str | None = None) -> list[str]:
    """Registered names (``folder:PATH`` is accepted too but not listed)."""
    return [n for n, info in DATASETS.items() if kind is None or info.kind == kind]


def inpainting_choices() -> list[str]:
    """The built-in ``inpaint:IMAGE:MASK`` datasets: each scikit-image picture under each mask."""
    return [f"{INPAINT_PREFIX}{image}:{mask}" for image in INPAINT_IMAGES for mask in INPAINT_MASKS]


def dataset_kind(name: str) -> str:
    if name.startswith(FOLDER_PREFIX):
        return "image"
    if name.startswith(toys.DRAWN_PREFIX):
        return "points"
    if name.startswith(INPAINT_PREFIX):
        return "masked"
    if name not in DATASETS:
        raise DatasetUnavailable(
            f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}, folder:PATH, "
            f"inpaint:IMAGE:MASK or drawn:x,y;x,y;...")
    return DATASETS[name].kind


def dataset_paths(name: str) -> list[Path]:
    """The files or folders on this machine that dataset ``name`` reads because the name says so
    (``folder:PATH``, ``inpaint:IMAGE:MASK`` with file paths); none for built-in datasets, which
    come from the data folder the operator set."""
    if name.startswith(FOLDER_PREFIX):
        return [Path(name[len(FOLDER_PREFIX):]).expanduser()]
    if name.startswith(INPAINT_PREFIX):
        image, _, mask = name[len(INPAINT_PREFIX):].rpartition(":")
        return [Path(part).expanduser() for part, built_in in ((image, INPAINT_IMAGES), (mask, INPAINT_MASKS))
                if part and part not in built_in]
    return []


def load_dataset(name: str, data_dir: str | Path | None = None, split: str = "train",
                 image_size: int | None = None) -> Dataset:
    """Load a dataset by name; a missing file raises :class:`DatasetUnavailable` saying where it looked.

    ``image_size`` resizes image datasets (default: the dataset's own size; 64 for folders).
    """
    if split not in ("train", "test"):
        raise DatasetUnavailable(f"split must be 'train' or 'test', not {split!r}")
    if name.startswith(FOLDER_PREFIX):
        return load_folder(name[len(FOLDER_PREFIX):], image_size or 64)
    if name.startswith(toys.DRAWN_PREFIX):  # the points are in the name: nothing to read
        try:
            return toys.drawn(toys.parse_drawn(name[len(toys.DRAWN_PREFIX):]))
        except ValueError as error:
            raise DatasetUnavailable(str(error)) from None
    if name.startswith(INPAINT_PREFIX):  # image_size caps the longer side
        return load_inpainting(name[len(INPAINT_PREFIX):], image_size or INPAINT_MAX_SIDE)
    dataset_kind(name)  # raises on an unknown name
    root = Path(data_dir).expanduser() if data_dir else default_data_dir()
    dataset = DATASETS[name].loader(root, split, image_size)
    if image_size and dataset.kind != "points" and dataset.data.shape[-1] != image_size:
        dataset = dataclasses.replace(
            dataset, data=resize_images(dataset.data, image_size),
            sources=None if dataset.sources is None else resize_images(dataset.sources, image_size))
    return dataset


def dataset_status(name: str, data_dir: str | Path | None = None) -> tuple[bool, str]:
    """Whether ``name`` can be loaded now, and a sentence for the UI (how to get it if not).

    Looks for the files without reading them, so it is cheap enough for a dropdown's change.
    """
    if name.startswith(FOLDER_PREFIX):
        problem = missing_folder_message(name[len(FOLDER_PREFIX):])
        return (False, problem) if problem else (True, f"your images in {Path(name[len(FOLDER_PREFIX):]).expanduser()}")
    if name.startswith(INPAINT_PREFIX):
        return True, "one image with holes, fitted by deep image prior"
    try:
        info = DATASETS[name]
    except KeyError:
        return False, f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)} or folder:PATH"
    root = Path(data_dir).expanduser() if data_dir else default_data_dir()
    if name == "celeba":
        found = celeba_folder(root)
        return (True, f"{info.description}: {found}") if found.is_dir() else (False, celeba_missing_message(root))
    if not info.needs_files:
        return True, info.description
    if info.file:
        found_file = root / info.file
        return ((True, f"{info.description}: {found_file}") if found_file.is_file() else
                (False, f"{info.file} is not in {root}: put it there, or set GAN_DATA_DIR to the folder "
                        f"that holds it"))
    found = find_standard(name, root)
    if found is not None:
        return True, f"{info.description}: {found}"
    if downloads_allowed():
        return True, f"{info.description}: not in {root}; torchvision will try to download it on first use"
    return False, missing_message(name, root)


__all__ = ["DATASETS", "INPAINT_PREFIX", "Dataset", "DatasetInfo", "EpochSampler", "dataset_kind", "dataset_status",
           "inpainting_choices", "list_datasets", "load_dataset"]
