"""Stills in memory: :func:`still_images`, the frames at chosen steps of one rollout as PIL images, each the picture
``ncarender png --step S`` writes (:meth:`Renderer.stills <ncarender.api.Renderer.stills>`). No torch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol, TypedDict, Unpack

import numpy as np
from PIL import Image

from .checks import is_whole
from .errors import NCAError
from .render import Background
from .request import DamageLike, SizeLike, render_request
from .result import Stills
from .spec import RenderSpec
from .writers.base import check_fits, scaled
from .writers.formats import OutputSpec
from .writers.resample import smooth_tiles
from .writers.sheet import tile_grid

__all__ = ["StillOptions", "TileSource", "still_images", "still_steps"]


class TileSource(Protocol):
    """What stills read of a renderer (:class:`ncarender.api.Renderer`, which calls :func:`still_images`)."""

    @property
    def grid(self) -> tuple[int, int]: ...
    def frame_grid(self, grid: tuple[int, int], scale: int) -> tuple[int, int]: ...
    def writer_output(self, output: OutputSpec) -> OutputSpec: ...
    def tiled(
        self, spec: RenderSpec, background: Background, *, scale: int = 1, columns: int | None = None
    ) -> Iterator[tuple[int, np.ndarray]]: ...


def still_steps(steps: object) -> list[int]:
    """The steps of :func:`still_images`: a non-empty list of whole numbers, 0 (the seed) or more."""
    if is_whole(steps):
        raise NCAError(f"steps takes a list of steps, such as [0, 32, 64]; got {steps!r} (one step: still(step=...))")
    items = list(steps) if isinstance(steps, Iterable) and not isinstance(steps, str) else None
    if not items or not all(is_whole(s) and s >= 0 for s in items):
        raise NCAError(f"steps must be a list of whole numbers, 0 or more, such as [0, 32, 64]; got {steps!r}")
    return [int(s) for s in items]


class StillOptions(TypedDict, total=False):
    """The options of a still (the ``png`` command's), each as :meth:`Renderer.render
    <ncarender.api.Renderer.render>` takes it; left out: the ``png`` format's default."""

    seed: int
    seeds: str | Sequence[int] | None
    columns: int | None
    flake: int | None
    size: SizeLike | None
    scale: int | None
    background: str | tuple[int, int, int] | None
    resample: str | None
    damage: DamageLike | Sequence[DamageLike] | None


def still_images(renderer: TileSource, steps: Sequence[int], **options: Unpack[StillOptions]) -> Stills:
    """The frames at ``steps`` (in that order) of one rollout as PIL RGBA images of ``(H*scale, W*scale)``
    pixels, over the ``png`` format's defaults; only those frames are converted and scaled."""
    wanted = still_steps(steps)
    last = max(wanted)
    every = math.gcd(*(s for s in wanted if s > 0)) or 1
    request = render_request("png", steps=max(last, 1), every=every, **options)
    spec, output = request.spec, request.spec.output
    writer = renderer.writer_output(output).options  # a hex model's picture comes at its scale: the writer's is 1
    grid = spec.grid(renderer.grid)
    tile = renderer.frame_grid(grid, output.options.scale)
    cols, rows = tile_grid(len(spec.seeds), request.columns)
    width, height = cols * tile[1] * writer.scale, rows * tile[0] * writer.scale
    need = 8 * width * height * len(set(wanted))  # each image, and one frame being scaled
    check_fits("png", (width, height), source=(grid, output.options.scale), n_frames=len(set(wanted)), need=need)
    images: dict[int, Image.Image] = {}
    for step, frame in renderer.tiled(spec, output.background, scale=output.options.scale, columns=request.columns):
        if step in wanted:
            if writer.resample == "smooth" and writer.scale > 1:  # as the writer: smooth, each tile on its own
                images[step] = Image.fromarray(smooth_tiles(frame, writer.scale, tile), "RGBA")
            else:
                images[step] = scaled(Image.fromarray(frame, "RGBA"), writer.scale)
    return Stills([images[s] for s in wanted], wanted)
