"""The one table of output formats: a :class:`Format` record per format, and what derives from it.

Each fact about a format is written once, in its record below: its file suffix, its name inside a batch folder,
its writer class, whether it streams, whether it holds alpha, its command's defaults (scale, background, hold),
which writer options its command sets, the largest picture it can store, and the longest frame, animation and
loop count it stores (from its specification; :func:`ncarender.limits.check_timing` applies them). Lookups
(``format_from_path``, ``output_name``, the batch's temporary names, the default output specs) read the table.

Adding a format is a record here and a writer class (see ARCHITECTURE in the README). A record whose writer
does not consume frames (``consumes="model"``: a page that runs the ONNX model itself) is allowed; the frame
write path (:func:`~ncarender.writers.open_writer`) refuses it.

Plain data: importing this module loads no numpy or Pillow (the command line reads its defaults at start-up).
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

from ..errors import NCAError
from ..limits import check_timing
from .options import WriterOptions

if TYPE_CHECKING:
    from ..damage import Damage
    from ..render import Background

__all__ = [
    "FORMATS",
    "IMAGE_MAX_SIDE",
    "RENDERS",
    "TABLE",
    "Format",
    "OutputSpec",
    "either",
    "format_from_path",
    "get_format",
    "output_name",
    "output_spec",
    "parse_formats",
    "temporary_pattern",
]

_T = TypeVar("_T")

#: Largest side of a PNG (the format's 31-bit width and height).
PNG_MAX_SIDE = 2**31 - 1
#: Largest side of a WebP (libwebp's limit: 14-bit dimensions).
WEBP_MAX_SIDE = 16_383
#: Largest side of a sprite sheet or a still: what GPUs load as one texture (WebGL's MAX_TEXTURE_SIZE is at most
#: this almost everywhere) and browsers draw. A PNG itself could hold 2**31 - 1.
IMAGE_MAX_SIDE = 16_384
#: Longest frame of a GIF: its delay is a 16-bit count of centiseconds (GIF89a, Graphic Control Extension).
GIF_MAX_FRAME_MS = 655_350
#: Longest frame of a WebP: its duration is 24 bits of milliseconds (the ANMF chunk).
WEBP_MAX_FRAME_MS = 2**24 - 1
#: Longest frame of an APNG: a 16-bit numerator of seconds over a 16-bit denominator (the fcTL chunk).
APNG_MAX_FRAME_MS = 65_535_000
#: Shortest frame of a GIF, WebP or APNG: browsers play frames of 10 ms or less at 100 ms, so faster frame rates
#: are clamped to 50 fps (and said so in the summary: ``clamped``).
MIN_FRAME_MS = 20
#: Loop counts: GIF's NETSCAPE2.0 and WebP's ANIM store 16 bits, APNG's acTL num_plays 31 (0: forever).
GIF_MAX_LOOPS = WEBP_MAX_LOOPS = 65_535
APNG_MAX_LOOPS = 2**31 - 1
#: A sprite sheet holds every frame up to this many, else this many evenly spaced.
SHEET_DEFAULT_MAX_FRAMES = 64
#: File suffixes that name an image file, so never a folder of PNG frames.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".webp")
#: The largest grid side a live page accepts (its step runs on one CPU core in the browser).
PAGE_MAX_GRID = 512
#: Steps per second a live page starts at (its speed slider goes from 1 to 240).
PAGE_STEPS_PER_SECOND = 30.0


@dataclass(frozen=True)
class Format:
    """Everything ncarender knows about one output format."""

    #: The format's name: the command, ``--format`` value and ``fmt`` argument.
    name: str
    #: How messages name it: "GIF has no ...".
    title: str
    #: The file suffix of its output; ``""``: the output is a folder.
    suffix: str
    #: What follows a generated name (``seed-0042`` in a batch, ``snowflake-seed0`` by default): ``.gif``,
    #: ``-frames``.
    name_suffix: str
    #: The writer class, ``module:Class`` (imported on first use).
    writer: str
    #: What the writer takes: ``frames`` of one seed in order; ``still``, one frame (the last step's); ``tiles``,
    #: one frame per seed (a gallery); ``model``, the ONNX model itself (no frames).
    consumes: Literal["frames", "still", "tiles", "model"]
    #: The writer works on each frame as it comes, so it runs on its own thread beside the rollout.
    streams: bool
    #: The format stores transparency.
    alpha: bool
    #: Default pixels per cell (a page: CSS pixels per cell of its suggested frame).
    scale: int
    #: Default background: a colour, or ``transparent``.
    background: str
    #: Default seconds the last frame is held.
    hold: float
    #: The :class:`WriterOptions` fields its command sets (the others keep WriterOptions' defaults).
    options: frozenset[str]
    #: Largest width or height in pixels the format stores (a page: in grid cells; it fits its window).
    max_side: int
    #: Suffixes of the files written beside the output (the sheet's JSON atlas).
    companions: tuple[str, ...] = ()
    #: Why ``max_side`` is what it is, when the file format alone would store more (said when it refuses).
    max_side_reason: str = ""
    #: Longest time one stored frame can last, in ms (None: no such limit; MP4 repeats a held frame). Longer runs
    #: of one picture are stored as several frames; a longer last frame (frame and hold) is refused.
    max_frame_ms: int | None = None
    #: Shortest stored frame in ms: a faster frame rate plays at ``1000 / min_frame_ms`` fps (0: not clamped).
    min_frame_ms: int = 0
    #: The unit delays are stored in, ms (GIF: centiseconds; 0: exact, or not an animation).
    delay_unit_ms: int = 0
    #: Longest whole animation in ms (None: no limit): WebP's encoder takes 31-bit millisecond timestamps.
    max_duration_ms: int | None = None
    #: Most plays a loop count stores (0: the format does not loop). ncarender writes forever or once.
    max_loops: int = 0

    def writer_class(self) -> type:
        """The writer class (imported now)."""
        module, name = self.writer.split(":")
        cls: type = getattr(import_module(module), name)
        return cls

    def companion_paths(self, path: Path) -> list[Path]:
        """The files written beside ``path``."""
        return [path.with_suffix(suffix) for suffix in self.companions]


TABLE: tuple[Format, ...] = (
    Format(
        name="gif",
        title="GIF",
        suffix=".gif",
        name_suffix=".gif",
        writer="ncarender.writers.gif:GifWriter",
        consumes="frames",
        streams=True,  # marks each frame's colours as it comes
        alpha=True,  # one bit
        scale=4,
        background="white",
        hold=1.0,
        options=frozenset({"scale", "fps", "hold", "loop", "resample", "pingpong"}),
        max_side=65_535,  # 16-bit logical screen
        max_frame_ms=GIF_MAX_FRAME_MS,
        min_frame_ms=MIN_FRAME_MS,
        delay_unit_ms=10,
        max_loops=GIF_MAX_LOOPS,
    ),
    Format(
        name="mp4",
        title="MP4",
        suffix=".mp4",
        name_suffix=".mp4",
        writer="ncarender.writers.mp4:Mp4Writer",
        consumes="frames",
        streams=True,  # piped to ffmpeg
        alpha=False,  # yuv420p
        scale=4,
        background="white",
        hold=1.0,
        options=frozenset({"scale", "fps", "hold", "crf", "resample", "pingpong"}),
        max_side=16_384,  # libx264 refuses wider or taller frames
    ),
    Format(
        name="sheet",
        title="sheet",
        suffix=".png",
        name_suffix=".png",
        writer="ncarender.writers.sheet:SheetWriter",
        consumes="frames",
        streams=False,  # keeps the frames it shows, composes the sheet at the end
        alpha=True,
        scale=2,
        background="transparent",
        hold=0.0,
        options=frozenset({"scale", "fps", "columns", "sheet_frames", "resample"}),
        max_side=IMAGE_MAX_SIDE,
        companions=(".json",),  # the TexturePacker atlas
        max_side_reason="the largest texture GPUs load",
    ),
    Format(
        name="frames",
        title="PNG frames",
        suffix="",
        name_suffix="-frames",
        writer="ncarender.writers.frames:PngFramesWriter",
        consumes="frames",
        streams=True,  # writes each PNG as it comes
        alpha=True,
        scale=4,
        background="transparent",
        hold=0.0,
        options=frozenset({"scale", "resample"}),
        max_side=PNG_MAX_SIDE,
    ),
    Format(
        name="webp",
        title="WebP",
        suffix=".webp",
        name_suffix=".webp",
        writer="ncarender.writers.webp:WebpWriter",
        consumes="frames",
        streams=False,  # Pillow encodes the whole animation at close
        alpha=True,  # 8-bit
        scale=4,
        background="transparent",
        hold=1.0,
        options=frozenset({"scale", "fps", "hold", "loop", "quality", "resample", "pingpong"}),
        max_side=WEBP_MAX_SIDE,
        max_frame_ms=WEBP_MAX_FRAME_MS,
        max_duration_ms=2**31 - 1,
        min_frame_ms=MIN_FRAME_MS,
        delay_unit_ms=1,
        max_loops=WEBP_MAX_LOOPS,
    ),
    Format(
        name="apng",
        title="APNG",
        suffix=".apng",
        name_suffix=".apng",
        writer="ncarender.writers.apng:ApngWriter",
        consumes="frames",
        streams=False,  # Pillow encodes the whole animation at close
        alpha=True,  # 8-bit
        scale=4,
        background="transparent",
        hold=1.0,
        options=frozenset({"scale", "fps", "hold", "loop", "resample", "pingpong"}),
        max_side=PNG_MAX_SIDE,
        max_frame_ms=APNG_MAX_FRAME_MS,
        min_frame_ms=MIN_FRAME_MS,
        max_loops=APNG_MAX_LOOPS,
    ),
    Format(
        name="png",
        title="PNG still",
        suffix=".png",
        name_suffix="-still.png",
        writer="ncarender.writers.still:StillWriter",
        consumes="still",  # the frame at the last step, nothing before it
        streams=False,
        alpha=True,
        scale=4,
        background="transparent",
        hold=0.0,
        options=frozenset({"scale", "resample"}),
        max_side=IMAGE_MAX_SIDE,
        max_side_reason="what browsers draw",
    ),
    Format(
        name="gallery",
        title="gallery",
        suffix=".png",
        name_suffix="-gallery.png",
        writer="ncarender.writers.gallery:GalleryWriter",
        consumes="tiles",
        streams=False,
        alpha=True,
        scale=2,
        background="white",
        hold=0.0,
        options=frozenset({"scale", "columns", "resample"}),
        max_side=IMAGE_MAX_SIDE,
        max_side_reason="what browsers draw",
    ),
    Format(
        name="html",
        title="HTML page",
        suffix=".html",
        name_suffix=".html",
        writer="ncarender.writers.html:PageWriter",
        consumes="model",  # runs the ONNX step itself, in the browser
        streams=False,
        alpha=True,  # transparent: a checkerboard behind the flake
        scale=4,
        background="white",
        hold=0.0,
        options=frozenset({"scale", "resample"}),
        max_side=PAGE_MAX_GRID,
    ),
)

_BY_NAME = {f.name: f for f in TABLE}
#: The formats of one seed's frames (``fmt`` of a render, ``--format`` of a batch), in table order.
FORMATS: tuple[str, ...] = tuple(f.name for f in TABLE if f.consumes == "frames")
#: The formats one render writes (:meth:`Renderer.render <ncarender.api.Renderer.render>`, the render commands):
#: the animations and the still.
RENDERS: tuple[str, ...] = tuple(f.name for f in TABLE if f.consumes in ("frames", "still"))


def either(words: list[str]) -> str:
    """``a, b or c``."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def get_format(name: str) -> Format:
    """The record of ``name``; :class:`NCAError` for a format not in the table."""
    if name not in _BY_NAME:
        raise NCAError(f"unknown output format {name!r} (choose {', '.join(FORMATS)})")
    return _BY_NAME[name]


