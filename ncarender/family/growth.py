"""Growth as data: each flake of a family at any fraction of its automaton steps (numpy only).

Reiter's automaton grows every flake the way real crystals grow -- a hexagonal plate, then six arms, then
side branches -- in ``steps[k]`` steps (:class:`~ncarender.family.family.Family`). The *snapshot* of flake
``k`` at fraction ``f`` is its crystal after ``round(f * steps[k])`` steps, drawn at the *finished*
crystal's scale and palette (:func:`~ncarender.family.crystal_image.crystal_target` with ``finished=``):
the part of the finished flake that has frozen so far, each cell coloured by its own age. At ``f = 1`` it is
the family's target, byte for byte; at ``f = 0`` the single seed cell.

Training compares a model's frame at step ``t`` with the snapshot at ``t / T`` (``T``, the growth time in
model steps, is a model setting); ``eval`` does the same at :data:`GROWTH_FRACTIONS`. Only ``+ - * /``,
``sqrt`` and comparisons, so the same family gives the same bytes on every CPU. 16 flakes at 16 fractions
take about 2 s.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..errors import NCAError
from .crystal_image import crystal_target
from .family import Family, make_family, parse_family_spec
from .reiter import HexCrystal, ReiterParams, _Batch, _check_domain, family_domain

__all__ = ["DEFAULT_GROWTH_STEPS", "GROWTH_FRACTIONS", "automaton_step", "family_growth", "growth_snapshots"]

#: The fractions of a flake's growth that ``eval``'s growth figure compares (frame at step ``f * T``).
GROWTH_FRACTIONS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.55, 0.7, 0.85)
#: The growth time ``T`` (model steps) that ``eval`` assumes for a model that declares none.
DEFAULT_GROWTH_STEPS = 64


def automaton_step(fraction: float, steps: int) -> int:
    """The automaton step at ``fraction`` of ``steps``: ``floor(fraction * steps + 0.5)``, clipped to ``[0, steps]``."""
    return min(max(math.floor(fraction * steps + 0.5), 0), steps)


def _check_fractions(fractions: Sequence[float]) -> tuple[float, ...]:
    out = tuple(float(f) for f in fractions)
    if not out:
        raise NCAError("growth snapshots need at least one fraction")
    for f in out:
        if not (math.isfinite(f) and 0.0 <= f <= 1.0):
            raise NCAError(f"a growth fraction must be in [0, 1], got {f!r}")
    return out


def growth_snapshots(
    params: Sequence[ReiterParams],
    steps: Sequence[int],
    fractions: Sequence[float],
    *,
    domain: int,
    size: int,
    diameter: float,
) -> np.ndarray:
    """The snapshots of crystals ``params`` (grown ``steps[k]`` steps each): float32 ``(K, F, 4, size, size)``.

    All crystals grow side by side in one batch (a crystal's field does not depend on the others); each is
    captured at ``automaton_step(f, steps[k])`` for every fraction and drawn at its finished crystal's scale
    and palette, premultiplied RGBA in [0, 1].
    """
    fr = _check_fractions(fractions)
    if len(params) != len(steps):
        raise NCAError(f"{len(params)} parameter sets but {len(steps)} step counts")
    out = np.zeros((len(params), len(fr), 4, size, size), dtype=np.float32)
    if not params:
        return out
    lat = _check_domain(domain)
    wanted = [[automaton_step(f, int(n)) for f in fr] for n in steps]
    fields: list[dict[int, np.ndarray]] = [{} for _ in params]
    batch = _Batch(list(params), lat)
    last = max(int(n) for n in steps)
    for step in range(last + 1):
        for k, want in enumerate(wanted):
            if step in want or step == int(steps[k]):
                fields[k].setdefault(step, batch.s[k].copy())
        if step < last:
            batch.step()
    for k, p in enumerate(params):
        n = int(steps[k])
        finished = HexCrystal(p, fields[k][n], n, lat.domain)
        for i, step in enumerate(wanted[k]):
            now = HexCrystal(p, fields[k][step], step, lat.domain)
            out[k, i] = crystal_target(now, size=size, diameter=diameter, finished=finished)
    return out


def family_growth(family: Family | str, fractions: Sequence[float]) -> np.ndarray:
    """The growth snapshots of every flake of ``family`` (or its spec): float32 ``(K, F, 4, H, W)``.

    At fraction 1 a snapshot equals the family's target. A continuous family (``reiter:params:N``) gives
    one row per training draw.
    """
    fam = make_family(family) if isinstance(family, str) else family
    parsed = parse_family_spec(fam.spec)
    return growth_snapshots(
        fam.params,
        fam.steps,
        fractions,
        domain=family_domain(parsed.diameter),
        size=parsed.size,
        diameter=parsed.diameter,
    )
