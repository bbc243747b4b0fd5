"""The render commands: ``gif``, ``mp4``, ``sheet`` (and its gallery, ``sheet --seeds``) and ``frames``.

Each command declares its options (shared ones from :mod:`~ncarender.cli.options`, defaults from the table of
formats), hands them to :class:`~ncarender.cli.options.RenderArgs` and delegates: one
:class:`~ncarender.spec.RenderSpec`, one :meth:`Renderer.write <ncarender.api.Renderer.write>`.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer

from ..errors import NCAError
from ..writers.formats import get_format
from .app import command, emit_json, notice, say
from .options import (
    FRAMES,
    GIF,
    MP4,
    SHEET,
    WRITER,
    BackgroundOpt,
    BatchSizeOpt,
    ColumnsOpt,
    CrfOpt,
    DamageOpt,
    EveryOpt,
    FlakeOpt,
    ForceOpt,
    FpsOpt,
    HoldOpt,
    JsonOpt,
    LoopOpt,
    ModelOpt,
    NoLoopOpt,
    ProviderOpt,
    QuietOpt,
    RenderArgs,
    ResampleOpt,
    ScaleOpt,
    SeedOpt,
    SheetFramesOpt,
    SizeOpt,
    StartOpt,
    StepsOpt,
    TiledSeedsOpt,
    default_output,
    model_stem,
)
from .progress import ProgressBar

_IMPORTED_AT = time.perf_counter()


def _process_age() -> float:
    """Seconds since this process started (Linux /proc), else since the command line was imported."""
    try:
        with open("/proc/self/stat") as fh:
            start_ticks = int(fh.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as fh:
            uptime = float(fh.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.perf_counter() - _IMPORTED_AT


def _render(fmt: str, output: Path | None, args: RenderArgs) -> None:
    """Shared body of the render commands: one request, one render, one line (and ``--json``)."""
    from ..api import Renderer

    if args.seeds is None:
        out = output if output is not None else default_output(args.model, args.seed, fmt)
    else:
        out = output if output is not None else Path(f"{model_stem(args.model)}-seeds{get_format(fmt).name_suffix}")
    renderer = Renderer(args.model, provider=args.provider, quiet=args.quiet, notify=notice)
    request = args.request(fmt, default_steps=renderer.default_steps)
    with ProgressBar("rendering", quiet=args.quiet, unit="steps") as progress:
        result = renderer.write(out, request.spec, progress=progress, columns=request.columns)
    result.timings["startup"] = _process_age() - sum(v for k, v in result.timings.items() if k != "startup")
    if fmt == "png":
        shape = f"step {result.steps}"
    else:
        frames = result.summary.get("rendered_frames", result.summary.get("frames"))
        shape = f"{frames} frames" + (", forward and back" if result.summary.get("pingpong") else "")
    say(
        f"wrote {result.path} ({shape}, {result.summary.get('width')}x{result.summary.get('height')}, "
        f"{result.device}, {sum(result.timings.values()):.2f} s){_clamped(result.summary)}",
        args.quiet,
    )
    if args.json_out:
        emit_json(result.to_json())


def _clamped(summary: dict[str, object]) -> str:
    """``; --fps 60 plays at 50 (...)`` for a value the format clamped (the summary's ``clamped``), else nothing."""
    clamped = summary.get("clamped")
    if not isinstance(clamped, dict) or "fps" not in clamped:
        return ""
    asked, plays = clamped["fps"]
    return f"; --fps {asked:g} clamped: plays at {plays:g} fps, the fastest browsers play"


@command()
def gif(
    output: Annotated[
        Path | None, typer.Argument(help="GIF to write (default: MODEL-seedN.gif; with --seeds, MODEL-seeds.gif).")
    ] = None,
    model: ModelOpt = None,
    steps: StepsOpt = None,
    start: StartOpt = 0,
    seed: SeedOpt = 0,
    flake: FlakeOpt = None,
    size: SizeOpt = None,
    scale: ScaleOpt = GIF.scale,
    fps: FpsOpt = WRITER.fps,
    every: EveryOpt = 1,
    background: BackgroundOpt = GIF.background,
    provider: ProviderOpt = "auto",
    damage: DamageOpt = None,
    hold: HoldOpt = GIF.hold,
    loop: LoopOpt = "forward",
    no_loop: NoLoopOpt = False,
    resample: ResampleOpt = WRITER.resample,
    seeds: TiledSeedsOpt = None,
    columns: ColumnsOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Render a growing snowflake as an animated GIF (one shared palette)."""
    _render("gif", output, RenderArgs.capture(locals()))


@command()
def mp4(
    output: Annotated[
        Path | None, typer.Argument(help="MP4 to write (default: MODEL-seedN.mp4; with --seeds, MODEL-seeds.mp4).")
    ] = None,
    model: ModelOpt = None,
    steps: StepsOpt = None,
    start: StartOpt = 0,
    seed: SeedOpt = 0,
    flake: FlakeOpt = None,
    size: SizeOpt = None,
    scale: ScaleOpt = MP4.scale,
    fps: FpsOpt = WRITER.fps,
    every: EveryOpt = 1,
    background: BackgroundOpt = MP4.background,
    provider: ProviderOpt = "auto",
    damage: DamageOpt = None,
    hold: HoldOpt = MP4.hold,
    loop: LoopOpt = "forward",
    crf: CrfOpt = WRITER.crf,
    resample: ResampleOpt = WRITER.resample,
    seeds: TiledSeedsOpt = None,
    columns: ColumnsOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Render a growing snowflake as an H.264 MP4 (yuv420p; plays everywhere)."""
    _render("mp4", output, RenderArgs.capture(locals()))


@command()
def sheet(
    output: Annotated[
        Path | None, typer.Argument(help="Sprite sheet PNG to write; the JSON atlas goes beside it.")
    ] = None,
    model: ModelOpt = None,
    steps: StepsOpt = None,
    start: StartOpt = 0,
    seed: SeedOpt = 0,
    flake: FlakeOpt = None,
    size: SizeOpt = None,
    scale: ScaleOpt = SHEET.scale,
    fps: FpsOpt = WRITER.fps,
    every: EveryOpt = 1,
    background: BackgroundOpt = SHEET.background,
    provider: ProviderOpt = "auto",
    damage: DamageOpt = None,
    columns: ColumnsOpt = None,
    sheet_frames: SheetFramesOpt = None,
    resample: ResampleOpt = WRITER.resample,
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
    args = RenderArgs.capture(locals())
    if seeds is not None:
        _gallery(output, args, seeds=seeds, at=at, batch_size=batch_size, force=force)
    elif at is not None:
        raise NCAError("--at goes with --seeds (a gallery); a sprite sheet takes --frames")
    else:
        _render("sheet", output, args)


@command()
def frames(
    outdir: Annotated[Path | None, typer.Argument(help="Folder for frame-00000.png... (created if missing).")] = None,
    model: ModelOpt = None,
    steps: StepsOpt = None,
    start: StartOpt = 0,
    seed: SeedOpt = 0,
    flake: FlakeOpt = None,
    size: SizeOpt = None,
    scale: ScaleOpt = FRAMES.scale,
    every: EveryOpt = 1,
    background: BackgroundOpt = FRAMES.background,
    provider: ProviderOpt = "auto",
    damage: DamageOpt = None,
    resample: ResampleOpt = WRITER.resample,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Render a numbered PNG sequence (straight alpha) into a folder."""
    _render("frames", outdir, RenderArgs.capture(locals()))


def _gallery(
    output: Path | None, args: RenderArgs, *, seeds: str, at: int | None, batch_size: int | None, force: bool
) -> None:
    """``sheet --seeds``: one labelled tile per seed (see :func:`ncarender.batch.render_gallery`)."""
    from ..api import Renderer
    from ..batch.gallery import gallery_output, write_gallery
    from ..seeds import parse_seeds

    if args.sheet_frames is not None:
        raise NCAError("--frames is for a sprite sheet of one seed; a gallery (--seeds) shows one frame per seed")
    if args.start:
        raise NCAError("--start trims an animation; a gallery (--seeds) shows one step of each seed: --at STEP")
    seed_list = parse_seeds(seeds, force=force)
    out = output if output is not None else Path(f"{model_stem(args.model)}{get_format('gallery').name_suffix}")
    renderer = Renderer(args.model, provider=args.provider, quiet=args.quiet, notify=notice)
    spec = args.spec(seed_list, default_steps=renderer.default_steps)
    assert args.background is not None and args.scale is not None  # the sheet command's defaults
    output_spec = gallery_output(args.background, scale=args.scale, columns=args.columns, resample=args.resample)
    with ProgressBar("gallery", quiet=args.quiet, unit="seeds") as progress:
        summary = write_gallery(
            renderer, out, spec.with_outputs(output_spec), at=at, batch_size=batch_size, progress=progress
        )
    say(
        f"wrote {out} ({len(seed_list)} seeds at step {summary['step']}, {summary['columns']}x{summary['rows']} tiles, "
        f"{summary['width']}x{summary['height']})",
        args.quiet,
    )
    if args.json_out:
        emit_json(summary)
