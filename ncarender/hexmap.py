"""The one mapping from a hex model's axial cells to square pixels (numpy only).

A hex model's state is the axial array ``field[r, q]`` of a hexagonal lattice (:mod:`ncarender.lattice`). Cell
``(r, q)`` lies, relative to the seed cell ``(H // 2, W // 2)`` and in neighbour spacings, ``q + r / 2`` above and
``r * sqrt(3) / 2`` right of it: the neighbour ``(dr, dq) = (0, +1)`` is straight up, so one arm of a flake points
up, as in the square targets (:func:`ncarender.family.crystal_image.crystal_target`, whose sample points and cube
rounding this mirrors; the averages agree to ~1e-6). The cells are *flat-topped* hexagons (neighbours above and
below share a flat edge) and the flake is upright and centred on the seed cell.

A :class:`HexView` samples the cells at ``supersample ** 2`` points per pixel (the nearest cell centre of each
point, by cube rounding) and averages them: anti-aliased cell edges, as the square targets are sampled; points
off the array are empty. Applied to premultiplied RGBA it gives premultiplied RGBA, so the frames are then made
as a square model's (:func:`ncarender.render.to_rgba8`).

Sizes. A render (:func:`render_view`) of an ``(H, W)`` axial array at ``scale`` is ``H * scale x W * scale``
pixels, as a square model's of the same ``--size``, with one neighbour spacing ``scale`` pixels across: the
hexagon of radius ``min(H, W) // 2`` about the seed cell fits, and a cell is a hexagon about ``scale`` pixels
across. The writers then take those frames at scale 1. The evaluation's square view (:func:`square_view`) puts a
hex model's flake on the square targets' grid at the targets' own pixels per spacing.

Damage (:func:`keep_mask`): a ``--damage`` disc ``X,Y,R`` in units -1..1 of the pixel view (centre 0, the
outermost cell centres of the view's height and width at +-1), so the disc is round in the picture.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from .errors import NCAError
from .lattice import HEX, Lattice, hex_round

if TYPE_CHECKING:
    from .damage import Damage

__all__ = [
    "SUPERSAMPLE",
    "HexView",
    "cell_offsets",
    "damage_keep",
    "frame_grid",
    "frame_view",
    "keep_mask",
    "render_view",
    "square_view",
    "writer_scale",
]

_SQRT3_2 = math.sqrt(3.0) / 2.0
#: Point samples per pixel side (anti-aliasing), as the square targets.
SUPERSAMPLE = 4


def cell_offsets(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Each cell's centre relative to the seed cell, in neighbour spacings: ``(down, right)``, float64 ``(H, W)``."""
    rows, cols = np.mgrid[0:height, 0:width]
    r, q = (rows - height // 2).astype(np.float64), (cols - width // 2).astype(np.float64)
    return -(q + 0.5 * r), r * _SQRT3_2


@dataclass(frozen=True, eq=False)
class HexView:
    """Axial cells ``(H, W)`` -> pixels ``(Hp, Wp)``: each pixel a weighted sum of at most ``K`` cells.

    ``index`` ``(Hp * Wp, K)`` int64 flat cell indices (``H * W``: an empty cell off the array) and ``weight``
    ``(Hp * Wp, K)`` float32, summing to 1 per pixel; summed in column order, so the same state gives the same
    bytes everywhere.
    """

    grid: tuple[int, int]
    size: tuple[int, int]
    index: np.ndarray
    weight: np.ndarray

    def apply(self, state: np.ndarray) -> np.ndarray:
        """``state`` ``(N, C>=4, H, W)`` -> its premultiplied RGBA in pixels ``(N, 4, Hp, Wp)`` float32."""
        n, _, height, width = state.shape
        if (height, width) != self.grid:
            raise ValueError(f"this view maps a {self.grid} array, got {(height, width)}")
        cells = np.zeros((n, 4, height * width + 1), dtype=np.float32)  # + the empty cell
        cells[:, :, :-1] = state[:, :4].reshape(n, 4, -1)
        out = np.take(cells, self.index[:, 0], axis=2)
        out *= self.weight[:, 0]
        for k in range(1, self.index.shape[1]):  # a fixed summation order; only the pixels a k-th cell covers
            rows = self._rows[k - 1]
            out[:, :, rows] += cells[:, :, self.index[rows, k]] * self.weight[rows, k]
        return out.reshape(n, 4, *self.size)

    @property
    def _rows(self) -> list[np.ndarray]:
        """For each column ``k >= 1``, the pixels with a ``k``-th cell (cached)."""
        rows = self.__dict__.get("_rows_cache")
        if rows is None:
            rows = [np.flatnonzero(self.weight[:, k] > 0) for k in range(1, self.index.shape[1])]
            object.__setattr__(self, "_rows_cache", rows)
        return rows

    def rgba(self, state: np.ndarray, background: tuple[int, int, int] | None) -> np.ndarray:
        """uint8 frames ``(N, Hp, Wp, 4)`` of ``state`` (:func:`ncarender.render.to_rgba8` of :meth:`apply`)."""
        from .render import to_rgba8

        return to_rgba8(self.apply(state), background)


def _sample(grid: tuple[int, int], size: tuple[int, int], per_px: float, supersample: int) -> HexView:
    """The view of ``grid`` at ``per_px`` neighbour spacings per pixel, ``size`` pixels, ``supersample**2`` points."""
    height, width = grid
    rows_px, cols_px = size
    ss = supersample
    offs_y = (np.arange(rows_px * ss) + 0.5) / ss - rows_px / 2.0
    offs_x = (np.arange(cols_px * ss) + 0.5) / ss - cols_px / 2.0
    py, px = np.meshgrid(offs_y, offs_x, indexing="ij")
    x, y = -py * per_px, px * per_px  # one arm points up (the square targets' expressions)
    rf = y / _SQRT3_2
    q, r = hex_round(x - 0.5 * rf, rf)
    row, col = r + height // 2, q + width // 2
    inside = (row >= 0) & (row < height) & (col >= 0) & (col < width)
    flat = np.where(inside, row * width + col, height * width)  # (rows_px * ss, cols_px * ss)
    # each pixel's ss*ss samples, (P, ss*ss), sorted: runs of one cell become one (cell, weight) pair
    samples = flat.reshape(rows_px, ss, cols_px, ss).transpose(0, 2, 1, 3).reshape(rows_px * cols_px, ss * ss)
    samples = np.sort(samples, axis=1)
    new = np.ones(samples.shape, dtype=bool)
    new[:, 1:] = samples[:, 1:] != samples[:, :-1]
    slot = np.cumsum(new, axis=1) - 1  # which pair each sample adds to
    k = int(slot.max()) + 1
    index = np.full((samples.shape[0], k), height * width, dtype=np.int64)
    counts = np.zeros((samples.shape[0], k), dtype=np.int64)
    pixel = np.repeat(np.arange(samples.shape[0]), ss * ss).reshape(samples.shape)
    index[pixel, slot] = samples
    np.add.at(counts, (pixel, slot), 1)
    weight = (counts / float(ss * ss)).astype(np.float32)
    index.setflags(write=False)
    weight.setflags(write=False)
    return HexView(grid, size, index, weight)


@lru_cache(maxsize=16)
def render_view(grid: tuple[int, int], scale: int, supersample: int = SUPERSAMPLE) -> HexView:
    """The view of a render: ``H * scale x W * scale`` pixels, one neighbour spacing ``scale`` pixels across."""
    if scale < 1:
        raise NCAError(f"scale must be at least 1, got {scale}")
    height, width = grid
    return _sample((height, width), (height * scale, width * scale), 1.0 / scale, supersample)


@lru_cache(maxsize=64)
def square_view(grid: tuple[int, int], size: int, per_px: float, supersample: int = SUPERSAMPLE) -> HexView:
    """The evaluation's view: a ``size x size`` square target's pixels at ``per_px`` neighbour spacings each
    (:func:`ncarender.family.crystal_image.crystal_target` uses ``(extent + 0.5) / (diameter / 2)``)."""
    if size < 1 or not per_px > 0:
        raise NCAError(f"a square view needs a size >= 1 and a positive scale, got {size} and {per_px}")
    return _sample(grid, (size, size), per_px, supersample)


def keep_mask(x: float, y: float, r: float, height: int, width: int) -> np.ndarray:
    """Float32 ``(H, W)`` over the axial cells: 0 for a cell whose centre lies in the disc, 1 elsewhere.

    The disc is centred at ``(x, y)`` (right, down) with radius ``r`` in units of the pixel view: the view's
    centre is 0 and ``(H - 1) / 2`` spacings down (``(W - 1) / 2`` right) is 1, as a square grid's
    :meth:`~ncarender.damage.Damage.keep_mask` puts its outermost cells at +-1.
    """
    down, right = cell_offsets(height, width)
    ys = (down / max((height - 1) / 2.0, 0.5)).astype(np.float32)
    xs = (right / max((width - 1) / 2.0, 0.5)).astype(np.float32)
    return (((xs - np.float32(x)) ** 2 + (ys - np.float32(y)) ** 2) > np.float32(r) ** 2).astype(np.float32)


# --------------------------------------------------------------------------- what the render side asks


def frame_view(lattice: Lattice, grid: tuple[int, int], scale: int) -> HexView | None:
    """The view a render of ``grid`` at ``scale`` maps its state through, or None: a square model's frames are
    its cells, scaled by the writers (their bytes as ever)."""
    return render_view((int(grid[0]), int(grid[1])), int(scale)) if lattice.name == HEX.name else None


def frame_grid(lattice: Lattice, grid: tuple[int, int], scale: int) -> tuple[int, int]:
    """The size ``(H, W)`` of the frames a writer takes (at the writer's scale; see :func:`writer_scale`)."""
    view = frame_view(lattice, grid, scale)
    return grid if view is None else view.size


def writer_scale(lattice: Lattice, scale: int) -> int:
    """The scale a writer applies to the frames: ``scale`` for a square model, 1 for a hex one (already mapped)."""
    return 1 if lattice.name == HEX.name else scale


def damage_keep(lattice: Lattice, damage: Damage, height: int, width: int) -> np.ndarray:
    """Float32 ``(H, W)``: 0 where ``damage`` erases, 1 elsewhere; a hex model's disc is round in its picture."""
    if lattice.name == HEX.name:
        return keep_mask(damage.x, damage.y, damage.r, height, width)
    return damage.keep_mask(height, width)
