"""The hexagonal lattice's geometry in its axial array ``field[r, q]`` (numpy only): the six neighbours, the
3x3 window they fill, the six-neighbour Laplacian, the twelve symmetries' orbits, the max over a cell and its
neighbours, and cube rounding of points to cells. See :mod:`ncarender.lattice`."""

from __future__ import annotations

import itertools
from functools import lru_cache

import numpy as np

from ..errors import NCAError

__all__ = ["HEX_LAPLACIAN", "HEX_NEIGHBOURHOOD", "HEX_OFFSETS", "hex_max", "hex_orbits", "hex_round"]

#: The six neighbours of a hex cell as ``(dr, dq)`` shifts of the axial array ``field[r, q]``.
HEX_OFFSETS: tuple[tuple[int, int], ...] = ((0, 1), (0, -1), (1, 0), (-1, 0), (-1, 1), (1, -1))

#: The cell and its six neighbours in a 3x3 window ``[dr + 1, dq + 1]``: two zero corners.
HEX_NEIGHBOURHOOD = np.array([[0, 1, 1], [1, 1, 1], [1, 1, 0]], dtype=np.float32)

#: The normalised six-neighbour Laplacian ``mean(six neighbours) - cell`` as a 3x3 kernel (``lap6``).
HEX_LAPLACIAN = np.array([[0, 1, 1], [1, -6, 1], [1, 1, 0]], dtype=np.float32) / np.float32(6.0)


def _hex_images(q: np.ndarray, r: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The twelve images ``(q', r')`` of axial offsets ``(q, r)`` under the hexagon's symmetries.

    In cube coordinates ``(x, y, z) = (q, -q - r, r)`` the symmetries are the six permutations of the three
    coordinates, each with or without negating all three; ``(q', r') = (x', z')``.
    """
    cube = (q, -q - r, r)
    images = []
    for perm in itertools.permutations(range(3)):
        x, _, z = (cube[i] for i in perm)
        images.append((x, z))
        images.append((-x, -z))
    return images


@lru_cache(maxsize=16)
def _hex_orbits_cached(height: int, width: int) -> np.ndarray:
    rows, cols = np.mgrid[0:height, 0:width]
    r = (rows - height // 2).ravel()
    q = (cols - width // 2).ravel()
    flat = np.arange(height * width, dtype=np.int64)
    rep = flat.copy()
    for qi, ri in _hex_images(q, r):
        row, col = ri + height // 2, qi + width // 2
        inside = (row >= 0) & (row < height) & (col >= 0) & (col < width)
        image = np.where(inside, row * width + col, flat)
        np.minimum(rep, image, out=rep)
    # Every member of an orbit has the whole orbit as its images, so all its in-array members get the same
    # least in-array index, also where part of the orbit falls outside the array (the rhombus's far corners).
    rep.setflags(write=False)
    return rep


def hex_orbits(height: int, width: int) -> np.ndarray:
    """Orbit representatives of an ``(H, W)`` axial array under the twelve symmetries about ``(H//2, W//2)``.

    Returns ``(H * W,)`` int64 (read-only): for each flat cell index ``r * W + q``, the least flat index of
    an in-array cell of its orbit. ``state.reshape(N, C, H * W)[..., rep]`` makes a state exactly symmetric
    (one gather), and ``uniform.reshape(N, H * W)[:, rep]`` turns a per-cell draw into a per-orbit one.
    """
    if height < 1 or width < 1:
        raise NCAError(f"a hex array needs at least one cell, not {height}x{width}")
    return _hex_orbits_cached(int(height), int(width))


def hex_max(x: np.ndarray) -> np.ndarray:
    """Max over each cell and its six axial neighbours within the grid: ``(N, K, H, W)`` -> ``(N, K, H, W)``.

    The hex step's alive test and code relay (a hex ONNX graph's ``Max`` of shifted slices), in numpy.
    """
    height, width = x.shape[2:]
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    out = x.copy()
    for dr, dq in HEX_OFFSETS:
        np.maximum(out, padded[:, :, 1 + dr : 1 + dr + height, 1 + dq : 1 + dq + width], out=out)
    return out


def hex_round(qf: np.ndarray, rf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest axial cell ``(q, r)`` int64 of fractional axial coordinates, any shape (cube rounding).

    The one rounding of points to hex cells: the square targets sample crystals with it, and the hex picture
    of a hex model's state (:mod:`ncarender.lattice.hex_view`) too.
    """
    sf = -qf - rf
    q, r, s = np.rint(qf), np.rint(rf), np.rint(sf)
    dq, dr, ds = np.abs(q - qf), np.abs(r - rf), np.abs(s - sf)
    fix_q = (dq > dr) & (dq > ds)
    fix_r = ~fix_q & (dr > ds)
    q = np.where(fix_q, -r - s, q)
    r = np.where(fix_r, -q - s, r)
    return q.astype(np.int64), r.astype(np.int64)
