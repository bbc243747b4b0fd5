"""Animated WebP with 8-bit alpha: lossless by default, lossy at ``quality``; Pillow's libwebp encoder.

Frames last whole milliseconds (WebP stores timestamps in ms): :func:`~ncarender.writers.animation.frame_times_ms`
keeps every frame within half a millisecond of its time, so 30 fps plays as 33, 33, 34, 33, ... ms and the whole
to the millisecond. Lossless keeps every visible pixel; libwebp sets the colour of fully transparent pixels to
black (they show nothing). Summary keys beside the animation's: ``lossless``, ``quality``; ``duration_ms`` is
the whole milliseconds stored.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from .animation import HeldAnimationWriter, frame_times_ms, split_runs
from .base import held_run
from .formats import WEBP_MAX_FRAME_MS
from .options import half_up

__all__ = ["WEBP_LOSSLESS_METHOD", "WEBP_LOSSY_METHOD", "WebpWriter"]

#: libwebp's effort, 0 (fast) .. 6 (small), lossless and lossy. Measured on every third frame of the default
#: render (67 frames, 288x288): lossless at 1 was as small as at 4 with nearest scaling (260 KB) and 5% larger
#: with smooth (1.89 MB against 1.80) in a third of the time (0.4 s against 1.3; 0.9 against 3.8); lossy at
#: 4 was 11-19% smaller than at 1 (263 KB against 295; 714 against 882) for twice its time (0.9 s against 0.5).
#: 6 took 3-80x as long for at most 5% less.
WEBP_LOSSLESS_METHOD = 1
WEBP_LOSSY_METHOD = 4
#: Pillow's default quality; for lossless it is the effort spent on compression.
_LOSSLESS_EFFORT = 80


class WebpWriter(HeldAnimationWriter):
    """Animated WebP (see the module); loops forever unless ``loop`` is false (then plays once)."""

    format = "webp"

    def _encode(self, tmp: Path, images: list[Image.Image], starts: list[int]) -> dict[str, object]:
        lossless = self.options.quality is None
        hold_ms = half_up(float(self.hold) * 1000)
        durations = frame_times_ms(starts, self.count, self.fps, hold_ms, held_run(starts, self.hold_at))
        total = sum(durations)
        images, durations = split_runs(images, durations, WEBP_MAX_FRAME_MS)
        images[0].save(
            tmp,
            format="WEBP",
            save_all=True,
            append_images=images[1:],
            duration=durations,
            loop=0 if self.options.loop else 1,  # WebP counts plays: 1 plays once, 0 forever
            lossless=lossless,
            quality=_LOSSLESS_EFFORT if lossless else self.options.quality,
            method=WEBP_LOSSLESS_METHOD if lossless else WEBP_LOSSY_METHOD,
            exact=lossless,  # a still (one frame) keeps even invisible colours
        )
        return {"lossless": lossless, "quality": self.options.quality, "duration_ms": total}
