"""The batched run: many seeds of one :class:`~ncarender.spec.RenderSpec`, rolled out together, encoded beside.

How a batch runs (:func:`run_batch`, and :func:`render_batch`, its keyword form):

* The seeds still to do are cut into chunks of ``batch_size`` that run together in the batch dimension of one
  rollout (:meth:`Renderer.composites <ncarender.api.Renderer.composites>`), so each seed's frames are exactly
  those of a single-seed render.
* When a chunk's rollout ends, each seed's frame stack ``(F, H, W, 4)`` goes to a pool of ``jobs`` encoders
  (processes, or threads with ``jobs=1``), one task per seed and format (:mod:`~ncarender.batch.encoders`). The
  next chunk's rollout runs while they encode.
* Each finished output is appended to ``OUTDIR/manifest.jsonl`` as it finishes (:mod:`~ncarender.batch.manifest`),
  so an interrupted batch leaves a true record; ``resume`` skips the outputs whose latest record matches the
  model, the options and the file on disk.
* A seed whose state turns non-finite is reported and left out; the others go on. A write error (full or
  read-only disk) stops the batch: what finished stays valid and recorded, nothing half-written is left.

No torch, and no onnxruntime at import time either: the rollout comes from the
:class:`~ncarender.api.Renderer` the caller passes in.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .._version import __version__
from ..atomic import check_writable_dir
from ..errors import NCAError
from ..limits import RENDER
from ..request import DamageLike, SizeLike, build_spec
from ..resources import available_memory, rollout_bytes, usable_cores
from ..seeds import parse_seeds
from ..spec import RenderSpec
from ..writers.formats import OutputSpec, output_name, output_spec, parse_formats
from ..writers.output import open_writer
from .encoders import Encoders, EncodeTask, OnRecord, Stop, make_pool
from .manifest import MANIFEST_NAME, Manifest, completed, path_sha256, read_manifest, remove_temporaries

if TYPE_CHECKING:
    from ..api import Renderer
    from ..render import Background

__all__ = [
    "CELLS_PER_BATCH",
    "BatchResult",
    "BatchSettings",
    "default_batch_size",
    "default_jobs",
    "render_batch",
    "run_batch",
]

#: A default batch holds about this many grid cells (72x72: 12 seeds). On the CPU a step costs the same per
#: cell from batch 8 up, and small chunks keep the encoders fed: the last chunk's outputs are encoded after
#: the rollout ends. 64 seeds x 200 steps to GIF on 2 cores: 23.8 s in chunks of 8, 27.4 s in chunks of 32.
CELLS_PER_BATCH = 1 << 16


def default_jobs() -> int:
    """Encoders by default: one per core this process may use but one, which the rollout keeps (at least 1).

    On 2 cores one encoder (a thread) beside the rollout's two onnxruntime threads beat two encoder
    processes: 64 seeds x 200 steps to GIF in 21.3 s against 23.8 s (more runnable threads than cores stall
    onnxruntime's parallel operators).
    """
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
    height, width = grid
    cells = height * width
    per_seed = rollout_bytes(1, height, width) + 3 * n_frames * cells * 4 * max(1, n_backgrounds)
    budget = (memory if memory is not None else available_memory()) // 4
    size = max(1, min(n_seeds, CELLS_PER_BATCH // cells, budget // per_seed))
    chunks = math.ceil(n_seeds / size) if n_seeds else 1
    if chunks == 1 and n_seeds >= 16:
        chunks = 2
    return max(1, math.ceil(n_seeds / chunks))


@dataclass(frozen=True)
class BatchSettings:
    """How a batch runs, not what it renders: ``batch_size`` seeds per rollout (default
    :func:`default_batch_size`), ``jobs`` encoders (default :func:`default_jobs`), ``executor`` (``process``,
    ``thread``, or ``auto``: processes when ``jobs > 1``), and ``resume``. Validated on construction."""

    batch_size: int | None = None
    jobs: int | None = None
    resume: bool = False
    executor: str = "auto"

    def __post_init__(self) -> None:
        RENDER["batch_size"].check_optional(self.batch_size)
        RENDER["jobs"].check_optional(self.jobs)
        if self.executor not in ("auto", "process", "thread"):
            raise NCAError(f"executor must be auto, process or thread, got {self.executor!r}")


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


def _roll_out(
    renderer: Renderer,
    spec: RenderSpec,
    chunk: Sequence[tuple[int, Sequence[OutputSpec]]],
    grid: tuple[int, int],
    tick: Callable[[], None],
) -> tuple[list[tuple[Background, int]], list[np.ndarray], dict[int, int], float]:
    """One rollout of ``spec`` for the seeds of ``chunk``, converted over every background their outputs use
    (and, for a hex model, every scale: :meth:`Renderer.frame_grid <ncarender.api.Renderer.frame_grid>`).

    Returns the looks ``(background, scale)``, one frame stack uint8 ``(n, F, H, W, 4)`` per look
    (seed ``i``'s frames are ``stack[i]``), the failed seeds (``{index: step}``) and the
    seconds per seed. ``tick`` runs every few frames (to record finished encoders).
    """
    looks = list(dict.fromkeys(_look(renderer, s) for _, specs in chunk for s in specs))
    backgrounds = [bg for bg, _ in looks]
    stacks = [
        np.empty((len(chunk), spec.n_frames, *renderer.frame_grid(grid, scale), 4), dtype=np.uint8)
        for _, scale in looks
    ]
    failed: dict[int, int] = {}
    timings: dict[str, float] = {}
    rollout = spec.with_seeds(seed for seed, _ in chunk)
    scales = [scale for _, scale in looks]
    for k, (_, frames) in enumerate(
        renderer.composites(rollout, backgrounds, timings=timings, failed=failed, scales=scales)
    ):
        for stack, rgba in zip(stacks, frames, strict=True):
            stack[:, k] = rgba
        if k % 8 == 0:
            tick()
    return looks, stacks, failed, (timings["rollout"] + timings["convert"]) / len(chunk)


def _look(renderer: Renderer, output: OutputSpec) -> tuple[Background, int]:
    """What an output's frames depend on: its background, and for a hex model its scale (else 1)."""
    scale = output.options.scale if renderer.writer_output(output) is not output else 1
    return output.background, scale


def _prepare_outdir(outdir: Path) -> None:
    if outdir.exists() and not outdir.is_dir():
        raise NCAError(f"{str(outdir)!r} is a file; a batch writes into a folder")
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NCAError(f"cannot create the folder {str(outdir)!r}: {exc.strerror}") from None
    check_writable_dir(outdir)


def _stopped(error: BaseException, written: int, manifest: Path) -> NCAError:
    """The one line for a batch stopped by ``error`` after ``written`` outputs (a bug keeps its traceback)."""
    if isinstance(error, BrokenProcessPool):
        message = (
            "an encoder process died (out of memory? a script that calls render_batch needs an "
            "`if __name__ == '__main__':` guard, or executor='thread')"
        )
    elif isinstance(error, NCAError):
        message = str(error)
    else:  # a bug, not the user's: keep its traceback
        raise error from None
    return NCAError(f"{message}; stopped after {written} output(s), all recorded in {str(manifest)!r}")


def run_batch(
    renderer: Renderer,
    outdir: Path | str,
    spec: RenderSpec,
    settings: BatchSettings | None = None,
    *,
    on_record: OnRecord | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BatchResult:
    """Render every seed of ``spec`` into ``outdir`` in each of its outputs; a manifest line per output.

    See :func:`render_batch` (its keyword form) for the outputs, resume, failures and interruption.
    """
    t_start = time.perf_counter()
    settings = settings or BatchSettings()
    if not spec.outputs:
        raise NCAError("give each output format once")
    seed_list = list(dict.fromkeys(spec.seeds))
    specs = list(spec.outputs)
    outdir = Path(outdir)
    _prepare_outdir(outdir)
    grid = spec.grid(renderer.grid)
    model_hash = path_sha256(renderer.model_path)
    described = {
        s.format: s.describe(steps=spec.steps, grid=grid, every=spec.every, damage=spec.damage, start=spec.start)
        for s in specs
    }
    described = json.loads(json.dumps(described))  # as a record read back will hold them
    manifest = Manifest(outdir / MANIFEST_NAME)
    result = BatchResult(outdir=outdir, manifest=manifest.path, seeds=seed_list)

    wanted = {(seed, s.format): described[s.format] for seed in seed_list for s in specs}
    done = completed(outdir, read_manifest(manifest.path), wanted, model_hash) if settings.resume else set()
    result.skipped = len(done)
    todo = [(seed, [s for s in specs if (seed, s.format) not in done]) for seed in seed_list]
    todo = [(seed, wanted_specs) for seed, wanted_specs in todo if wanted_specs]
    jobs = settings.jobs or default_jobs()
    result.jobs = jobs
    if not todo:
        result.seconds = time.perf_counter() - t_start
        return result

    names = {output_name(seed, s.format) for seed, ss in todo for s in ss}
    names |= {
        p.name for seed, ss in todo for s in ss for p in s.record.companion_paths(Path(output_name(seed, s.format)))
    }
    remove_temporaries(outdir, names)
    first_seed, first_specs = todo[0]
    for output in first_specs:  # every user-fixable option error, before anything is rendered
        path = outdir / output_name(first_seed, output.format)
        writes = renderer.writer_output(output)
        frame_grid = renderer.frame_grid(grid, output.options.scale)
        open_writer(output.format, path, n_frames=spec.n_frames, grid=frame_grid, options=writes.options).abort()
    # frame stacks per seed, in grids' worth: one per background (a hex model's: its pictures at their scales)
    kinds = {_look(renderer, s) for s in specs}
    n_backgrounds = math.ceil(sum(math.prod(renderer.frame_grid(grid, sc)) for _, sc in kinds) / math.prod(grid))
    size_per_batch = settings.batch_size or default_batch_size(
        len(todo), grid, n_frames=spec.n_frames, n_backgrounds=n_backgrounds
    )
    result.batch_size = size_per_batch
    renderer.check_fits(size_per_batch, grid)
    chunks = [todo[i : i + size_per_batch] for i in range(0, len(todo), size_per_batch)]
    kind = settings.executor if settings.executor != "auto" else ("process" if jobs > 1 else "thread")
    common = {"model": renderer.model_path.name, "model_sha256": model_hash, "provider": renderer.device}
    family = renderer.session.info.family

    pool = make_pool(jobs, kind)
    total = sum(len(ss) for _, ss in todo)
    run = Encoders(manifest, pool, total=total, on_record=on_record, progress=progress)
    result.written = run.written
    if progress is not None:
        progress(0, total)
    try:
        try:
            for chunk in chunks:
                looks, stacks, failed, share = _roll_out(renderer, spec, chunk, grid, run.collect)
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
                    for output in seed_specs:
                        name = output_name(seed, output.format)
                        frames_of_seed = stacks[looks.index(_look(renderer, output))][i]
                        record: dict[str, object] = {
                            "seed": seed,
                            "format": output.format,
                            "path": name,
                            "status": "ok",
                            "options": described[output.format],
                            "ncarender": __version__,
                            **common,
                        }
                        flake = renderer.flake_of(seed, spec.flake)
                        if flake is not None:
                            record["flake"] = flake
                            params = None if family is None else family.seed_map.params_of_flake(flake)
                            if params is not None:  # a continuous family: the parameters this seed grew
                                record["params"] = params
                        task = EncodeTask(renderer.writer_output(output), outdir / name, frames_of_seed)
                        run.submit(task, record, share)
                del stacks
                # At most one chunk's outputs wait while the next chunk rolls out.
                run.collect(wait_until=sum(len(ss) for _, ss in chunk))
            run.collect(wait_until=0)
        except Stop:
            run.wind_down()
            assert run.error is not None
            raise _stopped(run.error, len(result.written), manifest.path) from None
        except BaseException:  # Ctrl-C: finish and record what the encoders have started
            run.wind_down()
            raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    result.seconds = time.perf_counter() - t_start
    return result


def render_batch(
    renderer: Renderer,
    outdir: Path | str,
    seeds: str | Iterable[int],
    *,
    formats: str | Sequence[str] = ("gif",),
    outputs: Sequence[OutputSpec] | None = None,
    steps: int | None = None,
    size: SizeLike | None = None,
    every: int = 1,
    damage: DamageLike | Sequence[DamageLike] | None = None,
    flake: int | None = None,
    start: int = 0,
    batch_size: int | None = None,
    jobs: int | None = None,
    resume: bool = False,
    on_record: OnRecord | None = None,
    progress: Callable[[int, int], None] | None = None,
    executor: str = "auto",
) -> BatchResult:
    """Render every seed of ``seeds`` into ``outdir`` in each format; append a manifest line per output.

    Outputs are ``outdir/seed-0042.gif`` and so on (:func:`~ncarender.writers.formats.output_name`), each
    byte-identical to :meth:`Renderer.render` of that seed with the same
    options. ``outputs`` (from :func:`~ncarender.writers.output_spec`) sets formats and writer
    options; otherwise ``formats`` are written with their commands' defaults. ``steps`` None: the model's
    (:attr:`Renderer.default_steps <ncarender.api.Renderer.default_steps>`); ``start``: the first step whose
    frame is written.
    ``batch_size`` seeds run in one rollout (default :func:`default_batch_size`),
    ``jobs`` encoders run beside it (default: all cores but one; ``executor`` ``process``,
    ``thread``, or ``auto``: processes when ``jobs > 1``). With ``resume``, outputs
    whose latest manifest record matches (model, options, sha256 of the file on
    disk) are skipped. ``seeds`` may be a string (``"0-99"``), ``size`` ``72``, ``"96x128"`` or ``(H, W)``,
    ``damage`` ``"STEP:X,Y,R"`` strings or :class:`Damage` values, ``flake`` a family model's flake for every seed,
    as the ``batch`` command takes them. ``on_record`` receives each manifest record as it is
    written, and a record with ``"status": "failed"`` for each seed that failed;
    ``progress`` receives ``(outputs_done, outputs_to_do)`` at the start and after each.

    A failed seed (non-finite state) is reported in :attr:`BatchResult.failed`
    and the batch goes on. A write error raises :class:`NCAError` once the
    running encoders are done; Ctrl-C (``KeyboardInterrupt``) likewise stops
    and re-raises. Either way finished outputs stay, recorded, and no partial
    file is left.
    """
    specs = tuple(outputs) if outputs is not None else tuple(output_spec(f) for f in parse_formats(formats))
    if isinstance(seeds, str):
        seeds = parse_seeds(seeds)
    spec = build_spec(
        tuple(dict.fromkeys(seeds)),
        steps=steps,
        default_steps=renderer.default_steps,
        start=start,
        every=every,
        size=size,
        flake=flake,
        damage=damage,
    ).with_outputs(*specs)
    settings = BatchSettings(batch_size=batch_size, jobs=jobs, resume=resume, executor=executor)
    return run_batch(renderer, outdir, spec, settings, on_record=on_record, progress=progress)
