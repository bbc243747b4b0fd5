"""The ``html`` command: a live page that grows the snowflake in the browser (the ``html`` record's writer).

Thin like the render commands: the options (shared ones from :mod:`~ncarender.cli.options`, defaults from the
html record), one :func:`~ncarender.writers.html.write_page`, one line saying what was written and how to
embed it.
"""

from __future__ import annotations

import html as html_text
from pathlib import Path
from typing import Annotated

import typer

from ..spec import parse_size
from .app import command, emit_json, say
from .options import (
    HTML,
    SPEED,
    BackgroundOpt,
    FlakeOpt,
    JsonOpt,
    ModelOpt,
    QuietOpt,
    ResampleOpt,
    ScaleOpt,
    SeedOpt,
    SizeOpt,
    SpeedOpt,
    default_output,
)

#: The ``title`` of the suggested ``<iframe>`` (a frame needs an accessible name).
_TITLE = "A growing snowflake"


@command("html")
def page(
    output: Annotated[Path | None, typer.Argument(help="Page to write (default: MODEL-seedN.html).")] = None,
    model: ModelOpt = None,
    seed: SeedOpt = 0,
    flake: FlakeOpt = None,
    size: SizeOpt = None,
    scale: ScaleOpt = HTML.scale,
    background: BackgroundOpt = HTML.background,
    speed: SpeedOpt = SPEED,
    resample: ResampleOpt = "nearest",
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Write a live HTML page that grows the flake in the browser: one file, weights inside, no requests."""
    from ..runtime.catalog import resolve_model
    from ..writers.html import write_page

    out = output if output is not None else default_output(model, seed, HTML.name)
    result = write_page(
        resolve_model(model),
        out,
        seed=seed,
        size=parse_size(size),
        scale=scale,
        background=background,
        steps_per_second=speed,
        flake=flake,
        resample=resample,
    )
    height, width = result.grid
    family = f", flake {result.flake} of {result.flakes}" if result.flake is not None else ""
    if result.draw is not None:
        family = f", parameter draw {result.draw}"
    say(f"wrote {result.path} ({result.bytes:,} bytes, {height}x{width} grid, seed {result.seed}{family})", quiet)
    (frame_w, frame_h), src = result.frame_size, html_text.escape(result.path.name)
    say(f'embed it: <iframe src="{src}" width="{frame_w}" height="{frame_h}" title="{_TITLE}"></iframe>', quiet)
    if json_out:
        emit_json(result.to_json())
