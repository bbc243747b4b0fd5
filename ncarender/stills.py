"""Stills in memory: :func:`still_images`, the frames at chosen steps of one rollout as PIL images, each the picture
``ncarender png --step S`` writes (:meth:`Renderer.stills <ncarender.api.Renderer.stills>`). No torch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from PIL import Image

from .checks import is_whole
from .errors import NCAError
from .request import DamageLike, SizeLike, render_request
from .result import Stills
from .writers.base import check_fits, scaled
from .writers.resample import smooth_tiles

if TYPE_CHECKING:
    from .api import Renderer

__all__ = ["still_images", "still_steps"]


def still_steps(steps: object) -> list[int]:
    """The steps of :func:`still_images`: a non-empty list of whole numbers, 0 (the seed) or more."""
    if is_whole(steps):
        raise NCAError(f"steps takes a list of steps, such as [0, 32, 64]; got {steps!r} (one step: still(step=...))")
    items = list(steps) if isinstance(steps, Iterable) and not isinstance(steps, str) else None
    if not items or not all(is_whole(s) and s >= 0 for s in items):
        raise NCAError(f"steps must be a list of whole numbers, 0 or more, such as [0, 32, 64]; got {steps!r}")
    return [int(s) for s in items]


def still_images(
    renderer: Renderer,
    steps: Sequence[int],
    *,
    seed: int = 0,
    seeds: str | Sequence[int] | None = None,
    columns: int | None = None,
    flake: int | None = None,
    size: SizeLike | None = None,
    scale: int | None = None,
    background: str | tuple[int, int, int] | None = None,
    resample: str | None = None,
    damage: DamageLike | Sequence[DamageLike] | None = None,
) -> Stills:
    """The frames at ``steps`` (in that order) of one rollout as PIL RGBA images of ``(H*scale, W*scale)``
    pixels, over the ``png`` format's defaults; only those frames are converted and scaled."""
    wanted = still_steps(steps)
    last = max(wanted)
    every = math.gcd(*(s for s in wanted if s > 0)) or 1
    request = render_request(
        "png",
        seed=seed,
        seeds=seeds,
        columns=columns,
        steps=max(last, 1),
        every=every,
        size=size,
        flake=flake,
        damage=damage,
        scale=scale,
        background=background,
        resample=resample,
    )
    spec, output = request.spec, request.spec.output
    options = renderer.writer_output(output).options
    grid = spec.grid(renderer.grid)
    tile = renderer.frame_grid(grid, output.options.scale)
    cols = min(request.columns or math.isqrt(len(spec.seeds) - 1) + 1, len(spec.seeds))
    cells = (-(-len(spec.seeds) // cols) * tile[0], cols * tile[1])
    width, height = cells[1] * options.scale, cells[0] * options.scale
    need = 8 * width * height * len(set(wanted))  # each image, and one frame being scaled
    check_fits("png", (width, height), source=(grid, output.options.scale), n_frames=len(set(wanted)), need=need)
    images: dict[int, Image.Image] = {}
    for step, frame in renderer.tiled(spec, output.background, scale=output.options.scale, columns=request.columns):
        if step in wanted:
            if options.resample == "smooth" and options.scale > 1:  # as the writer: smooth, each tile on its own
                images[step] = Image.fromarray(smooth_tiles(frame, options.scale, tile), "RGBA")
            else:
                images[step] = scaled(Image.fromarray(frame, "RGBA"), options.scale)
    return Stills([images[s] for s in wanted], wanted)
