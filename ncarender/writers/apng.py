"""APNG: an animated PNG with 8-bit alpha, lossless; Pillow's PNG encoder.

Delays are fractions of a second with 16-bit numerator and denominator
(:func:`~ncarender.writers.animation.apng_delay`): ``k / fps`` seconds for a frame repeated ``k`` times is stored
exactly for any fps written with a few decimals (1/30 s at 30 fps, 100/2997 s at 29.97), the held last frame as
``1/fps + hold`` (31/30 s at 30 fps with a 1 s hold). Each frame after the first stores only the rectangle that
changed (Pillow: disposal "none", blend "source"). The output is named ``.apng``, so that ``.png`` keeps meaning
a sprite sheet; it is a PNG all the same (rename it if a tool wants ``.png``). Summary key beside the
animation's: ``frame_delay``, one frame's delay as ``[numerator, denominator]`` seconds.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from PIL import Image, PngImagePlugin

from .animation import HeldAnimationWriter, apng_delay
from .base import held_run

__all__ = ["ApngWriter"]


class ApngWriter(HeldAnimationWriter):
    """APNG (see the module); loops forever unless ``loop`` is false (then plays once)."""

    format = "apng"

    def _delays(self, starts: list[int]) -> list[Fraction]:
        """Each stored frame's delay in seconds (16-bit fractions). Not split into several frames past the
        longest (Pillow would merge them again): a run of one picture longer than 65,535 s is refused."""
        ends = [*starts[1:], self.count]
        seconds = [Fraction(end - start) / self.fps for start, end in zip(starts, ends, strict=True)]
        seconds[held_run(starts, self.hold_at)] += self.hold
        return [apng_delay(s) for s in seconds]

    def _encode(self, tmp: Path, images: list[Image.Image], starts: list[int]) -> dict[str, object]:
        delays = self._delays(starts)
        images[0].save(
            tmp,
            format="PNG",
            save_all=True,
            append_images=images[1:],
            # Pillow stores Fraction(ms / 1000).limit_denominator(65535): the delay itself, as it fits 16 bits.
            duration=[float(d * 1000) for d in delays],
            loop=0 if self.options.loop else 1,  # num_plays: 0 forever
            disposal=PngImagePlugin.Disposal.OP_NONE,
            blend=PngImagePlugin.Blend.OP_SOURCE,
        )
        one = apng_delay(1 / self.fps)
        return {"frame_delay": [one.numerator, one.denominator]}
