"""Options shared by the commands, defined once (``Annotated`` aliases, defaults from the table of formats), and
:class:`RenderArgs`: a render command's options, turned into one :class:`~ncarender.spec.RenderSpec`.

Plain data at import: the table of formats and the seed limits, no numpy (``ncarender --help`` reads this).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..request import MAX_TILED_SEEDS, RenderRequest, build_spec, render_request
from ..runtime.catalog import DEFAULT_MODEL, builtin_names
from ..seeds import MAX_SEEDS
from ..spec import DEFAULT_STEPS, RenderSpec
from ..writers.formats import FORMATS, PAGE_STEPS_PER_SECOND, TABLE, either, get_format, output_spec
from ..writers.options import WriterOptions, parse_loop

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..writers.formats import OutputSpec

GIF, MP4, SHEET, FRAMES, HTML = (get_format(name) for name in ("gif", "mp4", "sheet", "frames", "html"))
WEBP, APNG, PNG = get_format("webp"), get_format("apng"), get_format("png")
#: The writer options' own defaults (fps, loop, crf) where no format's record sets one.
WRITER = WriterOptions()

JsonOpt = Annotated[bool, typer.Option("--json", help="Print a JSON summary on stdout.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No messages or progress on stderr.")]

# ---- options of every render command -----------------------------------------------------------------------
#: ``--model``'s help: a file or a built-in name, and the default.
MODEL_HELP = f"Step model: a .onnx file or a built-in name ({builtin_names()}). Default: {DEFAULT_MODEL}."


def path(text: str) -> str:
    """A path as typed (the type the help shows as ``<path>``)."""
    return text


#: Text, not a ``Path`` (which would read ``./snowflake`` as ``snowflake``, a built-in name): a value with a path
#: separator or a suffix stays a path (:func:`~ncarender.runtime.catalog.resolve_model`).
ModelOpt = Annotated[str | None, typer.Option("--model", "-m", parser=path, help=MODEL_HELP)]
ModelArg = Annotated[str | None, typer.Argument(metavar="model", parser=path, help=MODEL_HELP)]
StepsOpt = Annotated[
    int | None,
    typer.Option(
        "--steps",
        "-n",
        help="NCA steps to run (default: the model's growth time T plus T/4 to settle; 200 for a model without T).",
    ),
]
StartOpt = Annotated[
    int, typer.Option("--start", help="First step to show: the frames before it are not written (0: the seed).")
]
SeedOpt = Annotated[int, typer.Option("--seed", "-s", help="Random seed of the update masks: same seed, same output.")]
FlakeOpt = Annotated[
    int | None,
    typer.Option(
        "--flake",
        help="A family model: grow training flake K from every seed (default: seed N grows flake N mod K).",
    ),
]
SizeOpt = Annotated[
    str | None,
    typer.Option("--size", help="Grid size in cells, N or HxW (default: the size the model was trained on)."),
]
ScaleOpt = Annotated[
    int,
    typer.Option("--scale", help="Pixels per cell, scaled as --resample says (a hex model: per neighbour spacing)."),
]
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
HoldOpt = Annotated[
    float, typer.Option("--hold", help="Seconds to hold the last frame (--loop pingpong: where it turns).")
]
LoopOpt = Annotated[
    str,
    typer.Option("--loop", help="forward (as grown), or pingpong (forward, then back: a seamless loop)."),
]
NoLoopOpt = Annotated[bool, typer.Option("--no-loop", help="Play once instead of looping forever.")]
CrfOpt = Annotated[int, typer.Option("--crf", help="x264 quality, 0 (lossless) to 51; 18 looks lossless.")]
ColumnsOpt = Annotated[int | None, typer.Option("--columns", help="Columns of the grid (default: square).")]
ResampleOpt = Annotated[
    str,
    typer.Option(
        "--resample", help="Scaling: nearest (each cell a block of pixels) or smooth (bicubic, premultiplied alpha)."
    ),
]
QualityOpt = Annotated[
    int | None, typer.Option("--quality", help="Lossy WebP at this quality, 0 (smallest) to 100 (default: lossless).")
]
TiledSeedsOpt = Annotated[
    str | None,
    typer.Option(
        "--seeds",
        help=f"Several seeds growing side by side in one animation, e.g. 0-3 or 0,5,17 (at most {MAX_TILED_SEEDS}); "
        "--columns sets the grid.",
    ),
]
SheetFramesOpt = Annotated[
    int | None, typer.Option("--frames", help="Frames on the sheet, evenly spaced (default: all, at most 64).")
]
BatchSizeOpt = Annotated[
    int | None, typer.Option("--batch-size", help="Seeds per rollout (default: from the grid size and free memory).")
]
ForceOpt = Annotated[
    bool, typer.Option("--force", help=f"Allow a seed spec beyond the usual maximum ({MAX_SEEDS} seeds).")
]
# ---- the live page's own option ---------------------------------------------------------------------------------
SpeedOpt = Annotated[
    float,
    typer.Option("--speed", help="Steps per second the page starts at (its slider goes from 1 to 240)."),
]
#: The page's starting speed (the table's constant beside the html record).
SPEED = PAGE_STEPS_PER_SECOND


def model_stem(model: str | Path | None) -> str:
    """The name outputs are named after: the model's stem, or the default built-in model's name."""
    return Path(model).stem if model is not None else DEFAULT_MODEL


def default_output(model: str | Path | None, seed: int, fmt: str) -> Path:
    """A render's output when none is given, in the current folder: ``MODEL-seedN`` and the format's name
    suffix (``snowflake-seed0.gif``, ``snowflake-seed0-frames``)."""
    return Path(f"{model_stem(model)}-seed{seed}{get_format(fmt).name_suffix}")


# ---- the batch's format options: each format keeps its command's default -------------------------------------
def _with(option: str) -> list[str]:
    """The formats whose commands have ``option`` (a :class:`WriterOptions` field)."""
    return [f.name for f in TABLE if f.name in FORMATS and option in f.options]


def _defaults(attr: str) -> list[tuple[object, list[str]]]:
    """``(value, formats)`` of a per-format default, in table order."""
    groups: dict[object, list[str]] = {}
    for name in FORMATS:
        groups.setdefault(getattr(get_format(name), attr), []).append(name)
    return list(groups.items())


_SCALES = _defaults("scale")
_BACKGROUNDS = _defaults("background")


def _and(names: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return either(names).replace(" or ", " and ")


_SCALE_HELP = ", ".join([str(_SCALES[0][0]), *(f"{_and(names)} {v}" for v, names in _SCALES[1:])])
_BACKGROUND_HELP = "; ".join(f"{v} for {_and(names)}" for v, names in _BACKGROUNDS)

FormatsOpt = Annotated[str, typer.Option("--format", "-f", help=f"{either(list(FORMATS))}; several: gif,mp4,sheet.")]
BatchScaleOpt = Annotated[int | None, typer.Option("--scale", help=f"Pixels per cell (default: {_SCALE_HELP}).")]
BatchFpsOpt = Annotated[float | None, typer.Option("--fps", help=f"Frames per second (default: {WRITER.fps:g}).")]
BatchBackgroundOpt = Annotated[
    str | None,
    typer.Option("--background", "-b", help=f"A name, #rrggbb or transparent (default: {_BACKGROUND_HELP})."),
]
BatchHoldOpt = Annotated[
    float | None,
    typer.Option(
        "--hold",
        help=f"{', '.join(_with('hold'))}: seconds to hold the last frame, or where a pingpong turns "
        f"(default: {GIF.hold:g}).",
    ),
]
BatchLoopOpt = Annotated[
    str,
    typer.Option(
        "--loop",
        help=f"{', '.join(_with('pingpong'))}: forward, or pingpong (forward, then back: a seamless loop).",
    ),
]
BatchNoLoopOpt = Annotated[
    bool, typer.Option("--no-loop", help=f"{', '.join(_with('loop'))}: play once instead of looping forever.")
]
BatchCrfOpt = Annotated[
    int, typer.Option("--crf", help=f"{', '.join(_with('crf'))}: x264 quality, 0 (lossless) to 51.")
]
BatchColumnsOpt = Annotated[
    int | None, typer.Option("--columns", help=f"{', '.join(_with('columns'))}: columns (default: square).")
]
BatchQualityOpt = Annotated[
    int | None,
    typer.Option("--quality", help=f"{', '.join(_with('quality'))}: lossy at this quality, 0-100 (default: lossless)."),
]
BatchSheetFramesOpt = Annotated[
    int | None,
    typer.Option(
        "--frames", help=f"{', '.join(_with('sheet_frames'))}: frames on the sheet (default: all, at most 64)."
    ),
]


@dataclass(frozen=True)
class RenderArgs:
    """A render command's options as typer parsed them, taken by name (:meth:`capture`); the format options a
    command lacks stay None (their format's default)."""

    model: str | None
    steps: int | None
    size: str | None
    every: int
    background: str | None
    provider: str
    damage: list[str] | None
    json_out: bool
    quiet: bool
    seed: int = 0
    scale: int | None = None
    fps: float | None = None
    hold: float | None = None
    loop: str | None = None
    no_loop: bool = False
    start: int = 0
    crf: int | None = None
    columns: int | None = None
    sheet_frames: int | None = None
    flake: int | None = None
    seeds: str | None = None
    quality: int | None = None
    resample: str | None = None

    @classmethod
    def capture(cls, params: dict[str, Any]) -> RenderArgs:
        """The options among a command's parameters (its ``locals()``) that describe a render."""
        names = {f.name for f in fields(cls)}
        return cls(**{name: value for name, value in params.items() if name in names})

    def _output_options(self) -> dict[str, Any]:
        """The writer options given (None: the format's default)."""
        names = ("scale", "fps", "background", "hold", "crf", "columns", "sheet_frames", "quality", "resample")
        out = {name: getattr(self, name) for name in names}
        out["loop"] = False if self.no_loop else None  # --no-loop: play once
        out["pingpong"] = None if self.loop is None else parse_loop(self.loop)  # --loop forward|pingpong
        return out

    def output(self, fmt: str) -> OutputSpec:
        """The ``fmt`` output of these options (:func:`~ncarender.writers.output_spec`)."""
        return output_spec(fmt, **self._output_options())

    def spec(
        self, seeds: Sequence[int], formats: Sequence[str] = (), *, default_steps: int = DEFAULT_STEPS
    ) -> RenderSpec:
        """The render of ``seeds`` to ``formats``, validated: steps (``default_steps`` when none were given: the
        model's, :attr:`Renderer.default_steps <ncarender.api.Renderer.default_steps>`), start and every first,
        then the grid, the outputs and the damage (:func:`~ncarender.request.build_spec`)."""
        return build_spec(
            seeds,
            formats,
            steps=self.steps,
            default_steps=default_steps,
            start=self.start,
            size=self.size,
            every=self.every,
            flake=self.flake,
            damage=self.damage,
            **self._output_options(),
        )

    def request(self, fmt: str, *, default_steps: int = DEFAULT_STEPS) -> RenderRequest:
        """The render of a ``fmt`` command: ``--seed`` or ``--seeds`` side by side (:func:`~ncarender.request.
        render_request`, what :meth:`Renderer.render <ncarender.api.Renderer.render>` calls too)."""
        return render_request(
            fmt,
            seed=self.seed,
            seeds=self.seeds,
            steps=self.steps,
            default_steps=default_steps,
            start=self.start,
            size=self.size,
            every=self.every,
            flake=self.flake,
            damage=self.damage,
            **self._output_options(),
        )
