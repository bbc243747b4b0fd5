"""``--loop pingpong``: an animation that plays forward, then back, so its loop closes on the seed without a cut.

:class:`PingPongWriter` takes the ``F`` rendered frames in order, hands each to the format's writer as it comes
and keeps a copy (uint8 ``(H, W, 4)`` at the size it was given: grid resolution, before any scaling); at close it
hands the writer frames ``F-2 .. 1`` again, in reverse. The writer was opened for :func:`played_frames` frames and
holds frame ``F-1`` (where the animation turns) ``hold`` seconds longer, not its last: the flake stands finished
at the turn, and the loop goes from frame 1 back to frame 0 with one step between them, as every other step.

GIF, MP4, WebP and APNG play ping-pong (the ``pingpong`` option in their records of the table of formats). A
sprite sheet and a folder of PNG frames do not: they hold each rendered frame once, and whatever plays them picks
the order (a game engine's animation, e.g. Phaser's ``yoyo``; ``ffmpeg`` on the frames).
"""

from __future__ import annotations

import numpy as np

from .base import FrameWriter

__all__ = ["PingPongWriter", "played_frames"]


def played_frames(n_frames: int) -> int:
    """Frames a ping-pong of ``n_frames`` rendered frames plays: ``2F - 2`` (the first and last once), at least 1."""
    return max(1, 2 * n_frames - 2)


class PingPongWriter(FrameWriter):
    """Feeds ``inner`` (opened for :func:`played_frames` of ``n_frames``, holding frame ``n_frames - 1``) each of
    ``n_frames`` frames as it comes, then frames ``n_frames - 2`` down to 1 at :meth:`close`. Its summary is the
    inner writer's, with ``rendered_frames`` the frames it was given and ``pingpong`` true."""

    def __init__(self, inner: FrameWriter, *, n_frames: int) -> None:
        self.inner, self.n_frames = inner, n_frames
        self.path, self.format = inner.path, inner.format
        self._kept: list[np.ndarray] = []

    def add(self, frame: np.ndarray) -> None:
        if len(self._kept) >= self.n_frames:
            raise ValueError(f"the {self.format} writer was opened for {self.n_frames} frames; got one more")
        self.inner.add(frame)  # checks the frame (and aborts itself on failure)
        self._kept.append(np.array(frame, copy=True))

    def close(self) -> dict[str, object]:
        if self.summary is not None:
            return self.summary
        try:
            if len(self._kept) != self.n_frames:
                raise ValueError(f"the {self.format} writer expected {self.n_frames} frames, got {len(self._kept)}")
            for frame in reversed(self._kept[1:-1]):
                self.inner.add(frame)
        except BaseException:
            self.abort()
            raise
        self._kept = []
        self.summary = {**self.inner.close(), "rendered_frames": self.n_frames, "pingpong": True}
        return self.summary

    def abort(self) -> None:
        self._kept = []
        self.inner.abort()
