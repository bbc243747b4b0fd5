"""The one write path of every render, one seed or a batch: :func:`open_writer`, :func:`write_output`, and
:class:`ThreadedWriter`, which runs a streaming writer beside the rollout."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import NoReturn

import numpy as np

from ..atomic import check_writable_dir
from ..checks import is_whole
from ..errors import NCAError
from .base import FrameWriter
from .formats import RENDERS, TABLE, Format, either, file_suffixes, get_format
from .options import WriterOptions
from .pingpong import PingPongWriter, played_frames

__all__ = ["ThreadedWriter", "open_writer", "write_output"]


def _check_output_path(record: Format, path: Path) -> None:
    """Raise :class:`NCAError` unless ``path`` suits the format and its folder exists and is writable."""
    suffix = path.suffix.lower()
    if not record.suffix:  # the output is a folder
        if suffix in file_suffixes():
            raise NCAError(f"{record.title} go into a folder, but {str(path)!r} looks like a file name")
    else:
        if suffix != record.suffix:
            raise NCAError(f"a {record.name} output needs a {record.suffix} file name, got {str(path)!r}")
        if path.is_dir():
            raise NCAError(f"output path {str(path)!r} is a folder")
    check_writable_dir(path.parent)


def open_writer(
    fmt: str,
    path: Path | str,
    *,
    n_frames: int,
    grid: tuple[int, int],
    options: WriterOptions | None = None,
    tile: tuple[int, int] | None = None,
) -> FrameWriter:
    """Open a writer for ``n_frames`` frames of grid size ``grid = (H, W)``.

    ``fmt`` is one of :data:`~ncarender.writers.formats.RENDERS`: ``gif`` (``.gif``), ``mp4`` (``.mp4``),
    ``sheet`` (``.png``, atlas written beside it as ``.json``), ``frames`` (a folder; its parent must exist),
    ``webp`` (``.webp``), ``apng`` (``.apng``) or ``png`` (``.png``, a still: the last frame only).
    ``options.resample == "smooth"`` scales the frames here (:class:`~ncarender.writers.resample.ResampledWriter`;
    each ``tile = (h, w)`` block on its own when the frames are several seeds side by side) and opens the
    format's writer at scale 1. ``options.pingpong`` (gif, mp4, webp, apng; ignored by the others) plays the
    ``n_frames`` forward then back (:class:`~ncarender.writers.pingpong.PingPongWriter`).
    A ``frames`` folder that exists is replaced at close only if it is empty or holds nothing but
    ``frame-*.png`` files (an earlier render); otherwise it is refused. Every user-fixable problem raises
    :class:`NCAError` here, before any frame is rendered: a bad path or option, transparency the format cannot
    hold, a picture larger than the format stores, buffers larger than the free memory.
    """
    options = options or WriterOptions()
    if fmt not in RENDERS:
        raise NCAError(f"unknown output format {fmt!r} (choose {', '.join(RENDERS)})")
    record = get_format(fmt)
    if not is_whole(n_frames) or n_frames < 1:
        raise NCAError(f"a render needs at least 1 frame, got {n_frames!r}")
    if len(grid) != 2 or not all(is_whole(side) and side >= 1 for side in grid):
        raise NCAError(f"grid must be two whole numbers (height, width) of at least 1, got {grid!r}")
    if options.transparent and not record.alpha:
        with_alpha = [f.title for f in TABLE if f.consumes == "frames" and f.alpha]
        raise NCAError(f"{record.title} has no alpha channel: use a background colour, or write a {either(with_alpha)}")
    path = Path(path)
    _check_output_path(record, path)
    cells = (int(grid[0]), int(grid[1]))
    pingpong = options.pingpong and "pingpong" in record.options
    played = played_frames(n_frames) if pingpong else n_frames
    writer: FrameWriter
    if options.resample == "smooth" and options.scale > 1:  # scaled here, handed to the writer at scale 1
        from .resample import ResampledWriter

        scale, big = options.scale, (cells[0] * options.scale, cells[1] * options.scale)
        inner = record.writer_class()(
            path,
            n_frames=played,
            grid=big,
            options=replace(options, scale=1),
            source=(cells, scale),
            hold_at=n_frames - 1,
        )
        writer = ResampledWriter(inner, grid=cells, scale=scale, tile=tile)
    else:
        writer = record.writer_class()(path, n_frames=played, grid=cells, options=options, hold_at=n_frames - 1)
    return PingPongWriter(writer, n_frames=n_frames) if pingpong else writer


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
    tile: tuple[int, int] | None = None,
) -> dict[str, object]:
    """Write ``n_frames`` uint8 ``(H, W, 4)`` frames from ``frames`` as one output; return the writer's summary.

    The single path of every render, one seed or a batch: :func:`open_writer`
    (so a bad path or option fails before ``frames`` is first pulled), every
    frame added in order, closed. ``threaded`` runs the encoder on a background
    thread (:class:`ThreadedWriter`); the bytes are the same either way. ``tile``: each seed's ``(h, w)`` when
    the frames are several seeds side by side (smooth scaling then keeps each tile to itself). Time
    spent in the writer is added to ``timings['encode']`` when a dict is given.
    On any error (Ctrl-C included) nothing is left at ``path``.
    """
    writer = open_writer(fmt, path, n_frames=n_frames, grid=grid, options=options, tile=tile)
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
