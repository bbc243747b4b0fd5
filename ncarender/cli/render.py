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
from ..spec import DEFAULT_STEPS
from ..writers.formats import get_format
from .app import command, emit_json, notice, say
from .options import (
    FRAMES,
    GIF,
    MAX_TILED_SEEDS,
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
    ProviderOpt,
    QuietOpt,
    RenderArgs,
    ResampleOpt,
    ScaleOpt,
    SeedOpt,
    SheetFramesOpt,
    SizeOpt,
    StepsOpt,
    TiledSeedsOpt,
    default_output,
    model_stem,
)
from .progress import ProgressBar

_IMPORTED_AT = time.perf_counter()
#: The commands whose ``--seeds`` grow several seeds side by side in one animation.
_TILED = ("gif", "mp4", "webp", "apng")


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
    """Shared body of gif, mp4, sheet and frames: one spec, one render, one line (and ``--json``)."""
    from ..api import Renderer

    seeds = _tiled_seeds(fmt, args)
    spec = args.spec(seeds, [fmt])
    if args.seeds is None:
        out = output if output is not None else default_output(args.model, args.seed, fmt)
    else:
        out = output if output is not None else Path(f"{model_stem(args.model)}-seeds{get_format(fmt).name_suffix}")
    renderer = Renderer(args.model, provider=args.provider, quiet=args.quiet, notify=notice)
    with ProgressBar("rendering", quiet=args.quiet) as progress:
        result = renderer.write(out, spec, progress=progress, columns=args.columns if args.seeds else None)
    result.timings["startup"] = _process_age() - sum(v for k, v in result.timings.items() if k != "startup")
    frames = result.summary.get("rendered_frames", result.summary.get("frames"))
    say(
        f"wrote {result.path} ({frames} frames, {result.summary.get('width')}x{result.summary.get('height')}, "
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


def _tiled_seeds(fmt: str, args: RenderArgs) -> list[int]:
    """The seeds of a render: ``--seed``, or ``--seeds`` growing side by side (gif and mp4: ``--columns`` only
    with them; a sprite sheet's ``--columns`` are its own)."""
    if args.seeds is None:
        if args.columns is not None and fmt in _TILED:
            raise NCAError("--columns goes with --seeds (several seeds side by side)")
        return [args.seed]
    from ..batch.seeds import parse_seeds

    if args.seed != 0:
        raise NCAError("give --seed (one flake) or --seeds (several side by side), not both")
    seeds = parse_seeds(args.seeds)
    if len(seeds) > MAX_TILED_SEEDS:
        raise NCAError(
            f"--seeds {args.seeds!r} gives {len(seeds)} seeds; at most {MAX_TILED_SEEDS} grow side by side "
            "(a gallery, `sheet --seeds`, or `batch` takes more)"
        )
    if args.columns is not None and args.columns < 1:
        raise NCAError(f"--columns must be at least 1, got {args.columns}")
    return seeds


@command()
def gif(
    output: Annotated[
        Path | None, typer.Argument(help="GIF to write (default: MODEL-seedN.gif; with --seeds, MODEL-seeds.gif).")
    ] = None,
    model: ModelOpt = None,
    steps: StepsOpt = DEFAULT_STEPS,
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
    loop: LoopOpt = WRITER.loop,
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
    steps: StepsOpt = DEFAULT_STEPS,
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
    steps: StepsOpt = DEFAULT_STEPS,
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
    steps: StepsOpt = DEFAULT_STEPS,
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
    from ..batch.seeds import parse_seeds

    if args.sheet_frames is not None:
        raise NCAError("--frames is for a sprite sheet of one seed; a gallery (--seeds) shows one frame per seed")
    seed_list = parse_seeds(seeds, force=force)
    spec = args.spec(seed_list)
    out = output if output is not None else Path(f"{model_stem(args.model)}{get_format('gallery').name_suffix}")
    renderer = Renderer(args.model, provider=args.provider, quiet=args.quiet, notify=notice)
    assert args.background is not None and args.scale is not None  # the sheet command's defaults
    output_spec = gallery_output(args.background, scale=args.scale, columns=args.columns, resample=args.resample)
    summary = write_gallery(renderer, out, spec.with_outputs(output_spec), at=at, batch_size=batch_size)
    say(
        f"wrote {out} ({len(seed_list)} seeds at step {summary['step']}, {summary['columns']}x{summary['rows']} tiles, "
        f"{summary['width']}x{summary['height']})",
        args.quiet,
    )
    if args.json_out:
        emit_json(summary)
