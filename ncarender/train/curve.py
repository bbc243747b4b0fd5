"""A loss-curve PNG beside a checkpoint (Pillow only), so a long run can be judged at a glance."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..atomic import atomic_path

__all__ = ["loss_curve_path", "write_loss_curve"]


def loss_curve_path(checkpoint: Path) -> Path:
    """Where the loss curve of ``checkpoint`` is written: ``NAME.loss.png``."""
    return checkpoint.with_name(checkpoint.stem + ".loss.png")


def write_loss_curve(losses: list[float], path: Path, *, title: str = "", size: tuple[int, int] = (640, 360)) -> None:
    """Plot ``losses`` (one per iteration) on a log scale: raw values in grey, a running mean in blue.

    Nothing is written for fewer than two finite losses.
    """
    values = np.asarray([v for v in losses if math.isfinite(v) and v > 0], dtype=np.float64)
    if values.size < 2:
        return
    width, height = size
    left, right, top, bottom = 56, 12, 24, 28
    logs = np.log10(values)
    window = max(1, values.size // 50)
    smooth = np.convolve(logs, np.ones(window) / window, mode="valid")
    lo, hi = math.floor(float(logs.min())), math.ceil(float(logs.max()))
    hi = max(hi, lo + 1)

    def xy(i: np.ndarray, v: np.ndarray) -> list[tuple[float, float]]:
        xs = left + (width - left - right) * i / max(1, values.size - 1)
        ys = top + (height - top - bottom) * (hi - v) / (hi - lo)
        return list(zip(xs.tolist(), ys.tolist(), strict=True))

    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    for decade in range(lo, hi + 1):
        y = top + (height - top - bottom) * (hi - decade) / (hi - lo)
        draw.line([(left, y), (width - right, y)], fill=(225, 225, 225))
        draw.text((4, y - 6), f"1e{decade}", fill=(80, 80, 80))
    draw.line(xy(np.arange(values.size), logs), fill=(190, 190, 190))
    draw.line(xy(np.arange(smooth.size) + (window - 1) / 2, smooth), fill=(30, 90, 200), width=2)
    draw.text((left, 4), f"{title}  loss {values[-1]:.3g} (log scale)", fill=(0, 0, 0))
    draw.text((left, height - bottom + 8), "0", fill=(80, 80, 80))
    draw.text((width - right - 60, height - bottom + 8), f"{values.size} it", fill=(80, 80, 80))
    with atomic_path(path) as tmp:
        img.save(tmp, format="PNG")
