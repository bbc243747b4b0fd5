"""Exact six-fold symmetry of a hex model's rollout: per-orbit masks and one gather of the state per step.

A hex model whose metadata names the mask kind ``orbit`` draws its update mask once per orbit of the hexagon's
twelve symmetries about the seed cell (:class:`~ncarender.runtime.masks.MaskStream` with ``orbits``). Its step is
then symmetric up to float rounding (the six neighbours are summed in a fixed order, matrix rows are rounded by
different kernels), which breaks the symmetry visibly within ~100 steps. So after every step the rollout takes
each cell from its orbit's representative (:func:`ncarender.lattice.hex_orbits`): one gather, and a flake grown
from the seed stays symmetric bit for bit. Damage (``--damage``) breaks the symmetry on purpose: from the first
damage on, the rollout stops symmetrising.

On the live region's window (:mod:`~ncarender.runtime.window`) the gather is done on the window alone. That is
the full grid's gather: before the step the state is symmetric, so every orbit with a nonzero cell lies in the
symmetric set ``S`` of nonzero cells; after the step the nonzero cells lie in ``S`` grown by one hex
neighbourhood, itself symmetric and inside the window. So an orbit whose representative lies outside the window
is zero in every cell, and its in-window cells keep their (zero) value. numpy only.
"""

from __future__ import annotations

import numpy as np

from ..lattice import MASK_ORBIT
from ..metadata import ModelInfo

__all__ = ["WindowOrbits", "mask_orbits", "symmetric_rollout"]


def symmetric_rollout(info: ModelInfo) -> bool:
    """Whether rollouts of this model draw per-orbit masks and symmetrise the state (hex, mask kind ``orbit``)."""
    return info.lattice.has_orbits and info.mask_kind == MASK_ORBIT


def mask_orbits(info: ModelInfo, height: int, width: int) -> np.ndarray | None:
    """The ``(H * W,)`` int64 orbit representatives the masks and the state are gathered by, or None (per cell)."""
    return info.lattice.orbits(height, width) if symmetric_rollout(info) else None


class WindowOrbits:
    """The orbit gather of a grid ``(H, W)`` restricted to windows of it, one index per window (cached).

    :meth:`index` gives, for a window ``(top, left, h, w)``, a ``(h * w,)`` int64 index into the window's
    flattened cells: each cell's orbit representative when that lies in the window, else the cell itself.
    """

    def __init__(self, orbits: np.ndarray, height: int, width: int) -> None:
        self.rows, self.cols = np.divmod(orbits.reshape(height, width), width)  # (H, W) each: the representative
        self._cache: dict[tuple[int, int, int, int], np.ndarray] = {}

    def index(self, top: int, left: int, height: int, width: int) -> np.ndarray:
        """The window's gather index ``(height * width,)`` int64."""
        key = (top, left, height, width)
        found = self._cache.get(key)
        if found is None:
            rows = self.rows[top : top + height, left : left + width] - top
            cols = self.cols[top : top + height, left : left + width] - left
            inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
            own = np.arange(height * width, dtype=np.int64).reshape(height, width)
            found = np.where(inside, rows * width + cols, own).ravel()
            if len(self._cache) > 16:
                self._cache.clear()
            self._cache[key] = found
        return found

    @staticmethod
    def gather(src: np.ndarray, index: np.ndarray, out: np.ndarray) -> None:
        """``out[n, c] = src[n, c].flat[index]`` for states ``(N, C, h, w)`` (``out`` must not be ``src``)."""
        n, c, h, w = src.shape
        np.take(src.reshape(n, c, h * w), index, axis=2, out=out.reshape(n, c, h * w))
