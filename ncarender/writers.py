"""Frame writers: GIF, MP4, sprite sheet with a JSON atlas, and a folder of PNG frames.

Every writer receives frames one at a time as ``uint8`` arrays of shape
``(H, W, 4)``: straight-alpha RGBA at grid resolution, already composited over
the background (alpha is 255 everywhere unless the background is transparent).
The writer scales each frame by the integer ``scale`` with nearest neighbour
(one cell becomes ``scale x scale`` pixels) and encodes it.

Nothing is left half-written: every file is written to a temporary name beside
its target and renamed into place by :meth:`FrameWriter.close`;
:meth:`FrameWriter.abort` (or an exception inside a ``with`` block) removes the
temporaries and leaves whatever was at the target untouched.

Format notes (see also ``WriterOptions``):

* GIF keeps the grid-resolution frames until ``close()``, builds one palette
  from them (Pillow median cut over an evenly spaced sample of at most
  :data:`PALETTE_SAMPLE_PIXELS` pixels), maps every pixel to its exact nearest
  palette colour (no dithering) at grid resolution, scales the paletted frames
  and writes them with a single global colour table; an opaque GIF stores only
  the rectangle that changed since the previous frame. Delays are whole
  centiseconds (see :func:`gif_frame_ms`). Identical consecutive frames are
  merged into one stored frame whose delay is the sum, so the total duration is
  always ``rendered_frames * frame_ms + hold_ms``. Same frames give identical bytes.
* MP4 streams through ``imageio_ffmpeg.write_frames`` (libx264, yuv420p, CRF),
  padding to even sizes itself (bottom/right, edge pixels repeated). x264 runs
  with ``-threads 1`` and the bitexact flags, so the bytes depend only on the
  frames, the options and the ffmpeg build, not on the machine's core count.
* A sprite sheet is an RGBA PNG plus a TexturePacker "JSON hash" atlas (``.json``
  beside it) that Phaser and PixiJS load; see :func:`sheet_indices` for which
  frames it holds.
* PNG frames go into a folder as ``frame-00000.png``...; see :func:`open_writer`
  for when an existing folder is replaced.

``close()`` returns a summary (see :meth:`FrameWriter.close`). Format keys: GIF
``frame_ms``, ``fps`` (effective), ``duration_ms``, ``loop``, ``colors``,
``transparent``; MP4 ``fps``, ``codec``, ``pix_fmt``, ``crf``, ``duration_s``; sheet
``atlas``, ``columns``, ``rows``, ``cell_width``, ``cell_height``, ``source_frames``;
frames ``pattern``.
"""

from __future__ import annotations

import contextlib
import json
import math
import numbers
import os
import queue
import re
import shutil
import struct
import tempfile
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import ClassVar, NoReturn, TypeVar

import numpy as np
from PIL import GifImagePlugin, Image

from . import __version__
from .atomic import atomic_path, check_writable_dir
from .errors import NCAError

__all__ = [
    "FORMATS",
    "FrameWriter",
    "ThreadedWriter",
    "WriterOptions",
    "gif_frame_ms",
    "open_writer",
    "sheet_indices",
    "write_output",
]

#: Output formats understood by :func:`open_writer`.
FORMATS: tuple[str, ...] = ("gif", "mp4", "sheet", "frames")

#: Shortest GIF frame delay: browsers play delays under 20 ms at 100 ms.
GIF_MIN_FRAME_MS = 20
#: Longest delay a GIF frame can store (65535 centiseconds).
GIF_MAX_DELAY_MS = 655_350
#: GIF transparency is one bit: alpha below this becomes the transparent index.
GIF_ALPHA_THRESHOLD = 128
#: The GIF palette is built from at most this many evenly spaced frames, and from at most
#: PALETTE_SAMPLE_PIXELS of their pixels (every k-th, k coprime with the width so that columns don't alias).
#: On the snowflake this quantises as well as whole frames (RGB MSE 2.96 against 2.99 at 72x72, 0.68 against
#: 0.91 at 128x128 with damage) in a third of the time.
PALETTE_SAMPLE_FRAMES = 64
PALETTE_SAMPLE_PIXELS = 1 << 15
#: A sprite sheet holds every frame up to this many, else this many evenly spaced.
SHEET_DEFAULT_MAX_FRAMES = 64
#: Fewest digits in PNG frame names (``frame-00000.png``).
FRAME_NAME_DIGITS = 5

