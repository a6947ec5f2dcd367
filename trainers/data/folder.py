"""A person's own images: a folder or a zip of images, validated, resized and centre-cropped.

Unreadable or oversized files are skipped and counted, never fatal; sub-folders become class
labels (the ImageFolder convention). Limits bound memory and time for hostile uploads.
"""

from __future__ import annotations

import functools
import io
import re
import zipfile
import zlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from ..errors import DatasetUnavailable
from .base import Dataset

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
MAX_IMAGES = 20_000
MAX_FILE_BYTES = 20 * 1024 * 1024
#: Refuse decompression bombs: PIL raises above this many pixels.
MAX_PIXELS = 40_000_000


#: grey modes wider than 8 bits: 16-bit, 32-bit signed and 32-bit floating point
WIDE_GREY_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")


def grey_as_8_bit(values: np.ndarray) -> np.ndarray:
    """Wide grey values as uint8, the way a viewer shows them: 0..255 as they are, 16-bit values
    by their top 8 bits, floating point from 0 to 1 times 255, and anything else (negative
    values, 32-bit ranges) stretched from its darkest to its lightest value. A plain conversion
    clips at 255, so a 16-bit or 32-bit picture would train or translate as a white square."""
    floating = np.issubdtype(values.dtype, np.floating)
    values = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if floating and 0 <= low and high <= 1:
        values = values * 255
    elif 0 <= low and high <= 255:
        pass
    elif 0 <= low and high <= 65535 and not floating:
        values = np.floor(values / 256)
    else:
        values = (values - low) * (255 / (high - low))
    return values.round().clip(0, 255).astype(np.uint8)


def over_white(rgba: np.ndarray) -> np.ndarray:
    """(H, W, 4) uint8 composited over white, as (H, W, 3): what a viewer shows of a transparent
    picture (a plain conversion keeps whatever colour the hidden pixels happen to hold)."""
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    return (rgba[..., :3] * alpha + 255.0 * (1 - alpha)).round().astype(np.uint8)


def rgb_picture(image: Image.Image) -> Image.Image:
    """An opened picture as 8-bit RGB as a viewer shows it: wide grey by :func:`grey_as_8_bit`,
    transparency composited over white, palette, CMYK and the rest by Pillow's conversion."""
    if image.mode in WIDE_GREY_MODES:
        image = Image.fromarray(grey_as_8_bit(np.asarray(image)))
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info:
        return Image.fromarray(over_white(np.asarray(image.convert("RGBA"))))
    return image.convert("RGB")


def _square_rgb(image: Image.Image, size: int) -> np.ndarray:
    """Resize the shorter side to ``size`` and centre-crop to a square, as RGB uint8."""
    image = rgb_picture(ImageOps.exif_transpose(image))
    image = ImageOps.fit(image, (size, size), method=Image.Resampling.LANCZOS)
    return np.asarray(image, dtype=np.uint8)


class _TooLarge(Exception):
    pass


def _opened(data: bytes) -> Image.Image:
    """Decode ``data``, refusing more than MAX_PIXELS from the header, before any pixel is
    decoded. (PIL's own guard is a process-wide setting, and it only raises past twice its limit.)"""
    image = Image.open(io.BytesIO(data))
    if image.width * image.height > MAX_PIXELS:
        image.close()
        raise _TooLarge(f"{image.width}x{image.height}")
    image.load()
    return image


def _decode(data: bytes, size: int) -> np.ndarray | None:
    try:
        with _opened(data) as image:
            return _square_rgb(image, size)
    except Exception:  # PIL raises many types for broken files; every one means "skip it"
        return None


def read_image(data: bytes, what: str = "the upload") -> Image.Image:
    """Decode one image a person supplied, EXIF orientation applied; anything PIL cannot read, or
    an image over MAX_PIXELS, is a :class:`DatasetUnavailable` saying so."""
    try:
        with _opened(data) as image:
            return ImageOps.exif_transpose(image)
    except (_TooLarge, Image.DecompressionBombError) as error:
        raise DatasetUnavailable(f"{what} has more than {MAX_PIXELS:,} pixels ({error}): shrink it first") from None
    except Exception as error:  # PIL raises many types for broken files
        # PIL names the in-memory file it was handed (<_io.BytesIO object at 0x...>), not the person's
        detail = re.sub(r" ?<_io\.BytesIO object at 0x[0-9a-f]+>", "", str(error))
        raise DatasetUnavailable(f"{what} is not an image PIL can read ({type(error).__name__}: {detail})") from None


def _member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes | None:
    """One zip member's bytes, or None when it cannot be read (damaged, encrypted, an unknown
    compression): skipped and counted like any unreadable picture."""
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError, OSError, EOFError):
        return None


def _entries(path: Path):
    """Yield (relative name, bytes-or-None) for each candidate image in a folder or zip."""
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            if file.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            rel = file.relative_to(path).as_posix()
            yield rel, (file.read_bytes() if file.stat().st_size <= MAX_FILE_BYTES else None)
    else:
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as error:
            raise DatasetUnavailable(f"{path} is neither a folder nor a readable zip file ({error})") from None
        with archive:
            for info in sorted(archive.infolist(), key=lambda i: i.filename):
                name = info.filename
                if info.is_dir() or Path(name).suffix.lower() not in IMAGE_SUFFIXES or "__MACOSX" in name:
                    continue
                hostile = name.startswith("/") or ".." in name.split("/")  # names only label classes, but
                # a "../x" entry is a crafted archive: skipped and counted, not read
                fits = info.file_size <= MAX_FILE_BYTES and not hostile
                yield name, (_member(archive, info) if fits else None)


