"""The ``png`` command: one still at any size, the frame at ``--step`` (``ncarender png flake.png --step 120
--scale 26 --resample smooth``). Only that frame is scaled, so a large smooth still takes about the time of the
rollout; the same picture as :meth:`Renderer.still <ncarender.api.Renderer.still>`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import NCAError
from ..request import MAX_TILED_SEEDS
from ..spec import DEFAULT_STEPS
from .app import command
from .options import (
    PNG,
    BackgroundOpt,
    ColumnsOpt,
    DamageOpt,
    FlakeOpt,
    JsonOpt,
    ModelOpt,
    ProviderOpt,
    QuietOpt,
    RenderArgs,
    ResampleOpt,
    ScaleOpt,
    SeedOpt,
    SizeOpt,
    model_stem,
)
from .render import _render

StepOpt = Annotated[
    int,
    typer.Option("--step", "--steps", "-n", help="The step to show: NCA steps grown from the seed (at least 1)."),
]
StillSeedsOpt = Annotated[
    str | None,
    typer.Option(
        "--seeds",
        help=f"Several seeds side by side in one picture, e.g. 0-3 or 0,5,17 (at most {MAX_TILED_SEEDS}); "
        "--columns sets the grid.",
    ),
]


@command()
def png(
    output: Annotated[
        Path | None,
        typer.Argument(help="PNG to write (default: MODEL-seedN-stepS.png; with --seeds, MODEL-seeds-stepS.png)."),
    ] = None,
    model: ModelOpt = None,
    step: StepOpt = DEFAULT_STEPS,
    seed: SeedOpt = 0,
    flake: FlakeOpt = None,
    size: SizeOpt = None,
    scale: ScaleOpt = PNG.scale,
    background: BackgroundOpt = PNG.background,
    provider: ProviderOpt = "auto",
    damage: DamageOpt = None,
    resample: ResampleOpt = "nearest",
    seeds: StillSeedsOpt = None,
    columns: ColumnsOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Render one still PNG at any size: the frame at --step (only that frame is scaled; --resample smooth)."""
    if isinstance(step, int) and step < 1:
        raise NCAError(f"--step must be at least 1 (step 0 is the seed: one cell), got {step}")
    args = RenderArgs.capture({**locals(), "steps": step, "every": 1})
    if output is None:
        seeds_part = f"seed{seed}" if seeds is None else "seeds"
        output = Path(f"{model_stem(model)}-{seeds_part}-step{step}.png")
    _render("png", output, args)