_FRAME_FILE = re.compile(r"frame-\d+\.png")
_FILE_SUFFIXES = {".gif": "gif", ".mp4": "mp4", ".png": "sheet"}
_W = TypeVar("_W", bound="FrameWriter")


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _half_up(x: float) -> int:
    """Round to the nearest integer, halves up (unlike Python's banker's ``round``)."""
    return math.floor(x + 0.5)


@dataclass(frozen=True)
class WriterOptions:
    """How frames are encoded; invalid values raise :class:`NCAError` on construction.

    Attributes:
        scale: integer nearest-neighbour upscaling, >= 1 (a cell becomes ``scale x scale`` pixels).
        fps: frames per second, > 0. GIF rounds the delay to whole centiseconds (:func:`gif_frame_ms`).
        loop: GIF loops forever (``loop=0``) when true, plays once when false.
        hold: seconds to show the last frame longer (GIF: added to its delay; MP4: the last
            frame repeated ``round(hold * fps)`` times; sheet: added to the last atlas duration).
        transparent: frames carry real alpha. GIF maps alpha < 128 to one transparent index;
            MP4 refuses (no alpha channel).
        crf: x264 constant rate factor, 0 (lossless) .. 51 (worst); 18 looks near-lossless.
        columns: sprite-sheet columns; default ``ceil(sqrt(cells))``, at most the number of cells.
        sheet_frames: sprite sheet holds this many frames, evenly spaced, first and last included.
        sheet_every: sprite sheet holds frames 0, k, 2k, ... (excludes ``sheet_frames``).
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

    def __post_init__(self) -> None:
        if not _is_int(self.scale) or self.scale < 1:
            raise NCAError(f"scale must be a whole number of at least 1, got {self.scale!r}")
        if not _is_number(self.fps) or self.fps <= 0:
            raise NCAError(f"fps must be a number above 0, got {self.fps!r}")
        if not _is_number(self.hold) or self.hold < 0:
            raise NCAError(f"hold must be a number of seconds of at least 0, got {self.hold!r}")
        if not _is_int(self.crf) or not 0 <= self.crf <= 51:
            raise NCAError(f"crf must be a whole number from 0 to 51, got {self.crf!r}")
        for name in ("columns", "sheet_frames", "sheet_every"):
            value = getattr(self, name)
            if value is not None and (not _is_int(value) or value < 1):
                raise NCAError(f"{name.replace('_', '-')} must be a whole number of at least 1, got {value!r}")
        if self.sheet_frames is not None and self.sheet_every is not None:
            raise NCAError("give either sheet-frames or sheet-every, not both")
        # Plain Python numbers from here on (NumPy scalars are accepted above).
        for name in ("scale", "crf", "columns", "sheet_frames", "sheet_every"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, int(getattr(self, name)))
        object.__setattr__(self, "fps", float(self.fps))
        object.__setattr__(self, "hold", float(self.hold))


def gif_frame_ms(fps: float) -> int:
    """GIF delay per frame in ms: ``1000 / fps`` to the nearest 10 ms, at least 20 ms.

    GIF stores delays in centiseconds, so the effective frame rate is
    ``1000 / gif_frame_ms(fps)``: 20 fps -> 50 ms (exact), 30 fps -> 30 ms (33.3 fps),
    24 fps -> 40 ms (25 fps), anything above 50 fps -> 20 ms (50 fps).
    """
    return max(GIF_MIN_FRAME_MS, 10 * _half_up(100.0 / fps))


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


def _scaled(image: Image.Image, scale: int) -> Image.Image:
    """Nearest-neighbour upscale by an integer factor (any mode, "P" keeps its palette)."""
    if scale == 1:
        return image
    return image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)


class _Discard(BaseException):
    """Thrown into a context manager or the encoder generator to drop its output."""


class _PendingFile:
    """A temporary file from :func:`atomic_path`, later committed into place or discarded."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._context = atomic_path(path)
        self.tmp = self._context.__enter__()
        self._open = True

    def commit(self) -> None:
        """Rename the temporary file over the target."""
        self._open = False
        try:
            self._context.__exit__(None, None, None)
        except OSError as exc:
            raise NCAError(f"cannot write {str(self.path)!r}: {exc.strerror}") from None

    def discard(self) -> None:
        """Remove the temporary file; the target stays untouched. Does nothing after commit."""
        if self._open:
            self._open = False
            self._context.__exit__(_Discard, _Discard(), None)


