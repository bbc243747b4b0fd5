"""Training on the lattice: update masks by kind, rollouts that keep exact symmetry, and the growth penalties.

The training loop (:mod:`.loop`) asks this module, never the lattice itself:

* :func:`mask_drawer` draws the per-step update masks ``(N, H, W, 1)``: per cell (mask kind ``cell``, the
  draw every square model trains with, unchanged), or one draw per symmetry orbit (``orbit``: the same
  uniform numbers, gathered by :func:`~ncarender.lattice.hex_orbits`, so each orbit takes its
  representative's draw);
* :func:`train_rollout` rolls a batch out. A square model: :func:`~.rollout.rollout_cropped`, nothing else.
  A hex model runs on the whole axial array (the active-cell trick of ``forward_nhwc`` still skips dead
  cells) and, with orbit masks, every sample whose starting state is exactly symmetric takes each cell from
  its orbit's representative after every step (one gather): float rounding cannot break its six-fold
  symmetry, and a sample damaged on purpose (asymmetric) is left alone. It also returns the growth penalty:
  :func:`palette_penalty` on the visible colour and :func:`overflow_penalty` on the state, averaged over
  the steps from :data:`PENALTY_FROM` on, every :data:`PENALTY_EVERY` steps (issue 25, item 7: the first
  steps of a rollout are not free to pass through any colour); a square family model takes the palette
  penalty alone, and only when its weight is set;
* :func:`lattice_damage`: Distill's damage disc, in the flake's own geometry on a hex model.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..family.crystal_image import CORE, RIM
from ..lattice import MASK_ORBIT, hex_orbits
from .model import NCA
from .rollout import damage, rollout_cropped

#: What :func:`~.rollout.rollout_cropped` calls after each step: ``(t, live window, its origin)``.
Observer = Callable[[int, torch.Tensor, tuple[int, int]], None]

__all__ = [
    "OVERFLOW_WEIGHT",
    "PALETTE_WEIGHT",
    "PENALTY_EVERY",
    "PENALTY_FROM",
    "from_seed",
    "is_symmetric",
    "lattice_damage",
    "mask_drawer",
    "orbit_index",
    "overflow_penalty",
    "palette_penalty",
    "rollout_hex",
    "symmetrise",
    "train_rollout",
]

#: First rollout step (0-based, after the step) the growth penalties look at.
PENALTY_FROM = 8
#: The penalties look at every this-many steps (and always at the last).
PENALTY_EVERY = 4
#: Default weight of :func:`palette_penalty` in a hex model's loss (``train --palette-weight``): off. At 1.0 from
#: the first iteration it kept seeds from growing at all (reiter:4@16, 300 iterations, live cells at step 80 against
#: 115-205 ice cells: 7-37 with it; 85-381, one flake of four not growing, with the overflow penalty alone; 300-420
#: with neither), so it is for a run that already grows (``--resume``).
PALETTE_WEIGHT = 0.0
#: Weight of :func:`overflow_penalty` in a hex model's loss.
OVERFLOW_WEIGHT = 1.0
#: A cell is visible above this alpha (as ``eval``'s palette figure counts it).
VISIBLE_ALPHA = 0.1
#: Hidden channels may range over [-HIDDEN_LIMIT, HIDDEN_LIMIT] freely (reiter16w's reach about 5 at step 200).
HIDDEN_LIMIT = 6.0


def orbit_index(height: int, width: int, device: torch.device | None = None) -> torch.Tensor:
    """The orbit representative of every cell of an ``(H, W)`` axial array: int64 ``(H * W,)`` flat indices."""
    return torch.from_numpy(np.array(hex_orbits(height, width))).to(device)


def mask_drawer(
    model: NCA, n: int, height: int, width: int, gen: torch.Generator, device: torch.device
) -> Callable[[], torch.Tensor]:
    """A function drawing one update mask ``(n, H, W, 1)`` (float 0/1 on ``device``) per call from ``gen``.

    Both kinds draw the same uniform numbers ``(n, H, W, 1)`` on the CPU; the ``orbit`` kind then gives every
    cell its orbit representative's number, so the orbits fire together.
    """
    rep = orbit_index(height, width) if model.config.mask == MASK_ORBIT else None

    def draw() -> torch.Tensor:
        u = torch.rand((n, height, width, 1), generator=gen)
        if rep is not None:
            u = u.view(n, height * width)[:, rep].view(n, height, width, 1)
        return (u < model.config.fire_rate).to(device, torch.float32)

    return draw


def symmetrise(x: torch.Tensor, rep: torch.Tensor) -> torch.Tensor:
    """Every cell of ``x`` ``(N, H, W, C)`` from its orbit representative ``rep`` ``(H * W,)``: one gather."""
    n, height, width, c = x.shape
    return x.reshape(n, height * width, c).index_select(1, rep).view(n, height, width, c)


def is_symmetric(x: torch.Tensor, rep: torch.Tensor) -> torch.Tensor:
    """Bool ``(N,)``: whether each sample of ``x`` ``(N, H, W, C)`` is exactly (bit for bit) symmetric."""
    return (symmetrise(x, rep) == x).flatten(1).all(dim=1)


def palette_penalty(x: torch.Tensor) -> torch.Tensor:
    """How far the visible colour of ``x`` ``(N, H, W, C)`` strays from the family's palette: a scalar.

    The palette is the segment from the rim colour to the core colour (straight alpha). In premultiplied
    terms a cell of alpha ``a`` belongs on the segment ``a * (rim + t (core - rim))``, ``t`` in [0, 1]. The
    penalty per cell is the squared premultiplied distance to that segment divided by ``max(a, 0.1)``, so a
    visible cell counts ``a`` times its straight colour's squared distance (a faint speck counts, as it does to
    the eye and to ``eval``'s palette figure, which counts every cell above alpha 0.1), an invisible one its
    premultiplied distance times 10; plus alpha outside [0, 1]; averaged over the cells. A target is on it.
    """
    rim = torch.as_tensor(RIM, dtype=x.dtype, device=x.device)
    line = torch.as_tensor(CORE - RIM, dtype=x.dtype, device=x.device)
    norm2 = float((CORE - RIM) @ (CORE - RIM))
    rgb, a = x[..., :3], x[..., 3:4]
    rel = rgb - a * rim  # (N, H, W, 3)
    along = (rel * line).sum(dim=-1, keepdim=True) / norm2  # a * t
    across = rel - along * line
    beyond = F.relu(-along) + F.relu(along - a)  # past the rim or the core end, in units of the segment
    alpha_out = F.relu(-a) + F.relu(a - 1.0)
    dev2 = across.pow(2).sum(dim=-1, keepdim=True) + beyond.pow(2) * norm2  # (N, H, W, 1)
    return (dev2 / a.clamp(min=VISIBLE_ALPHA) + alpha_out.pow(2)).mean()


def from_seed(state: torch.Tensor) -> torch.Tensor:
    """Bool ``(N,)``: the samples of ``state`` ``(N, H, W, C)`` that are a seed (at most one cell above alpha 0.1).

    The palette penalty looks at these alone: growth from the seed is what it keeps on the palette (a pool's
    grown states are on it already, and would dilute it eight to one).
    """
    return (state[..., 3] > VISIBLE_ALPHA).flatten(1).sum(dim=1) <= 1


def overflow_penalty(x: torch.Tensor, channels: int) -> torch.Tensor:
    """Squared excess of the NCA channels of ``x`` ``(N, H, W, C [+ D])`` over their range, averaged: a scalar.

    RGBA ``[0, 1]``, hidden ``[-HIDDEN_LIMIT, HIDDEN_LIMIT]``; the code channels are fixed and not counted.
    """
    rgba, hidden = x[..., :4], x[..., 4:channels]
    over = (rgba - rgba.clamp(0.0, 1.0)).pow(2).sum(dim=-1)
    over = over + (hidden - hidden.clamp(-HIDDEN_LIMIT, HIDDEN_LIMIT)).pow(2).sum(dim=-1)
    return over.mean()


def rollout_hex(
    model: NCA,
    state: torch.Tensor,
    steps: int,
    mask_fn: Callable[[], torch.Tensor],
    *,
    palette_weight: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Roll a hex model's ``state`` ``(N, H, W, C)`` forward ``steps`` steps; returns it and the growth penalty.

    With orbit masks, the samples that start exactly symmetric are gathered by their orbits after each step
    (:func:`symmetrise`), so they stay symmetric bit for bit. The penalty is ``palette_weight`` (default
    :data:`PALETTE_WEIGHT`) times :func:`palette_penalty` of the samples that started as seeds
    (:func:`from_seed`) plus ``OVERFLOW_WEIGHT`` times :func:`overflow_penalty` of all, averaged over the
    looked-at steps (a zero tensor if none).
    """
    n, height, width, _ = state.shape
    weight = PALETTE_WEIGHT if palette_weight is None else palette_weight
    rep = orbit_index(height, width, state.device) if model.config.mask == MASK_ORBIT else None
    keep = None
    if rep is not None:
        sym = is_symmetric(state, rep)
        keep = None if bool(sym.all()) else sym.view(n, 1, 1, 1)
        if not bool(sym.any()):
            rep = None
    penalty = torch.zeros((), dtype=state.dtype, device=state.device)
    looked = 0
    seeds = from_seed(state) if weight else None
    if seeds is not None and not bool(seeds.any()):
        weight = 0.0
    x = state
    for t in range(steps):
        x = model.forward_nhwc(x, mask_fn())
        if rep is not None:
            x = symmetrise(x, rep) if keep is None else torch.where(keep, symmetrise(x, rep), x)
        if t >= PENALTY_FROM and ((steps - 1 - t) % PENALTY_EVERY == 0):
            if weight:
                penalty = penalty + weight * palette_penalty(x[seeds])
            penalty = penalty + OVERFLOW_WEIGHT * overflow_penalty(x, model.config.channels)
            looked += 1
    return x, penalty / max(looked, 1)


