"""Reiter's hexagonal snow-crystal automaton (its crystals become square targets in :mod:`.crystal_image`).

Reiter, "A local cellular model for snow crystal growth", Chaos, Solitons &
Fractals 23 (2005). Each cell of a hexagonal lattice holds a water amount
``s``; a cell with ``s >= 1`` is ice. One step, with parameters ``alpha``
(diffusion), ``beta`` (background vapour) and ``gamma`` (vapour added):

1. *receptive* = ice, or any of the six neighbours is ice;
2. split ``s`` into ``v`` (``s`` on receptive cells, else 0) and ``u`` (``s``
   on the others, else 0);
3. ``v += gamma`` on receptive cells;
4. ``u' = u + alpha / 2 * (mean of the six neighbours' u - u)`` everywhere
   (receptive cells have ``u = 0``, so they soak up vapour and give none);
5. ``s = u' + v``; the boundary (the hexagon's edge ring) is held at
   ``beta`` and never receptive, a steady source of vapour.

It starts from ``s = beta`` everywhere and one ice cell in the centre.

The domain is a hexagon: every cell within hex distance ``domain`` of the
centre, in axial coordinates ``(q, r)`` stored as ``field[r + domain, q +
domain]`` of a ``(2*domain + 1, 2*domain + 1)`` array (cells of the array
outside the hexagon are held at ``beta`` too and are never read). The six
neighbours are the shifts ``(±1, 0), (0, ±1), ±(1, -1)``. The neighbour sum
adds the three opposite pairs and then the three pair sums in sorted order,
so the floating-point result depends only on the set of neighbours: the whole
automaton is *exactly* invariant under the twelve symmetries of the hexagon
(60° rotations and mirrors), bit for bit, not merely up to rounding.

A grown crystal (:class:`HexCrystal`, :func:`grow_crystal`,
:func:`grow_crystals`, :func:`evolve`) becomes a premultiplied RGBA float32
``(4, H, W)`` target like :func:`ncarender.family.targets.load_target` in
:mod:`ncarender.family.crystal_image` (:func:`~ncarender.family.crystal_image.crystal_target`).
The snowflake families built from these targets are in :mod:`ncarender.family.family`. This
module is numpy only, so the torch-free render path may import it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import NCAError

__all__ = [
    "DEFAULT_DIAMETER",
    "DEFAULT_DOMAIN",
    "DEFAULT_MAX_STEPS",
    "DEFAULT_RADIUS",
    "DEFAULT_SIZE",
    "FAMILY_BOXES",
    "SQRT3_2",
    "HexCrystal",
    "ReiterParams",
    "evolve",
    "family_domain",
    "grow_crystal",
    "grow_crystals",
    "neighbour_sum",
]


#: Hex radius of the lattice the crystals grow on (cells from the centre to a corner).
DEFAULT_DOMAIN = 24
#: A crystal is grown until an ice cell lies this fraction of ``domain`` from the centre.
DEFAULT_RADIUS = 0.75
#: Steps after which a crystal that has not reached its radius is given up on.
DEFAULT_MAX_STEPS = 20_000
#: Target grid side and flake diameter, in cells of the NCA grid.
DEFAULT_SIZE = 40
DEFAULT_DIAMETER = 32

#: The height of a hexagonal lattice row (cells one apart): sqrt(3) / 2.
SQRT3_2 = math.sqrt(3.0) / 2.0

#: Where candidate parameters come from, cycled in this order (candidate i uses box i mod 6):
#: (name, alpha range, beta range, log10 gamma range). Rendered and checked by eye, see docs/family-reiter16.png.
FAMILY_BOXES: tuple[tuple[str, tuple[float, float], tuple[float, float], tuple[float, float]], ...] = (
    ("stellar dendrite", (0.5, 2.0), (0.55, 0.85), (-4.0, -2.5)),
    ("sectored plate", (0.5, 2.0), (0.3, 0.65), (-2.0, -1.4)),
    ("fern", (0.5, 2.0), (0.78, 0.92), (-2.4, -1.7)),
    ("plate", (0.5, 2.0), (0.05, 0.3), (-1.2, -0.7)),
    ("lace", (0.8, 2.0), (0.9, 0.97), (-4.0, -2.5)),
    ("stellar", (0.5, 2.0), (0.2, 0.5), (-4.0, -2.5)),
)


# --------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class ReiterParams:
    """One crystal's parameters: ``alpha`` diffusion, ``beta`` background vapour, ``gamma`` vapour added.

    Valid ranges: ``0 < alpha <= 2``, ``0 <= beta < 1``, ``0 <= gamma <= 1``.
    The diffusion step ``u' = (1 - alpha/2) u + alpha/2 * mean6(u)`` is a convex
    combination of non-negative values only while ``alpha <= 2`` (so vapour
    never goes negative and never overshoots its neighbours); von Neumann
    analysis alone would allow ``alpha <= 8/3`` (the six-neighbour mean has
    Fourier symbol in ``[-1/2, 1]``), but past 2 the field oscillates from cell
    to cell. ``beta >= 1`` would make the boundary itself ice.
    """

    alpha: float
    beta: float
    gamma: float

    def __post_init__(self) -> None:
        for name in ("alpha", "beta", "gamma"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
                raise NCAError(f"Reiter parameter {name} must be a number, got {value!r}")
            if not math.isfinite(float(value)):
                raise NCAError(f"Reiter parameter {name} must be finite, got {value!r}")
            object.__setattr__(self, name, float(value))
        if not 0.0 < self.alpha <= 2.0:
            raise NCAError(f"Reiter alpha (diffusion) must be in (0, 2] for stable diffusion, got {self.alpha:g}")
        if not 0.0 <= self.beta < 1.0:
            raise NCAError(f"Reiter beta (background vapour) must be in [0, 1), got {self.beta:g}")
        if not 0.0 <= self.gamma <= 1.0:
            raise NCAError(f"Reiter gamma (vapour added) must be in [0, 1], got {self.gamma:g}")

    def label(self) -> str:
        """Short text for a sheet: ``a=1.00 b=0.400 g=1.0e-03``."""
        return f"a={self.alpha:.2f} b={self.beta:.3f} g={self.gamma:.1e}"


# --------------------------------------------------------------------------- the lattice


@dataclass(frozen=True)
class _Lattice:
    """Geometry of the hexagon of hex radius ``domain``; every array is ``(N, N)``, ``N = 2*domain + 1``."""

    domain: int
    q: np.ndarray  # int, axial column
    r: np.ndarray  # int, axial row
    hexdist: np.ndarray  # int, hex distance from the centre
    dist2: np.ndarray  # int, squared Euclidean distance (neighbour spacing 1): q^2 + qr + r^2
    fixed: np.ndarray  # bool, held at beta: the hexagon's edge ring and everything outside it


def _lattice(domain: int) -> _Lattice:
    idx = np.arange(-domain, domain + 1)
    r, q = np.meshgrid(idx, idx, indexing="ij")
    hexdist = (np.abs(q) + np.abs(r) + np.abs(q + r)) // 2
    # x = q + r/2, y = r*sqrt(3)/2, so x^2 + y^2 = q^2 + qr + r^2: exact integers, the same on every machine.
    return _Lattice(domain, q, r, hexdist, q * q + q * r + r * r, hexdist >= domain)


def neighbour_sum(u: np.ndarray, out: np.ndarray | None = None, work: np.ndarray | None = None) -> np.ndarray:
    """Sum of the six neighbours of every inner cell: ``(..., N, N) -> (..., N-2, N-2)``.

    Opposite pairs first, then the three pair sums smallest first, so the result
    does not depend on which neighbour is which (exact hexagonal symmetry).
    ``out`` and ``work`` (``(5, ..., N-2, N-2)`` scratch) may be given to avoid allocating.
    """
    shape = (*u.shape[:-2], u.shape[-2] - 2, u.shape[-1] - 2)
    w = np.empty((5, *shape)) if work is None else work
    out = np.empty(shape) if out is None else out
    p1, p2, p3, lo, hi = w
    np.add(u[..., 1:-1, 2:], u[..., 1:-1, :-2], out=p1)  # (+1, 0) and (-1, 0)
    np.add(u[..., 2:, 1:-1], u[..., :-2, 1:-1], out=p2)  # (0, +1) and (0, -1)
    np.add(u[..., :-2, 2:], u[..., 2:, :-2], out=p3)  # (+1, -1) and (-1, +1)
    np.minimum(p1, p2, out=lo)
    np.maximum(p1, p2, out=hi)
    np.minimum(hi, p3, out=p1)  # the middle candidate
    np.maximum(hi, p3, out=p2)  # the largest
    np.minimum(lo, p1, out=hi)  # the smallest
    np.maximum(lo, p1, out=p3)  # the middle
    np.add(hi, p3, out=out)
    return np.add(out, p2, out=out)


def _any_neighbour(b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Inner cells that are, or have a neighbour that is, True: ``(..., N, N) -> (..., N-2, N-2)``."""
    out = np.logical_or(b[..., 1:-1, 1:-1], b[..., 1:-1, 2:], out=out)
    for shifted in (b[..., 1:-1, :-2], b[..., 2:, 1:-1], b[..., :-2, 1:-1], b[..., :-2, 2:], b[..., 2:, :-2]):
        np.logical_or(out, shifted, out=out)
    return out


