"""The ``ncarender`` command line: thin commands that parse options and delegate.

torch is imported only inside ``train`` and ``export`` so that ``--help`` and
every render command start fast and work without the ``[train]`` extra.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from . import __version__
from .errors import NCAError

app = typer.Typer(
    name="ncarender",
    help="Grow snowflakes with a Neural Cellular Automaton and render them as GIF, MP4, sprite sheets or PNG frames.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


def _say(message: str, quiet: bool = False) -> None:
    if not quiet:
        typer.echo(message, err=True)


def _emit_json(obj: object) -> None:
    typer.echo(json.dumps(obj, sort_keys=True))


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"ncarender {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version_callback, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Grow snowflakes with a Neural Cellular Automaton and render them."""


JsonOpt = Annotated[bool, typer.Option("--json", help="Print a JSON summary on stdout.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No messages or progress on stderr.")]


# ---- options shared by every render command (defined once) -------------------------------------------------
ModelOpt = Annotated[
    Path | None, typer.Option("--model", "-m", help="Step model (.onnx). Default: the shipped snowflake.")
]
StepsOpt = Annotated[int, typer.Option("--steps", "-n", help="NCA steps to run.")]
SeedOpt = Annotated[int, typer.Option("--seed", "-s", help="Random seed of the update masks: same seed, same output.")]
SizeOpt = Annotated[
    str | None,
    typer.Option("--size", help="Grid size in cells, N or HxW (default: the size the model was trained on)."),
]
ScaleOpt = Annotated[int, typer.Option("--scale", help="Pixels per cell (nearest neighbour).")]
FpsOpt = Annotated[float, typer.Option("--fps", help="Frames per second.")]
EveryOpt = Annotated[int, typer.Option("--every", help="Keep a frame every N steps (plus the first and last).")]
BackgroundOpt = Annotated[
    str, typer.Option("--background", "-b", help="white, black, another name, #rrggbb, or transparent.")
]
ProviderOpt = Annotated[str, typer.Option("--provider", help="onnxruntime provider: auto, cpu or cuda.")]
DamageOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--damage",
        help="Erase a disc to show regeneration: STEP:X,Y,R in grid units -1..1, e.g. 100:0.2,0,0.3. Repeatable.",
    ),
]
HoldOpt = Annotated[float, typer.Option("--hold", help="Seconds to hold the last frame.")]
BatchSizeOpt = Annotated[
    int | None, typer.Option("--batch-size", help="Seeds per rollout (default: from the grid size and free memory).")
]
ForceOpt = Annotated[bool, typer.Option("--force", help="Allow a seed spec beyond the usual maximum (10000 seeds).")]

DEFAULT_STEPS = 200
DEFAULT_SCALE = 4
DEFAULT_FPS = 20.0
DEFAULT_BACKGROUND = "white"


def _default_output(model: Path | None, seed: int, fmt: str) -> Path:
    from .api import EXTENSIONS

    stem = model.stem if model is not None else "snowflake"
    suffix = EXTENSIONS[fmt] or "-frames"
    return Path(f"{stem}-seed{seed}{suffix}")


