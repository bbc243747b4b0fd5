"""The writer base classes: :class:`FrameWriter` (the interface) and :class:`BaseWriter` (the bookkeeping).

Every frame writer receives frames one at a time as ``uint8`` arrays of shape ``(H, W, 4)``: straight-alpha
RGBA at grid resolution, already composited over the background (alpha is 255 everywhere unless the
background is transparent). The writer scales each frame by the integer ``scale`` with nearest neighbour
(one cell becomes ``scale x scale`` pixels) and encodes it. (``--resample smooth`` scales the frames before the
writer, which then runs at scale 1: :mod:`~ncarender.writers.resample`.)

Nothing is left half-written: every file is written to a temporary name beside its target and renamed into
place by :meth:`FrameWriter.close`; :meth:`FrameWriter.abort` (or an exception inside a ``with`` block) removes
the temporaries and leaves whatever was at the target untouched. And nothing is started that cannot finish: a
writer refuses, when it is opened (before any frame is rendered), a picture larger than its format stores or
buffers that would not fit in the memory free now.
"""

from __future__ import annotations

import bisect
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TypeVar

import numpy as np
from PIL import Image

from ..atomic import atomic_path
from ..errors import NCAError
from ..resources import check_memory
from .formats import get_format
from .options import WriterOptions

__all__ = ["BaseWriter", "Discard", "FrameWriter", "PendingFile", "check_fits", "held_run", "scaled"]

_W = TypeVar("_W", bound="FrameWriter")


def scaled(image: Image.Image, scale: int) -> Image.Image:
    """Nearest-neighbour upscale by an integer factor (any mode, "P" keeps its palette)."""
    if scale == 1:
        return image
    return image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)


def held_run(starts: Sequence[int], hold_at: int) -> int:
    """The stored frame that shows rendered frame ``hold_at``, the one held: the last of ``starts`` (the rendered
    frame where each stored frame starts, ascending, the first 0) at or before it."""
    return bisect.bisect_right(starts, hold_at) - 1


class Discard(BaseException):
    """Thrown into a context manager or the encoder generator to drop its output."""


class PendingFile:
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
            self._context.__exit__(Discard, Discard(), None)


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


class BaseWriter(FrameWriter):
    """Shared bookkeeping: frame checks, counting, close/abort state, and the checks made when it opens.

    A format's writer sets :attr:`format` (its name in the table of formats) and implements, in the order
    they run: :meth:`_layout` (geometry from the options; nothing allocated), :meth:`_open` (temporaries,
    buffers, encoders; after the size and memory checks), :meth:`_add` per frame, then :meth:`_finish` or
    :meth:`_discard`. It may override :attr:`output_size` and :meth:`memory_bytes`.
    """

    def __init__(
        self,
        path: Path,
        *,
        n_frames: int,
        grid: tuple[int, int],
        options: WriterOptions,
        source: tuple[tuple[int, int], int] | None = None,
        hold_at: int | None = None,
    ) -> None:
        #: The grid and scale of the frames before they were scaled for this writer (``--resample smooth``):
        #: what its messages name.
        self.source = source or (grid, options.scale)
        self.path = path
        self.n_frames = n_frames
        #: The frame held ``options.hold`` seconds longer: the last (default), or where a ping-pong turns.
        self.hold_at = n_frames - 1 if hold_at is None else hold_at
        self.grid = grid
        self.options = options
        self.count = 0
        self._state = "open"  # open -> closed | aborted
        self._layout()
        self._check_fits()
        self._open()

    @property
    def scaled_size(self) -> tuple[int, int]:
        """Frame size in pixels after scaling, ``(width, height)``."""
        return self.grid[1] * self.options.scale, self.grid[0] * self.options.scale

    @property
    def output_size(self) -> tuple[int, int]:
        """The size in pixels of the picture the format stores, ``(width, height)`` (default: a scaled frame)."""
        return self.scaled_size

    def memory_bytes(self) -> int:
        """Memory the writer needs at its peak (default: a scaled RGBA frame and one copy of it)."""
        width, height = self.output_size
        return 2 * 4 * width * height

    def _check_fits(self) -> None:
        """Refuse a picture larger than the format stores, or buffers larger than the memory free now."""
        check_fits(self.format, self.output_size, source=self.source, n_frames=self.n_frames, need=self.memory_bytes())

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
        except OSError as exc:  # a full disk, a removed folder: one error, nothing left behind
            self.abort()
            raise self._write_error(exc) from None
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
        except OSError as exc:
            self.abort()
            raise self._write_error(exc) from None
        except BaseException:
            self.abort()
            raise
        self._state = "closed"
        self.summary = self._summary(extra)
        return self.summary

    def _write_error(self, exc: OSError) -> NCAError:
        """The one-line error for an ``OSError`` while writing (the output was aborted: nothing is left)."""
        return NCAError(f"cannot write {str(self.path)!r}: {exc.strerror or exc}")

    def _summary(self, extra: dict[str, object]) -> dict[str, object]:
        """The summary :meth:`close` returns: the common keys, then the format's ``extra`` ones."""
        width, height = self.scaled_size
        return {
            "path": str(self.path),
            "format": self.format,
            "frames": self.count,
            "rendered_frames": self.count,
            "width": width,
            "height": height,
            "bytes": size_on_disk(self.path),
            **extra,
        }

    def abort(self) -> None:
        if self._state == "open":
            self._state = "aborted"
            self._discard()

    def _layout(self) -> None:
        """Work out the output's geometry from the options (nothing allocated yet); refuse bad combinations."""

    def _open(self) -> None:
        """Make the temporaries, buffers or encoder (the output fits: checked)."""

    @abstractmethod
    def _add(self, frame: np.ndarray, index: int) -> None:
        """Take frame number ``index``, a validated uint8 ``(H, W, 4)`` array (not to be kept as is)."""

    @abstractmethod
    def _finish(self) -> dict[str, object]:
        """Write and rename into place; return summary keys that override or extend the common ones."""

    @abstractmethod
    def _discard(self) -> None:
        """Remove temporaries (may be called mid-write or after a failed finish)."""


def check_fits(
    fmt: str, size: tuple[int, int], *, source: tuple[tuple[int, int], int], n_frames: int, need: int
) -> None:
    """Refuse (:class:`NCAError`) a ``fmt`` picture of ``size = (width, height)`` pixels larger than the format
    stores, or needing ``need`` bytes when less memory is free; ``source`` (the grid ``(rows, cols)`` and scale
    it came from) and ``n_frames`` word the message. Every writer checks this when it opens."""
    record = get_format(fmt)
    width, height = size
    if max(width, height) > record.max_side:
        (rows, cols), scale = source
        why = f" ({record.max_side_reason})" if record.max_side_reason else ""
        raise NCAError(
            f"{record.title} stores at most {record.max_side:,} pixels a side{why}; this one would be "
            f"{width:,}x{height:,} ({rows}x{cols} cells at scale {scale})"
        )
    what = f"this {record.title} ({n_frames:,} frame(s), {width:,}x{height:,} pixels)"
    check_memory(need, what)


def size_on_disk(path: Path) -> int:
    """Bytes of a file, or of the files in a folder."""
    if path.is_dir():
        return sum(p.stat().st_size for p in path.iterdir() if p.is_file())
    return path.stat().st_size
