"""The growth loss: samples grown from a seed are compared, along the rollout, with the automaton's growth.

A family's flakes grow in Reiter's automaton as real crystals do (:mod:`ncarender.family.growth`). A run
with a growth time ``T`` (``train --growth-steps``) compares every sample that starts as a seed, after
``t`` steps, ``t`` a multiple of ``every`` up to ``T``, with its flake's snapshot at ``t / T``: the MSE of
premultiplied RGBA over the whole grid, averaged over the keyframes. The end-of-rollout persist/regenerate
loss stays as it was; the objective adds ``weight`` times this.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..errors import NCAError
from ..family.conditioning import FamilyTargets

__all__ = ["Growth", "growth_observer", "growth_of"]


@dataclass(frozen=True)
class Growth:
    """A family's snapshots at the keyframes: ``snapshots`` float32 ``(K, F, H, W, 4)`` channels-last.

    Keyframe ``i`` (0-based) is model step ``(i + 1) * every``, the snapshot at fraction ``(i + 1) * every / T``.
    """

    snapshots: torch.Tensor
    steps: int
    every: int

    def keyframe(self, step: int) -> int | None:
        """The keyframe index of model step ``step`` (1-based count of steps done), or None."""
        if step % self.every or step > self.steps or step < self.every:
            return None
        return step // self.every - 1


def growth_of(family: FamilyTargets, steps: int, every: int, device: torch.device) -> Growth:
    """The keyframe snapshots of ``family`` for growth time ``steps`` (``T``), a keyframe every ``every`` steps."""
    from ..family.family import make_family
    from ..family.growth import family_growth

    if every < 1 or steps < every:
        raise NCAError(f"growth keyframes every {every} steps do not fit a growth time of {steps} steps")
    fam = make_family(family.spec)
    if len(fam) != family.k:
        raise NCAError(f"family {family.spec!r} regrows {len(fam)} flakes, the run has {family.k}")
    fractions = [(i + 1) * every / steps for i in range(steps // every)]
    snaps = family_growth(fam, fractions)  # (K, F, 4, H, W)
    if snaps.shape[-2:] != family.targets.shape[-2:]:
        raise NCAError(f"family {family.spec!r}: growth snapshots {snaps.shape[-2:]} vs targets {family.targets.shape}")
    return Growth(torch.as_tensor(snaps).permute(0, 1, 3, 4, 2).contiguous().to(device), steps, every)


def growth_observer(
    growth: Growth, labels: torch.Tensor, fresh: torch.Tensor, grid: tuple[int, int], terms: list[torch.Tensor]
) -> Callable[[int, torch.Tensor, tuple[int, int]], None]:
    """An ``observe(t, x, origin)`` for :func:`~.rollout.rollout_cropped` that appends each keyframe's MSE to ``terms``.

    ``labels`` ``(N,)`` are the samples' flakes, ``fresh`` bool ``(N,)`` the samples that started as seeds; ``x``
    is the live window ``(N, h, w, C)`` at ``origin`` ``(y0, x0)`` of the ``grid`` ``(H, W)``.
    """
    height, width = grid
    idx = torch.nonzero(fresh).flatten()
    flakes = labels[idx.cpu()].to(growth.snapshots.device)

    def observe(t: int, x: torch.Tensor, origin: tuple[int, int]) -> None:
        key = growth.keyframe(t + 1)
        if key is None:
            return
        y0, x0 = origin
        h, w = x.shape[1], x.shape[2]
        rgba = F.pad(x[idx, ..., :4], (0, 0, x0, width - x0 - w, y0, height - y0 - h))
        terms.append(((rgba - growth.snapshots[flakes, key]) ** 2).mean())

    return observe
