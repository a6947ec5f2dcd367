"""GAN Lab's "draw your own distribution": a canvas a person clicks to place points. UI-agnostic:
pixel clicks (a picture canvas) or plane positions (a plot canvas) in, plane coordinates and a
picture or figure of them out."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from trainers.data.toys import DRAWN_EXTENT, MAX_DRAWN_POINTS, drawn_name
from trainers.errors import PlaygroundError

#: Canvas side in pixels; the plane [-DRAWN_EXTENT, DRAWN_EXTENT]^2 fills it, y pointing up.
CANVAS_SIDE = 320
DOT_RADIUS = 5


def to_plane(x_pixel: float, y_pixel: float, side: int = CANVAS_SIDE) -> tuple[float, float]:
    """A click on the canvas -> (x, y) on the plane (rounded to 2 decimals, as the dataset name)."""
    x = (float(x_pixel) + 0.5) / side * 2 * DRAWN_EXTENT - DRAWN_EXTENT
    y = DRAWN_EXTENT - (float(y_pixel) + 0.5) / side * 2 * DRAWN_EXTENT
    return _on_plane(x), _on_plane(y)


def _on_plane(value: float) -> float:
    return round(min(DRAWN_EXTENT, max(-DRAWN_EXTENT, value)), 2)


def add_point(points: Sequence[Sequence[float]], x_pixel: float, y_pixel: float) -> list[list[float]]:
    """A click on the canvas picture (pixels) added to the points."""
    return add_plane_point(points, *to_plane(x_pixel, y_pixel))


def add_plane_point(points: Sequence[Sequence[float]], x: float, y: float) -> list[list[float]]:
    """A point given on the plane (a front end whose canvas is a plot) added to the points."""
    if len(points) >= MAX_DRAWN_POINTS:
        raise PlaygroundError(f"At most {MAX_DRAWN_POINTS} points: press Undo or Clear to change them")
    return [*map(list, points), [_on_plane(x), _on_plane(y)]]


def pick_grid(per_side: int = 41) -> np.ndarray:
    """(per_side**2, 2) plane positions a plot-based canvas offers to click (a plot reports clicks
    on its markers, not on empty space)."""
    ticks = np.linspace(-DRAWN_EXTENT, DRAWN_EXTENT, per_side)
    xs, ys = np.meshgrid(ticks, ticks)
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


def canvas(points: Sequence[Sequence[float]], side: int = CANVAS_SIDE) -> np.ndarray:
    """A white square with the axes and a light grid, and a dot at each point: uint8 (side, side, 3)."""
    image = np.full((side, side, 3), 255, np.uint8)
    for tick in np.linspace(-1.0, 1.0, 5):  # grid lines every half unit
        at = int(round((tick + DRAWN_EXTENT) / (2 * DRAWN_EXTENT) * side))
        shade = 200 if tick == 0 else 235
        image[:, min(at, side - 1)] = shade
        image[min(at, side - 1), :] = shade
    rows, cols = np.mgrid[0:side, 0:side]
    for x, y in points:
        col = (x + DRAWN_EXTENT) / (2 * DRAWN_EXTENT) * side - 0.5
        row = (DRAWN_EXTENT - y) / (2 * DRAWN_EXTENT) * side - 0.5
        image[(rows - row) ** 2 + (cols - col) ** 2 <= DOT_RADIUS ** 2] = (27, 158, 75)  # the real data's green
    return image


def drawn_dataset(points: Sequence[Sequence[float]]) -> str:
    """The dataset name for the drawn points, or a PlaygroundError when there are none."""
    if not points:
        raise PlaygroundError("Click on the canvas to place at least one point first.")
    return drawn_name(points)
