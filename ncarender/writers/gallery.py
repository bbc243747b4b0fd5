"""Gallery (``ncarender sheet --seeds``): one PNG of one frame per seed, each tile labelled ``seed`` or ``seed/flake``.

The other tiled PNG beside the sprite sheet: the same grid arithmetic (:func:`~ncarender.writers.sheet.tile_grid`)
and the same atomic save (:func:`~ncarender.writers.sheet.save_png`). It takes tiles, not a seed's frames: one
``add`` per seed, in the order of the labels.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..atomic import check_writable_dir
from ..errors import NCAError
from .base import BaseWriter
from .formats import OutputSpec, get_format
from .resample import scale_image
from .sheet import save_png, tile_grid

__all__ = ["GalleryWriter"]


def _label_font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default()


class GalleryWriter(BaseWriter):
    """Tiles ``H*scale x W*scale`` pixels in ``columns`` columns (default: square), left to right, top to bottom,
    each over its label; the label strip takes the background colour (transparent stays transparent) with black
    text, or white text on a dark background. ``output`` is the gallery's
    (:func:`~ncarender.batch.gallery.gallery_output`)."""

    format = "gallery"

    def __init__(
        self,
        path: Path | str,
        *,
        seeds: list[int],
        step: int,
        grid: tuple[int, int],
        output: OutputSpec,
        flakes: list[int] | None = None,
    ) -> None:
        path = Path(path)
        record = get_format(self.format)
        if path.suffix.lower() != record.suffix:
            raise NCAError(f"a gallery is a PNG; got {str(path)!r}")
        check_writable_dir(path.parent if str(path.parent) else Path("."))
        self.seeds, self.step, self.background = seeds, step, output.background
        #: A family model: the flake each seed grew, shown as ``seed/flake`` under its tile.
        self.flakes = flakes
        super().__init__(path, n_frames=len(seeds), grid=grid, options=output.options)

    def _layout(self) -> None:
        self.font = _label_font()
        if self.flakes is None:
            self.labels = [str(seed) for seed in self.seeds]
        else:
            self.labels = [f"{seed}/{flake}" for seed, flake in zip(self.seeds, self.flakes, strict=True)]
        self.boxes = [tuple(math.ceil(v) for v in self.font.getbbox(text)) for text in self.labels]
        text_h = max(b[3] for b in self.boxes)
        tile_w, tile_h = self.scaled_size
        self.cell_w = max(tile_w, max(b[2] - b[0] for b in self.boxes) + 4)
        self.cell_h = tile_h + text_h + 6
        self.columns, self.rows = tile_grid(len(self.labels), self.options.columns)

    def _open(self) -> None:
        self._tiles: list[np.ndarray] = []

    @property
    def output_size(self) -> tuple[int, int]:
        """The whole gallery."""
        return self.columns * self.cell_w, self.rows * self.cell_h

    def memory_bytes(self) -> int:
        """The tiles at grid resolution, the gallery twice (composed, and encoded)."""
        height, width = self.grid
        out_w, out_h = self.output_size
        return 4 * (self.n_frames * height * width + 2 * out_w * out_h)

    def _add(self, frame: np.ndarray, index: int) -> None:
        self._tiles.append(frame.copy())

    def _finish(self) -> dict[str, object]:
        bg, (tile_w, tile_h) = self.background, self.scaled_size
        cols, cell_w, cell_h = self.columns, self.cell_w, self.cell_h
        fill = (0, 0, 0, 0) if bg is None else (*bg, 255)
        ink = (255, 255, 255, 255) if bg is not None and sum(bg) < 3 * 128 else (0, 0, 0, 255)
        sheet = Image.new("RGBA", self.output_size, fill)
        draw = ImageDraw.Draw(sheet)
        for n, (tile, text, box) in enumerate(zip(self._tiles, self.labels, self.boxes, strict=True)):
            x, y = (n % cols) * cell_w, (n // cols) * cell_h
            image = scale_image(tile, self.options.scale, self.options.resample)
            sheet.paste(image, (x + (cell_w - tile_w) // 2, y))
            draw.text((x + (cell_w - (box[2] - box[0])) // 2 - box[0], y + tile_h + 3), text, font=self.font, fill=ink)
        save_png(sheet, self.path)
        self._discard()
        return {}

    def _summary(self, extra: dict[str, object]) -> dict[str, object]:
        width, height = self.output_size
        return {
            "path": str(self.path),
            "format": self.format,
            "seeds": self.seeds,
            **({} if self.flakes is None else {"flakes": self.flakes}),
            "step": self.step,
            "columns": self.columns,
            "rows": self.rows,
            "cell_width": self.cell_w,
            "cell_height": self.cell_h,
            "width": width,
            "height": height,
            "bytes": self.path.stat().st_size,
        }

    def _discard(self) -> None:
        self._tiles = []
