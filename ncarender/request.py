"""A render's options, from a command line or from Python, to one validated :class:`~ncarender.spec.RenderSpec`.

The render commands (``ncarender gif ...``) and :meth:`Renderer.render <ncarender.api.Renderer.render>` both call
:func:`render_request`, so the same options give the same spec, the same defaults (each format's, from the
table of formats) and the same one-line :class:`NCAError` for a bad value. Python callers may also pass what a
command line cannot: a damage as a :class:`~ncarender.damage.Damage`, a size as ``(H, W)``, seeds as a list, a
background as ``(r, g, b)``. Plain data: no numpy, no onnxruntime.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from .checks import is_whole
from .damage import Damage, parse_damage
from .errors import NCAError
from .spec import DEFAULT_STEPS, RenderSpec, parse_size
from .writers.formats import output_spec

__all__ = ["MAX_TILED_SEEDS", "TILED", "RenderRequest", "build_spec", "parse_damages", "render_request"]

#: Most seeds side by side in one animation (``gif --seeds``); a gallery or a batch takes more.
MAX_TILED_SEEDS = 64
#: The formats whose ``--seeds`` grow several seeds side by side (``--columns`` only with them).
TILED = ("gif", "mp4", "webp", "apng", "png")

#: A damage as the command line gives it (``STEP:X,Y,R``) or as a value.
DamageLike = str | Damage
#: A grid size: ``72``, ``"96x128"`` or ``(96, 128)``.
SizeLike = str | int | tuple[int, int]


@dataclass(frozen=True)
class RenderRequest:
    """One render: its :class:`RenderSpec` (one output) and, for several seeds side by side, the tiles' columns
    (None: square)."""

    spec: RenderSpec
    columns: int | None = None


def parse_damages(damage: DamageLike | Iterable[DamageLike] | None) -> tuple[Damage, ...]:
    """``"30:0.2,0,0.3"``, a :class:`Damage`, or a sequence of them -> a tuple of :class:`Damage`."""
    if damage is None:
        return ()
    items = [damage] if isinstance(damage, str | Damage) else damage
    if not isinstance(items, Iterable):
        raise NCAError(f"damage must be STEP:X,Y,R strings or Damage values, got {damage!r}")
    out: list[Damage] = []
    for item in items:
        if isinstance(item, str):
            out.append(parse_damage(item))
        elif isinstance(item, Damage):
            out.append(item)
        else:
            raise NCAError(f"damage must be STEP:X,Y,R strings or Damage values, got {item!r}")
    return tuple(out)


def grid_size(size: SizeLike | None) -> tuple[int, int] | None:
    """``--size``: None (the model's), ``72``, ``"96x128"`` or a ``(H, W)`` pair (checked by the spec)."""
    if size is None or isinstance(size, tuple | list):
        return None if size is None else tuple(size)  # type: ignore[return-value]
    if isinstance(size, str) or is_whole(size):
        return parse_size(size)
    raise NCAError(f"--size must be N, HxW or (H, W), such as 72 or 96x128; got {size!r}")


def build_spec(
    seeds: Sequence[int],
    formats: Sequence[str] = (),
    *,
    steps: int | None = None,
    default_steps: int = DEFAULT_STEPS,
    start: int = 0,
    size: SizeLike | None = None,
    every: int = 1,
    flake: int | None = None,
    damage: DamageLike | Iterable[DamageLike] | None = None,
    scale: int | None = None,
    fps: float | None = None,
    background: str | tuple[int, int, int] | None = None,
    hold: float | None = None,
    loop: bool | None = None,
    pingpong: bool | None = None,
    crf: int | None = None,
    columns: int | None = None,
    sheet_frames: int | None = None,
    quality: int | None = None,
    resample: str | None = None,
) -> RenderSpec:
    """The render of ``seeds`` to ``formats``, validated in the command line's order: steps (None:
    ``default_steps``, the model's), start and every, the grid, the outputs (each format's defaults for what is
    None: :func:`~ncarender.writers.output_spec`), the damage."""
    spec = RenderSpec(
        seeds=tuple(seeds), steps=default_steps if steps is None else steps, every=every, flake=flake, start=start
    )
    spec = replace(spec, size=grid_size(size))
    if loop is not None and not isinstance(loop, bool):
        raise NCAError(f"loop must be True or False, got {loop!r}")
    outputs = tuple(
        output_spec(
            fmt,
            scale=scale,
            fps=fps,
            background=background,
            hold=hold,
            loop=loop,
            pingpong=pingpong,
            crf=crf,
            columns=columns,
            sheet_frames=sheet_frames,
            quality=quality,
            resample=resample,
        )
        for fmt in formats
    )
    return replace(spec, damage=parse_damages(damage), outputs=outputs)


def tiled_seeds(
    fmt: str, *, seed: int = 0, seeds: str | Iterable[int] | None = None, columns: object = None
) -> list[int]:
    """The seeds of a render: ``seed``, or ``seeds`` growing side by side (``"0-3"``, ``"0,5,17"`` or a list; at
    most :data:`MAX_TILED_SEEDS`). An animation's ``columns`` go only with ``seeds`` (a sprite sheet's are its
    own)."""
    if not is_whole(seed) and isinstance(seed, Iterable) and not isinstance(seed, str):
        shown = list(seed)
        raise NCAError(f"seed takes one seed, got {shown!r}; several side by side: seeds={shown!r}")
    if seeds is None:
        if columns is not None and fmt in TILED:
            raise NCAError("--columns goes with --seeds (several seeds side by side)")
        return [seed]
    if seed != 0:
        raise NCAError("give --seed (one flake) or --seeds (several side by side), not both")
    if isinstance(seeds, str):
        from .seeds import parse_seeds

        seed_list = parse_seeds(seeds)
    elif isinstance(seeds, Iterable):
        seed_list = list(dict.fromkeys(seeds))
    else:
        raise NCAError(f"seeds must be a list of seeds or a string such as 0-3 or 0,5,17; got {seeds!r}")
    if len(seed_list) > MAX_TILED_SEEDS:
        given = f"--seeds {seeds!r}" if isinstance(seeds, str) else "seeds="
        raise NCAError(
            f"{given} gives {len(seed_list)} seeds; at most {MAX_TILED_SEEDS} grow side by side "
            "(a gallery, `sheet --seeds`, or `batch` takes more)"
        )
    if columns is not None and (not is_whole(columns) or columns < 1):  # type: ignore[operator]
        raise NCAError(f"--columns must be at least 1, got {columns}")
    return seed_list


def render_request(
    fmt: str,
    *,
    seed: int = 0,
    seeds: str | Iterable[int] | None = None,
    columns: int | None = None,
    steps: int | None = None,
    default_steps: int = DEFAULT_STEPS,
    start: int = 0,
    size: SizeLike | None = None,
    every: int = 1,
    flake: int | None = None,
    damage: DamageLike | Iterable[DamageLike] | None = None,
    scale: int | None = None,
    fps: float | None = None,
    background: str | tuple[int, int, int] | None = None,
    hold: float | None = None,
    loop: bool | None = None,
    pingpong: bool | None = None,
    crf: int | None = None,
    sheet_frames: int | None = None,
    quality: int | None = None,
    resample: str | None = None,
) -> RenderRequest:
    """One render command's options (``ncarender FMT ...``) as a :class:`RenderRequest`; None is the format's
    default. ``seeds`` grow side by side in ``columns`` columns (gif, mp4, webp, apng, png); a sheet's
    ``columns`` are its grid's."""
    seed_list = tiled_seeds(fmt, seed=seed, seeds=seeds, columns=columns)
    spec = build_spec(
        seed_list,
        [fmt],
        steps=steps,
        default_steps=default_steps,
        start=start,
        size=size,
        every=every,
        flake=flake,
        damage=damage,
        scale=scale,
        fps=fps,
        background=background,
        hold=hold,
        loop=loop,
        pingpong=pingpong,
        crf=crf,
        columns=columns,
        sheet_frames=sheet_frames,
        quality=quality,
        resample=resample,
    )
    return RenderRequest(spec, columns if seeds is not None else None)
