"""A grown Reiter crystal resampled onto the square grid as an NCA target, and the distance between targets.

:func:`crystal_target` centres and scales the hexagonal crystal of :mod:`ncarender.family.reiter`, samples it
``supersample**2`` times per cell (anti-aliased edges) and shades it from icy blue at the young rim to white at
the old core and ridges; :func:`target_mse` compares two targets. numpy only, and only ``+ - * /``, ``sqrt`` and
comparisons, so the same crystal gives the same bytes on every CPU.
"""

from __future__ import annotations

import numpy as np

from ..errors import NCAError
from ..lattice import hex_round
from .reiter import DEFAULT_DIAMETER, DEFAULT_SIZE, SQRT3_2, HexCrystal, neighbour_sum

__all__ = ["CORE", "RIM", "crystal_target", "palette_norm", "palette_position", "target_mse"]


#: Straight-alpha colours of the palette: dim blue ice -> white at the old core and on the ridges.
RIM = np.array([0.40, 0.62, 0.90])
CORE = np.array([0.96, 0.98, 1.00])
#: Weight of the ridge highlight in the palette position (the rest is the ice's age).
_RIDGE_WEIGHT = 0.45


def palette_norm(crystal: HexCrystal) -> tuple[float, float]:
    """The palette's two scales of ``crystal``: its oldest ice's age and its 98th-percentile ridge height.

    :func:`palette_position` divides by these; a growth snapshot is drawn with its *finished* crystal's
    scales (:mod:`ncarender.family.growth`), so a cell's colour follows its own age, as the targets' do.
    """
    return _palette(crystal, None)[1]


def palette_position(crystal: HexCrystal, norm: tuple[float, float] | None = None) -> np.ndarray:
    """Palette position in [0, 1] of every cell, float64 ``(N, N)`` (0 off the ice).

    Ice keeps gaining ``gamma`` a step, so ``s - 1`` is about its age: the core
    and the mid-rib of each arm (frozen first) are brightest. On top, ridges
    -- ice higher than the mean of its ice neighbours, like the spokes of a
    plate -- are highlighted. Only ``+ - * /``, ``sqrt`` and comparisons, so the
    bytes are the same on every CPU; six-fold symmetric like the field. ``norm`` (age, ridge scale; default
    the crystal's own, :func:`palette_norm`) sets what counts as oldest and highest; values past it clip to 1.
    """
    return _palette(crystal, norm)[0]


def _palette(crystal: HexCrystal, norm: tuple[float, float] | None) -> tuple[np.ndarray, tuple[float, float]]:
    s = crystal.field
    ice = s >= 1.0
    age = np.where(ice, s - 1.0, 0.0)
    count = neighbour_sum(ice.astype(np.float64))
    mean = neighbour_sum(np.where(ice, s, 0.0)) / np.maximum(count, 1.0)
    ridge = np.zeros_like(s)
    ridge[1:-1, 1:-1] = np.where(ice[1:-1, 1:-1] & (count > 0), np.maximum(s[1:-1, 1:-1] - mean, 0.0), 0.0)
    if norm is None:
        norm = (float(age.max()), float(np.percentile(ridge[ice], 98)) if ice.any() else 0.0)
    top, scale = norm
    age = np.sqrt(np.minimum(age / top, 1.0)) if top > 0 else age
    ridge = np.minimum(ridge / scale, 1.0) if scale > 0 else ridge
    return np.where(ice, (1.0 - _RIDGE_WEIGHT) * age + _RIDGE_WEIGHT * ridge, 0.0), norm


def _sample_cells(
    crystal: HexCrystal, size: int, diameter: float, supersample: int, finished: HexCrystal | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Palette position and ice flag at ``supersample**2`` points per cell: two ``(size*ss, size*ss)`` arrays.

    ``finished`` (default ``crystal``) sets the scale and the palette's norm: a growth snapshot is drawn as
    the part of its finished crystal that has frozen so far.
    """
    d = crystal.domain
    ref = crystal if finished is None else finished
    half = ref.extent + 0.5  # centre to the flake's edge, in neighbour spacings
    per_px = half / (diameter / 2.0)
    offs = (np.arange(size * supersample) + 0.5) / supersample - size / 2.0
    py, px = np.meshgrid(offs, offs, indexing="ij")
    x, y = -py * per_px, px * per_px  # one arm points up
    rf = y / SQRT3_2
    q, r = hex_round(x - 0.5 * rf, rf)
    inside = (np.abs(q) + np.abs(r) + np.abs(q + r)) // 2 < d
    qi, ri = np.where(inside, q + d, d), np.where(inside, r + d, d)
    ice = inside & crystal.ice[ri, qi]
    norm = None if finished is None else palette_norm(finished)
    return np.where(ice, palette_position(crystal, norm)[ri, qi], 0.0), ice


def crystal_target(
    crystal: HexCrystal,
    *,
    size: int = DEFAULT_SIZE,
    diameter: float = DEFAULT_DIAMETER,
    supersample: int = 4,
    finished: HexCrystal | None = None,
) -> np.ndarray:
    """The crystal as a premultiplied RGBA float32 target ``(4, size, size)`` in [0, 1].

    The flake is centred and scaled so its farthest ice reaches ``diameter / 2``
    cells from the centre, one arm pointing up. Each cell averages
    ``supersample**2`` point samples of the hex field: alpha is the ice coverage
    (anti-aliased edges), colour runs from icy blue at the young rim to white at
    the old core and ridges (see :func:`palette_position`). With ``finished`` (the same crystal grown to its
    end), ``crystal`` is drawn at the finished crystal's scale and palette: a growth snapshot.
    """
    if size < 4:
        raise NCAError(f"target size must be at least 4 cells, got {size}")
    if not 2 <= diameter <= size:
        raise NCAError(f"flake diameter must be from 2 to the target size ({size}), got {diameter:g}")
    if supersample < 1:
        raise NCAError(f"supersample must be at least 1, got {supersample}")
    shade, ice = _sample_cells(crystal, size, diameter, supersample, finished)
    t = shade[..., None]
    colour = np.where(ice[..., None], RIM + (CORE - RIM) * t, 0.0)  # (S, S, 3), premultiplied by coverage 0/1
    samples = np.concatenate([colour, ice[..., None].astype(np.float64)], axis=-1)
    acc = np.zeros((size, size, 4))
    for a in range(supersample):  # a fixed summation order
        for b in range(supersample):
            acc += samples[a::supersample, b::supersample]
    out = np.moveaxis(acc / (supersample * supersample), -1, 0)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def target_mse(a: np.ndarray, b: np.ndarray) -> float:
    """Mean squared difference of two ``(4, H, W)`` targets over all channels and cells."""
    return float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
