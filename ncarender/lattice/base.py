"""The lattice record (:class:`Lattice`): what a lattice is and what the render side asks of it, and the update
mask's kinds. One subclass per lattice (:mod:`.square`, :mod:`.hex`) answers for what differs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ..errors import NCAError

if TYPE_CHECKING:
    from ..damage import Damage

__all__ = ["MASK_CELL", "MASK_KINDS", "MASK_ORBIT", "FrameView", "Lattice", "check_mask_kind"]

#: Per-cell Bernoulli update mask (every model before the hex lattice).
MASK_CELL = "cell"
#: One Bernoulli draw per orbit of the hexagon's twelve symmetries about the seed cell (hex models).
MASK_ORBIT = "orbit"
MASK_KINDS = (MASK_CELL, MASK_ORBIT)


class FrameView(Protocol):
    """How a lattice's state becomes a frame's pixels (a hex model's picture: :class:`~.hex_view.HexView`)."""

    @property
    def size(self) -> tuple[int, int]:
        """The frames' ``(H, W)`` in pixels."""
        ...

    def rgba(self, state: np.ndarray, background: tuple[int, int, int] | None) -> np.ndarray:
        """uint8 frames ``(N, H, W, 4)`` of ``state`` ``(N, C, h, w)`` over ``background`` (None: straight alpha)."""
        ...


@dataclass(frozen=True)
class Lattice:
    """One lattice: its name, its neighbourhood in a 3x3 window, and whether cells have symmetry orbits.

    ``neighbourhood`` is a ``(3, 3)`` float32 0/1 array, ``[dr + 1, dq + 1]``: the cells that alive masking
    and the code relay take their max over (the centre included). The methods are what the render side asks;
    this base answers as the square lattice does (frames are the cells, scaled by the writers).
    """

    name: str
    neighbourhood: np.ndarray
    #: Whether the mask kind ``orbit`` (and exact six-fold symmetry) applies.
    has_orbits: bool

    def orbits(self, height: int, width: int) -> np.ndarray:
        """Each cell's orbit representative, ``(H * W,)`` int64 flat indices; only a lattice with orbits."""
        raise NCAError(f"the {self.name} lattice has no symmetry orbits (mask kind {MASK_ORBIT!r} needs hex)")

    def frame_view(self, grid: tuple[int, int], scale: int) -> FrameView | None:
        """The view a render of ``grid`` ``(H, W)`` at ``scale`` maps its state through, or None: the frames are
        the cells, scaled by the writers (a square model's bytes as ever)."""
        return None

    def frame_grid(self, grid: tuple[int, int], scale: int) -> tuple[int, int]:
        """The size ``(H, W)`` of the frames a writer takes (at the writer's scale; see :meth:`writer_scale`)."""
        view = self.frame_view(grid, scale)
        return grid if view is None else view.size

    def writer_scale(self, scale: int) -> int:
        """The scale a writer applies to the frames of a render at ``scale`` (1 where the view drew them at it)."""
        return scale

    def damage_keep(self, damage: Damage, height: int, width: int) -> np.ndarray:
        """Float32 ``(H, W)``: 0 where ``damage`` erases, 1 elsewhere (a disc round in the frames)."""
        return damage.keep_mask(height, width)


def check_mask_kind(kind: str | None, lattice: Lattice, *, source: str = "model") -> str:
    """``kind`` (None: ``cell``) if this ncarender knows it and it fits ``lattice``, else an :class:`NCAError`."""
    if kind is None:
        return MASK_CELL
    if kind not in MASK_KINDS:
        raise NCAError(f"{source}: unknown mask kind {kind!r} (known: {', '.join(MASK_KINDS)}); upgrade ncarender")
    if kind == MASK_ORBIT and not lattice.has_orbits:
        raise NCAError(f"{source}: mask kind {kind!r} needs the hex lattice, the model is {lattice.name}")
    return kind