def format_from_path(path: Path) -> str:
    """Guess a render's format from ``path``: its suffix (.gif, .mp4, .png: sheet), or none for a frames folder."""
    suffix = path.suffix.lower()
    renders = [_BY_NAME[name] for name in FORMATS]
    for fmt in renders:
        if fmt.suffix and suffix == fmt.suffix:
            return fmt.name
    if not suffix:
        return next(f.name for f in renders if not f.suffix)
    named = list(dict.fromkeys(f.suffix for f in renders if f.suffix))
    raise NCAError(f"cannot tell the format of {str(path)!r}; use {', '.join(named)} or a folder")


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


def file_suffixes() -> set[str]:
    """Every suffix that names a file: the formats', their companions' and other images' (never a folder)."""
    return {f.suffix for f in TABLE if f.suffix} | {c for f in TABLE for c in f.companions} | set(IMAGE_SUFFIXES)


def output_name(seed: int, fmt: str) -> str:
    """The name of seed ``seed``'s ``fmt`` output inside a batch folder: ``seed-0042.gif``, ``seed-0042-frames``."""
    return f"seed-{seed:04d}{_BY_NAME[fmt].name_suffix}"


def temporary_pattern() -> re.Pattern[str]:
    """What a writer leaves beside ``seed-0042.gif`` while it works, ``.seed-0042.gif.<random>...``; group 1 is
    the output's name (or its companion's)."""
    batch = [_BY_NAME[name] for name in FORMATS]
    ends = [f.name_suffix for f in batch] + [c for f in batch for c in f.companions]
    alternatives = "|".join(re.escape(end) for end in dict.fromkeys(ends))
    return re.compile(rf"^\.(seed-\d+(?:{alternatives}))\.")


