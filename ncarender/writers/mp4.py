"""MP4: H.264 (libx264, yuv420p, CRF) streamed to ffmpeg, so memory stays flat in the number of frames.

Frames go through ``imageio_ffmpeg.write_frames``, padded to even sizes here (bottom/right, edge pixels
repeated). x264 runs with ``-threads 1`` and the bitexact flags, so the bytes depend only on the frames, the
options and the ffmpeg build, not on the machine's core count. Summary keys: ``fps``, ``codec``, ``pix_fmt``,
``crf``, ``duration_s``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator
from pathlib import Path
from typing import ClassVar

import numpy as np
from PIL import Image

from ..errors import NCAError
from .base import BaseWriter, Discard, PendingFile, scaled
from .options import half_up

__all__ = ["Mp4Writer"]


def _mp4_complete(path: Path) -> bool:
    """True when the top-level MP4 boxes chain to the end of the file and include moov and mdat."""
    kinds = set()
    size_total = path.stat().st_size
    with path.open("rb") as fh:
        pos = 0
        while pos < size_total:
            fh.seek(pos)
            header = fh.read(16)
            if len(header) < 8:
                return False
            size, kind = int.from_bytes(header[:4], "big"), header[4:8]
            if size == 1:
                if len(header) < 16:
                    return False
                size = int.from_bytes(header[8:16], "big")
            elif size == 0:
                size = size_total - pos
            if size < 8:
                return False
            kinds.add(kind)
            pos += size
    return pos == size_total and {b"moov", b"mdat"} <= kinds


class Mp4Writer(BaseWriter):
    """H.264 MP4 streamed to ffmpeg: memory stays flat in the number of frames."""

    format = "mp4"
    #: x264 settings; a fixed thread count keeps the bytes independent of the machine.
    OUTPUT_PARAMS: ClassVar[tuple[str, ...]] = (
        "-preset", "medium",
        "-threads", "1",
        "-fflags", "+bitexact",
        "-flags:v", "+bitexact",
        "-movflags", "+faststart",
        "-f", "mp4",
    )  # fmt: skip

    def _layout(self) -> None:
        width, height = self.scaled_size
        self.padded_size = (width + width % 2, height + height % 2)
        self.hold_frames = half_up(self.options.hold * self.options.fps)

    @property
    def output_size(self) -> tuple[int, int]:
        """The frame padded to even sides (yuv420p)."""
        return self.padded_size

    def memory_bytes(self) -> int:
        """A scaled, padded RGB frame three times over (scaled, as an array, padded) and x264's frames in flight
        (yuv420p, 1.5 bytes a pixel, about 48 of them with the medium preset's lookahead)."""
        width, height = self.padded_size
        return width * height * (3 * 3 + 72)

    def _open(self) -> None:
        path, options = self.path, self.options
        self._pending = PendingFile(path)
        self._encoder: Generator[None, bytes | np.ndarray | None, None] | None = None
        try:  # imported here: GIF, PNG and sheet renders don't pay for it (~35 ms) or need it installed
            import imageio_ffmpeg
        except ImportError:
            self._pending.discard()
            raise NCAError("MP4 needs imageio-ffmpeg: pip install imageio-ffmpeg") from None
        try:
            self._encoder = imageio_ffmpeg.write_frames(
                str(self._pending.tmp),
                self.padded_size,
                pix_fmt_in="rgb24",
                pix_fmt_out="yuv420p",
                fps=options.fps,
                quality=None,
                codec="libx264",
                macro_block_size=1,
                ffmpeg_log_level="error",
                output_params=["-crf", str(options.crf), *self.OUTPUT_PARAMS],
            )
            self._encoder.send(None)  # starts ffmpeg
        except (OSError, RuntimeError) as exc:
            self._discard()
            raise NCAError(f"cannot start ffmpeg to write {str(path)!r}: {exc}") from None

    def _send(self, frame: np.ndarray) -> None:
        assert self._encoder is not None
        try:
            self._encoder.send(frame)
        except OSError:
            raise NCAError(f"ffmpeg stopped while writing {str(self.path)!r} (see its message above)") from None

    def _add(self, frame: np.ndarray, index: int) -> None:
        rgb = np.asarray(scaled(Image.fromarray(np.ascontiguousarray(frame[..., :3]), "RGB"), self.options.scale))
        width, height = self.scaled_size
        if (width, height) != self.padded_size:
            pad = ((0, self.padded_size[1] - height), (0, self.padded_size[0] - width), (0, 0))
            rgb = np.pad(rgb, pad, mode="edge")
        self._send(rgb)
        if index == self.hold_at:  # the last frame, or where a ping-pong turns
            for _ in range(self.hold_frames):
                self._send(rgb)

    def _finish(self) -> dict[str, object]:
        assert self._encoder is not None
        self._encoder.close()  # waits for ffmpeg to write the trailer
        self._encoder = None
        if not _mp4_complete(self._pending.tmp):
            raise NCAError(f"ffmpeg did not finish writing {str(self.path)!r} (see its message above)")
        self._pending.commit()
        return {
            "frames": self.count + self.hold_frames,
            "width": self.padded_size[0],
            "height": self.padded_size[1],
            "fps": self.options.fps,
            "codec": "h264",
            "pix_fmt": "yuv420p",
            "crf": self.options.crf,
            "duration_s": (self.count + self.hold_frames) / self.options.fps,
        }

    def _discard(self) -> None:
        if self._encoder is not None:
            with contextlib.suppress(Discard, StopIteration):
                self._encoder.throw(Discard())  # kills ffmpeg instead of letting it finish
            self._encoder = None
        self._pending.discard()
