"""The animated formats with full alpha: ``webp`` and ``apng``, rendered like ``gif`` (same options, same path).

Both default to a transparent background and keep 8-bit alpha; both loop forever unless ``--no-loop`` and hold
the last frame ``--hold`` seconds. ``webp`` is lossless unless ``--quality N``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .app import command
from .options import (
    APNG,
    WEBP,
    WRITER,
    BackgroundOpt,
    ColumnsOpt,
    DamageOpt,
    EveryOpt,
    FlakeOpt,
    FpsOpt,
    HoldOpt,
    JsonOpt,
    LoopOpt,
    ModelOpt,
    NoLoopOpt,
    ProviderOpt,
    QualityOpt,
    QuietOpt,
    RenderArgs,
    ResampleOpt,
    ScaleOpt,
    SeedOpt,
    SizeOpt,
    StartOpt,
    StepsOpt,
    TiledSeedsOpt,
)
from .render import _render


@command()
def webp(
    output: Annotated[
        Path | None, typer.Argument(help="WebP to write (default: MODEL-seedN.webp; with --seeds, MODEL-seeds.webp).")
    ] = None,
    model: ModelOpt = None,
    steps: StepsOpt = None,
    start: StartOpt = 0,
    seed: SeedOpt = 0,
    flake: FlakeOpt = None,
    size: SizeOpt = None,
    scale: ScaleOpt = WEBP.scale,
    fps: FpsOpt = WRITER.fps,
    every: EveryOpt = 1,
    background: BackgroundOpt = WEBP.background,
    provider: ProviderOpt = "auto",
    damage: DamageOpt = None,
    hold: HoldOpt = WEBP.hold,
    loop: LoopOpt = "forward",
    no_loop: NoLoopOpt = False,
    quality: QualityOpt = None,
    resample: ResampleOpt = WRITER.resample,
    seeds: TiledSeedsOpt = None,
    columns: ColumnsOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Render a growing snowflake as an animated WebP with 8-bit alpha (lossless unless --quality)."""
    _render("webp", output, RenderArgs.capture(locals()))


@command()
def apng(
    output: Annotated[
        Path | None, typer.Argument(help="APNG to write (default: MODEL-seedN.apng; with --seeds, MODEL-seeds.apng).")
    ] = None,
    model: ModelOpt = None,
    steps: StepsOpt = None,
    start: StartOpt = 0,
    seed: SeedOpt = 0,
    flake: FlakeOpt = None,
    size: SizeOpt = None,
    scale: ScaleOpt = APNG.scale,
    fps: FpsOpt = WRITER.fps,
    every: EveryOpt = 1,
    background: BackgroundOpt = APNG.background,
    provider: ProviderOpt = "auto",
    damage: DamageOpt = None,
    hold: HoldOpt = APNG.hold,
    loop: LoopOpt = "forward",
    no_loop: NoLoopOpt = False,
    resample: ResampleOpt = WRITER.resample,
    seeds: TiledSeedsOpt = None,
    columns: ColumnsOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Render a growing snowflake as an animated PNG with 8-bit alpha (lossless, exact frame delays)."""
    _render("apng", output, RenderArgs.capture(locals()))