def background_text(background: Background) -> str:
    """``transparent`` or ``#rrggbb``."""
    return "transparent" if background is None else "#{:02x}{:02x}{:02x}".format(*background)


#: Options at the default that a manifest leaves out, as manifests written before the option existed do: such a
#: batch resumes, and its bytes and records stay as they were.
_UNSAID = {("quality", None), ("resample", "nearest"), ("pingpong", False)}


@dataclass(frozen=True)
class OutputSpec:
    """One output of a render: its format, the background frames are composited over, and the writer options."""

    format: str
    background: Background
    options: WriterOptions

    def __post_init__(self) -> None:
        if isinstance(self.options, WriterOptions) and self.format in _BY_NAME:
            check_timing(self.record, self.options.fps, self.options.hold)

    @property
    def record(self) -> Format:
        """The format's record in :data:`TABLE`."""
        return get_format(self.format)

    def describe(
        self, *, steps: int, grid: tuple[int, int], every: int, damage: Sequence[Damage], start: int = 0
    ) -> dict[str, object]:
        """Everything that decides the output's bytes, JSON-ready (a batch manifest's ``options``; ``start`` only
        when the frames do not start at the seed, as manifests written before ``--start`` existed)."""
        return {
            "steps": steps,
            "grid": [grid[0], grid[1]],
            "every": every,
            **({"start": start} if start else {}),
            "background": background_text(self.background),
            "damage": [[d.step, d.x, d.y, d.r] for d in damage],
            **{k: v for k, v in asdict(self.options).items() if (k, v) not in _UNSAID},
        }