def _render(
    fmt: str,
    output: Path | None,
    *,
    model: Path | None,
    steps: int,
    seed: int,
    size: str | None,
    every: int,
    background: str,
    provider: str,
    damage: list[str] | None,
    json_out: bool,
    quiet: bool,
    **writer_options: object,
) -> None:
    """Shared body of gif, mp4, sheet and frames: parse, render, report."""
    from .api import Renderer, parse_size
    from .render import parse_background
    from .spec import parse_damage
    from .writers import WriterOptions

    try:
        if steps < 1:
            raise NCAError(f"--steps must be at least 1, got {steps}")
        if every < 1:
            raise NCAError(f"--every must be at least 1, got {every}")
        grid = parse_size(size)
        bg = parse_background(background)
        damages = [parse_damage(d) for d in damage or []]
        options = WriterOptions(transparent=bg is None, **writer_options)  # type: ignore[arg-type]
        out = output if output is not None else _default_output(model, seed, fmt)
        renderer = Renderer(model, provider=provider, quiet=quiet)
        with _RenderProgress(quiet, steps) as progress:
            result = renderer.render(
                out,
                fmt=fmt,
                seed=seed,
                steps=steps,
                size=grid,
                every=every,
                background=bg,
                damage=damages,
                options=options,
                progress=progress,
            )
    except NCAError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    result.timings["startup"] = _process_age() - sum(v for k, v in result.timings.items() if k != "startup")
    frames = result.summary.get("rendered_frames", result.summary.get("frames"))
    _say(
        f"wrote {result.path} ({frames} frames, {result.summary.get('width')}x{result.summary.get('height')}, "
        f"{result.provider}, {sum(result.timings.values()):.2f} s)",
        quiet,
    )
    if json_out:
        _emit_json(result.to_json())