# --------------------------------------------------------------------------- base classes


class FrameWriter(ABC):
    """Turns a stream of ``(H, W, 4)`` uint8 RGBA frames into a file (or folder) at :attr:`path`.

    Use it as a context manager: leaving the block normally calls :meth:`close`
    (unless already called), an exception calls :meth:`abort`. :meth:`close` is
    idempotent and returns the same summary each time; :attr:`summary` holds it.
    """

    path: Path
    format: str
    summary: dict[str, object] | None = None

    @abstractmethod
    def add(self, frame: np.ndarray) -> None:
        """Append one frame, uint8 ``(H, W, 4)`` straight-alpha RGBA at grid resolution."""

    @abstractmethod
    def close(self) -> dict[str, object]:
        """Finish, rename into place and return the summary.

        The summary always has ``path``, ``format``, ``frames`` (as stored: what a reader of
        the output counts), ``rendered_frames`` (frames added), ``width`` and ``height``
        (pixels, after scaling and padding) and ``bytes``; formats add their own keys.
        On failure the output is aborted and the error raised.
        """

    @abstractmethod
    def abort(self) -> None:
        """Drop everything and remove temporaries; the target stays untouched. Idempotent."""

    def __enter__(self: _W) -> _W:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class _Writer(FrameWriter):
    """Shared bookkeeping: frame checks, counting, close/abort state."""

    def __init__(self, path: Path, *, n_frames: int, grid: tuple[int, int], options: WriterOptions) -> None:
        self.path = path
        self.n_frames = n_frames
        self.grid = grid
        self.options = options
        self.count = 0
        self._state = "open"  # open -> closed | aborted

    @property
    def scaled_size(self) -> tuple[int, int]:
        """Frame size in pixels after scaling, ``(width, height)``."""
        return self.grid[1] * self.options.scale, self.grid[0] * self.options.scale

    def add(self, frame: np.ndarray) -> None:
        if self._state != "open":
            raise ValueError(f"cannot add a frame: the {self.format} writer for {str(self.path)!r} is {self._state}")
        if self.count >= self.n_frames:
            raise ValueError(f"the {self.format} writer was opened for {self.n_frames} frames; got one more")
        expected = (*self.grid, 4)
        if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.shape != expected:
            got = f"{frame.dtype} {frame.shape}" if isinstance(frame, np.ndarray) else type(frame).__name__
            raise ValueError(f"expected a uint8 frame of shape {expected}, got {got}")
        try:
            self._add(frame, self.count)
        except BaseException:
            self.abort()
            raise
        self.count += 1

    def close(self) -> dict[str, object]:
        if self._state == "closed" and self.summary is not None:
            return self.summary
        if self._state == "aborted":
            raise ValueError(f"the {self.format} writer for {str(self.path)!r} was aborted")
        try:
            if self.count != self.n_frames:
                raise ValueError(f"the {self.format} writer expected {self.n_frames} frames, got {self.count}")
            extra = self._finish()
        except BaseException:
            self.abort()
            raise
        self._state = "closed"
        width, height = self.scaled_size
        self.summary = {
            "path": str(self.path),
            "format": self.format,
            "frames": self.count,
            "rendered_frames": self.count,
            "width": width,
            "height": height,
            "bytes": _size_on_disk(self.path),
            **extra,
        }
        return self.summary

    def abort(self) -> None:
        if self._state == "open":
            self._state = "aborted"
            self._discard()

    @abstractmethod
    def _add(self, frame: np.ndarray, index: int) -> None:
        """Take frame number ``index``, a validated uint8 ``(H, W, 4)`` array (not to be kept as is)."""

    @abstractmethod
    def _finish(self) -> dict[str, object]:
        """Write and rename into place; return summary keys that override or extend the common ones."""

    @abstractmethod
    def _discard(self) -> None:
        """Remove temporaries (may be called mid-write or after a failed finish)."""


