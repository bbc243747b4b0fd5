"""Evaluation across lattices: a hex model in the square targets' view, its six-fold symmetry error, and how far
growth strays from the family's palette (for square models too). No torch.

* :func:`square_view_of` -- a hex family model's flakes judged as the square models are: flake ``k``'s axial RGBA
  is mapped (:func:`ncarender.lattice.hex_view.square_view`) onto the square targets' grid at the pixels per neighbour
  spacing its square target was sampled at (``(extent + 0.5) / (diameter / 2)``, the crystal's own), and compared
  with the family's square targets (those reiter16w is judged against: one table for both lattices).
* :func:`symmetry_error` -- the largest spread (max - min) of RGBA within an orbit of the hexagon's twelve
  symmetries about the seed cell.
* :func:`off_palette` / :func:`palette_figure` -- the fraction of visible cells (alpha above the model's alive
  threshold) in steps 10-60 of seeds 0-15 whose straight colour lies farther than 0.15 from the family's palette:
  the segment from the rim colour to the core colour in RGB (:mod:`ncarender.family.crystal_image`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import NCAError
from ..family.seed_maps import SEED_MAP_CYCLE
from ..lattice import hex_orbits
from ..lattice.hex_view import HexView, square_view
from ..metadata import ModelInfo
from ..runtime import NCASession, roll_out
from ..spec import RenderSpec

__all__ = [
    "PALETTE_DISTANCE",
    "PALETTE_STEPS",
    "PaletteFigure",
    "SquareView",
    "off_palette",
    "palette_figure",
    "palette_line",
    "square_view_of",
    "symmetry_error",
]

#: A visible cell is off the palette when its straight colour is farther than this from the rim-core segment.
PALETTE_DISTANCE = 0.15
#: The steps of growth the palette figure looks at (inclusive) and the seeds.
PALETTE_STEPS = (10, 60)
PALETTE_SEEDS = 16


@dataclass(frozen=True)
class SquareView:
    """A hex family's flakes in the square view: ``targets`` ``(K, 4, S, S)`` (the family's square targets) and
    one :class:`~ncarender.lattice.hex_view.HexView` per flake from the model's axial grid to those ``S x S`` pixels."""

    targets: np.ndarray
    views: tuple[HexView, ...]

    def of(self, states: np.ndarray, flakes: Sequence[int] | np.ndarray) -> np.ndarray:
        """``states`` ``(N, C, H, W)`` axial, sample ``i`` growing flake ``flakes[i]`` -> ``(N, 4, S, S)``."""
        size = self.targets.shape[2:]
        out = np.zeros((len(states), 4, *size), dtype=np.float32)
        order = np.asarray(flakes, dtype=np.int64)
        for k in np.unique(order):
            rows = np.flatnonzero(order == k)
            out[rows] = self.views[int(k)].apply(states[rows])
        return out


def square_view_of(info: ModelInfo, grid: tuple[int, int]) -> SquareView:
    """The square view of the hex family model ``info`` rolled out on the axial ``grid``.

    The family's spec (``reiter:16``...) is grown again (numpy, a fraction of a second): its square targets, and
    each crystal's extent, which fixes the pixels per spacing its target was sampled at.
    """
    family = info.seeding
    if family.seed_map.kind != SEED_MAP_CYCLE:
        raise NCAError("the square view of a hex model needs a discrete family model (reiter:K)")
    from ..family.crystal_image import crystal_target
    from ..family.family import is_family_spec, make_family, parse_family_spec
    from ..family.reiter import evolve, family_domain

    if not is_family_spec(family.spec):
        raise NCAError(f"the family {family.spec!r} is not a Reiter family: no square targets to judge it against")
    spec = parse_family_spec(family.spec)
    grown = make_family(spec)
    if len(grown) != family.flakes:
        raise NCAError(f"the family {family.spec!r} has {len(grown)} flakes, the model {family.flakes}")
    views = []
    for k, (params, steps) in enumerate(zip(grown.params, grown.steps, strict=True)):
        crystal = evolve(params, steps, domain=family_domain(spec.diameter))
        if not np.array_equal(crystal_target(crystal, size=spec.size, diameter=spec.diameter), grown.targets[k]):
            raise NCAError(f"flake {k} of {family.spec!r} did not grow again as its target")  # never: deterministic
        per_px = (crystal.extent + 0.5) / (spec.diameter / 2.0)
        views.append(square_view((int(grid[0]), int(grid[1])), spec.size, per_px))
    return SquareView(np.asarray(grown.targets), tuple(views))


