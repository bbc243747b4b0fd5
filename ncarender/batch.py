"""Many seeds in one run: seed specs, shards, the manifest, resume, the batched render and the gallery.

No torch, and no onnxruntime at import time either (the encoding workers import
this module): the rollout comes from a :class:`~ncarender.api.Renderer` that
the caller passes in.

How a batch runs (:func:`render_batch`):

* The seeds still to do are cut into chunks of ``batch_size`` that run
  together in the batch dimension of one rollout (:meth:`Renderer.composites`),
  so each seed's frames are exactly those of a single-seed render.
* When a chunk's rollout ends, each seed's frame stack ``(F, H, W, 4)`` goes
  to a pool of ``jobs`` encoders (processes, or threads with ``jobs=1``), one
  task per seed and format, through :func:`~ncarender.writers.write_output`,
  the function :meth:`Renderer.render` uses: the same bytes as
  ``ncarender gif --seed N`` with the same options. The next chunk's rollout
  runs while they encode.
* Each finished output is appended to ``OUTDIR/manifest.jsonl`` (one JSON
  object a line, written whole and fsynced under a lock) as it finishes, so
  an interrupted batch leaves a true record; ``resume`` skips the outputs
  whose latest record matches the model, the options and the file on disk.
* A seed whose state turns non-finite is reported and left out; the others go
  on. A write error (full or read-only disk) stops the batch: what finished
  stays valid and recorded, nothing half-written is left.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import json
import math
import multiprocessing
import os
import re
import shutil
import signal
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from . import __version__
from .atomic import atomic_path, check_writable_dir
from .errors import NCAError
from .render import Background, parse_background
from .writers import FORMATS, WriterOptions, open_writer, write_output

if TYPE_CHECKING:
    from .api import Renderer
    from .spec import Damage

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: appends are not locked against other processes
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "MANIFEST_NAME",
    "MAX_SEEDS",
    "BatchResult",
    "OutputSpec",
    "default_batch_size",
    "output_name",
    "output_spec",
    "parse_formats",
    "parse_seeds",
    "parse_shard",
    "read_manifest",
    "render_batch",
    "render_gallery",
    "shard_seeds",
]

#: A seed spec may name at most this many seeds unless ``force`` is given.
MAX_SEEDS = 10_000
#: Not even ``force`` goes beyond this many seeds (the list itself would not fit).
HARD_MAX_SEEDS = 10_000_000
#: The manifest's file name inside OUTDIR.
MANIFEST_NAME = "manifest.jsonl"
#: A default batch holds about this many grid cells (72x72: 12 seeds). On the CPU a step costs the same per
#: cell from batch 8 up, and small chunks keep the encoders fed: the last chunk's outputs are encoded after
#: the rollout ends. 64 seeds x 200 steps to GIF on 2 cores: 23.8 s in chunks of 8, 27.4 s in chunks of 32.
CELLS_PER_BATCH = 1 << 16

#: Each format's defaults where they differ from :class:`WriterOptions`': those of
#: the single-seed commands (``ncarender gif``, ``mp4``, ``sheet``, ``frames``).
DEFAULT_SCALE = {"gif": 4, "mp4": 4, "sheet": 2, "frames": 4}
DEFAULT_BACKGROUND = {"gif": "white", "mp4": "white", "sheet": "transparent", "frames": "transparent"}
DEFAULT_HOLD = {"gif": 1.0, "mp4": 1.0}

_SEED_ITEM = re.compile(r"^([0-9]+)(?:-([0-9]+)(?::([0-9]+))?)?$")
_SHARD = re.compile(r"^([0-9]+)/([0-9]+)$")
#: What a writer leaves beside ``seed-0042.gif`` while it works: ``.seed-0042.gif.<random>...``.
_TEMPORARY = re.compile(r"^\.(seed-\d+(?:\.gif|\.mp4|\.png|\.json|-frames))\.")

#: Called with each manifest record as it is written, and with each failure record.
OnRecord = Callable[[dict[str, object]], None]


# --------------------------------------------------------------------------- seeds and shards


def parse_seeds(spec: str, *, force: bool = False, limit: int = MAX_SEEDS) -> list[int]:
    """Seeds from ``spec``: comma-separated ``N``, ``A-B`` (inclusive) or ``A-B:STEP``.

    ``0-99``, ``0,5,17``, ``0-999:10``, ``1-5,100``. Order is kept and repeats
    are dropped. More than ``limit`` seeds needs ``force``.
    """
    items = spec.split(",")
    if not spec.strip():
        raise NCAError("--seeds is empty; give seeds such as 0-99, 0,5,17 or 0-999:10")
    ranges: list[range] = []
    for raw in items:
        item = raw.strip()
        match = _SEED_ITEM.match(item)
        if not match:
            raise NCAError(
                f"--seeds {spec!r}: cannot read {item!r}; use N, A-B or A-B:STEP with whole numbers >= 0 "
                "(such as 0-99, 0,5,17 or 0-999:10)"
            )
        start = int(match.group(1))
        stop = int(match.group(2)) if match.group(2) is not None else start
        step = int(match.group(3)) if match.group(3) is not None else 1
        if stop < start:
            raise NCAError(f"--seeds {spec!r}: the range {item!r} ends before it starts")
        if step < 1:
            raise NCAError(f"--seeds {spec!r}: the step in {item!r} must be at least 1")
        if stop >= 2**63:
            raise NCAError(f"--seeds {spec!r}: seeds must be below 2**63")
        ranges.append(range(start, stop + 1, step))
    count = sum(len(r) for r in ranges)
    if count > HARD_MAX_SEEDS:
        raise NCAError(f"--seeds {spec!r} names {count} seeds; at most {HARD_MAX_SEEDS} in one batch")
    if count > limit and not force:
        raise NCAError(f"--seeds {spec!r} names {count} seeds, more than {limit}; add --force if you mean it")
    return list(dict.fromkeys(seed for r in ranges for seed in r))


def parse_shard(spec: str) -> tuple[int, int]:
    """``I/N`` -> ``(I, N)``: the I-th (from 0) of N parts, ``0 <= I < N``."""
    match = _SHARD.match(spec.strip())
    if not match:
        raise NCAError(f"--shard {spec!r}: expected I/N such as 0/4 (part I of N, counting from 0)")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1:
        raise NCAError(f"--shard {spec!r}: N must be at least 1")
    if index >= count:
        raise NCAError(f"--shard {spec!r}: I counts from 0, so it must be below N ({count})")
    return index, count


def shard_seeds(seeds: Sequence[int], index: int, count: int) -> list[int]:
    """Part ``index`` of ``count`` of ``seeds``: every ``count``-th seed from position ``index``.

    The parts are disjoint, their union is ``seeds``, and each depends only on
    the seed list, so independent processes agree on them.
    """
    if not 0 <= index < count:
        raise NCAError(f"shard {index}/{count}: I must be from 0 to N-1")
    return list(seeds[index::count])


# --------------------------------------------------------------------------- outputs


def parse_formats(text: str | Sequence[str]) -> list[str]:
    """``gif,mp4`` (or a list of names) -> ``["gif", "mp4"]``, checked against :data:`FORMATS`."""
    parts = text.split(",") if isinstance(text, str) else list(text)
    names = list(dict.fromkeys(p.strip().lower() for p in parts if p.strip()))
    if not names:
        raise NCAError(f"--format is empty; choose one or more of {', '.join(FORMATS)}")
    unknown = [n for n in names if n not in FORMATS]
    if unknown:
        raise NCAError(f"unknown format {unknown[0]!r}; choose one or more of {', '.join(FORMATS)}")
    return names


def output_name(seed: int, fmt: str) -> str:
    """The name of seed ``seed``'s ``fmt`` output inside OUTDIR: ``seed-0042.gif``, ``seed-0042-frames``."""
    suffix = {"gif": ".gif", "mp4": ".mp4", "sheet": ".png", "frames": "-frames"}[fmt]
    return f"seed-{seed:04d}{suffix}"