def _size_on_disk(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.iterdir() if p.is_file())
    return path.stat().st_size


# --------------------------------------------------------------------------- GIF


def _gif_palette(frames: np.ndarray, *, transparent: bool) -> np.ndarray:
    """One palette for the animation: uint8 ``(K, 3)`` from frames ``(N, H, W, 4)``.

    Median cut (Pillow, deterministic) over the opaque pixels of up to :data:`PALETTE_SAMPLE_FRAMES`
    evenly spaced frames, thinned to at most :data:`PALETTE_SAMPLE_PIXELS` pixels; up to 256 colours, 255
    when ``transparent`` (index 0 is then reserved by the caller). Exact when the sample holds every colour
    and there are no more than that (always so for small animations).
    """
    n, width = frames.shape[0], frames.shape[2]
    take = min(n, PALETTE_SAMPLE_FRAMES)
    picked = frames[np.unique(np.linspace(0, n - 1, take).round().astype(np.intp))]
    pixels = picked.reshape(-1, 4)
    if transparent:
        pixels = pixels[pixels[:, 3] >= GIF_ALPHA_THRESHOLD]
    step = max(1, -(-len(pixels) // PALETTE_SAMPLE_PIXELS))
    while step > 1 and math.gcd(step, width) != 1:
        step += 1
    pixels = pixels[::step]
    if len(pixels) == 0:
        return np.zeros((0, 3), dtype=np.uint8)
    sample = Image.fromarray(np.ascontiguousarray(pixels[None, :, :3]), "RGB")
    quantized = sample.quantize(255 if transparent else 256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    palette = quantized.getpalette() or [0, 0, 0]
    return np.asarray(palette, dtype=np.uint8).reshape(-1, 3)


def _pack_rgb(frame: np.ndarray) -> np.ndarray:
    """RGB of uint8 ``(..., 4)`` pixels as uint32 ``R | G << 8 | B << 16``, shape ``(...)``."""
    return np.ascontiguousarray(frame).view("<u4")[..., 0] & 0xFFFFFF


def _nearest_lut(seen: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Lookup table, uint8 ``(2**24,)``, of the exact nearest ``palette`` ``(K, 3)`` index of each packed colour.

    Only the entries marked in ``seen`` (bool ``(2**24,)``) are filled (squared RGB distance, ties to the
    lower index); the others are left undefined. Pillow's own palette lookup is approximate (it merges colours
    a few levels apart), hence this.
    """
    colours = np.flatnonzero(seen)
    channels = np.stack([colours & 255, (colours >> 8) & 255, colours >> 16], axis=1).astype(np.float32)
    pal = palette.astype(np.float32)
    pal_norm = (pal * pal).sum(axis=1)
    minus_2pal = -2.0 * pal.T  # (3, K)
    lut = np.empty(1 << 24, dtype=np.uint8)
    # Blocks of 256 colours: OpenBLAS runs a product this small on the calling thread; with 2048 it used its
    # threads, and on 2 busy cores the whole table took 0.13-0.2 s instead of 6 ms (half of a GIF's encoding).
    for start in range(0, len(colours), 256):
        # |c - p|^2 - |c|^2 = |p|^2 - 2 c.p; every term is an integer below 2**24, so float32 is exact.
        dist = channels[start : start + 256] @ minus_2pal
        dist += pal_norm
        lut[colours[start : start + 256]] = dist.argmin(axis=1)
    return lut


def _changed_box(cells: np.ndarray, previous: np.ndarray) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)``: the smallest rectangle holding every cell that differs (they differ somewhere)."""
    diff = cells != previous
    rows = np.flatnonzero(diff.any(axis=1))
    cols = np.flatnonzero(diff.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _gif_header(width: int, height: int, palette: np.ndarray, *, loop: bool) -> bytes:
    """GIF89a header, logical screen ``width x height``, global colour table ``palette`` ``(K, 3)``, loop block."""
    bits = max(1, math.ceil(math.log2(max(2, len(palette)))))  # the table holds 2**bits colours
    table = np.zeros((1 << bits, 3), dtype=np.uint8)
    table[: len(palette)] = palette
    head = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80 | 0x70 | (bits - 1), 0, 0) + table.tobytes()
    if loop:  # NETSCAPE2.0 application extension: loop forever
        head += b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    return head


def _gif_frame(cells: np.ndarray, box: tuple[int, int, int, int], scale: int, delay_ms: int, disposal: int,
               transparent: bool) -> bytes:  # fmt: skip
    """One GIF frame: graphic control extension, then the ``box`` of ``cells`` (H, W) uint8, scaled, LZW-coded."""
    x0, y0, x1, y1 = box
    image = _scaled(Image.fromarray(np.ascontiguousarray(cells[y0:y1, x0:x1]), "P"), scale)
    flags = (disposal << 2) | int(transparent)
    control = b"\x21\xf9\x04" + struct.pack("<BHBB", flags, delay_ms // 10, 0, 0)
    # Pillow's documented legacy helper: image descriptor (no local colour table) + LZW data of one frame.
    return control + b"".join(GifImagePlugin.getdata(image, offset=(x0 * scale, y0 * scale)))


class _GifWriter(_Writer):
    """Animated GIF with one global palette; keeps the grid-resolution frames until close.

    Each frame's colours are marked as it arrives (on the writer thread, while the rollout runs), so that
    ``close()`` only builds the palette, maps the marked colours and codes the frames. An opaque GIF stores
    each frame as the rectangle that changed since the last stored one (disposal "leave in place"); a
    transparent one stores whole frames, each cleared after display (disposal 2).
    """

    format = "gif"

    def __init__(self, path: Path, *, n_frames: int, grid: tuple[int, int], options: WriterOptions) -> None:
        super().__init__(path, n_frames=n_frames, grid=grid, options=options)
        self.frame_ms = gif_frame_ms(options.fps)
        self.hold_ms = 10 * _half_up(options.hold * 100)
        if self.frame_ms + self.hold_ms > GIF_MAX_DELAY_MS:
            raise NCAError(f"hold is too long for a GIF: a frame can last at most {GIF_MAX_DELAY_MS // 1000} s")
        self._frames = np.empty((n_frames, *grid, 4), dtype=np.uint8)
        self._packed = np.empty((n_frames, *grid), dtype=np.uint32)
        self._seen = np.zeros(1 << 24, dtype=bool)

    def _add(self, frame: np.ndarray, index: int) -> None:
        self._frames[index] = frame
        self._packed[index] = _pack_rgb(frame)
        self._seen[self._packed[index]] = True

    def _finish(self) -> dict[str, object]:
        frames, transparent, scale = self._frames, self.options.transparent, self.options.scale
        palette = _gif_palette(frames, transparent=transparent)
        # An empty palette means nothing is opaque (transparent only): every pixel becomes index 0.
        if len(palette):
            indices = _nearest_lut(self._seen, palette)[self._packed]
        else:
            indices = np.zeros(frames.shape[:3], dtype=np.uint8)
        if transparent:  # index 0 is the transparent colour (black, for viewers that ignore it)
            indices += 1
            indices[frames[..., 3] < GIF_ALPHA_THRESHOLD] = 0
            palette = np.concatenate([np.zeros((1, 3), dtype=np.uint8), palette])

        # Merge identical consecutive frames ourselves so the stored delays are explicit.
        stored: list[tuple[int, tuple[int, int, int, int]]] = []
        durations: list[int] = []
        height, width = self.grid
        for i, cells in enumerate(indices):
            previous = indices[stored[-1][0]] if stored else None
            if previous is not None and np.array_equal(cells, previous):
                durations[-1] += self.frame_ms
                continue
            whole = (0, 0, width, height)
            stored.append((i, whole if transparent or previous is None else _changed_box(cells, previous)))
            durations.append(self.frame_ms)
        durations[-1] += self.hold_ms

        parts = [_gif_header(width * scale, height * scale, palette, loop=self.options.loop)]
        disposal = 2 if transparent else 1
        for (i, box), delay in zip(stored, durations, strict=True):
            parts.append(_gif_frame(indices[i], box, scale, delay, disposal, transparent))
        parts.append(b";")
        with atomic_path(self.path) as tmp:
            tmp.write_bytes(b"".join(parts))
        self._discard()
        return {
            "frames": len(stored),
            "frame_ms": self.frame_ms,
            "fps": 1000 / self.frame_ms,
            "duration_ms": self.frame_ms * self.count + self.hold_ms,
            "loop": self.options.loop,
            "colors": len(palette),
            "transparent": transparent,
        }

    def _discard(self) -> None:
        self._frames = np.empty((0, *self.grid, 4), dtype=np.uint8)
        self._packed = np.empty((0, *self.grid), dtype=np.uint32)
        self._seen = np.zeros(0, dtype=bool)


# --------------------------------------------------------------------------- MP4


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


class _Mp4Writer(_Writer):
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

    def __init__(self, path: Path, *, n_frames: int, grid: tuple[int, int], options: WriterOptions) -> None:
        super().__init__(path, n_frames=n_frames, grid=grid, options=options)
        width, height = self.scaled_size
        self.padded_size = (width + width % 2, height + height % 2)
        self.hold_frames = _half_up(options.hold * options.fps)
        self._last: np.ndarray | None = None
        self._pending = _PendingFile(path)
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
        rgb = np.asarray(_scaled(Image.fromarray(np.ascontiguousarray(frame[..., :3]), "RGB"), self.options.scale))
        width, height = self.scaled_size
        if (width, height) != self.padded_size:
            pad = ((0, self.padded_size[1] - height), (0, self.padded_size[0] - width), (0, 0))
            rgb = np.pad(rgb, pad, mode="edge")
        self._send(rgb)
        self._last = rgb

    def _finish(self) -> dict[str, object]:
        assert self._encoder is not None and self._last is not None
        for _ in range(self.hold_frames):
            self._send(self._last)
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
            with contextlib.suppress(_Discard, StopIteration):
                self._encoder.throw(_Discard())  # kills ffmpeg instead of letting it finish
            self._encoder = None
        self._pending.discard()


# --------------------------------------------------------------------------- sprite sheet


class _SheetWriter(_Writer):
    """Sprite sheet PNG + TexturePacker JSON-hash atlas; keeps only the selected grid frames."""

    format = "sheet"

    def __init__(self, path: Path, *, n_frames: int, grid: tuple[int, int], options: WriterOptions) -> None:
        super().__init__(path, n_frames=n_frames, grid=grid, options=options)
        self.atlas_path = path.with_suffix(".json")
        if self.atlas_path.is_dir():
            raise NCAError(f"atlas path {str(self.atlas_path)!r} is a folder")
        self.indices = sheet_indices(n_frames, options)
        cells = len(self.indices)
        self.columns = min(options.columns or math.isqrt(cells - 1) + 1, cells)
        self.rows = -(-cells // self.columns)
        self._cell_of = {frame: cell for cell, frame in enumerate(self.indices)}
        self._kept: dict[int, np.ndarray] = {}

    @property
    def sheet_size(self) -> tuple[int, int]:
        """Sheet size in pixels, ``(width, height)``."""
        width, height = self.scaled_size
        return self.columns * width, self.rows * height

    def _add(self, frame: np.ndarray, index: int) -> None:
        if index in self._cell_of:
            self._kept[self._cell_of[index]] = frame.copy()

    def _durations_ms(self) -> list[int]:
        """Time each cell stands for: from its frame to the next selected one (the last: to the end, plus hold)."""
        fps = self.options.fps

        def at(frame: int) -> int:
            return _half_up(frame * 1000 / fps)

        bounds = [*self.indices[1:], self.n_frames]
        durations = [at(end) - at(start) for start, end in zip(self.indices, bounds, strict=True)]
        durations[-1] += _half_up(self.options.hold * 1000)
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
        return {"frames": frames, "meta": meta}

    def _finish(self) -> dict[str, object]:
        cell_w, cell_h = self.scaled_size
        sheet = Image.new("RGBA", self.sheet_size, (0, 0, 0, 0))
        for cell, frame in sorted(self._kept.items()):
            x, y = (cell % self.columns) * cell_w, (cell // self.columns) * cell_h
            sheet.paste(_scaled(Image.fromarray(frame, "RGBA"), self.options.scale), (x, y))
        atlas = json.dumps(self._atlas(), indent=2) + "\n"
        with atomic_path(self.path) as png_tmp, atomic_path(self.atlas_path) as json_tmp:
            sheet.save(png_tmp, format="PNG")
            json_tmp.write_text(atlas, encoding="utf-8")
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


# --------------------------------------------------------------------------- PNG frames


def _check_frames_folder(path: Path) -> None:
    """Refuse a target that is a file or a folder holding anything but ``frame-*.png`` files."""
    if not path.exists():
        return
    if not path.is_dir():
        raise NCAError(f"{str(path)!r} is a file; PNG frames need a folder")
    foreign = sorted(p.name for p in path.iterdir() if not (_FRAME_FILE.fullmatch(p.name) and p.is_file()))
    if foreign:
        raise NCAError(
            f"folder {str(path)!r} holds other files than frame-*.png (e.g. {foreign[0]!r}); choose an empty folder"
        )


class _PngFramesWriter(_Writer):
    """Numbered RGBA PNGs written as they come into a temporary sibling folder, swapped in at close."""

    format = "frames"

    def __init__(self, path: Path, *, n_frames: int, grid: tuple[int, int], options: WriterOptions) -> None:
        super().__init__(path, n_frames=n_frames, grid=grid, options=options)
        self.digits = max(FRAME_NAME_DIGITS, len(str(n_frames - 1)))
        _check_frames_folder(path)
        try:
            self._tmp: Path | None = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
        except OSError as exc:
            raise NCAError(f"cannot write to {str(path.parent)!r}: {exc.strerror}") from None

    def name(self, index: int) -> str:
        """File name of frame ``index``."""
        return f"frame-{index:0{self.digits}d}.png"

    def _add(self, frame: np.ndarray, index: int) -> None:
        assert self._tmp is not None
        image = _scaled(Image.fromarray(frame, "RGBA"), self.options.scale)
        image.save(self._tmp / self.name(index), format="PNG")

    def _finish(self) -> dict[str, object]:
        assert self._tmp is not None
        _check_frames_folder(self.path)  # again: something may have appeared meanwhile
        os.chmod(self._tmp, 0o755)
        old = None
        if self.path.exists():
            old = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}.old")
            os.rename(self.path, old)
        try:
            os.rename(self._tmp, self.path)
        except OSError as exc:
            if old is not None:
                os.rename(old, self.path)
            raise NCAError(f"cannot write {str(self.path)!r}: {exc.strerror}") from None
        self._tmp = None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return {"pattern": f"frame-%0{self.digits}d.png"}

    def _discard(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None


# --------------------------------------------------------------------------- opening and threading

_WRITERS: dict[str, type[_Writer]] = {
    "gif": _GifWriter,
    "mp4": _Mp4Writer,
    "sheet": _SheetWriter,
    "frames": _PngFramesWriter,
}


def _check_output_path(fmt: str, path: Path) -> None:
    """Raise :class:`NCAError` unless ``path`` suits ``fmt`` and its folder exists and is writable."""
    suffix = path.suffix.lower()
    if fmt == "frames":
        if suffix in {*_FILE_SUFFIXES, ".json", ".jpg", ".jpeg", ".webp"}:
            raise NCAError(f"PNG frames go into a folder, but {str(path)!r} looks like a file name")
    else:
        wanted = {"gif": ".gif", "mp4": ".mp4", "sheet": ".png"}[fmt]
        if suffix != wanted:
            raise NCAError(f"a {fmt} output needs a {wanted} file name, got {str(path)!r}")
        if path.is_dir():
            raise NCAError(f"output path {str(path)!r} is a folder")
    check_writable_dir(path.parent)


def open_writer(
    fmt: str, path: Path | str, *, n_frames: int, grid: tuple[int, int], options: WriterOptions | None = None
) -> FrameWriter:
    """Open a writer for ``n_frames`` frames of grid size ``grid = (H, W)``.

    ``fmt`` is one of :data:`FORMATS`: ``gif`` (``.gif``), ``mp4`` (``.mp4``), ``sheet``
    (``.png``, atlas written beside it as ``.json``) or ``frames`` (a folder; its parent
    must exist). A ``frames`` folder that exists is replaced at close only if it is
    empty or holds nothing but ``frame-*.png`` files (an earlier render); otherwise it
    is refused. Every user-fixable problem raises :class:`NCAError` here, before any
    frame is rendered.
    """
    options = options or WriterOptions()
    if fmt not in _WRITERS:
        raise NCAError(f"unknown output format {fmt!r} (choose {', '.join(FORMATS)})")
    if not _is_int(n_frames) or n_frames < 1:
        raise NCAError(f"a render needs at least 1 frame, got {n_frames!r}")
    if len(grid) != 2 or not all(_is_int(side) and side >= 1 for side in grid):
        raise NCAError(f"grid must be two whole numbers (height, width) of at least 1, got {grid!r}")
    if fmt == "mp4" and options.transparent:
        raise NCAError("MP4 has no alpha channel: use a background colour, or write a GIF, sheet or PNG frames")
    path = Path(path)
    _check_output_path(fmt, path)
    return _WRITERS[fmt](path, n_frames=n_frames, grid=(int(grid[0]), int(grid[1])), options=options)


class ThreadedWriter(FrameWriter):
    """Runs another writer's :meth:`add` on a background thread through a bounded queue.

    Encoding then overlaps the producer (NumPy, Pillow and the ffmpeg pipe release the
    GIL). :meth:`add` copies the frame and blocks while ``maxsize`` frames wait;
    :meth:`close` waits for the queue to drain and closes the inner writer;
    :meth:`abort` drops queued frames, stops the thread and aborts the inner writer.
    An error in the worker aborts everything and is re-raised by the next
    :meth:`add` or by :meth:`close`. A writer is fed from one thread.
    """

    def __init__(self, writer: FrameWriter, maxsize: int = 16) -> None:
        self.inner = writer
        self.path = writer.path
        self.format = writer.format
        self._queue: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=maxsize)
        self._error: BaseException | None = None
        self._stopping = False
        self._done = False
        self._thread = threading.Thread(target=self._run, name=f"ncarender-{writer.format}-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            frame = self._queue.get()
            if frame is None:
                return
            if self._error is None and not self._stopping:
                try:
                    self.inner.add(frame)
                except BaseException as exc:  # handed to the producer by add() or close()
                    self._error = exc

    def _stop_thread(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def add(self, frame: np.ndarray) -> None:
        if self._done:
            raise ValueError(f"cannot add a frame: the writer for {str(self.path)!r} is finished")
        if self._error is not None:
            self._fail()
        self._queue.put(np.array(frame, copy=True))

    def close(self) -> dict[str, object]:
        if self.summary is not None:
            return self.summary
        if self._done:
            raise ValueError(f"the writer for {str(self.path)!r} was aborted")
        self._stop_thread()
        if self._error is not None:
            self._fail()
        self._done = True
        self.summary = self.inner.close()
        return self.summary

    def _fail(self) -> NoReturn:
        """Abort everything and raise the worker's error."""
        assert self._error is not None
        self.abort()
        raise self._error

    def abort(self) -> None:
        self._stopping = True
        with contextlib.suppress(queue.Empty):
            while True:
                self._queue.get_nowait()
        self._stop_thread()
        self._done = True
        if self.summary is None:
            self.inner.abort()


def write_output(
    fmt: str,
    path: Path | str,
    frames: Iterable[np.ndarray],
    *,
    n_frames: int,
    grid: tuple[int, int],
    options: WriterOptions | None = None,
    threaded: bool = False,
    timings: dict[str, float] | None = None,
) -> dict[str, object]:
    """Write ``n_frames`` uint8 ``(H, W, 4)`` frames from ``frames`` as one output; return the writer's summary.

    The single path of every render, one seed or a batch: :func:`open_writer`
    (so a bad path or option fails before ``frames`` is first pulled), every
    frame added in order, closed. ``threaded`` runs the encoder on a background
    thread (:class:`ThreadedWriter`); the bytes are the same either way. Time
    spent in the writer is added to ``timings['encode']`` when a dict is given.
    On any error (Ctrl-C included) nothing is left at ``path``.
    """
    writer = open_writer(fmt, path, n_frames=n_frames, grid=grid, options=options)
    if threaded:
        writer = ThreadedWriter(writer)
    spent = 0.0
    try:
        with writer:
            for frame in frames:
                t0 = time.perf_counter()
                writer.add(frame)
                spent += time.perf_counter() - t0
            t0 = time.perf_counter()
            summary = writer.close()
            spent += time.perf_counter() - t0
    finally:
        if timings is not None:
            timings["encode"] = timings.get("encode", 0.0) + spent
    return summary
