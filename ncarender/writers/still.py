"""PNG still: one frame, the last of the render (``ncarender png --step N``), as an RGBA PNG at any scale.

The render hands it only the frame at the still's step, so ``--resample smooth`` scales one frame, not every
frame of the rollout (:meth:`Renderer.write <ncarender.api.Renderer.write>`). Straight alpha over a transparent
background, or opaque over a colour. Summary key: ``step`` is added by the caller.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from .base import BaseWriter, scaled
from .sheet import save_png

__all__ = ["StillWriter"]


class StillWriter(BaseWriter):
    """One RGBA PNG of the last frame it is given (earlier frames, if any, are skipped)."""

    format = "png"

    def _open(self) -> None:
        self._frame: np.ndarray | None = None

    def _add(self, frame: np.ndarray, index: int) -> None:
        if index == self.n_frames - 1:
            self._frame = frame.copy()

    def _finish(self) -> dict[str, object]:
        assert self._frame is not None
        save_png(scaled(Image.fromarray(self._frame, "RGBA"), self.options.scale), self.path)
        self._frame = None
        return {"frames": 1}

    def _discard(self) -> None:
        self._frame = None
