"""``--resample smooth``: frames scaled with a bicubic filter on premultiplied colour, for every format.

``nearest`` (the default) makes each cell a block of ``scale x scale`` pixels, in each writer. ``smooth`` scales
a frame here first (:func:`smooth_upscale`) and gives the writer the scaled frame at scale 1
(:class:`ResampledWriter`, made by :func:`~ncarender.writers.output.open_writer`), so every format smooths
alike.

The filter runs on premultiplied colour, in float32, one channel at a time through Pillow's bicubic resampling
of 32-bit float images (``F``; Catmull-Rom, ``a = -0.5``), then divides by the filtered alpha: a transparent
cell lends an edge no colour, only transparency, so there is no dark fringe where a flake meets nothing (a
filter on straight colour would blend in the black of transparent pixels; Pillow's own RGBA resize premultiplies
in 8 bits, which darkens the faintest edge pixels). Everything is elementwise NumPy or Pillow's single-threaded
C loops in a fixed order: the same frame gives the same bytes.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from .base import FrameWriter, scaled

__all__ = ["ResampledWriter", "scale_image", "smooth_tiles", "smooth_upscale"]


def _resize_plane(plane: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """float32 ``(H, W)`` -> float32 ``(h, w)`` for ``size = (w, h)``, bicubic."""
    image = Image.fromarray(np.ascontiguousarray(plane, dtype=np.float32), "F")
    return np.array(image.resize(size, Image.Resampling.BICUBIC), dtype=np.float32)


def smooth_upscale(frame: np.ndarray, scale: int) -> np.ndarray:
    """uint8 straight-alpha RGBA ``(H, W, 4)`` -> uint8 ``(H*scale, W*scale, 4)``, bicubic on premultiplied colour.

    Colour is the filtered premultiplied colour over the filtered alpha (so a flat colour stays exactly that
    colour, where the filter overshoots too), clipped to [0, 255]; alpha is then clipped to [0, 1], and a pixel
    whose alpha rounds to 0 is ``(0, 0, 0, 0)``. An opaque frame stays opaque.
    """
    if scale == 1:
        return frame
    height, width = frame.shape[:2]
    size = (width * scale, height * scale)
    out = np.empty((size[1], size[0], 4), dtype=np.uint8)
    alpha = frame[..., 3].astype(np.float32) / 255.0  # (H, W)
    opaque = bool((frame[..., 3] == 255).all())  # then alpha stays exactly 1
    big_alpha = np.ones((size[1], size[0]), np.float32) if opaque else _resize_plane(alpha, size)
    seen = big_alpha * 255.0 >= 0.5  # alpha that rounds to at least 1
    divisor = np.where(seen, big_alpha, np.float32(1.0))  # before clipping: overshoot scales colour alike
    np.clip(big_alpha, 0.0, 1.0, out=big_alpha)
    for ch in range(3):
        colour = _resize_plane(frame[..., ch].astype(np.float32) * alpha, size)
        colour /= divisor
        np.clip(colour, 0.0, 255.0, out=colour)
        colour[~seen] = 0.0
        out[..., ch] = np.rint(colour)
    out[..., 3] = np.rint(big_alpha * 255.0)
    return out


def smooth_tiles(frame: np.ndarray, scale: int, tile: tuple[int, int]) -> np.ndarray:
    """:func:`smooth_upscale` of each ``tile = (h, w)`` block of uint8 ``(rows*h, cols*w, 4)`` ``frame`` on its
    own (several seeds side by side: no tile's filter reaches into its neighbour) -> ``(rows*h*scale,
    cols*w*scale, 4)``."""
    (height, width), (h, w) = frame.shape[:2], tile
    if (h, w) == (height, width):
        return smooth_upscale(frame, scale)
    out = np.empty((height * scale, width * scale, 4), dtype=np.uint8)
    for y in range(0, height, h):
        for x in range(0, width, w):
            out[y * scale : (y + h) * scale, x * scale : (x + w) * scale] = smooth_upscale(
                frame[y : y + h, x : x + w], scale
            )
    return out


def scale_image(frame: np.ndarray, scale: int, resample: str) -> Image.Image:
    """An "RGBA" image of uint8 ``(H, W, 4)`` ``frame`` scaled by ``scale``: ``nearest`` or ``smooth``."""
    if resample == "smooth":
        return Image.fromarray(smooth_upscale(frame, scale), "RGBA")
    return scaled(Image.fromarray(frame, "RGBA"), scale)


class ResampledWriter(FrameWriter):
    """Scales each ``(H, W, 4)`` frame smoothly by ``scale`` (each ``tile`` on its own: :func:`smooth_tiles`)
    and hands it to ``inner``, a writer opened for the scaled grid at scale 1; closes and aborts with it. Its
    summary is the inner writer's."""

    def __init__(
        self, inner: FrameWriter, *, grid: tuple[int, int], scale: int, tile: tuple[int, int] | None = None
    ) -> None:
        self.inner, self.grid, self.scale, self.tile = inner, grid, scale, tile or grid
        self.path, self.format = inner.path, inner.format

    def add(self, frame: np.ndarray) -> None:
        expected = (*self.grid, 4)
        if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.shape != expected:
            got = f"{frame.dtype} {frame.shape}" if isinstance(frame, np.ndarray) else type(frame).__name__
            raise ValueError(f"expected a uint8 frame of shape {expected}, got {got}")
        try:
            big = smooth_tiles(frame, self.scale, self.tile)
        except BaseException:
            self.inner.abort()
            raise
        self.inner.add(big)

    def close(self) -> dict[str, object]:
        self.summary = self.inner.close()
        return self.summary

    def abort(self) -> None:
        self.inner.abort()