def _rgb(value: object) -> tuple[int, int, int]:
    """An ``(r, g, b)`` background, each a whole number 0-255; :class:`NCAError` for anything else."""
    if isinstance(value, tuple | list) and len(value) == 3:
        whole = [int(c) for c in value if isinstance(c, numbers.Integral) and not isinstance(c, bool)]
        rgb = [c for c in whole if 0 <= c <= 255]
        if len(rgb) == 3:
            return (rgb[0], rgb[1], rgb[2])
    raise NCAError(f"background must be a name, #rrggbb, transparent or (r, g, b) of 0-255 each, got {value!r}")


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
    quality: int | None = None,
    resample: str | None = None,
    pingpong: bool | None = None,
) -> OutputSpec:
    """The output ``fmt`` with its command's defaults (its :class:`Format` record), overridden by what is given.

    ``None`` means "that command's default" (``background``: a colour name, ``#rrggbb``, an RGB tuple or
    ``"transparent"``). Options a format's command does not have (not in its record's ``options``) are ignored
    for it: ``hold`` applies to gif, mp4, webp and apng, ``loop`` to gif, webp and apng, ``crf`` to mp4, ``quality``
    (lossy; None: lossless) to webp, ``fps`` to all but frames and png, ``columns`` and ``sheet_frames`` to
    sheet, ``resample`` (``nearest`` or ``smooth``) to all, ``pingpong`` (forward then back) to gif, mp4, webp
    and apng. So ``output_spec("gif", seed options...)`` gives the bytes of ``ncarender gif`` with the same options.
    """
    from ..render import parse_background

    name = fmt.strip().lower() if isinstance(fmt, str) else fmt
    if name not in RENDERS:
        raise NCAError(f"unknown output format {fmt!r} (choose {', '.join(RENDERS)})")
    record = _BY_NAME[name]
    text = record.background if background is None else background
    bg = parse_background(text) if isinstance(text, str) else _rgb(text)
    base = WriterOptions()

    def pick(name: str, value: _T | None, default: _T) -> _T:
        return value if name in record.options and value is not None else default

    options = WriterOptions(
        scale=pick("scale", scale, record.scale),
        fps=pick("fps", fps, base.fps),
        loop=pick("loop", loop, base.loop),
        hold=pick("hold", hold, record.hold),
        transparent=bg is None,
        crf=pick("crf", crf, base.crf),
        columns=pick("columns", columns, base.columns),
        sheet_frames=pick("sheet_frames", sheet_frames, base.sheet_frames),
        quality=pick("quality", quality, base.quality),
        resample=pick("resample", resample, base.resample),
        pingpong=pick("pingpong", pingpong, base.pingpong),
    )
    return OutputSpec(record.name, bg, options)
