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

import itertools
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .errors import NCAError

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
    "Lattice",
    "check_mask_kind",
    "hex_max",
    "hex_orbits",
    "hex_round",
    "lattice_named",
]

#: The six neighbours of a hex cell as ``(dr, dq)`` shifts of the axial array ``field[r, q]``.
HEX_OFFSETS: tuple[tuple[int, int], ...] = ((0, 1), (0, -1), (1, 0), (-1, 0), (-1, 1), (1, -1))

#: The cell and its six neighbours in a 3x3 window ``[dr + 1, dq + 1]``: two zero corners.
HEX_NEIGHBOURHOOD = np.array([[0, 1, 1], [1, 1, 1], [1, 1, 0]], dtype=np.float32)

#: The normalised six-neighbour Laplacian ``mean(six neighbours) - cell`` as a 3x3 kernel (``lap6``).
HEX_LAPLACIAN = np.array([[0, 1, 1], [1, -6, 1], [1, 1, 0]], dtype=np.float32) / np.float32(6.0)

#: Per-cell Bernoulli update mask (every model before the hex lattice).
MASK_CELL = "cell"
#: One Bernoulli draw per orbit of the hexagon's twelve symmetries about the seed cell (hex models).
MASK_ORBIT = "orbit"
MASK_KINDS = (MASK_CELL, MASK_ORBIT)


@dataclass(frozen=True)
class Lattice:
    """One lattice: its name, its neighbourhood in a 3x3 window, and whether cells have symmetry orbits.

    ``neighbourhood`` is a ``(3, 3)`` float32 0/1 array, ``[dr + 1, dq + 1]``: the cells that alive masking
    and the code relay take their max over (the centre included).
    """

    name: str
    neighbourhood: np.ndarray
    #: Whether the mask kind ``orbit`` (and exact six-fold symmetry) applies.
    has_orbits: bool

    def orbits(self, height: int, width: int) -> np.ndarray:
        """Each cell's orbit representative, ``(H * W,)`` int64 flat indices (:func:`hex_orbits`); hex only."""
        if not self.has_orbits:
            raise NCAError(f"the {self.name} lattice has no symmetry orbits (mask kind {MASK_ORBIT!r} needs hex)")
        return hex_orbits(height, width)


SQUARE = Lattice("square", np.ones((3, 3), dtype=np.float32), has_orbits=False)
HEX = Lattice("hex", HEX_NEIGHBOURHOOD, has_orbits=True)
#: The lattices by name; ``square`` first (the default).
LATTICES: dict[str, Lattice] = {SQUARE.name: SQUARE, HEX.name: HEX}


def lattice_named(name: str | None, *, source: str = "model") -> Lattice:
    """The lattice called ``name`` (None: ``square``); an unknown name is one :class:`NCAError` line."""
    if name is None:
        return SQUARE
    found = LATTICES.get(name)
    if found is None:
        raise NCAError(f"{source}: unknown lattice {name!r} (known: {', '.join(LATTICES)}); upgrade ncarender")
    return found


def check_mask_kind(kind: str | None, lattice: Lattice, *, source: str = "model") -> str:
    """``kind`` (None: ``cell``) if this ncarender knows it and it fits ``lattice``, else an :class:`NCAError`."""
    if kind is None:
        return MASK_CELL
    if kind not in MASK_KINDS:
        raise NCAError(f"{source}: unknown mask kind {kind!r} (known: {', '.join(MASK_KINDS)}); upgrade ncarender")
    if kind == MASK_ORBIT and not lattice.has_orbits:
        raise NCAError(f"{source}: mask kind {kind!r} needs the hex lattice, the model is {lattice.name}")
    return kind


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
    of a hex model's state (:mod:`ncarender.hexmap`) too.
    """
    sf = -qf - rf
    q, r, s = np.rint(qf), np.rint(rf), np.rint(sf)
    dq, dr, ds = np.abs(q - qf), np.abs(r - rf), np.abs(s - sf)
    fix_q = (dq > dr) & (dq > ds)
    fix_r = ~fix_q & (dr > ds)
    q = np.where(fix_q, -r - s, q)
    r = np.where(fix_r, -q - s, r)
    return q.astype(np.int64), r.astype(np.int64)
