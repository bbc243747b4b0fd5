"""Training rollouts: the live-cell crop, seed states and damage discs, all channels-last ``(N, H, W, C)``.

Rolling out only the bounding box of the live cells (plus a margin) gives
exactly the full-grid result: a cell with no live neighbour is zeroed by the
alive mask, so nothing outside the box can change.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from .model import NCA

__all__ = ["damage", "rollout_cropped", "seed_states_nhwc"]


def _live_window(x: torch.Tensor, margin: int, bounds: tuple[int, int, int, int]) -> tuple[int, int, int, int] | None:
    """Bounding box ``(y0, y1, x0, x1)`` of non-zero cells of ``x`` ``(N, h, w, C)``, grown by ``margin``.

    Coordinates are local to ``x`` and clipped to ``bounds`` (which may reach
    beyond ``x``: the caller pads). ``None`` if every cell is zero.
    """
    occupied = x.detach().abs().amax(dim=(0, 3)) > 0  # (h, w)
    rows = torch.nonzero(occupied.any(dim=1)).flatten()
    if rows.numel() == 0:
        return None
    cols = torch.nonzero(occupied.any(dim=0)).flatten()
    return (
        max(int(rows[0]) - margin, bounds[0]),
        min(int(rows[-1]) + 1 + margin, bounds[1]),
        max(int(cols[0]) - margin, bounds[2]),
        min(int(cols[-1]) + 1 + margin, bounds[3]),
    )


def rollout_cropped(
    model: NCA,
    state: torch.Tensor,
    steps: int,
    mask_fn: Callable[[], torch.Tensor],
    observe: Callable[[int, torch.Tensor, tuple[int, int]], None] | None = None,
) -> torch.Tensor:
    """Roll ``state`` ``(N, H, W, C)`` forward ``steps`` steps; returns ``(N, H, W, C)``.

    Cells outside the live region stay exactly zero (a cell with no live
    neighbour is zeroed by the alive mask), so each step is computed on the
    bounding box of the non-zero cells plus a 2-cell margin, which is exact.
    ``mask_fn()`` returns the full-grid mask ``(N, H, W, 1)`` for each step, so
    the random stream is the same as for an uncropped rollout. ``observe(t, x, origin)``,
    if given, sees the state after step ``t`` (0-based), cropped to the live box
    ``(N, h, w, C)`` whose top-left cell is ``origin`` ``(y, x)`` of the grid (every cell outside it is zero).
    """
    _, height, width, _ = state.shape
    win = _live_window(state, 2, (0, height, 0, width))
    if win is None:  # nothing alive: nothing can ever grow
        for _ in range(steps):
            mask_fn()
        return state
    y0, y1, x0, x1 = win
    x = state[:, y0:y1, x0:x1]
    for t in range(steps):
        mask = mask_fn()[:, y0:y1, x0:x1]
        x = model.forward_nhwc(x, mask)
        if observe is not None:
            observe(t, x, (y0, x0))
        new = _live_window(x, 2, (-y0, height - y0, -x0, width - x0))
        if new is None:
            x = torch.zeros_like(x)
            continue
        ny0, ny1, nx0, nx1 = new
        pad = (0, 0, max(0, -nx0), max(0, nx1 - x.shape[2]), max(0, -ny0), max(0, ny1 - x.shape[1]))
        if any(pad):
            x = F.pad(x, pad)
        oy, ox = max(0, -ny0), max(0, -nx0)
        x = x[:, ny0 + oy : ny1 + oy, nx0 + ox : nx1 + ox]
        y0, y1, x0, x1 = y0 + ny0, y0 + ny1, x0 + nx0, x0 + nx1
    return F.pad(x, (0, 0, x0, width - x1, y0, height - y1))


def seed_states_nhwc(
    n: int, height: int, width: int, channels: int, device: torch.device, codes: torch.Tensor | None = None
) -> torch.Tensor:
    """Seed states ``(n, H, W, C [+ D])`` channels-last; with ``codes`` ``(n, D)`` the centre carries each code."""
    d = 0 if codes is None else int(codes.shape[1])
    x = torch.zeros((n, height, width, channels + d), device=device)
    x[:, height // 2, width // 2, 3:channels] = 1.0
    if codes is not None:
        x[:, height // 2, width // 2, channels:] = codes.to(device)
    return x


def damage(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Zero a random disc (radius 0.1-0.4 of the grid, centre in the middle half) in each sample of ``(n, H, W, C)``."""
    n, height, width, _ = x.shape
    r = torch.rand((n, 3), generator=gen).to(x.device)  # the run's generator is on the CPU, whatever the device
    ys = torch.linspace(-1.0, 1.0, height, device=x.device)[None, :, None]
    xs = torch.linspace(-1.0, 1.0, width, device=x.device)[None, None, :]
    cy, cx = (r[:, 0] - 0.5)[:, None, None], (r[:, 1] - 0.5)[:, None, None]
    radius = (0.1 + 0.3 * r[:, 2])[:, None, None]
    keep = ((ys - cy) ** 2 + (xs - cx) ** 2) > radius**2  # (n, H, W)
    return x * keep[..., None].to(x.dtype)
