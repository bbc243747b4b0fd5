"""Seed states: how a render seed becomes the state at step 0, for one-target and family models (numpy only).

A one-target model starts every seed from the same grid: zeros but the centre
cell, whose channels 3.. are 1. A family model (``ncarender.family`` in its
metadata) also writes a flake's code into the last D channels of the centre
cell; which flake a seed grows, and its code, is the metadata's seed map
(:mod:`ncarender.family.seed_maps`) unless ``flake`` picks one for every seed. The update masks
always come from the seed itself, so one integer reproduces a render.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..metadata import ModelInfo

__all__ = ["check_flake", "flakes_of", "states_for_seeds"]


def check_flake(info: ModelInfo, flake: int | None) -> None:
    """Refuse a ``--flake`` that the model cannot grow (one line: an :class:`NCAError`)."""
    info.seeding.check_flake(flake)


def flakes_of(info: ModelInfo, seeds: Sequence[int], flake: int | None = None) -> list[int] | None:
    """The training flake each seed grows, or None where the model names none (one target)."""
    check_flake(info, flake)
    seeding = info.seeding
    if not seeding.names_flakes:
        return None
    return [flake if flake is not None else seeding.flake_of_seed(int(s)) for s in seeds]


def states_for_seeds(
    info: ModelInfo, seeds: Sequence[int], height: int, width: int, flake: int | None = None
) -> np.ndarray:
    """The states at step 0 of ``seeds``: ``(N, C, H, W)`` float32, C = ``info.channels`` (codes included).

    The centre cell's channels 3..C-D are 1 and its last D channels (D = ``info.code_channels``, 0 for one target)
    the code of the seed's flake."""
    check_flake(info, flake)
    seeding = info.seeding
    x = np.zeros((len(seeds), info.channels, height, width), dtype=np.float32)
    d = seeding.code_channels
    x[:, 3 : info.channels - d, height // 2, width // 2] = 1.0
    flakes = [flake if flake is not None else seeding.flake_of_seed(int(s)) for s in seeds]
    x[:, info.channels - d :, height // 2, width // 2] = np.stack([seeding.code_of_flake(f) for f in flakes])
    return x
