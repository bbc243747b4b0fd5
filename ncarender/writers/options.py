"""How frames are encoded: :class:`WriterOptions`, validated on construction. Plain data: no numpy, no Pillow."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import NCAError
from ..limits import RENDER

__all__ = ["LOOP_ORDERS", "RESAMPLES", "WriterOptions", "half_up", "parse_loop"]

#: How frames are scaled: ``nearest`` (each cell a block of pixels) or ``smooth`` (premultiplied bicubic).
RESAMPLES = ("nearest", "smooth")
#: The order an animation plays its frames in (``--loop``): ``forward`` as grown, or ``pingpong``, forward then
#: back, so the loop closes on the seed without a cut.
LOOP_ORDERS = ("forward", "pingpong")


def parse_loop(text: object) -> bool:
    """``--loop``'s value -> whether the animation plays ping-pong (``forward``: False, ``pingpong``: True)."""
    value = text.strip().lower() if isinstance(text, str) else text
    if value not in LOOP_ORDERS:
        raise NCAError(f"--loop must be {' or '.join(LOOP_ORDERS)}, got {text!r}")
    return value == "pingpong"


def half_up(x: float) -> int:
    """Round to the nearest integer, halves up (unlike Python's banker's ``round``)."""
    return math.floor(x + 0.5)


@dataclass(frozen=True)
class WriterOptions:
    """How frames are encoded; invalid values raise :class:`NCAError` on construction.

    Attributes:
        scale: integer upscaling, >= 1 (a cell becomes ``scale x scale`` pixels; how: ``resample``).
        fps: frames per second, 0.001 to 1,000 (:mod:`ncarender.limits`). GIF rounds the delay to whole
            centiseconds (:func:`gif_frame_ms`).
        loop: GIF, WebP and APNG loop forever (``loop=0``) when true, play once when false.
        hold: seconds to show the last frame longer (GIF: added to its delay; MP4: the last
            frame repeated ``round(hold * fps)`` times; sheet: added to the last atlas duration).
        transparent: frames carry real alpha. GIF maps alpha < 128 to one transparent index;
            MP4 refuses (no alpha channel).
        crf: x264 constant rate factor, 0 (lossless) .. 51 (worst); 18 looks near-lossless.
        columns: sprite-sheet columns; default ``ceil(sqrt(cells))``, at most the number of cells.
        sheet_frames: sprite sheet holds this many frames, evenly spaced, first and last included.
        sheet_every: sprite sheet holds frames 0, k, 2k, ... (excludes ``sheet_frames``).
        quality: WebP: lossy at this quality, 0 (smallest) .. 100; None: lossless.
        resample: ``nearest`` (a cell becomes a block of pixels) or ``smooth`` (premultiplied bicubic,
            :mod:`~ncarender.writers.resample`).
        pingpong: play the frames forward, then back (the first and last not repeated): ``F`` rendered frames
            play as ``2F - 2``, and ``hold`` is spent on the last rendered frame, where the animation turns
            (:mod:`~ncarender.writers.pingpong`). GIF, MP4, WebP and APNG.
    """

    scale: int = 4
    fps: float = 20.0
    loop: bool = True
    hold: float = 0.0
    transparent: bool = False
    crf: int = 18
    columns: int | None = None
    sheet_frames: int | None = None
    sheet_every: int | None = None
    quality: int | None = None
    resample: str = "nearest"
    pingpong: bool = False

    def __post_init__(self) -> None:
        for name in ("scale", "fps", "hold", "crf"):
            RENDER[name].check(getattr(self, name))
        for name in ("columns", "sheet_frames", "quality"):
            RENDER[name].check_optional(getattr(self, name))
        RENDER["every"].check_optional(self.sheet_every)
        if self.resample not in RESAMPLES:
            raise NCAError(f"resample must be {' or '.join(RESAMPLES)}, got {self.resample!r}")
        if not isinstance(self.pingpong, bool):
            raise NCAError(f"pingpong must be True or False, got {self.pingpong!r}")
        if self.sheet_frames is not None and self.sheet_every is not None:
            raise NCAError("give either sheet-frames or sheet-every, not both")
        # Plain Python numbers from here on (NumPy scalars are accepted above).
        for name in ("scale", "crf", "columns", "sheet_frames", "sheet_every", "quality"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, int(getattr(self, name)))
        object.__setattr__(self, "fps", float(self.fps))
        object.__setattr__(self, "hold", float(self.hold))