def _background_text(background: Background) -> str:
    return "transparent" if background is None else "#{:02x}{:02x}{:02x}".format(*background)


@dataclass(frozen=True)
class OutputSpec:
    """One output per seed: its format, the background frames are composited over, and the writer options."""

    format: str
    background: Background
    options: WriterOptions

    def describe(self, *, steps: int, grid: tuple[int, int], every: int, damage: Sequence[Damage]) -> dict[str, object]:
        """Everything that decides the output's bytes, JSON-ready (the manifest's ``options``)."""
        return {
            "steps": steps,
            "grid": [grid[0], grid[1]],
            "every": every,
            "background": _background_text(self.background),
            "damage": [[d.step, d.x, d.y, d.r] for d in damage],
            **asdict(self.options),
        }


def output_spec(
    fmt: str,
    *,
    scale: int | None = None,
    fps: float | None = None,
    background: str | tuple[int, int, int] | None = None,
    hold: float | None = None,
    loop: bool | None = None,
    crf: int | None = None,
    columns: int | None = None,
    sheet_frames: int | None = None,
) -> OutputSpec:
    """The output ``fmt`` with the single-seed command's defaults, overridden by what is given.

    ``None`` means "that command's default" (``background``: a colour name,
    ``#rrggbb``, an RGB tuple or ``"transparent"``). Options a format's command
    does not have are ignored for it: ``hold`` applies to gif and mp4, ``loop``
    to gif, ``crf`` to mp4, ``fps`` to all but frames, ``columns`` and
    ``sheet_frames`` to sheet. So ``output_spec("gif", seed options...)`` gives
    the bytes of ``ncarender gif`` with the same options.
    """
    (fmt,) = parse_formats([fmt])
    if background is None:
        background = DEFAULT_BACKGROUND[fmt]
    bg = parse_background(background) if isinstance(background, str) else background
    base = WriterOptions()
    options = WriterOptions(
        scale=scale if scale is not None else DEFAULT_SCALE[fmt],
        fps=fps if fps is not None and fmt != "frames" else base.fps,
        loop=loop if loop is not None and fmt == "gif" else base.loop,
        hold=(hold if hold is not None else DEFAULT_HOLD[fmt]) if fmt in DEFAULT_HOLD else base.hold,
        transparent=bg is None,
        crf=crf if crf is not None and fmt == "mp4" else base.crf,
        columns=columns if fmt == "sheet" else None,
        sheet_frames=sheet_frames if fmt == "sheet" else None,
    )
    return OutputSpec(fmt, bg, options)


