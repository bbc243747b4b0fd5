"""Reiter's crystals on their own lattice: a family's targets as axial arrays, one target cell per hex cell (numpy).

The square targets (:mod:`.crystal_image`) resample the hexagonal crystal onto squares. A hex model's state is
the axial array the crystal grows on (:mod:`ncarender.lattice`), so its target is the crystal itself: the
``(2R + 1, 2R + 1)`` window of the automaton's field around the seed cell, each ice cell coloured with the
family's palette (:func:`~.crystal_image.palette_position`: icy blue at the young rim to white at the old core and
ridges), alpha 1 on ice and 0 elsewhere, no resampling. The seed cell lands on ``(R, R) = (H // 2, W // 2)``,
where a model's seed is; the target is exactly six-fold symmetric about it, like the automaton.

:func:`hex_family_targets` gives a hex family run the same flakes (parameters, codes, spec) as the square
family of the same spec, grown again on the lattice; the window's hex radius ``R`` is the farthest ice cell
of the family plus :data:`HEX_MARGIN` (20 for ``reiter:16``: a 41x41 array).
"""

from __future__ import annotations

import numpy as np

from ..errors import NCAError
from .conditioning import DEFAULT_CODE_CHANNELS, FamilyTargets, family_targets
from .crystal_image import CORE, RIM, palette_position
from .family import parse_family_spec
from .reiter import HexCrystal, ReiterParams, family_domain, grow_crystals

__all__ = ["HEX_MARGIN", "crystal_cells", "hex_family_targets", "ice_radius"]

#: Empty hex cells between a family's farthest ice and the edge of its axial array.
HEX_MARGIN = 2


def ice_radius(crystal: HexCrystal) -> int:
    """Hex distance from the seed cell to the crystal's farthest ice cell (0 for the seed alone)."""
    d = crystal.domain
    rows, cols = np.nonzero(crystal.ice)
    r, q = rows - d, cols - d
    return int(np.max((np.abs(q) + np.abs(r) + np.abs(q + r)) // 2)) if rows.size else 0


def crystal_cells(crystal: HexCrystal, radius: int) -> np.ndarray:
    """The crystal on its lattice: premultiplied RGBA float32 ``(4, 2R+1, 2R+1)`` of the axial cells around the seed.

    ``out[:, radius + r, radius + q]`` is the cell ``(q, r)``: alpha 1 and the palette colour on ice, zeros
    elsewhere (also beyond the automaton's domain when ``radius`` exceeds it). Refuses a ``radius`` that
    would cut ice off.
    """
    if radius < 1:
        raise NCAError(f"a hex target needs a radius of at least 1 cell, got {radius}")
    if ice_radius(crystal) > radius:
        raise NCAError(f"the crystal's ice reaches {ice_radius(crystal)} cells from the seed; radius {radius} cuts it")
    d, size = crystal.domain, 2 * radius + 1
    shade, ice = np.zeros((size, size)), np.zeros((size, size), dtype=bool)
    lo, hi = max(0, d - radius), min(2 * d + 1, d + radius + 1)  # the overlap, in the field's rows/columns
    at = slice(lo - (d - radius), hi - (d - radius))  # ... and in the target's
    shade[at, at] = palette_position(crystal)[lo:hi, lo:hi]
    ice[at, at] = crystal.ice[lo:hi, lo:hi]
    colour = np.where(ice[..., None], RIM + (CORE - RIM) * shade[..., None], 0.0)  # (S, S, 3)
    out = np.concatenate([np.moveaxis(colour, -1, 0), ice[None].astype(np.float64)], axis=0)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def hex_family_targets(
    spec: str, code_channels: int | None = DEFAULT_CODE_CHANNELS, *, radius: int | None = None
) -> FamilyTargets:
    """The flakes of the family ``spec`` (e.g. ``reiter:16``) on the hex lattice: targets ``(K, 4, 2R+1, 2R+1)``.

    The same flakes, codes and spec as :func:`~.conditioning.family_targets` (its square targets pick the
    flakes), each regrown by the automaton and coloured per hex cell (:func:`crystal_cells`). ``radius``
    (default: the farthest ice of the family plus :data:`HEX_MARGIN`) is the axial array's hex radius.
    """
    square = family_targets(spec, code_channels)
    parsed = parse_family_spec(spec)
    params = [ReiterParams(p["alpha"], p["beta"], p["gamma"]) for p in square.params]
    grown = grow_crystals(params, domain=family_domain(parsed.diameter))
    crystals = [c for c in grown if c is not None]
    if len(crystals) != len(params):  # the square family grew every one of them
        raise NCAError(f"family {spec!r}: a crystal did not grow again on the lattice")
    if radius is None:
        radius = max(ice_radius(c) for c in crystals) + HEX_MARGIN
    targets = np.stack([crystal_cells(c, radius) for c in crystals])
    return FamilyTargets(targets, square.codes, square.spec, square.params, square.draws)