class _Batch:
    """Crystals growing side by side: ``s`` float64 ``(B, N, N)``, parameters ``(B, 1, 1)``.

    Every buffer is allocated once (arrays of a few hundred KB would otherwise be
    mapped and faulted in afresh at every step); all arithmetic is elementwise,
    so a crystal's field does not depend on the others in the batch.
    """

    def __init__(self, params: Sequence[ReiterParams], lattice: _Lattice) -> None:
        n = 2 * lattice.domain + 1
        b = len(params)
        self.fixed = lattice.fixed
        self.free_inner = ~lattice.fixed[1:-1, 1:-1]  # the held edge is never receptive: a vapour source
        self.beta = np.array([p.beta for p in params])[:, None, None]
        self.half_alpha = np.array([0.5 * p.alpha for p in params])[:, None, None]
        self.gamma = np.array([p.gamma for p in params])[:, None, None]
        self.s = np.broadcast_to(self.beta, (b, n, n)).copy()
        self.s[:, lattice.domain, lattice.domain] = 1.0
        self.ice = np.empty((b, n, n), dtype=bool)
        self.hit = np.empty((b, n, n), dtype=bool)
        self.receptive = np.zeros((b, n, n), dtype=bool)
        self.u = np.empty((b, n, n))
        self.v = np.empty((b, n - 2, n - 2))
        self.mean = np.empty((b, n - 2, n - 2))
        self.work = np.empty((5, b, n - 2, n - 2))
        self.update_ice()

    def update_ice(self) -> np.ndarray:
        return np.greater_equal(self.s, 1.0, out=self.ice)

    def keep(self, rows: np.ndarray) -> None:
        """Drop every crystal but ``rows`` (bool ``(B,)``)."""
        for name in ("beta", "half_alpha", "gamma", "s", "ice", "hit", "receptive", "u", "v", "mean"):
            setattr(self, name, getattr(self, name)[rows])
        self.work = np.empty((5, *self.mean.shape))

    def step(self) -> None:
        """One step of the automaton (the module docstring); uses ``self.ice`` of the current ``s``."""
        s, u, rec = self.s, self.u, self.receptive
        inner = (slice(None), slice(1, -1), slice(1, -1))
        np.logical_and(_any_neighbour(self.ice, out=rec[inner]), self.free_inner, out=rec[inner])
        np.copyto(u, s)
        np.copyto(u, 0.0, where=rec)
        u_in, s_in = u[inner], s[inner]
        np.add(s_in, self.gamma, out=self.v)  # v: s + gamma on receptive cells, 0 elsewhere
        np.multiply(self.v, rec[inner], out=self.v)
        mean = neighbour_sum(u, out=self.mean, work=self.work)
        np.divide(mean, 6.0, out=mean)
        np.subtract(mean, u_in, out=mean)
        np.multiply(mean, self.half_alpha, out=mean)
        np.add(u_in, mean, out=mean)  # u' = u + alpha/2 * (mean6(u) - u)
        np.add(mean, self.v, out=s_in)  # s = u' + v
        np.copyto(s, self.beta, where=self.fixed)
        self.update_ice()


