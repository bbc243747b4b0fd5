"""The ``batch`` command: many seeds, several formats, a manifest; resumable and shardable."""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from ..errors import NCAError
from .app import Interrupted, command, emit_json, given_on_command_line, notice, say
from .options import (
    BatchBackgroundOpt,
    BatchColumnsOpt,
    BatchCrfOpt,
    BatchFpsOpt,
    BatchHoldOpt,
    BatchLoopOpt,
    BatchNoLoopOpt,
    BatchQualityOpt,
    BatchScaleOpt,
    BatchSheetFramesOpt,
    BatchSizeOpt,
    DamageOpt,
    EveryOpt,
    FlakeOpt,
    ForceOpt,
    FormatsOpt,
    ModelOpt,
    ProviderOpt,
    QuietOpt,
    RenderArgs,
    ResampleOpt,
    SizeOpt,
    StartOpt,
    StepsOpt,
)
from .progress import ProgressBar


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM (a scheduler cancelling the job) like Ctrl-C while the block runs."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


#: The batch's format options by :class:`~ncarender.writers.options.WriterOptions` field, as the command names them.
_FORMAT_OPTIONS = {
    "scale": "--scale",
    "fps": "--fps",
    "hold": "--hold",
    "loop": "--loop",
    "no_loop": "--no-loop",
    "crf": "--crf",
    "columns": "--columns",
    "sheet_frames": "--frames",
    "quality": "--quality",
}
#: The writer option each of those parameters sets, where its name differs (``--loop``: the play order).
_WRITER_OPTION = {"loop": "pingpong", "no_loop": "loop"}


def _check_applies(formats: list[str], given: set[str]) -> None:
    """Refuse a format option given on the command line that none of ``formats`` takes (``--quality`` for an
    APNG): one line naming the formats that do. An option that applies to some of them is theirs."""
    from ..writers.formats import FORMATS, TABLE, either, get_format

    for name, flag in _FORMAT_OPTIONS.items():
        option = _WRITER_OPTION.get(name, name)
        if name in given and not any(option in get_format(f).options for f in formats):
            takers = [f.name for f in TABLE if f.name in FORMATS and option in f.options]
            raise NCAError(f"{flag} applies to {either(takers)}, not to {either(formats)}")


@command()
def batch(
    ctx: typer.Context,
    outdir: Annotated[
        Path, typer.Argument(help="Folder for seed-0042.gif... and manifest.jsonl (created if missing).")
    ],
    seeds: Annotated[str, typer.Option("--seeds", help="Seeds: 0-99, 0,5,17 or 0-999:10 (ranges inclusive).")],
    fmt: FormatsOpt = "gif",
    model: ModelOpt = None,
    steps: StepsOpt = None,
    start: StartOpt = 0,
    flake: FlakeOpt = None,
    size: SizeOpt = None,
    scale: BatchScaleOpt = None,
    fps: BatchFpsOpt = None,
    every: EveryOpt = 1,
    background: BatchBackgroundOpt = None,
    provider: ProviderOpt = "auto",
    damage: DamageOpt = None,
    hold: BatchHoldOpt = None,
    loop: BatchLoopOpt = "forward",
    no_loop: BatchNoLoopOpt = False,
    crf: BatchCrfOpt = 18,
    columns: BatchColumnsOpt = None,
    sheet_frames: BatchSheetFramesOpt = None,
    quality: BatchQualityOpt = None,
    resample: ResampleOpt = "nearest",
    batch_size: BatchSizeOpt = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            help="Encoders running beside the rollout (default: all cores but one; one runs as a thread).",
        ),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Skip outputs that are complete and recorded in the manifest.")
    ] = False,
    shard: Annotated[
        str | None, typer.Option("--shard", help="Render only part I of N of the seeds (I from 0), e.g. 0/4.")
    ] = None,
    force: ForceOpt = False,
    json_out: Annotated[
        bool, typer.Option("--json", help="Stream each manifest line, and a line per failed seed, to stdout.")
    ] = False,
    quiet: QuietOpt = False,
) -> None:
    """Render many seeds at once: one rollout for many seeds, parallel encoding, a manifest, resumable."""
    from ..api import Renderer
    from ..batch.manifest import MANIFEST_NAME
    from ..batch.run import BatchSettings, run_batch
    from ..seeds import parse_seeds, parse_shard, shard_seeds
    from ..writers.formats import parse_formats

    args = RenderArgs.capture(locals())
    written = 0
    failures: list[dict[str, object]] = []

    def on_record(record: dict[str, object]) -> None:
        nonlocal written
        if record.get("status") == "failed":
            failures.append(record)
            typer.echo(f"seed {record['seed']} failed: {record['error']}", err=True)
        else:
            written += 1
        if json_out:
            emit_json(record)

    t0 = time.perf_counter()
    try:
        seed_list = parse_seeds(seeds, force=force)
        if shard is not None:
            seed_list = shard_seeds(seed_list, *parse_shard(shard))
        formats = parse_formats(fmt)
        _check_applies(formats, given_on_command_line(ctx, dict.fromkeys(_FORMAT_OPTIONS)))
        settings = BatchSettings(batch_size=batch_size, jobs=jobs, resume=resume)
        renderer = Renderer(model, provider=provider, quiet=quiet, notify=notice)
        spec = args.spec(seed_list, formats, default_steps=renderer.default_steps)
        with _sigterm_as_interrupt(), ProgressBar("rendering", quiet=quiet, unit="outputs") as progress:
            result = run_batch(renderer, outdir, spec, settings, on_record=on_record, progress=progress)
    except KeyboardInterrupt:
        raise Interrupted(
            f"interrupted: {written} output(s) finished and recorded in {str(outdir / MANIFEST_NAME)!r}; "
            "run again with --resume to finish"
        ) from None
    skipped = f", {result.skipped} already done" if result.skipped else ""
    say(
        f"batch: {written} output(s) written{skipped}, {len(failures)} seed(s) failed, "
        f"{len(result.seeds)} seed(s), batch size {result.batch_size or '-'}, {result.jobs} encoder(s), "
        f"{time.perf_counter() - t0:.2f} s; manifest {result.manifest}",
        quiet,
    )
    if failures:
        bad = ", ".join(str(f["seed"]) for f in failures)
        raise NCAError(f"{len(failures)} of {len(result.seeds)} seed(s) failed: {bad}")