def symmetry_error(states: np.ndarray) -> float:
    """The largest spread (max - min) of RGBA within an orbit of the twelve symmetries about the seed cell, over
    the samples of ``states`` ``(N, C, H, W)`` (axial). 0.0: exactly six-fold symmetric."""
    n, _, height, width = states.shape
    rep = hex_orbits(height, width)
    cells = states[:, :4].reshape(n * 4, height * width).T.astype(np.float64)  # (H*W, N*4)
    high = np.full_like(cells, -np.inf)
    low = np.full_like(cells, np.inf)
    np.maximum.at(high, rep, cells)
    np.minimum.at(low, rep, cells)
    members = np.zeros(height * width, dtype=bool)
    members[rep] = True
    return float((high[members] - low[members]).max())


def palette_line() -> tuple[np.ndarray, np.ndarray]:
    """The family palette's ends, straight RGB float64 ``(3,)`` each: the young rim's colour and the core's."""
    from ..family.crystal_image import CORE, RIM

    return np.asarray(RIM, dtype=np.float64), np.asarray(CORE, dtype=np.float64)


def off_palette(states: np.ndarray, *, visible: float = 0.1, distance: float = PALETTE_DISTANCE) -> tuple[int, int]:
    """``(off, seen)``: of the cells of ``states`` ``(N, C, H, W)`` with alpha above ``visible`` (``seen``), those
    whose straight colour (colour clipped to ``[0, alpha]`` as rendered, over alpha) lies farther than ``distance``
    from the rim-core segment (:func:`palette_line`). Any lattice: it counts cells."""
    rim, core = palette_line()
    alpha = np.clip(states[:, 3].astype(np.float64), 0.0, 1.0)  # (N, H, W)
    seen = alpha > visible
    colour = np.minimum(np.clip(states[:, :3].astype(np.float64), 0.0, None), alpha[:, None])
    straight = np.moveaxis(colour, 1, -1)[seen] / alpha[seen][:, None]  # (M, 3)
    line = core - rim
    t = np.clip((straight - rim) @ line / float(line @ line), 0.0, 1.0)
    far = np.linalg.norm(straight - (rim + t[:, None] * line), axis=1) > distance
    return int(far.sum()), int(seen.sum())


@dataclass(frozen=True)
class PaletteFigure:
    """Visible cells off the palette over steps ``first..last`` of ``seeds``: ``off`` of ``seen``."""

    off: int
    seen: int
    first: int
    last: int
    seeds: int

    @property
    def fraction(self) -> float:
        """``off / seen`` (0 when nothing was visible)."""
        return self.off / self.seen if self.seen else 0.0

    def summary(self) -> str:
        """One line for the human report."""
        return (
            f"palette: {100 * self.fraction:.1f}% of visible cells off the rim-core line (> {PALETTE_DISTANCE}) "
            f"in steps {self.first}-{self.last}, seeds 0-{self.seeds - 1} ({self.off:,} of {self.seen:,})"
        )


def palette_figure(
    session: NCASession,
    *,
    seeds: int = PALETTE_SEEDS,
    steps: tuple[int, int] = PALETTE_STEPS,
    grid: tuple[int, int] | None = None,
) -> PaletteFigure:
    """The palette figure of the model of ``session``: every step from ``steps[0]`` to ``steps[1]`` of render
    seeds ``0..seeds-1``, as a render of them grows (on ``grid``, default the model's)."""
    first, last = steps
    spec = RenderSpec(seeds=tuple(range(seeds)), steps=last, every=1, size=grid)
    off = seen = 0
    threshold = session.info.alive_threshold
    for step, state in roll_out(session, spec, include_seed_frame=False):
        if step >= first:
            o, s = off_palette(state, visible=threshold)
            off, seen = off + o, seen + s
    return PaletteFigure(off, seen, first, last, seeds)
