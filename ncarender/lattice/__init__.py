"""The lattice a model's state lives on: one record that the rest of the code asks (numpy only).

Two lattices:

* ``square`` (every model before the hex lattice, and the default when the metadata names none): the state
  ``(N, C, H, W)`` is a square grid, perception is identity + Sobel-x + Sobel-y, alive masking and the code
  relay take the max over the 3x3 square around a cell.
* ``hex``: the state ``(N, C, H, W)`` is the *axial* array of a hexagonal lattice, ``field[r, q]`` (row ``r``,
  column ``q``), the layout Reiter's automaton (:mod:`ncarender.family.reiter`) grows its crystals on. The six
  neighbours of a cell are the shifts ``(dr, dq)`` in :data:`HEX_OFFSETS`: ``(0, ±1), (±1, 0), (-1, +1),
  (+1, -1)``. In a 3x3 window ``[dr + 1, dq + 1]`` they are every cell but the two corners ``(-1, -1)`` and
  ``(+1, +1)`` (:data:`HEX_NEIGHBOURHOOD`), so a hex step is still a 3x3 depthwise convolution, with two zero
  corners. Perception is identity and the six-neighbour Laplacian, normalised as *mean of the six minus the
  cell* (:data:`HEX_LAPLACIAN`; Mordvintsev et al., Isotropic NCA, 2022, ``lap6``); alive masking and the
  code relay take the max over the cell and its six neighbours.

A hex model's seed cell is the array's centre ``(H // 2, W // 2)``, as on the square lattice. The twelve
symmetries of the hexagon about that cell (six rotations, six mirrors) permute the cells; :func:`hex_orbits`
gives each cell its orbit's representative, so a mask drawn once per orbit (mask kind ``orbit``) and one
gather of the state per step keep a flake grown from the seed six-fold symmetric bit for bit.

Mask kinds (:data:`MASK_KINDS`): ``cell``, today's per-cell Bernoulli mask; ``orbit``, one Bernoulli draw
per symmetry orbit (hex only). The ONNX metadata names both (``ncarender.lattice``, ``ncarender.mask``);
a model naming neither is ``square``/``cell``.
"""

from __future__ import annotations

from ..errors import NCAError
from .base import MASK_CELL, MASK_KINDS, MASK_ORBIT, FrameView, Lattice, check_mask_kind
from .hex import HEX, HexLattice
from .hex_grid import HEX_LAPLACIAN, HEX_NEIGHBOURHOOD, HEX_OFFSETS, hex_max, hex_orbits, hex_round
from .square import SQUARE

__all__ = [
    "HEX",
    "HEX_LAPLACIAN",
    "HEX_NEIGHBOURHOOD",
    "HEX_OFFSETS",
    "LATTICES",
    "MASK_CELL",
    "MASK_KINDS",
    "MASK_ORBIT",
    "SQUARE",
    "FrameView",
    "HexLattice",
    "Lattice",
    "check_mask_kind",
    "hex_max",
    "hex_orbits",
    "hex_round",
    "lattice_named",
]

#: The lattices by name; ``square`` first (the default). A new lattice is one record (a module here) and a row.
LATTICES: dict[str, Lattice] = {SQUARE.name: SQUARE, HEX.name: HEX}


def lattice_named(name: str | None, *, source: str = "model") -> Lattice:
    """The lattice called ``name`` (None: ``square``); an unknown name is one :class:`NCAError` line."""
    if name is None:
        return SQUARE
    found = LATTICES.get(name)
    if found is None:
        raise NCAError(f"{source}: unknown lattice {name!r} (known: {', '.join(LATTICES)}); upgrade ncarender")
    return found
