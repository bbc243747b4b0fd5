"""How a family model grows, against the automaton's own growth: the growth figure and the growth strip. No torch.

The snapshot of flake ``k`` at fraction ``f`` is its crystal after ``f`` of its automaton steps, drawn at the
finished crystal's scale and palette (:mod:`ncarender.family.growth`). The **growth figure** of a flake is the
MSE (premultiplied RGBA clipped to [0, 1] as a render shows it, whole grid) of the model's frame at step
``round(f * T)`` against that snapshot, averaged over :data:`~ncarender.family.growth.GROWTH_FRACTIONS` and
the flake's mask seeds; ``T`` is the growth time the model declares (``ncarender.growth_steps``), else
:data:`~ncarender.family.growth.DEFAULT_GROWTH_STEPS` (a model taught only the end state is measured as if it
grew in 64 steps). :func:`growth_strip` draws, per flake, the automaton's row above the model's row at those
fractions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..atomic import atomic_path
from ..errors import NCAError
from ..family.growth import DEFAULT_GROWTH_STEPS, GROWTH_FRACTIONS, family_growth, growth_snapshots
from ..runtime import NCASession, roll_out
from ..spec import RenderSpec

__all__ = ["GrowthFigure", "growth_figure", "growth_strip", "measure_growth", "params_growth_figure"]

_BACKGROUND = (18, 24, 48)


@dataclass(frozen=True)
class GrowthFigure:
    """A family model's growth against the automaton's.

    ``per_flake[k]``: flake ``k``'s MSE averaged over fractions and mask seeds; ``per_fraction[i]``: the mean
    over flakes at ``fractions[i]``; ``frames`` ``(K, F, 4, H, W)``: the first mask seed's frame of each flake
    at each fraction, ``snapshots`` ``(K, F, 4, H, W)`` the automaton's (both for :func:`growth_strip`).
    """

    growth_steps: int
    declared: bool
    fractions: tuple[float, ...]
    per_flake: tuple[float, ...]
    per_fraction: tuple[float, ...]
    frames: np.ndarray
    snapshots: np.ndarray

    @property
    def mean(self) -> float:
        """The mean over flakes."""
        return float(np.mean(self.per_flake))

    @property
    def worst(self) -> float:
        """The worst flake's figure."""
        return float(max(self.per_flake))

    @property
    def worst_flake(self) -> int:
        """Which flake is worst."""
        return int(np.argmax(self.per_flake))

    def steps(self) -> list[int]:
        """The model steps compared, one per fraction."""
        return [_step_at(f, self.growth_steps) for f in self.fractions]

    def summary(self) -> str:
        """One line for the report."""
        how = "declared" if self.declared else f"none declared: measured as if {DEFAULT_GROWTH_STEPS}"
        return (
            f"growth vs the automaton (frame at step f*T against the crystal at f, f = "
            f"{self.fractions[0]:g}..{self.fractions[-1]:g}; T = {self.growth_steps}, {how}): "
            f"mean {self.mean:.2e}, worst {self.worst:.2e} (flake {self.worst_flake})"
        )

    def to_json(self) -> dict[str, object]:
        """JSON-ready figures (no pictures)."""
        return {
            "growth_steps": self.growth_steps,
            "declared": self.declared,
            "fractions": list(self.fractions),
            "steps": self.steps(),
            "mean": self.mean,
            "worst": self.worst,
            "worst_flake": self.worst_flake,
            "per_flake": list(self.per_flake),
            "per_fraction": list(self.per_fraction),
        }


def _step_at(fraction: float, growth_steps: int) -> int:
    return max(1, math.floor(fraction * growth_steps + 0.5))


def growth_figure(session: NCASession, *, mask_seeds: int = 4, grid: tuple[int, int] | None = None) -> GrowthFigure:
    """The growth figure of the discrete family model of ``session`` (``reiter:K``, square lattice).

    Flake ``k`` grows from the render seeds that pick it (``k, k + K, ...``, ``mask_seeds`` of them), exactly as
    a render of those seeds does, on ``grid`` (default: the family's target grid).
    """
    family = session.info.family
    if family is None:
        raise NCAError(f"{session.path} is not a family model: growth is measured against a family's automaton")
    snapshots = family_growth(family.spec, GROWTH_FRACTIONS)  # (K, F, 4, H, W)
    k = family.flakes
    if len(snapshots) != k:
        raise NCAError(f"{session.path}: family {family.spec!r} regrows {len(snapshots)} flakes, the model has {k}")
    seeds = list(range(k * mask_seeds))
    return measure_growth(session, seeds, [family.flake_of_seed(s) for s in seeds], snapshots, grid)