def train_rollout(
    model: NCA,
    state: torch.Tensor,
    steps: int,
    mask_fn: Callable[[], torch.Tensor],
    *,
    palette_weight: float = 0.0,
    growth: Callable[[torch.Tensor, list[torch.Tensor]], Observer] | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """The training rollout of ``model``: ``(final state (N, H, W, C), penalty or None, growth loss or None)``.

    A hex model: :func:`rollout_hex` (no growth loss: refused before training). A square model:
    :func:`~.rollout.rollout_cropped`; with a ``palette_weight``, also ``palette_weight`` times
    :func:`palette_penalty` of the samples that started as seeds (:func:`from_seed`; zero if none did)
    averaged over the same steps as on hex (per cell of the whole grid: the cells outside the live box are
    zero, on the palette), else no penalty (its training is then unchanged, draw for draw). ``growth(seeds,
    terms)``, given the bool ``(N,)`` of samples that start as seeds, makes the observer of the growth loss
    (:func:`~.growth.growth_observer`) that appends to ``terms``; they are averaged (None if there were none).
    """
    if model.config.hex:
        final, hex_penalty = rollout_hex(model, state, steps, mask_fn, palette_weight=palette_weight)
        return final, hex_penalty, None
    if not palette_weight and growth is None:
        return rollout_cropped(model, state, steps, mask_fn), None, None
    seeds = from_seed(state)
    observers: list[Observer] = []
    cells = state.shape[1] * state.shape[2]
    terms: list[torch.Tensor] = []
    if palette_weight and bool(seeds.any()):

        def palette(t: int, x: torch.Tensor, origin: tuple[int, int]) -> None:
            if t >= PENALTY_FROM and (steps - 1 - t) % PENALTY_EVERY == 0:
                terms.append(palette_penalty(x[seeds]) * (x.shape[1] * x.shape[2] / cells))

        observers.append(palette)
    keyframes: list[torch.Tensor] = []
    if growth is not None and bool(seeds.any()):
        observers.append(growth(seeds, keyframes))

    def observe(t: int, x: torch.Tensor, origin: tuple[int, int]) -> None:
        for one in observers:
            one(t, x, origin)

    x = rollout_cropped(model, state, steps, mask_fn, observe if observers else None)
    zero = torch.zeros((), dtype=state.dtype, device=state.device)
    penalty = None if not palette_weight else (palette_weight * torch.stack(terms).mean() if terms else zero)
    return x, penalty, torch.stack(keyframes).mean() if keyframes else None


def lattice_damage(model: NCA, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Zero a random disc in each sample of ``x`` ``(n, H, W, C)``: :func:`~.rollout.damage` on a square model.

    On a hex model the disc is round in the flake's own geometry (cell ``(q, r)`` at ``x = q + r / 2``,
    ``y = r * sqrt(3) / 2``), with the same draws: centre in the middle half, radius 0.1-0.4 of the half-width.
    """
    if not model.config.hex:
        return damage(x, gen)
    n, height, width, _ = x.shape
    u = torch.rand((n, 3), generator=gen).to(x.device)
    rows = torch.arange(height, device=x.device, dtype=x.dtype) - height // 2
    cols = torch.arange(width, device=x.device, dtype=x.dtype) - width // 2
    half = max(height // 2, width // 2, 1)
    py = (rows[:, None] * (3**0.5 / 2)).expand(height, width) / half  # (H, W), in half-widths
    px = (cols[None, :] + rows[:, None] / 2) / half
    cy, cx = (u[:, 0] - 0.5)[:, None, None], (u[:, 1] - 0.5)[:, None, None]
    radius = (0.1 + 0.3 * u[:, 2])[:, None, None]
    keep = ((py - cy) ** 2 + (px - cx) ** 2) > radius**2  # (n, H, W)
    return x * keep[..., None].to(x.dtype)