# --------------------------------------------------------------------------- hashing and the manifest


def path_sha256(path: Path, *, sync: bool = False) -> str:
    """SHA-256 of a file, or of a folder: of ``name NUL sha256(file) LF`` for its files in name order.

    With ``sync`` each file is also fsynced, so a record never outlives its data.
    """
    if path.is_dir():
        outer = hashlib.sha256()
        for child in sorted(path.iterdir()):
            if child.is_file():
                outer.update(f"{child.name}\0{path_sha256(child, sync=sync)}\n".encode())
        return outer.hexdigest()
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
        if sync:
            os.fsync(fh.fileno())
    return digest.hexdigest()


def read_manifest(path: Path | str) -> list[dict[str, object]]:
    """The records of a manifest in order; a torn last line (a write cut short) is ignored.

    A missing file has no records. Any other line that is not a JSON object
    raises :class:`NCAError`.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise NCAError(f"cannot read the manifest {str(path)!r}: {exc.strerror}") from None
    lines = data.split(b"\n")[:-1]  # what follows the last newline is nothing, or a torn line
    records: list[dict[str, object]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            raise NCAError(f"{str(path)!r} line {number} is not a JSON object; fix or remove that line")
        records.append(record)
    return records


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class Manifest:
    """An append-only JSON Lines file; each append is one locked, fsynced write of a whole line.

    Before appending, a torn last line (left by a process killed mid-write or
    a full disk) is cut off; a failed append is rolled back, so the file is
    always whole lines. Several processes (shards) may append to one file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, record: dict[str, object]) -> None:
        """Append ``record`` as one line; :class:`NCAError` if the disk refuses."""
        line = (json.dumps(record, sort_keys=True) + "\n").encode()
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            raise NCAError(f"cannot write the manifest {str(self.path)!r}: {exc.strerror}") from None
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            size = _cut_torn_line(fd)
            try:
                _write_all(fd, line)
                os.fsync(fd)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, size)
                raise NCAError(f"cannot write the manifest {str(self.path)!r}: {exc.strerror}") from None
        finally:
            os.close(fd)  # also releases the lock


