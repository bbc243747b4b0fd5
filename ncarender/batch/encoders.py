"""The batch's encoders: one task per seed and output, run by a pool beside the rollout, recorded when done.

Each task goes through :func:`~ncarender.writers.write_output`, the write path of a single render, so a batch
output is byte-identical to ``ncarender gif --seed N`` with the same options. This module is what the encoder
processes import: no onnxruntime.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..errors import NCAError
from ..writers.formats import OutputSpec
from ..writers.output import write_output
from .manifest import Manifest, path_sha256, signals_held

__all__ = ["EncodeTask", "Encoded", "Encoders", "OnRecord", "Stop", "encode", "make_pool"]

#: Called with each manifest record as it is written, and with each failure record.
OnRecord = Callable[[dict[str, object]], None]


@dataclass
class EncodeTask:
    """One output of one seed, handed to an encoder (pickled for a process pool)."""

    spec: OutputSpec
    path: Path
    frames: np.ndarray  # uint8 (F, H, W, 4)


@dataclass
class Encoded:
    """What an encoder did: the writer's summary, the output's sha256, its seconds."""

    summary: dict[str, object]
    sha256: str
    seconds: float


def encode(task: EncodeTask) -> Encoded:
    """Write one output and hash it (runs in an encoder process or thread)."""
    t0 = time.perf_counter()
    frames = task.frames
    try:
        summary = write_output(
            task.spec.format,
            task.path,
            frames,
            n_frames=len(frames),
            grid=(frames.shape[1], frames.shape[2]),
            options=task.spec.options,
        )
        digest = path_sha256(task.path, sync=True)
    except OSError as exc:  # a full or read-only disk inside an encoder
        raise NCAError(f"cannot write {str(task.path)!r}: {exc.strerror or exc}") from None
    return Encoded(summary, digest, time.perf_counter() - t0)


def _ignore_signals() -> None:
    """Encoder processes leave Ctrl-C and SIGTERM to the parent, which lets them finish their output."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def make_pool(jobs: int, kind: str) -> cf.Executor:
    """``jobs`` encoders: threads (``kind="thread"``) or worker processes that ignore Ctrl-C."""
    if kind == "thread":
        return cf.ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="ncarender-encode")
    # spawn: a fresh interpreter, not a fork of a process running onnxruntime's threads.
    context = multiprocessing.get_context("spawn")
    return cf.ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_ignore_signals)


class Stop(Exception):
    """An encoder or the manifest failed: stop submitting and wind down."""


class Encoders:
    """The encoders in flight, and the records of what they finished (:attr:`written`, in the manifest)."""

    def __init__(
        self,
        manifest: Manifest,
        pool: cf.Executor,
        *,
        total: int,
        on_record: OnRecord | None,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        self.manifest = manifest
        self.pool = pool
        self.total = total
        self.on_record = on_record
        self.progress = progress
        self.reported = 0
        self.inflight: dict[cf.Future[Encoded], tuple[dict[str, object], float]] = {}
        self.error: BaseException | None = None
        self.written: list[dict[str, object]] = []

    def submit(self, task: EncodeTask, record: dict[str, object], rollout_seconds: float) -> None:
        """Encode ``task``; ``record`` is completed and written when it is done."""
        self.inflight[self.pool.submit(encode, task)] = (record, rollout_seconds)

    def report(self, record: dict[str, object], outputs: int = 1) -> None:
        """Hand ``record`` to the callbacks; it settles ``outputs`` of the total."""
        if self.on_record is not None:
            self.on_record(record)
        self.reported += outputs
        if self.progress is not None:
            self.progress(self.reported, self.total)

    def collect(self, *, wait_until: int | None = None) -> None:
        """Record every finished task; with ``wait_until``, first wait until at most that many are in flight."""
        while True:
            if wait_until is not None and len(self.inflight) > wait_until:
                cf.wait(list(self.inflight), return_when=cf.FIRST_COMPLETED)
            for future in [f for f in self.inflight if f.done()]:
                self._finish(future)
            if wait_until is None or len(self.inflight) <= wait_until:
                return

    def _finish(self, future: cf.Future[Encoded]) -> None:
        """Record a finished task: its manifest line, :attr:`written` and the callbacks change together, in one
        step a signal cannot split (:func:`~ncarender.batch.manifest.signals_held`)."""
        with signals_held():
            self._record(future)

    def _record(self, future: cf.Future[Encoded]) -> None:
        record, rollout_seconds = self.inflight.pop(future)
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None:
            self.error = self.error or exc
            raise Stop
        done = future.result()
        summary = done.summary
        record.update(
            frames=summary.get("frames"),
            rendered_frames=summary.get("rendered_frames"),
            width=summary.get("width"),
            height=summary.get("height"),
            bytes=summary.get("bytes"),
            sha256=done.sha256,
            seconds=round(rollout_seconds + done.seconds, 4),
            finished=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )
        if "atlas" in summary:
            record["atlas"] = Path(str(summary["atlas"])).name
        try:
            self.manifest.append(record)
        except NCAError as err:
            self.error = self.error or err
            raise Stop from None
        self.written.append(record)
        self.report(record)

    def wind_down(self) -> None:
        """Cancel what has not started, wait for what has, and record what finished."""
        for future in list(self.inflight):
            future.cancel()
        if self.inflight:
            cf.wait(list(self.inflight))
        for future in list(self.inflight):
            with contextlib.suppress(Stop):
                self._finish(future)
