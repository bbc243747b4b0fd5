"""Sprite sheet: an RGBA PNG of frames in a grid plus a TexturePacker "JSON hash" atlas beside it.

The atlas holds ``frames`` (each cell's rectangle and duration), ``animations`` (one, named after the PNG's stem:
every frame name in order) and ``meta``. Phaser and PixiJS load the atlas; :func:`sheet_indices` says which frames
the sheet holds. The grid arithmetic (:func:`tile_grid`) and the atomic save (:func:`save_png`) are shared with the
gallery, the other tiled PNG.
Summary keys: ``atlas``, ``columns``, ``rows``, ``cell_width``, ``cell_height``, ``source_frames``.
"""

from __future__ import annotations

import contextlib
import json
import math
from pathlib import Path

import numpy as np
from PIL import Image

from .._version import __version__
from ..atomic import atomic_path
from ..errors import NCAError
from .base import BaseWriter, scaled
from .formats import SHEET_DEFAULT_MAX_FRAMES, get_format
from .options import WriterOptions, half_up

__all__ = ["SHEET_DEFAULT_MAX_FRAMES", "SheetWriter", "save_png", "sheet_indices", "tile_frames", "tile_grid"]


def sheet_indices(n_frames: int, options: WriterOptions) -> list[int]:
    """Indices of the rendered frames that a sprite sheet holds, ascending.

    * ``sheet_every=k``: frames ``0, k, 2k, ...`` below ``n_frames``.
    * ``sheet_frames=m``: ``m`` frames evenly spaced from the first to the last
      (``round(i * (n - 1) / (m - 1))``, halves up); ``m = 1`` is the last frame.
      ``m`` above ``n_frames`` raises :class:`NCAError`.
    * neither: every frame if there are at most :data:`SHEET_DEFAULT_MAX_FRAMES`,
      else that many evenly spaced.
    """
    if options.sheet_every is not None:
        return list(range(0, n_frames, options.sheet_every))
    count = options.sheet_frames
    if count is None:
        count = min(n_frames, SHEET_DEFAULT_MAX_FRAMES)
    elif count > n_frames:
        raise NCAError(f"sheet-frames is {count} but the render has only {n_frames} frames")
    if count == 1:
        return [n_frames - 1]
    span, gaps = n_frames - 1, count - 1
    return [(2 * i * span + gaps) // (2 * gaps) for i in range(count)]


def tile_grid(cells: int, columns: int | None = None) -> tuple[int, int]:
    """``(columns, rows)`` of a grid of ``cells`` tiles, left to right, top to bottom: ``columns`` (default
    ``ceil(sqrt(cells))``), at most ``cells``."""
    cols = min(columns or math.isqrt(cells - 1) + 1, cells)
    return cols, -(-cells // cols)


def tile_frames(frames: np.ndarray, columns: int | None = None, *, blank: np.ndarray | None = None) -> np.ndarray:
    """One image of N frames side by side: uint8 ``(N, H, W, 4)`` -> ``(rows*H, cols*W, 4)`` (:func:`tile_grid`),
    left to right, top to bottom; cells past the last frame take ``blank`` (an RGBA pixel; default transparent)."""
    n, height, width, _ = frames.shape
    cols, rows = tile_grid(n, columns)
    out = np.empty((rows * height, cols * width, 4), dtype=frames.dtype)
    out[...] = 0 if blank is None else blank
    for i in range(n):
        y, x = (i // cols) * height, (i % cols) * width
        out[y : y + height, x : x + width] = frames[i]
    return out


def save_png(image: Image.Image, path: Path, *, beside: dict[Path, str] | None = None) -> None:
    """Write ``image`` as a PNG at ``path``, and each text of ``beside`` at its path, all or nothing."""
    with contextlib.ExitStack() as stack:
        png_tmp = stack.enter_context(atomic_path(path))
        texts = [(stack.enter_context(atomic_path(other)), text) for other, text in (beside or {}).items()]
        try:
            image.save(png_tmp, format="PNG")
            for tmp, text in texts:
                tmp.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise NCAError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None


class SheetWriter(BaseWriter):
    """Sprite sheet PNG + TexturePacker JSON-hash atlas; keeps only the selected grid frames."""

    format = "sheet"

    def _layout(self) -> None:
        (self.atlas_path,) = get_format(self.format).companion_paths(self.path)
        if self.atlas_path.is_dir():
            raise NCAError(f"atlas path {str(self.atlas_path)!r} is a folder")
        self.indices = sheet_indices(self.n_frames, self.options)
        self.columns, self.rows = tile_grid(len(self.indices), self.options.columns)
        self._cell_of = {frame: cell for cell, frame in enumerate(self.indices)}

    def _open(self) -> None:
        self._kept: dict[int, np.ndarray] = {}

    @property
    def sheet_size(self) -> tuple[int, int]:
        """Sheet size in pixels, ``(width, height)``."""
        width, height = self.scaled_size
        return self.columns * width, self.rows * height

    @property
    def output_size(self) -> tuple[int, int]:
        """The whole sheet."""
        return self.sheet_size

    def memory_bytes(self) -> int:
        """The kept grid frames, the sheet twice (composed, and encoded), a scaled frame."""
        height, width = self.grid
        sheet_w, sheet_h = self.sheet_size
        cell_w, cell_h = self.scaled_size
        return 4 * (len(self.indices) * height * width + 2 * sheet_w * sheet_h + cell_w * cell_h)

    def _add(self, frame: np.ndarray, index: int) -> None:
        if index in self._cell_of:
            self._kept[self._cell_of[index]] = frame.copy()

    def _durations_ms(self) -> list[int]:
        """Time each cell stands for: from its frame to the next selected one (the last: to the end, plus hold)."""
        fps = self.options.fps

        def at(frame: int) -> int:
            return half_up(frame * 1000 / fps)

        bounds = [*self.indices[1:], self.n_frames]
        durations = [at(end) - at(start) for start, end in zip(self.indices, bounds, strict=True)]
        durations[-1] += half_up(self.options.hold * 1000)
        return durations

    def _atlas(self) -> dict[str, object]:
        cell_w, cell_h = self.scaled_size
        digits = max(4, len(str(len(self.indices) - 1)))
        frames: dict[str, object] = {}
        for cell, duration in enumerate(self._durations_ms()):
            x, y = (cell % self.columns) * cell_w, (cell // self.columns) * cell_h
            frames[f"frame-{cell:0{digits}d}"] = {
                "frame": {"x": x, "y": y, "w": cell_w, "h": cell_h},
                "rotated": False,
                "trimmed": False,
                "spriteSourceSize": {"x": 0, "y": 0, "w": cell_w, "h": cell_h},
                "sourceSize": {"w": cell_w, "h": cell_h},
                "duration": duration,
            }
        width, height = self.sheet_size
        meta = {
            "app": "ncarender",
            "version": __version__,
            "image": self.path.name,
            "format": "RGBA8888",
            "size": {"w": width, "h": height},
            "scale": "1",
        }
        # TexturePacker's animations: one, named after the PNG, every frame in order (PixiJS sheet.animations).
        return {"frames": frames, "animations": {self.path.stem: list(frames)}, "meta": meta}

    def _finish(self) -> dict[str, object]:
        cell_w, cell_h = self.scaled_size
        sheet = Image.new("RGBA", self.sheet_size, (0, 0, 0, 0))
        for cell, frame in sorted(self._kept.items()):
            x, y = (cell % self.columns) * cell_w, (cell // self.columns) * cell_h
            sheet.paste(scaled(Image.fromarray(frame, "RGBA"), self.options.scale), (x, y))
        save_png(sheet, self.path, beside={self.atlas_path: json.dumps(self._atlas(), indent=2) + "\n"})
        self._kept.clear()
        width, height = self.sheet_size
        return {
            "frames": len(self.indices),
            "width": width,
            "height": height,
            "cell_width": cell_w,
            "cell_height": cell_h,
            "columns": self.columns,
            "rows": self.rows,
            "atlas": str(self.atlas_path),
            "source_frames": list(self.indices),
        }

    def _discard(self) -> None:
        self._kept.clear()
