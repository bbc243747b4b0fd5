"""What the two animated formats with full alpha share (WebP and APNG): held frames, merged repeats, timing.

:class:`HeldAnimationWriter` keeps each frame that differs from the one before it (grid resolution, uint8
``(H, W, 4)``) with the index of the rendered frame where it starts; a run of identical frames becomes one stored
frame that lasts the whole run. At close it scales them and hands them, with the rendered-frame index where each
one starts, to its format's :meth:`~HeldAnimationWriter._encode` (Pillow's encoder, which takes the whole
animation at once), into a temporary file renamed over the target when complete.

Timing: frame ``i`` of the render starts at ``i / fps`` seconds and the last one (or, in a ping-pong, the one where it
turns: :attr:`~ncarender.writers.base.BaseWriter.hold_at`) is held ``hold`` seconds longer.
How exactly a format stores that is its own (:func:`frame_times_ms` for WebP's milliseconds,
:func:`apng_delay` for APNG's fractions). Like a GIF's, no frame is shorter than :data:`MIN_FRAME_MS`: browsers
play frames of 10 ms or less at 100 ms, so above 50 fps the animation plays at 50 fps.
"""

from __future__ import annotations

import itertools
import math
from abc import abstractmethod
from fractions import Fraction
from pathlib import Path
from typing import TypeVar

import numpy as np
from PIL import Image

from ..errors import NCAError
from ..limits import check_timing, clamped_fps
from .base import BaseWriter, PendingFile, scaled
from .formats import MIN_FRAME_MS, get_format
from .options import half_up

__all__ = ["MIN_FRAME_MS", "HeldAnimationWriter", "apng_delay", "clamped", "frame_times_ms", "split_runs"]

_T = TypeVar("_T")
_D = TypeVar("_D", int, Fraction)

#: The largest 16-bit numerator or denominator of an APNG delay.
_U16 = 65_535


def frame_rate(fps: float) -> Fraction:
    """The frame rate an animation plays at: ``fps`` as the decimal it was written as (29.97 -> 2997/100), at most
    ``1000 / MIN_FRAME_MS``."""
    return min(Fraction(str(float(fps))), Fraction(1000, MIN_FRAME_MS))


def frame_times_ms(starts: list[int], n_frames: int, fps: Fraction, hold_ms: int, held: int = -1) -> list[int]:
    """Whole-millisecond durations of the stored frames that start at rendered frames ``starts`` (ascending, the
    first 0) of ``n_frames``: the differences of ``i * 1000 / fps`` rounded (halves up), so no error builds up:
    every frame starts within half a millisecond of its time and the whole lasts ``n_frames / fps`` to the
    millisecond; stored frame ``held`` (default the last) also lasts ``hold_ms``."""
    times = [half_up(float(i * 1000 / fps)) for i in [*starts, n_frames]]
    durations = [b - a for a, b in itertools.pairwise(times)]
    durations[held] += hold_ms
    return durations


def clamped(fmt: str, fps: float) -> dict[str, object]:
    """The summary key of a frame rate the format clamps (``{"clamped": {"fps": [asked, plays at]}}``), or none."""
    plays = clamped_fps(get_format(fmt), fps)
    return {} if plays is None else {"clamped": {"fps": [fps, plays]}}


def split_runs(frames: list[_T], durations: list[_D], most: _D) -> tuple[list[_T], list[_D]]:
    """Each stored frame that lasts longer than ``most`` (a merged run of identical frames, or a held last one) as
    the same frame stored several times, each lasting ``most`` but the last (the rest): what a format whose
    delays have a largest value (the table of formats' ``max_frame_ms``) can store, and plays the same."""
    out_frames: list[_T] = []
    out_durations: list[_D] = []
    for frame, duration in zip(frames, durations, strict=True):
        while duration > most:
            out_frames.append(frame)
            out_durations.append(most)
            duration -= most
        out_frames.append(frame)
        out_durations.append(duration)
    return out_frames, out_durations


def apng_delay(seconds: Fraction) -> Fraction:
    """``seconds`` as an APNG delay: a fraction whose numerator and denominator both fit 16 bits, exact when one
    does (1/30, 100/2997 for 29.97 fps), else the nearest that does. :class:`NCAError` past 65,535 s."""
    if seconds > _U16:
        raise NCAError(f"an APNG frame lasts at most {_U16:,} s; this one would last {float(seconds):,.2f} s")
    # Past a second, a denominator up to 65535 / seconds keeps the numerator within 16 bits.
    most = _U16 if seconds <= 1 else max(1, min(_U16, math.floor(_U16 / seconds)))
    return seconds.limit_denominator(most)


class HeldAnimationWriter(BaseWriter):
    """An animation Pillow encodes at once: keeps the distinct frames, encodes them at close.

    Subclasses set :attr:`format` and implement :meth:`_encode`. Summary keys: ``frames`` (stored, as a reader
    counts them), ``fps`` (what it plays at), ``duration_ms``, ``loop``, ``transparent``.
    """

    def _layout(self) -> None:
        self.fps = frame_rate(self.options.fps)
        self.hold = Fraction(str(self.options.hold))
        check_timing(get_format(self.format), self.options.fps, self.options.hold, self.n_frames)

    def memory_bytes(self) -> int:
        """The frames at grid resolution, and twice over scaled (the images, and the encoder's copies)."""
        height, width = self.grid
        out_w, out_h = self.output_size
        return self.n_frames * 4 * (height * width + 2 * out_w * out_h)

    def _open(self) -> None:
        self._frames: list[np.ndarray] = []
        self._starts: list[int] = []

    def _add(self, frame: np.ndarray, index: int) -> None:
        if self._frames and np.array_equal(frame, self._frames[-1]):
            return  # the stored frame before it lasts longer
        self._frames.append(frame.copy())
        self._starts.append(index)

    def _finish(self) -> dict[str, object]:
        transparent = self.options.transparent
        mode = "RGBA" if transparent else "RGB"
        images = [scaled(Image.fromarray(f, "RGBA").convert(mode), self.options.scale) for f in self._frames]
        self._frames = []
        pending = PendingFile(self.path)
        try:
            extra = self._encode(pending.tmp, images, self._starts)
            with Image.open(pending.tmp) as written:
                stored = getattr(written, "n_frames", 1)
        except OSError as exc:  # a full disk, or the encoder refused
            pending.discard()
            raise NCAError(f"cannot write {str(self.path)!r}: {exc.strerror or exc}") from None
        except BaseException:
            pending.discard()
            raise
        pending.commit()
        duration = Fraction(self.count) / self.fps + self.hold
        return {
            "frames": stored,
            "fps": float(self.fps),
            "duration_ms": float(duration * 1000),  # a format that rounds says its own
            "loop": self.options.loop,
            "transparent": transparent,
            **clamped(self.format, self.options.fps),
            **extra,
        }

    @abstractmethod
    def _encode(self, tmp: Path, images: list[Image.Image], starts: list[int]) -> dict[str, object]:
        """Write ``images`` (scaled, "RGBA" or "RGB"), each starting at rendered frame ``starts[i]``, to ``tmp``;
        return the format's own summary keys."""

    def _discard(self) -> None:
        self._frames = []