def _cut_torn_line(fd: int) -> int:
    """Truncate ``fd`` after its last newline if it does not end with one; return its size."""
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return size
    end = size
    while end > 0:
        start = max(0, end - 4096)
        cut = os.pread(fd, end - start, start).rfind(b"\n")
        if cut >= 0:
            end = start + cut + 1
            break
        end = start
    os.ftruncate(fd, end)
    return end


def _completed(
    outdir: Path, records: Iterable[dict[str, object]], wanted: dict[tuple[int, str], dict[str, object]], model: str
) -> set[tuple[int, str]]:
    """The ``(seed, format)`` pairs of ``wanted`` whose latest record matches and whose file is intact."""
    latest: dict[str, dict[str, object]] = {}
    for line in records:
        if isinstance(line.get("path"), str):
            latest[str(line["path"])] = line
    done: set[tuple[int, str]] = set()
    for (seed, fmt), options in wanted.items():
        record = latest.get(output_name(seed, fmt))
        if (
            record is None
            or record.get("seed") != seed
            or record.get("format") != fmt
            or record.get("model_sha256") != model
            or record.get("options") != options
        ):
            continue
        path = outdir / output_name(seed, fmt)
        atlas = record.get("atlas")
        if not path.exists() or (isinstance(atlas, str) and not (outdir / atlas).is_file()):
            continue
        if path_sha256(path) == record.get("sha256"):
            done.add((seed, fmt))
    return done


def _remove_temporaries(outdir: Path, names: set[str]) -> None:
    """Remove what an interrupted writer left for the outputs ``names`` (only those: other shards may be writing)."""
    for entry in outdir.iterdir():
        match = _TEMPORARY.match(entry.name)
        if match and match.group(1) in names:
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    entry.unlink()


# --------------------------------------------------------------------------- encoding tasks


@dataclass
class _Task:
    """One output of one seed, handed to an encoder (pickled for a process pool)."""

    spec: OutputSpec
    path: Path
    frames: np.ndarray  # uint8 (F, H, W, 4)


@dataclass
class _Done:
    summary: dict[str, object]
    sha256: str
    seconds: float


def _encode(task: _Task) -> _Done:
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
    return _Done(summary, digest, time.perf_counter() - t0)


def _ignore_signals() -> None:
    """Encoder processes leave Ctrl-C and SIGTERM to the parent, which lets them finish their output."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _make_pool(jobs: int, kind: str) -> cf.Executor:
    if kind == "thread":
        return cf.ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="ncarender-encode")
    # spawn: a fresh interpreter, not a fork of a process running onnxruntime's threads.
    context = multiprocessing.get_context("spawn")
    return cf.ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_ignore_signals)


def default_jobs() -> int:
    """Encoders by default: one per core this process may use but one, which the rollout keeps (at least 1).

    On 2 cores one encoder (a thread) beside the rollout's two onnxruntime threads beat two encoder
    processes: 64 seeds x 200 steps to GIF in 21.3 s against 23.8 s (more runnable threads than cores stall
    onnxruntime's parallel operators).
    """
    from .runtime.resources import usable_cores

    return max(1, usable_cores() - 1)


def default_batch_size(
    n_seeds: int, grid: tuple[int, int], *, n_frames: int, n_backgrounds: int = 1, memory: int | None = None
) -> int:
    """Seeds per rollout: about :data:`CELLS_PER_BATCH` cells, within a quarter of free memory.

    Memory per seed: the rollout's buffers plus its frame stacks (held, pickled
    and encoded: three copies of ``F x H x W x 4`` bytes per background). Chunks
    are made even, and a single chunk of 16 seeds or more is split in two so the
    encoders start while the second half rolls out.
    """
    from .runtime.resources import available_memory, rollout_bytes

    height, width = grid
    cells = height * width
    per_seed = rollout_bytes(1, height, width) + 3 * n_frames * cells * 4 * max(1, n_backgrounds)
    budget = (memory if memory is not None else available_memory()) // 4
    size = max(1, min(n_seeds, CELLS_PER_BATCH // cells, budget // per_seed))
    chunks = math.ceil(n_seeds / size) if n_seeds else 1
    if chunks == 1 and n_seeds >= 16:
        chunks = 2
    return max(1, math.ceil(n_seeds / chunks))


# --------------------------------------------------------------------------- the batch


@dataclass
class BatchResult:
    """What :func:`render_batch` did. ``written`` and ``failed`` hold the records it reported."""

    outdir: Path
    manifest: Path
    seeds: list[int]
    written: list[dict[str, object]] = field(default_factory=list)
    failed: list[dict[str, object]] = field(default_factory=list)
    skipped: int = 0
    batch_size: int = 0
    jobs: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when no seed failed."""
        return not self.failed


