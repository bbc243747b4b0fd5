"""Hex cells to square pixels, as the render side used to ask it: these functions name the lattice record's
methods (:class:`~ncarender.lattice.Lattice`: ``frame_view``, ``frame_grid``, ``writer_scale``, ``damage_keep``),
and the mapping itself lives in :mod:`ncarender.lattice.hex_view` (re-exported here). numpy only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .lattice import Lattice
from .lattice.base import FrameView
from .lattice.hex_view import SUPERSAMPLE, HexView, cell_offsets, keep_mask, render_view, square_view

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


# --------------------------------------------------------------------------- what the render side asks
# (the lattice record answers: :class:`~ncarender.lattice.Lattice`; these name its methods for older callers)


def frame_view(lattice: Lattice, grid: tuple[int, int], scale: int) -> FrameView | None:
    """:meth:`Lattice.frame_view <ncarender.lattice.Lattice.frame_view>`."""
    return lattice.frame_view(grid, scale)


def frame_grid(lattice: Lattice, grid: tuple[int, int], scale: int) -> tuple[int, int]:
    """:meth:`Lattice.frame_grid <ncarender.lattice.Lattice.frame_grid>`."""
    return lattice.frame_grid(grid, scale)


def writer_scale(lattice: Lattice, scale: int) -> int:
    """:meth:`Lattice.writer_scale <ncarender.lattice.Lattice.writer_scale>`."""
    return lattice.writer_scale(scale)


def damage_keep(lattice: Lattice, damage: Damage, height: int, width: int) -> np.ndarray:
    """Float32 ``(H, W)``: :meth:`Lattice.damage_keep <ncarender.lattice.Lattice.damage_keep>`."""
    return lattice.damage_keep(damage, height, width)