def params_growth_figure(session: NCASession, seeds: Sequence[int]) -> GrowthFigure:
    """The growth figure of a continuous family model over render ``seeds``, each against its own draw's crystal.

    ``per_flake[i]`` is seed ``seeds[i]``'s figure (one mask seed: the render seed itself).
    """
    from ..family.family import parse_family_spec
    from ..family.reiter import family_domain, grow_crystals
    from ..family.seed_maps import ParamsMap

    family = session.info.family
    if family is None or not isinstance(family.seed_map, ParamsMap):
        raise NCAError(f"{session.path} is not a continuous family model")
    spec = parse_family_spec(family.spec)
    domain = family_domain(spec.diameter)
    drawn = [family.seed_map.param_map.params(int(s)) for s in seeds]
    crystals = grow_crystals(drawn, domain=domain)
    steps = [0 if c is None else c.steps for c in crystals]
    if not all(steps):
        raise NCAError(f"{session.path}: the automaton grows no crystal for one of seeds {list(seeds)}")
    snapshots = growth_snapshots(drawn, steps, GROWTH_FRACTIONS, domain=domain, size=spec.size, diameter=spec.diameter)
    return measure_growth(session, list(seeds), list(range(len(seeds))), snapshots, None)


def measure_growth(
    session: NCASession,
    seeds: Sequence[int],
    groups: Sequence[int],
    snapshots: np.ndarray,
    grid: tuple[int, int] | None,
) -> GrowthFigure:
    """Render ``seeds`` and compare each with ``snapshots[groups[i]]`` ``(G, F, 4, H, W)`` at the fractions' steps.

    The growth time is the model's declared ``T``, else :data:`~ncarender.family.growth.DEFAULT_GROWTH_STEPS`.
    """
    info = session.info
    declared = info.growth_steps is not None
    t = info.growth_steps if info.growth_steps is not None else DEFAULT_GROWTH_STEPS
    fractions = GROWTH_FRACTIONS
    size = (int(snapshots.shape[3]), int(snapshots.shape[4]))
    order = np.asarray(groups, dtype=np.int64)
    steps = [_step_at(f, t) for f in fractions]
    spec = RenderSpec(seeds=tuple(int(s) for s in seeds), steps=max(steps), every=1, size=grid or size)
    err = np.zeros((len(seeds), len(fractions)))
    frames = np.zeros_like(snapshots)
    first = {int(g): i for i, g in reversed(list(enumerate(order)))}  # each group's first seed
    for step, state in roll_out(session, spec, include_seed_frame=False):
        for i, want in enumerate(steps):
            if step != want:
                continue
            rgba = np.clip(state[:, :4].astype(np.float64), 0.0, 1.0)  # the frame a render shows
            err[:, i] = ((rgba - snapshots[order, i]) ** 2).mean(axis=(1, 2, 3))
            for group, row in first.items():
                frames[group, i] = state[row, :4]
    kept = sorted(first)
    per_flake = tuple(float(err[order == g].mean()) for g in kept)
    per_fraction = tuple(float(np.mean([err[order == g, i].mean() for g in kept])) for i in range(len(steps)))
    return GrowthFigure(t, declared, fractions, per_flake, per_fraction, frames[kept], snapshots[kept])


def _tile(rgba: np.ndarray, scale: int) -> Image.Image:
    """A premultiplied RGBA ``(4, H, W)`` over the dark background, ``scale`` pixels a cell."""
    bg = np.array(_BACKGROUND, dtype=np.float64) / 255.0
    rgb = np.clip(rgba[:3].astype(np.float64) + (1.0 - np.clip(rgba[3:4], 0.0, 1.0)) * bg[:, None, None], 0.0, 1.0)
    image = Image.fromarray(np.round(np.moveaxis(rgb, 0, -1) * 255).astype(np.uint8), "RGB")
    return image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)


def growth_strip(figure: GrowthFigure, path: Path | str, *, scale: int = 2, columns: int = 2) -> dict[str, object]:
    """Write the growth strip PNG: per flake, the automaton's row above the model's, at the figure's fractions.

    Flakes are laid out in ``columns`` blocks side by side; each block is labelled with the flake and its
    growth figure, the top row with the model steps. Written atomically; returns path, width and height.
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise NCAError(f"--picture writes a PNG; got {str(path)!r}")
    k, f, _, h, w = figure.snapshots.shape
    font = ImageFont.load_default()
    line = math.ceil(font.getbbox("Ag0")[3]) + 4
    tile_w, tile_h = w * scale, h * scale
    block_w, block_h = f * tile_w + 8, 2 * tile_h + line + 6
    rows = -(-k // columns)
    top = 2 * line + 6
    sheet = Image.new("RGB", (columns * block_w + 8, top + rows * block_h), _BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    draw.text((6, 4), "per flake: Reiter's automaton (above) and the model (below) at the same fraction", fill="white")
    steps = ", ".join(str(s) for s in figure.steps())
    draw.text((6, 4 + line), f"model steps {steps} (T = {figure.growth_steps})", fill=(200, 210, 240))
    for n in range(k):
        x0 = 4 + (n % columns) * block_w
        y0 = top + (n // columns) * block_h
        draw.text((x0 + 2, y0), f"flake {n}: {figure.per_flake[n]:.1e}", fill=(220, 230, 255))
        for i in range(f):
            sheet.paste(_tile(figure.snapshots[n, i], scale), (x0 + i * tile_w, y0 + line))
            sheet.paste(_tile(figure.frames[n, i], scale), (x0 + i * tile_w, y0 + line + tile_h + 2))
    with atomic_path(path) as tmp:
        try:
            sheet.save(tmp, format="PNG")
        except OSError as exc:
            raise NCAError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None
    return {"path": str(path), "width": sheet.width, "height": sheet.height}