# --------------------------------------------------------------------------- growing


@dataclass(frozen=True, eq=False)
class HexCrystal:
    """A grown crystal.

    ``field`` is float64 ``(2*domain + 1, 2*domain + 1)``: the water amount
    ``s`` of the axial cell ``(q, r)`` at ``field[r + domain, q + domain]``
    (ice where ``s >= 1``); ``steps`` is how many steps it grew.
    """

    params: ReiterParams
    field: np.ndarray
    steps: int
    domain: int

    @property
    def ice(self) -> np.ndarray:
        """Bool ``(N, N)``: the frozen cells."""
        return self.field >= 1.0

    @property
    def extent(self) -> float:
        """Distance from the centre to the farthest ice cell's centre, in neighbour spacings."""
        ice = self.ice
        return math.sqrt(int(_lattice(self.domain).dist2[ice].max())) if ice.any() else 0.0


def _check_domain(domain: int) -> _Lattice:
    if isinstance(domain, bool) or not isinstance(domain, (int, np.integer)) or domain < 3:
        raise NCAError(f"the hexagonal domain needs a whole radius of at least 3 cells, got {domain!r}")
    return _lattice(int(domain))


def evolve(params: ReiterParams, steps: int, *, domain: int = DEFAULT_DOMAIN) -> HexCrystal:
    """Run exactly ``steps`` steps from the single seed cell (no stopping rule), e.g. to watch it grow."""
    if steps < 0:
        raise NCAError(f"steps must not be negative, got {steps}")
    batch = _Batch([params], _check_domain(domain))
    for _ in range(steps):
        batch.step()
    return HexCrystal(params, batch.s[0].copy(), steps, int(domain))


