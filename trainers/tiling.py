"""Tiled inference for fully convolutional image models (super-resolution), in bounded memory.

The input is cut into overlapping tiles; each is run with ``pad`` extra pixels of context on
every side (cropped off again, so a tile's edge is computed as if the image went on), and
overlapping outputs are blended with linear ramps, so no seam shows. Tiles are processed one row
at a time into a float band as wide as the output; rows leave the band as soon as no later tile
touches them, straight into the uint8 result. Peak memory is the uint8 output plus one band plus
one tile's activations, whatever the input size.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
from torch import Tensor

from .data.base import from_pixels
from .errors import ConfigError

#: The largest input the tiled path accepts: 2048x2048 pixels (x4 makes a 201 MB 8192x8192 result).
MAX_INPUT_PIXELS = 2048 * 2048
MAX_INPUT_SIDE = 4096


def default_tile(device: torch.device | str) -> int:
    """Input tile side for ``device``: bigger tiles where there is memory to spare. On a CPU, 256
    runs a 256x256 picture in one piece: at 128 its x4 enlargement cost 3.1x the bare model call
    in padding and overlap (bench/demos_latency.py), for about 0.6 GB of SRResNet activations."""
    device = torch.device(device)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return 512 if free > 8 * 2**30 else 256
    return 256


def even_tile(length: int, tile: int, overlap: int) -> int:
    """The tile side to use along an axis of ``length``: as few tiles as ``tile`` allows, but each
    only as long as needed to cover the axis evenly (a 512-pixel side in tiles of at most 256 with
    16 shared takes three of 182, not three of 256 that mostly overlap)."""
    if length <= tile:
        return length
    count = math.ceil((length - overlap) / (tile - overlap))
    return math.ceil((length + (count - 1) * overlap) / count)


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Evenly spread starts of tiles of ``tile`` covering ``length`` with at least ``overlap`` shared."""
    if length <= tile:
        return [0]
    count = math.ceil((length - overlap) / (tile - overlap))
    return [round(i * (length - tile) / (count - 1)) for i in range(count)]


def _ramp(length: int, rise: int, fall: int) -> np.ndarray:
    """Weights along one axis of a tile: up over its first ``rise`` pixels, down over its last ``fall``."""
    x = np.arange(length, dtype=np.float32) + 0.5
    weight = np.ones(length, np.float32)
    if rise:
        weight = np.minimum(weight, x / rise)
    if fall:
        weight = np.minimum(weight, (length - x) / fall)
    return weight


def check_size(height: int, width: int) -> None:
    if height < 1 or width < 1:
        raise ConfigError("the image is empty")
    if height * width > MAX_INPUT_PIXELS or max(height, width) > MAX_INPUT_SIDE:
        raise ConfigError(f"the image is {width}x{height}; the limit is {MAX_INPUT_PIXELS:,} pixels "
                          f"(2048x2048) and {MAX_INPUT_SIDE} pixels on a side: shrink it first")


@torch.no_grad()
def apply_tiled(model: Callable[[Tensor], Tensor], image: np.ndarray, scale: int = 1, *,
                tile: int = 256, overlap: int = 16, pad: int = 16,
                device: torch.device | str = "cpu") -> np.ndarray:
    """Run ``model`` ((1, C, h, w) in [-1, 1] -> (1, C, h*scale, w*scale)) over a uint8 (H, W, C)
    image in tiles of at most ``tile`` pixels a side; returns the uint8 (H*scale, W*scale, C) result."""
    if image.dtype != np.uint8 or image.ndim != 3:
        raise ConfigError(f"expected a uint8 H x W x C image, got {image.dtype} {image.shape}")
    height, width, channels = image.shape
    check_size(height, width)
    if overlap < 0 or pad < 0:
        raise ConfigError(f"overlap {overlap}, pad {pad}: neither can be negative")
    smallest = max(8, 2 * overlap + 2)  # overlap < tile // 2
    if tile < smallest:
        raise ConfigError(f"tile {tile}: a tile needs at least {smallest} pixels a side (it overlaps each "
                          f"neighbour by {overlap})")
    tile_h, tile_w = even_tile(height, tile, overlap), even_tile(width, tile, overlap)
    rows, cols = tile_starts(height, tile_h, overlap), tile_starts(width, tile_w, overlap)
    result = np.empty((height * scale, width * scale, channels), np.uint8)
    source = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))  # (C, H, W) uint8
    carry: tuple[np.ndarray, np.ndarray] | None = None
    for r, y in enumerate(rows):
        top, bottom = y * scale, (y + tile_h) * scale
        band = np.zeros((channels, bottom - top, width * scale), np.float32)
        weights = np.zeros((bottom - top, width * scale), np.float32)
        if carry is not None:  # what the previous row of tiles left in the rows this one shares
            band[:, : carry[0].shape[1]] += carry[0]
            weights[: carry[1].shape[0]] += carry[1]
        rise_y = (rows[r - 1] + tile_h - y) * scale if r else 0
        fall_y = (y + tile_h - rows[r + 1]) * scale if r + 1 < len(rows) else 0
        ramp_y = _ramp(tile_h * scale, rise_y, fall_y)
        for c, x in enumerate(cols):
            y0, y1 = max(0, y - pad), min(height, y + tile_h + pad)
            x0, x1 = max(0, x - pad), min(width, x + tile_w + pad)
            window = from_pixels(source[:, y0:y1, x0:x1].to(device))[None]
            out = model(window)[0].float().clamp_(-1, 1)
            oy, ox = (y - y0) * scale, (x - x0) * scale
            out = out[:, oy: oy + tile_h * scale, ox: ox + tile_w * scale].cpu().numpy()
            rise_x = (cols[c - 1] + tile_w - x) * scale if c else 0
            fall_x = (x + tile_w - cols[c + 1]) * scale if c + 1 < len(cols) else 0
            weight = ramp_y[:, None] * _ramp(tile_w * scale, rise_x, fall_x)[None, :]
            left = x * scale
            band[:, :, left: left + tile_w * scale] += out * weight
            weights[:, left: left + tile_w * scale] += weight
        done = (rows[r + 1] * scale if r + 1 < len(rows) else bottom) - top  # rows no later tile touches
        finished = band[:, :done] / np.maximum(weights[:done], 1e-8)
        result[top: top + done] = ((finished + 1) * 127.5).round().clip(0, 255).astype(np.uint8).transpose(1, 2, 0)
        carry = (band[:, done:], weights[done:])
    return result
