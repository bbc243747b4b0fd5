"""The gallery run: one frame of many seeds, rolled out in batches, tiled and labelled in one PNG."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import NCAError
from ..render import Background, parse_background
from ..spec import Damage, RenderSpec
from ..writers.formats import OutputSpec, get_format
from ..writers.gallery import GalleryWriter
from ..writers.options import WriterOptions
from .run import default_batch_size

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ..api import Renderer

__all__ = ["gallery_output", "render_gallery", "write_gallery"]

_GALLERY = get_format("gallery")


def gallery_output(
    background: Background | str,
    *,
    scale: int | None = None,
    columns: int | None = None,
    resample: str | None = None,
) -> OutputSpec:
    """The gallery's output: tiles over ``background`` (a colour, or ``transparent`` / None), ``scale`` pixels
    per cell (default: the gallery's), in ``columns`` columns (default: square), scaled ``nearest`` (default) or
    ``smooth``."""
    record = _GALLERY
    scale = record.scale if scale is None else scale
    if scale < 1:
        raise NCAError(f"--scale must be at least 1, got {scale}")
    if columns is not None and columns < 1:
        raise NCAError(f"--columns must be at least 1, got {columns}")
    bg = parse_background(background) if isinstance(background, str) else background
    options = WriterOptions(scale=scale, columns=columns, transparent=bg is None, resample=resample or "nearest")
    return OutputSpec(record.name, bg, options)


def write_gallery(
    renderer: Renderer,
    path: Path | str,
    spec: RenderSpec,
    *,
    at: int | None = None,
    batch_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, object]:
    """One PNG of the frame at step ``at`` (default: ``spec.steps``) of every seed of ``spec`` (its one output
    from :func:`gallery_output`), in batches of ``batch_size`` seeds (default: from the grid and free memory).

    The writer is opened, and so every path, size and memory problem found, before the first rollout.
    ``progress`` receives ``(seeds_done, seeds)`` at the start and after each batch. Returns the writer's
    summary.
    """
    seed_list = list(dict.fromkeys(spec.seeds))
    if not seed_list:
        raise NCAError("no seeds for the gallery")
    at = spec.steps if at is None else at
    if not 0 <= at <= spec.steps:
        raise NCAError(f"--at must be from 0 to --steps ({spec.steps}), got {at}")
    plan = renderer.plan(spec.with_seeds(seed_list))
    view = plan.output
    writer = GalleryWriter(
        Path(path),
        seeds=seed_list,
        step=at,
        grid=view.frame_grid,  # a hex model's tiles: its picture at the scale (lattice/hex_view.py)
        output=view.writes,
        flakes=plan.flakes,
    )
    per_batch = batch_size or default_batch_size(len(seed_list), plan.grid, n_frames=1)
    with writer:
        renderer.check_fits(per_batch, plan.grid)
        # A rollout of ``at`` steps takes the same masks, so its last frame is step ``at`` of any longer one.
        upto = replace(spec, steps=max(at, 1), every=max(at, 1))
        if progress is not None:
            progress(0, len(seed_list))
        for start in range(0, len(seed_list), per_batch):
            chunk = upto.with_seeds(seed_list[start : start + per_batch])
            last = None
            for step, (rgba,) in renderer.composites(chunk, [view.look.background], scales=[view.look.scale]):
                if step == at:
                    last = rgba
            assert last is not None
            for tile in last:
                writer.add(tile)
            if progress is not None:
                progress(min(start + per_batch, len(seed_list)), len(seed_list))
        return writer.close()


def render_gallery(
    renderer: Renderer,
    path: Path | str,
    seeds: Sequence[int],
    *,
    steps: int | None = None,
    at: int | None = None,
    size: tuple[int, int] | None = None,
    background: Background | str = _GALLERY.background,
    damage: Sequence[Damage] = (),
    scale: int = _GALLERY.scale,
    columns: int | None = None,
    batch_size: int | None = None,
) -> dict[str, object]:
    """One PNG of the frame at step ``at`` (default: ``steps``; its default, the model's:
    :attr:`Renderer.default_steps <ncarender.api.Renderer.default_steps>`) of every seed, its number under each tile.

    Tiles are ``H*scale x W*scale`` pixels in ``columns`` columns (default:
    square), left to right, top to bottom, in the order of ``seeds``. The
    label strip takes the background colour (transparent stays transparent)
    with black text, or white text on a dark background. Returns a summary.
    """
    seed_list = tuple(dict.fromkeys(int(s) for s in seeds))
    if not seed_list:
        raise NCAError("no seeds for the gallery")
    steps = renderer.default_steps if steps is None else steps
    spec = RenderSpec(seeds=seed_list, steps=steps, size=size, damage=tuple(damage))
    output = gallery_output(background, scale=scale, columns=columns)
    return write_gallery(renderer, path, spec.with_outputs(output), at=at, batch_size=batch_size)