def grow_crystals(
    params: Sequence[ReiterParams],
    *,
    domain: int = DEFAULT_DOMAIN,
    radius: float = DEFAULT_RADIUS,
    max_steps: int = DEFAULT_MAX_STEPS,
) -> list[HexCrystal | None]:
    """Grow several crystals side by side (one batched array); ``None`` for one that hit ``max_steps``.

    Each crystal grows until one of its ice cells lies at least ``radius *
    domain`` (Euclidean, neighbour spacing 1) from the centre, and stops there;
    the result does not depend on which others share its batch.
    """
    lat = _check_domain(domain)
    if not 0.0 < radius < 1.0:
        raise NCAError(f"the crystal radius is a fraction of the domain in (0, 1), got {radius:g}")
    if max_steps < 1:
        raise NCAError(f"max_steps must be at least 1, got {max_steps}")
    # Stop once ice reaches this distance; never later than one cell inside the held edge.
    far = (lat.dist2 >= (radius * lat.domain) ** 2) | (lat.hexdist >= lat.domain - 1)
    far &= lat.hexdist < lat.domain
    results: list[HexCrystal | None] = [None] * len(params)
    if not params:
        return results
    live = np.arange(len(params))
    batch = _Batch(params, lat)
    for step in range(max_steps + 1):
        done = np.asarray(np.logical_and(batch.ice, far, out=batch.hit).any(axis=(1, 2)))
        if done.any():
            for k in np.flatnonzero(done):
                i = int(live[k])
                results[i] = HexCrystal(params[i], batch.s[k].copy(), step, lat.domain)
            live = live[~done]
            if not live.size:
                break
            batch.keep(~done)
        if step < max_steps:
            batch.step()
    return results


def grow_crystal(
    params: ReiterParams,
    *,
    domain: int = DEFAULT_DOMAIN,
    radius: float = DEFAULT_RADIUS,
    max_steps: int = DEFAULT_MAX_STEPS,
) -> HexCrystal:
    """Grow one crystal from a single ice cell until it reaches ``radius * domain`` cells from the centre.

    Raises :class:`NCAError` if it has not got there after ``max_steps`` steps
    (for example ``gamma = 0`` with little vapour: it barely grows).
    """
    (crystal,) = grow_crystals([params], domain=domain, radius=radius, max_steps=max_steps)
    if crystal is None:
        raise NCAError(f"the crystal ({params.label()}) did not grow to {radius:g} of the domain in {max_steps} steps")
    return crystal


# --------------------------------------------------------------------------- the lattice for a flake size


def family_domain(diameter: float) -> int:
    """The hex radius a family grows its crystals on for flakes ``diameter`` cells across.

    About one hex cell per target cell across the flake (the crystal stops at
    :data:`DEFAULT_RADIUS` of the domain): finer lattices only add side branches
    too thin to see, and cost the cube of the radius. 24 for the default 32.
    """
    return max(12, round(0.75 * diameter))