def _process_age() -> float:
    """Seconds since this process started (Linux /proc), else since ncarender.cli was imported."""
    try:
        with open("/proc/self/stat") as fh:
            start_ticks = int(fh.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as fh:
            uptime = float(fh.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.perf_counter() - _IMPORTED_AT


_IMPORTED_AT = time.perf_counter()


class _RenderProgress:
    """A progress bar over the steps on stderr, only when stderr is a terminal."""

    def __init__(self, quiet: bool, total: int) -> None:
        self.enabled = not quiet and sys.stderr.isatty()
        self.total = total
        self.bar: object | None = None

    def __enter__(self) -> _RenderProgress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            bar = Progress(
                TextColumn("rendering"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            bar.start()
            self.task = bar.add_task("render", total=self.total)
            self.bar = bar
        return self

    def __call__(self, done: int, total: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=done)  # type: ignore[attr-defined]

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()  # type: ignore[attr-defined]


@app.command()
def gif(
    output: Annotated[Path | None, typer.Argument(help="GIF to write (default: MODEL-seedN.gif).")] = None,
    model: ModelOpt = None,
    steps: StepsOpt = DEFAULT_STEPS,
    seed: SeedOpt = 0,
    size: SizeOpt = None,
    scale: ScaleOpt = DEFAULT_SCALE,
    fps: FpsOpt = DEFAULT_FPS,
    every: EveryOpt = 1,
    background: BackgroundOpt = DEFAULT_BACKGROUND,
    provider: ProviderOpt = "auto",
    damage: DamageOpt = None,
    hold: HoldOpt = 1.0,
    loop: Annotated[bool, typer.Option("--loop/--no-loop", help="Loop forever, or play once.")] = True,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Render a growing snowflake as an animated GIF (one shared palette)."""
    _render(
        "gif",
        output,
        model=model,
        steps=steps,
        seed=seed,
        size=size,
        every=every,
        background=background,
        provider=provider,
        damage=damage,
        json_out=json_out,
        quiet=quiet,
        scale=scale,
        fps=fps,
        hold=hold,
        loop=loop,
    )


@app.command()
def mp4(
    output: Annotated[Path | None, typer.Argument(help="MP4 to write (default: MODEL-seedN.mp4).")] = None,
    model: ModelOpt = None,
    steps: StepsOpt = DEFAULT_STEPS,
    seed: SeedOpt = 0,
    size: SizeOpt = None,
    scale: ScaleOpt = DEFAULT_SCALE,
    fps: FpsOpt = DEFAULT_FPS,
    every: EveryOpt = 1,
    background: BackgroundOpt = DEFAULT_BACKGROUND,
    provider: ProviderOpt = "auto",
    damage: DamageOpt = None,
    hold: HoldOpt = 1.0,
    crf: Annotated[int, typer.Option("--crf", help="x264 quality, 0 (lossless) to 51; 18 looks lossless.")] = 18,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Render a growing snowflake as an H.264 MP4 (yuv420p; plays everywhere)."""
    _render(
        "mp4",
        output,
        model=model,
        steps=steps,
        seed=seed,
        size=size,
        every=every,
        background=background,
        provider=provider,
        damage=damage,
        json_out=json_out,
        quiet=quiet,
        scale=scale,
        fps=fps,
        hold=hold,
        crf=crf,
    )


@app.command()
def sheet(
    output: Annotated[
        Path | None, typer.Argument(help="Sprite sheet PNG to write; the JSON atlas goes beside it.")
    ] = None,
    model: ModelOpt = None,
    steps: StepsOpt = DEFAULT_STEPS,
    seed: SeedOpt = 0,
    size: SizeOpt = None,
    scale: ScaleOpt = 2,
    fps: FpsOpt = DEFAULT_FPS,
    every: EveryOpt = 1,
    background: BackgroundOpt = "transparent",
    provider: ProviderOpt = "auto",
    damage: DamageOpt = None,
    columns: Annotated[int | None, typer.Option("--columns", help="Columns of the grid (default: square).")] = None,
    frames: Annotated[
        int | None, typer.Option("--frames", help="Frames on the sheet, evenly spaced (default: all, at most 64).")
    ] = None,
    seeds: Annotated[
        str | None,
        typer.Option(
            "--seeds", help="Gallery instead: the final frame of each seed (0-15, 0,5,17...), labelled, in one PNG."
        ),
    ] = None,
    at: Annotated[int | None, typer.Option("--at", help="Gallery: the step to show (default: --steps).")] = None,
    batch_size: BatchSizeOpt = None,
    force: ForceOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Render a sprite sheet PNG plus a TexturePacker JSON-hash atlas (Phaser, PixiJS), or with --seeds a gallery."""
    if seeds is not None:
        _gallery(
            output,
            seeds=seeds,
            model=model,
            steps=steps,
            at=at,
            size=size,
            scale=scale,
            background=background,
            provider=provider,
            damage=damage,
            columns=columns,
            frames=frames,
            batch_size=batch_size,
            force=force,
            json_out=json_out,
            quiet=quiet,
        )
        return
    if at is not None:
        _fail("--at goes with --seeds (a gallery); a sprite sheet takes --frames")
    _render(
        "sheet",
        output,
        model=model,
        steps=steps,
        seed=seed,
        size=size,
        every=every,
        background=background,
        provider=provider,
        damage=damage,
        json_out=json_out,
        quiet=quiet,
        scale=scale,
        fps=fps,
        columns=columns,
        sheet_frames=frames,
    )


@app.command()
def frames(
    outdir: Annotated[Path | None, typer.Argument(help="Folder for frame-00000.png... (created if missing).")] = None,
    model: ModelOpt = None,
    steps: StepsOpt = DEFAULT_STEPS,
    seed: SeedOpt = 0,
    size: SizeOpt = None,
    scale: ScaleOpt = DEFAULT_SCALE,
    every: EveryOpt = 1,
    background: BackgroundOpt = "transparent",
    provider: ProviderOpt = "auto",
    damage: DamageOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Render a numbered PNG sequence (straight alpha) into a folder."""
    _render(
        "frames",
        outdir,
        model=model,
        steps=steps,
        seed=seed,
        size=size,
        every=every,
        background=background,
        provider=provider,
        damage=damage,
        json_out=json_out,
        quiet=quiet,
        scale=scale,
    )


def _gallery(
    output: Path | None,
    *,
    seeds: str,
    model: Path | None,
    steps: int,
    at: int | None,
    size: str | None,
    scale: int,
    background: str,
    provider: str,
    damage: list[str] | None,
    columns: int | None,
    frames: int | None,
    batch_size: int | None,
    force: bool,
    json_out: bool,
    quiet: bool,
) -> None:
    """``sheet --seeds``: one labelled tile per seed (see :func:`ncarender.batch.render_gallery`)."""
    from .api import Renderer, parse_size
    from .batch import parse_seeds, render_gallery
    from .spec import parse_damage

    try:
        if frames is not None:
            raise NCAError("--frames is for a sprite sheet of one seed; a gallery (--seeds) shows one frame per seed")
        seed_list = parse_seeds(seeds, force=force)
        grid = parse_size(size)
        damages = [parse_damage(d) for d in damage or []]
        stem = model.stem if model is not None else "snowflake"
        out = output if output is not None else Path(f"{stem}-gallery.png")
        renderer = Renderer(model, provider=provider, quiet=quiet)
        summary = render_gallery(
            renderer,
            out,
            seed_list,
            steps=steps,
            at=at,
            size=grid,
            background=background,
            damage=damages,
            scale=scale,
            columns=columns,
            batch_size=batch_size,
        )
    except NCAError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    _say(
        f"wrote {out} ({len(seed_list)} seeds at step {summary['step']}, {summary['columns']}x{summary['rows']} tiles, "
        f"{summary['width']}x{summary['height']})",
        quiet,
    )
    if json_out:
        _emit_json(summary)


class _BatchProgress(_RenderProgress):
    """The progress bar over a batch's outputs; the total is known once resume has been checked."""

    def __call__(self, done: int, total: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=done, total=total)  # type: ignore[attr-defined]


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


@app.command()
def batch(
    outdir: Annotated[
        Path, typer.Argument(help="Folder for seed-0042.gif... and manifest.jsonl (created if missing).")
    ],
    seeds: Annotated[str, typer.Option("--seeds", help="Seeds: 0-99, 0,5,17 or 0-999:10 (ranges inclusive).")],
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="gif, mp4, sheet or frames; several: gif,mp4,sheet.")
    ] = "gif",
    model: ModelOpt = None,
    steps: StepsOpt = DEFAULT_STEPS,
    size: SizeOpt = None,
    scale: Annotated[int | None, typer.Option("--scale", help="Pixels per cell (default: 4, sheet 2).")] = None,
    fps: Annotated[float | None, typer.Option("--fps", help="Frames per second (default: 20).")] = None,
    every: EveryOpt = 1,
    background: Annotated[
        str | None,
        typer.Option(
            "--background",
            "-b",
            help="A name, #rrggbb or transparent (default: white for gif and mp4, transparent for sheet and frames).",
        ),
    ] = None,
    provider: ProviderOpt = "auto",
    damage: DamageOpt = None,
    hold: Annotated[
        float | None, typer.Option("--hold", help="gif, mp4: seconds to hold the last frame (default: 1).")
    ] = None,
    loop: Annotated[bool, typer.Option("--loop/--no-loop", help="gif: loop forever, or play once.")] = True,
    crf: Annotated[int, typer.Option("--crf", help="mp4: x264 quality, 0 (lossless) to 51.")] = 18,
    columns: Annotated[int | None, typer.Option("--columns", help="sheet: columns (default: square).")] = None,
    frames: Annotated[
        int | None, typer.Option("--frames", help="sheet: frames on the sheet (default: all, at most 64).")
    ] = None,
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
    from .api import Renderer, parse_size
    from .batch import BatchResult, output_spec, parse_formats, parse_seeds, parse_shard, render_batch, shard_seeds
    from .spec import parse_damage

    result: BatchResult | None = None
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
            _emit_json(record)

    t0 = time.perf_counter()
    try:
        seed_list = parse_seeds(seeds, force=force)
        if shard is not None:
            seed_list = shard_seeds(seed_list, *parse_shard(shard))
        grid = parse_size(size)
        damages = [parse_damage(d) for d in damage or []]
        specs = [
            output_spec(
                f,
                scale=scale,
                fps=fps,
                background=background,
                hold=hold,
                loop=loop,
                crf=crf,
                columns=columns,
                sheet_frames=frames,
            )
            for f in parse_formats(fmt)
        ]
        renderer = Renderer(model, provider=provider, quiet=quiet)
        with _sigterm_as_interrupt(), _BatchProgress(quiet, 0) as progress:
            result = render_batch(
                renderer,
                outdir,
                seed_list,
                outputs=specs,
                steps=steps,
                size=grid,
                every=every,
                damage=damages,
                batch_size=batch_size,
                jobs=jobs,
                resume=resume,
                on_record=on_record,
                progress=progress,
            )
    except NCAError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail(
            f"interrupted: {written} output(s) finished and recorded in {str(outdir / 'manifest.jsonl')!r}; "
            "run again with --resume to finish",
            130,
        )
    skipped = f", {result.skipped} already done" if result.skipped else ""
    _say(
        f"batch: {written} output(s) written{skipped}, {len(failures)} seed(s) failed, "
        f"{len(result.seeds)} seed(s), batch size {result.batch_size or '-'}, {result.jobs} encoder(s), "
        f"{time.perf_counter() - t0:.2f} s; manifest {result.manifest}",
        quiet,
    )
    if failures:
        bad = ", ".join(str(f["seed"]) for f in failures)
        _fail(f"{len(failures)} of {len(result.seeds)} seed(s) failed: {bad}")


@app.command()
def train(
    target: Annotated[
        str,
        typer.Argument(
            help="Target image path (PNG, WebP, JPEG...), a built-in name (snowflake), or a procedural family "
            "of flakes such as reiter:16 (also reiter:K:SEED, reiter:K@SIZE): one seed-conditioned model grows all K."
        ),
    ] = "snowflake",
    output: Annotated[Path, typer.Option("--output", "-o", help="Checkpoint to write (.pt).")] = Path("model.pt"),
    mode: Annotated[
        str, typer.Option(help="grow (fresh seed each time), persist (sample pool) or regenerate (pool + damage).")
    ] = "regenerate",
    iterations: Annotated[int, typer.Option(help="Total training iterations.")] = 4000,
    batch_size: Annotated[int, typer.Option(help="Samples per iteration.")] = 8,
    pool_size: Annotated[int, typer.Option(help="Sample pool size (persist, regenerate).")] = 1024,
    steps_min: Annotated[int, typer.Option(help="Fewest NCA steps per rollout.")] = 64,
    steps_max: Annotated[int, typer.Option(help="Most NCA steps per rollout.")] = 96,
    lr: Annotated[float, typer.Option(help="Adam learning rate.")] = 2e-3,
    lr_decay_at: Annotated[int, typer.Option(help="Iteration at which the learning rate drops x0.1.")] = 2000,
    size: Annotated[int, typer.Option(help="Target size in cells (longer side).")] = 40,
    pad: Annotated[int, typer.Option(help="Empty cells around the target on each side.")] = 16,
    channels: Annotated[int, typer.Option(help="State channels (4 RGBA + hidden).")] = 16,
    hidden: Annotated[int, typer.Option(help="Width of the update network's hidden layer.")] = 128,
    code_channels: Annotated[
        int, typer.Option(help="A family's flake-code channels (after the state channels); ignored for one target.")
    ] = 8,
    fire_rate: Annotated[float, typer.Option(help="Probability that a cell updates in a step.")] = 0.5,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed repeats a run on the same machine.")] = 0,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    checkpoint_every: Annotated[int, typer.Option(help="Write a checkpoint every N iterations.")] = 200,
    resume: Annotated[bool, typer.Option(help="Continue the run saved at --output.")] = False,
    preview: Annotated[
        Path | None, typer.Option(help="Also write a PNG of a final-state rollout from the seed.")
    ] = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Train an NCA to grow TARGET from a single cell (needs the \\[train] extra: torch)."""
    try:
        from .train.conditioning import family_targets
        from .train.family import is_family_spec
        from .train.loop import TrainConfig
        from .train.loop import train as run_training
        from .train.model import NCAConfig
        from .train.targets import load_target
    except ImportError as exc:
        _fail(f"training needs torch: pip install 'ncarender[train]' ({exc.name} missing)")
    cfg = TrainConfig(
        mode=mode,
        iterations=iterations,
        batch_size=batch_size,
        pool_size=pool_size,
        steps_min=steps_min,
        steps_max=steps_max,
        lr=lr,
        lr_decay_at=lr_decay_at,
        seed=seed,
        checkpoint_every=checkpoint_every,
    )
    try:
        cfg.validate()
        if not 0.0 < fire_rate <= 1.0:
            raise NCAError(f"--fire-rate must be in (0, 1], got {fire_rate}")
        if output.suffix != ".pt":
            raise NCAError(f"checkpoint path {str(output)!r} should end in .pt")
        if resume and not output.exists():
            raise NCAError(f"--resume: no checkpoint at {str(output)!r} to continue")
        if not resume and output.exists():
            _say(f"note: {output} exists and will be replaced when the first checkpoint is written", quiet)
        family = None
        if not resume and is_family_spec(target):
            family = family_targets(target, code_channels)
            tgt = family.targets[0]
        else:
            tgt = None if resume else load_target(target, size=size, pad=pad)
        from .atomic import check_writable_dir

        check_writable_dir(output.parent if str(output.parent) else Path("."))
        progress = _TrainProgress(quiet)
        import numpy as np

        result = run_training(
            tgt if tgt is not None else np.zeros((4, 1, 1), np.float32),
            output,
            config=cfg,
            model_config=NCAConfig(
                channels=channels,
                hidden=hidden,
                fire_rate=fire_rate,
                code_channels=family.code_channels if family is not None else 0,
            ),
            target_name=(family.spec if family is not None else target) if tgt is not None else "",
            family=family,
            device=device,
            resume=resume,
            progress=progress,
        )
        progress.close()
        if preview is not None:
            from .train.export import write_preview

            write_preview(output, preview)
    except NCAError as exc:
        _fail(str(exc))
    summary = {
        "checkpoint": str(result.checkpoint),
        "iterations": result.iterations,
        "final_loss": result.final_loss,
        "seconds": round(result.seconds, 3),
        "interrupted": result.interrupted,
    }
    if result.interrupted:
        _say(f"interrupted: checkpoint at iteration {result.iterations} written to {output}", quiet=False)
    else:
        _say(f"wrote {output} ({result.iterations} iterations, loss {result.final_loss:.5f})", quiet)
    if json_out:
        _emit_json(summary)
    if result.interrupted:
        raise typer.Exit(130)


@app.command()
def export(
    checkpoint: Annotated[Path, typer.Argument(help="Checkpoint written by `ncarender train` (.pt).")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="ONNX file to write (default: beside the checkpoint).")
    ] = None,
    parity_steps: Annotated[int, typer.Option(help="Steps of the torch/onnxruntime parity rollout.")] = 128,
    half: Annotated[
        bool,
        typer.Option(
            "--half",
            help="Compute perception and the update network in float16 (inputs and outputs stay float32): "
            "faster on a GPU, not on a CPU. Default output NAME.fp16.onnx; check it with `ncarender eval`.",
        ),
    ] = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Export one NCA step to ONNX (the renderers' contract) and check it against torch (needs torch)."""
    try:
        from .train.export import export_checkpoint
    except ImportError as exc:
        _fail(f"export needs torch: pip install 'ncarender[train]' ({exc.name} missing)")
    try:
        result = export_checkpoint(checkpoint, output, steps=parity_steps, half=half)
    except NCAError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    _say(
        f"wrote {result.path} (opset {result.opset}, {result.precision}); parity over {result.steps} steps: "
        f"{result.metric} {result.max_abs_diff:.3g} (tolerance {result.tolerance:g})",
        quiet,
    )
    if json_out:
        _emit_json(
            {
                "path": str(result.path),
                "opset": result.opset,
                "parity_steps": result.steps,
                "precision": result.precision,
                "parity_metric": result.metric,
                "max_abs_diff": result.max_abs_diff,
                "tolerance": result.tolerance,
            }
        )


@app.command("eval")
def eval_(
    model: Annotated[Path | None, typer.Argument(help="Step model (.onnx). Default: the shipped snowflake.")] = None,
    target: Annotated[
        str | None, typer.Option(help="Target image or built-in name (default: the image stored in the model).")
    ] = None,
    target_size: Annotated[int, typer.Option(help="Size in cells of --target (it is centred on the grid).")] = 40,
    num_seeds: Annotated[int, typer.Option("--num-seeds", "-k", help="Seeds to grow (0..K-1).")] = 16,
    steps: Annotated[str, typer.Option("--steps", help="Comma-separated steps to measure at.")] = "100,200,500,1000",
    regen: Annotated[bool, typer.Option("--regen/--no-regen", help="Also measure regeneration after damage.")] = True,
    check: Annotated[bool, typer.Option("--check", help="Exit 2 if the model misses the quality bar.")] = False,
    provider: ProviderOpt = "auto",
    json_out: JsonOpt = False,
) -> None:
    """Measure how close MODEL grows to its target (MSE of RGBA), whether it stays finite, and regeneration."""
    from .evaluate import evaluate, format_report

    try:
        try:
            step_list = [int(s) for s in steps.split(",") if s.strip()]
        except ValueError:
            raise NCAError(f"--steps {steps!r}: expected comma-separated integers such as 100,200") from None
        if num_seeds < 1:
            raise NCAError(f"--num-seeds must be at least 1, got {num_seeds}")
        tgt = None
        if target is not None:
            from .runtime import open_model
            from .train.targets import load_target

            session = open_model(model, provider=provider, quiet=True)
            grid = min(session.info.grid)
            if target_size > grid:
                raise NCAError(f"--target-size {target_size} does not fit the model's {grid}-cell grid")
            tgt = load_target(target, size=target_size, pad=(grid - target_size) // 2)
            report = evaluate(session, target=tgt, seeds=range(num_seeds), steps=step_list, regen=regen)
        else:
            report = evaluate(model, seeds=range(num_seeds), steps=step_list, regen=regen, provider=provider)
    except NCAError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    typer.echo(format_report(report), err=True)
    if json_out:
        _emit_json(report.to_json())
    if check and not report.passed:
        raise typer.Exit(2)


@app.command()
def info(
    model: Annotated[Path, typer.Argument(help="A .onnx step model or a .pt checkpoint.")],
    json_out: JsonOpt = False,
) -> None:
    """Show a model's metadata, shapes, parameter count and the available providers."""
    from .info import describe, format_info

    try:
        data = describe(model)
    except NCAError as exc:
        _fail(str(exc))
    if json_out:
        _emit_json(data)
    else:
        typer.echo(format_info(data))


class _TrainProgress:
    """A progress bar on a terminal, else a log line every 10 iterations, on stderr."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar: Any = None
        self.task: Any = None
        self.t0 = time.perf_counter()
        if not quiet and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(
                TextColumn("training"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]}"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self.bar.start()

    def __call__(self, iteration: int, total: int, loss: float) -> None:
        if self.quiet:
            return
        if self.bar is not None:
            if self.task is None:
                self.task = self.bar.add_task("train", total=total, completed=iteration - 1, loss="")
            self.bar.update(self.task, completed=iteration, loss=f"{loss:.5f}")
        elif iteration % 10 == 0 or iteration == total:
            elapsed = time.perf_counter() - self.t0
            typer.echo(f"iteration {iteration}/{total}  loss {loss:.5f}  {elapsed:.0f} s", err=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def main() -> None:
    """Entry point of the console script; ``NCARENDER_DEBUG=1`` shows tracebacks."""
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("Error: interrupted", err=True)
        sys.exit(130)
    except NCAError as exc:  # pragma: no cover - commands catch their own
        if os.environ.get("NCARENDER_DEBUG"):
            raise
        typer.echo(f"Error: {exc}", err=True)
        sys.exit(1)