def forget_cached_folders() -> None:
    """Drop the folders kept in memory for the next run on them (up to four, each up to
    MAX_IMAGES pictures): a served app calls this when a visitor's uploads are deleted."""
    _load.cache_clear()


@functools.lru_cache(maxsize=4)
def _load(path: str, mtime: float, size: int) -> Dataset:
    root = Path(path)
    images, classes, skipped = [], [], 0
    for name, data in _entries(root):
        if len(images) >= MAX_IMAGES:
            break
        array = _decode(data, size) if data is not None else None
        if array is None:
            skipped += 1
            continue
        images.append(array)
        parts = name.split("/")
        classes.append(parts[-2] if len(parts) > 1 else "")
    if not images:
        raise DatasetUnavailable(
            f"No readable images in {path} ({skipped} file(s) skipped). Use PNG or JPEG files, "
            f"in a folder or a zip.")
    data = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
    names = sorted(set(classes))
    labels = None
    if len(names) > 1:
        index = {n: i for i, n in enumerate(names)}
        labels = torch.tensor([index[c] for c in classes], dtype=torch.long)
    return Dataset(f"folder:{path}", data, labels, tuple(names) if labels is not None else (),
                   skipped=skipped, description=f"{len(images)} images from {path}, {skipped} skipped")


def missing_folder_message(path: str | Path) -> str | None:
    """Why ``folder:PATH`` cannot be read before any file is opened (no path, or nothing there),
    or None: the one message both loading and the UI's dataset check give."""
    if not str(path).strip():  # Path("") is the working directory: never what was meant
        return "folder: give the folder or .zip of images after it, e.g. folder:~/pictures"
    root = Path(path).expanduser()
    return None if root.exists() else f"{root} does not exist: give a folder or a .zip of images"


def load_folder(path: str | Path, image_size: int = 64) -> Dataset:
    problem = missing_folder_message(path)
    if problem:
        raise DatasetUnavailable(problem)
    root = Path(path).expanduser()
    if not 8 <= image_size <= 256:
        raise DatasetUnavailable(f"image size {image_size} is outside [8, 256]")
    return _load(str(root.resolve()), _newest_change(root), image_size)


def _newest_change(root: Path) -> float:
    """The latest mtime in a folder tree (a file added to a sub-folder leaves the root's mtime as
    it was), or the zip's own mtime: the cache key that makes a changed folder load again."""
    if not root.is_dir():
        return root.stat().st_mtime
    newest = root.stat().st_mtime
    for path in root.rglob("*"):
        try:
            newest = max(newest, path.stat().st_mtime)
        except OSError:  # removed while we looked
            continue
    return newest


def celeba_folder(data_dir: Path) -> Path:
    return data_dir / "celeba" / "img_align_celeba"


def celeba_missing_message(data_dir: Path) -> str:
    return (f"Dataset 'celeba' is not available: looked for {celeba_folder(data_dir)}. Download CelebA "
            f"(img_align_celeba) with torchvision.datasets.CelebA(root=..., download=True) on a "
            f"machine with network access, then set GAN_DATA_DIR to that root.")


def load_celeba(data_dir: Path, split: str = "train", image_size: int = 64,
                limit: int = MAX_IMAGES) -> Dataset:
    """CelebA from torchvision's layout (``celeba/img_align_celeba/*.jpg``), centre-cropped.

    Reads the JPEGs directly (and ``list_eval_partition.txt`` for the split when present) rather
    than through torchvision's class, which insists on every archive's checksum. The face is
    centre-cropped to 178x178 and resized to ``image_size``, the usual DCGAN preprocessing.
    """
    folder = celeba_folder(data_dir)
    if not folder.is_dir():
        raise DatasetUnavailable(celeba_missing_message(data_dir))
    files = sorted(folder.glob("*.jpg"))
    partition = data_dir / "celeba" / "list_eval_partition.txt"
    if partition.is_file():
        wanted = {"train": "0", "valid": "1", "test": "2"}.get(split, "0")
        keep = {line.split()[0] for line in partition.read_text().splitlines()
                if len(line.split()) == 2 and line.split()[1] == wanted}
        files = [f for f in files if f.name in keep]
    images = []
    for file in files[:limit]:
        try:
            with Image.open(file) as image:
                image = rgb_picture(image)
                w, h = image.size
                side = min(178, w, h)
                left, top = (w - side) // 2, (h - side) // 2
                crop = image.crop((left, top, left + side, top + side))
                crop = crop.resize((image_size, image_size), Image.Resampling.LANCZOS)
                images.append(np.asarray(crop, dtype=np.uint8))
        except Exception:
            continue
    if not images:
        raise DatasetUnavailable(f"No readable CelebA images in {folder}")
    data = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
    return Dataset("celeba", data, description=f"CelebA {split}, {len(images)} faces at {image_size}px")
