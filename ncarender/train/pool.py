"""The sample pool file beside a checkpoint (``NAME.pool.pt``): each slot cropped to its live cells, float16.

A pool state is zero outside its live cells (alive masking zeroes dead ones), and most of a young pool's slots
are still seeds: one live cell. So each slot keeps only its bounding box of non-zero cells: a slot that was
never drawn costs one cell, not a whole grid, and a grown one its flake plus the margin it grew into. The file
is a dict (``format``, ``version``, the pool's ``shape``, per-slot ``boxes`` and the ``cells`` of all boxes
one after another); :func:`read_pool` also reads the bare ``(P, H, W, C)`` float16 tensor of older versions.
Values are float16 as before; the zeros are exact, so nothing is lost by the crop.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from ..atomic import atomic_path

__all__ = ["POOL_FORMAT", "pack_pool", "pool_path", "read_pool", "save_pool", "unpack_pool"]

POOL_FORMAT = "ncarender-pool"
POOL_VERSION = 2


def pool_path(path: Path) -> Path:
    """Where the sample pool of the checkpoint ``path`` is kept."""
    return path.with_name(path.stem + ".pool.pt")


def _boxes(pool: torch.Tensor) -> torch.Tensor:
    """Per slot of ``(P, H, W, C)``, its box of non-zero cells ``(P, 4)``: rows ``y0:y1``, columns ``x0:x1``.

    An all-zero slot (a state that died) gets an empty box at ``0:0``.
    """
    live = pool.abs().amax(dim=-1) > 0  # (P, H, W)
    rows, cols = live.any(dim=2), live.any(dim=1)  # (P, H), (P, W)

    def span(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n = mask.shape[1]
        index = torch.arange(n, device=mask.device)
        first = torch.where(mask, index, n).amin(dim=1)
        last = torch.where(mask, index, -1).amax(dim=1) + 1
        empty = ~mask.any(dim=1)
        return first.masked_fill(empty, 0), last.masked_fill(empty, 0)

    y0, y1 = span(rows)
    x0, x1 = span(cols)
    return torch.stack([y0, y1, x0, x1], dim=1).to(torch.int32)


def pack_pool(pool: torch.Tensor) -> dict[str, object]:
    """The file's contents for the pool ``(P, H, W, C)``: each slot's box of non-zero cells, as float16."""
    pool = pool.detach().to("cpu", torch.float16)
    boxes = _boxes(pool)
    crops = [pool[i, y0:y1, x0:x1].reshape(-1) for i, (y0, y1, x0, x1) in enumerate(boxes.tolist())]
    cells = torch.cat(crops) if crops else torch.zeros(0, dtype=torch.float16)
    return {
        "format": POOL_FORMAT,
        "version": POOL_VERSION,
        "shape": [int(n) for n in pool.shape],
        "boxes": boxes,
        "cells": cells,
    }


def unpack_pool(data: object) -> torch.Tensor | None:
    """The pool ``(P, H, W, C)`` float32 from a pool file's contents (this version's or an older bare tensor).

    None if ``data`` is neither, or does not add up (a damaged file).
    """
    if isinstance(data, torch.Tensor):  # before version 2: the whole pool, float16
        return data.float() if data.ndim == 4 else None
    if not isinstance(data, dict) or data.get("format") != POOL_FORMAT:
        return None
    shape, boxes, cells = data.get("shape"), data.get("boxes"), data.get("cells")
    if not (isinstance(shape, list) and len(shape) == 4 and isinstance(boxes, torch.Tensor)):
        return None
    if not isinstance(cells, torch.Tensor) or tuple(boxes.shape) != (shape[0], 4):
        return None
    count, height, width, channels = (int(n) for n in shape)
    pool = torch.zeros((count, height, width, channels))
    flat = cells.float()
    at = 0
    for i, (y0, y1, x0, x1) in enumerate(boxes.tolist()):
        if not (0 <= y0 <= y1 <= height and 0 <= x0 <= x1 <= width):
            return None
        n = (y1 - y0) * (x1 - x0) * channels
        if at + n > flat.numel():
            return None
        pool[i, y0:y1, x0:x1] = flat[at : at + n].reshape(y1 - y0, x1 - x0, channels)
        at += n
    return pool if at == flat.numel() else None


def save_pool(path: Path, pool: torch.Tensor) -> None:
    """Write the sample pool ``(P, H, W, C)`` beside the checkpoint ``path`` (atomically)."""
    with atomic_path(pool_path(path)) as tmp:
        torch.save(pack_pool(pool), tmp)


def read_pool(path: Path) -> torch.Tensor | None:
    """The pool saved beside the checkpoint ``path`` ``(P, H, W, C)`` float32; None if it is missing or unreadable."""
    file = pool_path(path)
    if not file.exists():
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = torch.load(file, map_location="cpu", weights_only=True)
    except Exception:  # a damaged file can make the unpickler raise anything; the caller starts a fresh pool
        return None
    return unpack_pool(data)
