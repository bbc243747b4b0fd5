"""The hexagonal lattice's record: orbits, its frames drawn as a picture of the cells at the scale (so the writers
take them at scale 1), and damage as a disc round in that picture (:mod:`.hex_view`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .base import FrameView, Lattice
from .hex_grid import HEX_NEIGHBOURHOOD, hex_orbits
from .hex_view import keep_mask, render_view

if TYPE_CHECKING:
    from ..damage import Damage

__all__ = ["HEX", "HexLattice"]


@dataclass(frozen=True)
class HexLattice(Lattice):
    """The hexagonal lattice (its state the axial array ``field[r, q]``)."""

    def orbits(self, height: int, width: int) -> np.ndarray:
        return hex_orbits(height, width)

    def frame_view(self, grid: tuple[int, int], scale: int) -> FrameView | None:
        return render_view((int(grid[0]), int(grid[1])), int(scale))

    def writer_scale(self, scale: int) -> int:
        return 1

    def damage_keep(self, damage: Damage, height: int, width: int) -> np.ndarray:
        return keep_mask(damage.x, damage.y, damage.r, height, width)


HEX = HexLattice("hex", HEX_NEIGHBOURHOOD, has_orbits=True)