class _Stop(Exception):
    """An encoder or the manifest failed: stop submitting and wind down."""


class _Run:
    """The encoders in flight, and the records of what they finished."""

    def __init__(
        self,
        result: BatchResult,
        manifest: Manifest,
        pool: cf.Executor,
        *,
        total: int,
        on_record: OnRecord | None,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        self.result = result
        self.manifest = manifest
        self.pool = pool
        self.total = total
        self.on_record = on_record
        self.progress = progress
        self.reported = 0
        self.inflight: dict[cf.Future[_Done], tuple[dict[str, object], float]] = {}
        self.error: BaseException | None = None

    def submit(self, task: _Task, record: dict[str, object], rollout_seconds: float) -> None:
        """Encode ``task``; ``record`` is completed and written when it is done."""
        self.inflight[self.pool.submit(_encode, task)] = (record, rollout_seconds)

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

    def _finish(self, future: cf.Future[_Done]) -> None:
        record, rollout_seconds = self.inflight.pop(future)
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None:
            self.error = self.error or exc
            raise _Stop
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
            raise _Stop from None
        self.result.written.append(record)
        self.report(record)

    def wind_down(self) -> None:
        """Cancel what has not started, wait for what has, and record what finished."""
        for future in list(self.inflight):
            future.cancel()
        if self.inflight:
            cf.wait(list(self.inflight))
        for future in list(self.inflight):
            with contextlib.suppress(_Stop):
                self._finish(future)


def _roll_out(
    renderer: Renderer,
    chunk: Sequence[tuple[int, Sequence[OutputSpec]]],
    *,
    n_frames: int,
    steps: int,
    grid: tuple[int, int],
    every: int,
    damage: Sequence[Damage],
    tick: Callable[[], None],
) -> tuple[list[Background], list[np.ndarray], dict[int, int], float]:
    """One rollout for the seeds of ``chunk``, converted over every background their outputs use.

    Returns the backgrounds, one frame stack uint8 ``(n, F, H, W, 4)`` per background
    (seed ``i``'s frames are ``stack[i]``), the failed seeds (``{index: step}``) and the
    seconds per seed. ``tick`` runs every few frames (to record finished encoders).
    """
    backgrounds = list(dict.fromkeys(s.background for _, specs in chunk for s in specs))
    stacks = [np.empty((len(chunk), n_frames, *grid, 4), dtype=np.uint8) for _ in backgrounds]
    failed: dict[int, int] = {}
    timings: dict[str, float] = {}
    seeds = [seed for seed, _ in chunk]
    for k, (_, frames) in enumerate(
        renderer.composites(
            seeds, backgrounds, steps=steps, size=grid, every=every, damage=damage, timings=timings, failed=failed
        )
    ):
        for stack, rgba in zip(stacks, frames, strict=True):
            stack[:, k] = rgba
        if k % 8 == 0:
            tick()
    return backgrounds, stacks, failed, (timings["rollout"] + timings["convert"]) / len(chunk)


def _prepare_outdir(outdir: Path) -> None:
    if outdir.exists() and not outdir.is_dir():
        raise NCAError(f"{str(outdir)!r} is a file; a batch writes into a folder")
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NCAError(f"cannot create the folder {str(outdir)!r}: {exc.strerror}") from None
    check_writable_dir(outdir)


def render_batch(
    renderer: Renderer,
    outdir: Path | str,
    seeds: Iterable[int],
    *,
    formats: str | Sequence[str] = ("gif",),
    outputs: Sequence[OutputSpec] | None = None,
    steps: int = 200,
    size: tuple[int, int] | None = None,
    every: int = 1,
    damage: Sequence[Damage] = (),
    batch_size: int | None = None,
    jobs: int | None = None,
    resume: bool = False,
    on_record: OnRecord | None = None,
    progress: Callable[[int, int], None] | None = None,
    executor: str = "auto",
) -> BatchResult:
    """Render every seed of ``seeds`` into ``outdir`` in each format; append a manifest line per output.

    Outputs are ``outdir/seed-0042.gif`` and so on (:func:`output_name`), each
    byte-identical to :meth:`Renderer.render` of that seed with the same
    options. ``outputs`` (from :func:`output_spec`) sets formats and writer
    options; otherwise ``formats`` are written with their commands' defaults.
    ``batch_size`` seeds run in one rollout (default :func:`default_batch_size`),
    ``jobs`` encoders run beside it (default: all cores but one; ``executor`` ``process``,
    ``thread``, or ``auto``: processes when ``jobs > 1``). With ``resume``, outputs
    whose latest manifest record matches (model, options, sha256 of the file on
    disk) are skipped. ``on_record`` receives each manifest record as it is
    written, and a record with ``"status": "failed"`` for each seed that failed;
    ``progress`` receives ``(outputs_done, outputs_to_do)`` at the start and after each.

    A failed seed (non-finite state) is reported in :attr:`BatchResult.failed`
    and the batch goes on. A write error raises :class:`NCAError` once the
    running encoders are done; Ctrl-C (``KeyboardInterrupt``) likewise stops
    and re-raises. Either way finished outputs stay, recorded, and no partial
    file is left.
    """
    from .api import frame_steps

    t_start = time.perf_counter()
    if steps < 1:
        raise NCAError(f"--steps must be at least 1, got {steps}")
    if every < 1:
        raise NCAError(f"--every must be at least 1, got {every}")
    if batch_size is not None and batch_size < 1:
        raise NCAError(f"--batch-size must be at least 1, got {batch_size}")
    if jobs is not None and jobs < 1:
        raise NCAError(f"--jobs must be at least 1, got {jobs}")
    if executor not in ("auto", "process", "thread"):
        raise NCAError(f"executor must be auto, process or thread, got {executor!r}")
    seed_list = list(dict.fromkeys(int(s) for s in seeds))
    if any(s < 0 for s in seed_list):
        raise NCAError("seeds must be whole numbers of at least 0")
    specs = list(outputs) if outputs is not None else [output_spec(f) for f in parse_formats(formats)]
    if not specs or len({s.format for s in specs}) != len(specs):
        raise NCAError("give each output format once")
    outdir = Path(outdir)
    _prepare_outdir(outdir)
    grid = size or renderer.grid
    shots = frame_steps(steps, every)
    model_hash = path_sha256(renderer.session.path)
    described = {s.format: s.describe(steps=steps, grid=grid, every=every, damage=damage) for s in specs}
    described = json.loads(json.dumps(described))  # as a record read back will hold them
    manifest = Manifest(outdir / MANIFEST_NAME)
    result = BatchResult(outdir=outdir, manifest=manifest.path, seeds=seed_list)

    wanted = {(seed, s.format): described[s.format] for seed in seed_list for s in specs}
    done = _completed(outdir, read_manifest(manifest.path), wanted, model_hash) if resume else set()
    result.skipped = len(done)
    todo = [(seed, [s for s in specs if (seed, s.format) not in done]) for seed in seed_list]
    todo = [(seed, wanted_specs) for seed, wanted_specs in todo if wanted_specs]
    jobs = jobs or default_jobs()
    result.jobs = jobs
    if not todo:
        result.seconds = time.perf_counter() - t_start
        return result

    names = {output_name(seed, s.format) for seed, ss in todo for s in ss}
    names |= {n.removesuffix(".png") + ".json" for n in names if n.endswith(".png")}
    _remove_temporaries(outdir, names)
    first_seed, first_specs = todo[0]
    for spec in first_specs:  # every user-fixable option error, before anything is rendered
        path = outdir / output_name(first_seed, spec.format)
        open_writer(spec.format, path, n_frames=len(shots), grid=grid, options=spec.options).abort()
    n_backgrounds = len({s.background for s in specs})
    size_per_batch = batch_size or default_batch_size(len(todo), grid, n_frames=len(shots), n_backgrounds=n_backgrounds)
    result.batch_size = size_per_batch
    renderer.session.check_grid(size_per_batch, *grid)
    chunks = [todo[i : i + size_per_batch] for i in range(0, len(todo), size_per_batch)]
    kind = executor if executor != "auto" else ("process" if jobs > 1 else "thread")
    common = {"model": renderer.session.path.name, "model_sha256": model_hash, "provider": renderer.provider}

    pool = _make_pool(jobs, kind)
    total = sum(len(ss) for _, ss in todo)
    run = _Run(result, manifest, pool, total=total, on_record=on_record, progress=progress)
    if progress is not None:
        progress(0, total)
    try:
        try:
            for chunk in chunks:
                backgrounds, stacks, failed, share = _roll_out(
                    renderer,
                    chunk,
                    n_frames=len(shots),
                    steps=steps,
                    grid=grid,
                    every=every,
                    damage=damage,
                    tick=run.collect,
                )
                for i, (seed, seed_specs) in enumerate(chunk):
                    if i in failed:
                        failure: dict[str, object] = {
                            "seed": seed,
                            "status": "failed",
                            "step": failed[i],
                            "formats": [s.format for s in seed_specs],
                            "error": f"the state became non-finite (NaN/inf) at step {failed[i]}",
                        }
                        result.failed.append(failure)
                        run.report(failure, len(seed_specs))
                        continue
                    for spec in seed_specs:
                        name = output_name(seed, spec.format)
                        frames_of_seed = stacks[backgrounds.index(spec.background)][i]
                        record: dict[str, object] = {
                            "seed": seed,
                            "format": spec.format,
                            "path": name,
                            "status": "ok",
                            "options": described[spec.format],
                            "ncarender": __version__,
                            **common,
                        }
                        run.submit(_Task(spec, outdir / name, frames_of_seed), record, share)
                del stacks
                # At most one chunk's outputs wait while the next chunk rolls out.
                run.collect(wait_until=sum(len(ss) for _, ss in chunk))
            run.collect(wait_until=0)
        except _Stop:
            run.wind_down()
            assert run.error is not None
            error = run.error
            if isinstance(error, BrokenProcessPool):
                message = (
                    "an encoder process died (out of memory? a script that calls render_batch needs an "
                    "`if __name__ == '__main__':` guard, or executor='thread')"
                )
            elif isinstance(error, NCAError):
                message = str(error)
            else:  # a bug, not the user's: keep its traceback
                raise error from None
            raise NCAError(
                f"{message}; stopped after {len(result.written)} output(s), all recorded in {str(manifest.path)!r}"
            ) from None
        except BaseException:  # Ctrl-C: finish and record what the encoders have started
            run.wind_down()
            raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    result.seconds = time.perf_counter() - t_start
    return result


# --------------------------------------------------------------------------- the gallery


def _label_font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default()


def render_gallery(
    renderer: Renderer,
    path: Path | str,
    seeds: Sequence[int],
    *,
    steps: int = 200,
    at: int | None = None,
    size: tuple[int, int] | None = None,
    background: Background | str = "white",
    damage: Sequence[Damage] = (),
    scale: int = 2,
    columns: int | None = None,
    batch_size: int | None = None,
) -> dict[str, object]:
    """One PNG of the frame at step ``at`` (default: ``steps``) of every seed, its number under each tile.

    Tiles are ``H*scale x W*scale`` pixels in ``columns`` columns (default:
    square), left to right, top to bottom, in the order of ``seeds``. The
    label strip takes the background colour (transparent stays transparent)
    with black text, or white text on a dark background. Returns a summary.
    """
    seed_list = list(dict.fromkeys(int(s) for s in seeds))
    if not seed_list:
        raise NCAError("no seeds for the gallery")
    if any(s < 0 for s in seed_list):
        raise NCAError("seeds must be whole numbers of at least 0")
    if steps < 1:
        raise NCAError(f"--steps must be at least 1, got {steps}")
    at = steps if at is None else at
    if not 0 <= at <= steps:
        raise NCAError(f"--at must be from 0 to --steps ({steps}), got {at}")
    if scale < 1:
        raise NCAError(f"--scale must be at least 1, got {scale}")
    if columns is not None and columns < 1:
        raise NCAError(f"--columns must be at least 1, got {columns}")
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise NCAError(f"a gallery is a PNG; got {str(path)!r}")
    check_writable_dir(path.parent if str(path.parent) else Path("."))
    bg = parse_background(background) if isinstance(background, str) else background
    grid = size or renderer.grid
    per_batch = batch_size or default_batch_size(len(seed_list), grid, n_frames=1)
    renderer.session.check_grid(per_batch, *grid)

    tiles: list[np.ndarray] = []
    for start in range(0, len(seed_list), per_batch):
        chunk = seed_list[start : start + per_batch]
        last = None
        # A rollout of ``at`` steps takes the same masks, so its last frame is step ``at`` of any longer one.
        for step, rgba in renderer.frames(
            chunk, steps=max(at, 1), size=grid, every=max(at, 1), background=bg, damage=damage
        ):
            if step == at:
                last = rgba
        assert last is not None
        tiles.extend(last)

    font = _label_font()
    labels = [str(seed) for seed in seed_list]
    boxes = [tuple(math.ceil(v) for v in font.getbbox(text)) for text in labels]
    text_h = max(b[3] for b in boxes)
    tile_w, tile_h = grid[1] * scale, grid[0] * scale
    cell_w = max(tile_w, max(b[2] - b[0] for b in boxes) + 4)
    cell_h = tile_h + text_h + 6
    cols = min(columns or math.isqrt(len(tiles) - 1) + 1, len(tiles))
    rows = -(-len(tiles) // cols)
    fill = (0, 0, 0, 0) if bg is None else (*bg, 255)
    ink = (255, 255, 255, 255) if bg is not None and sum(bg) < 3 * 128 else (0, 0, 0, 255)
    sheet = Image.new("RGBA", (cols * cell_w, rows * cell_h), fill)
    draw = ImageDraw.Draw(sheet)
    for n, (tile, text, box) in enumerate(zip(tiles, labels, boxes, strict=True)):
        x, y = (n % cols) * cell_w, (n // cols) * cell_h
        image = Image.fromarray(tile, "RGBA")
        if scale != 1:
            image = image.resize((tile_w, tile_h), Image.Resampling.NEAREST)
        sheet.paste(image, (x + (cell_w - tile_w) // 2, y))
        draw.text((x + (cell_w - (box[2] - box[0])) // 2 - box[0], y + tile_h + 3), text, font=font, fill=ink)
    with atomic_path(path) as tmp:
        try:
            sheet.save(tmp, format="PNG")
        except OSError as exc:
            raise NCAError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None
    return {
        "path": str(path),
        "format": "gallery",
        "seeds": seed_list,
        "step": at,
        "columns": cols,
        "rows": rows,
        "cell_width": cell_w,
        "cell_height": cell_h,
        "width": sheet.width,
        "height": sheet.height,
        "bytes": path.stat().st_size,
    }
