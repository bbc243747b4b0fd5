"""The Python API that the command line also uses: :class:`Renderer`.

>>> from ncarender import Renderer
>>> Renderer().render("snowflake.gif", seed=0, steps=200)  # doctest: +SKIP

No torch: the model is an ONNX step run by onnxruntime (see :mod:`ncarender.runtime`). A render is described
once, by a :class:`~ncarender.spec.RenderSpec`; the keyword methods build one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .errors import NCAError
from .hexmap import frame_grid, frame_view, writer_scale
from .render import Background, parse_background, to_rgba8
from .runtime import NCASession, open_model, roll_out
from .runtime.seeds import flakes_of
from .spec import DEFAULT_STEPS, Damage, RenderSpec, frame_steps, parse_size
from .writers.formats import OutputSpec, format_from_path
from .writers.options import WriterOptions
from .writers.output import write_output

__all__ = ["RenderResult", "Renderer", "format_from_path", "frame_steps", "parse_size"]

#: The Python API's background, whatever the format (the command line's are each format's: the table of formats).
DEFAULT_BACKGROUND = "white"
#: Progress callback: ``(steps_done, steps_total)``.
Progress = Callable[[int, int], None]


@dataclass
class RenderResult:
    """What :meth:`Renderer.render` wrote: the writer's summary, the device it ran on, timings in seconds."""

    path: Path
    format: str
    seed: int
    steps: int
    summary: dict[str, object]
    device: str
    timings: dict[str, float] = field(default_factory=dict)
    #: A family model: the training flake the seed grew (None for a one-target model).
    flake: int | None = None
    #: Several seeds side by side: all of them (``seed`` is the first), and with a family model their flakes.
    seeds: list[int] | None = None
    flakes: list[int] | None = None

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (the CLI's ``--json`` output; the device under the key ``provider``)."""
        out = dict(self.summary)
        out.update(
            path=str(self.path),
            format=self.format,
            seed=self.seed,
            steps=self.steps,
            provider=self.device,
            seconds={k: round(v, 4) for k, v in self.timings.items()},
        )
        if self.seeds is not None:
            out["seeds"] = self.seeds
            del out["seed"]
        if self.flakes is not None:
            out["flakes"] = self.flakes
        elif self.flake is not None:
            out["flake"] = self.flake
        return out


def _background(background: Background | str) -> Background:
    return parse_background(background) if isinstance(background, str) else background


class Renderer:
    """Render a single-step ONNX NCA model: a file or a built-in name (default: the default built-in model).

    ``provider`` is ``auto`` (CUDA when onnxruntime offers it), ``cpu`` or ``cuda``; ``notify`` receives
    notices (such as a model without ncarender metadata) unless ``quiet``.
    """

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        provider: str = "auto",
        quiet: bool = False,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        t0 = time.perf_counter()
        self.session: NCASession = open_model(model, provider=provider, quiet=quiet, notify=notify)
        self.open_seconds = time.perf_counter() - t0

    @property
    def device(self) -> str:
        """``cpu`` or ``cuda``: where onnxruntime actually runs."""
        return self.session.device

    @property
    def grid(self) -> tuple[int, int]:
        """The grid the model was trained on ``(H, W)``."""
        return self.session.info.grid

    @property
    def model_path(self) -> Path:
        """The ONNX model file."""
        return self.session.path

    def frame_grid(self, grid: tuple[int, int], scale: int) -> tuple[int, int]:
        """The frames' size for a rollout on ``grid`` at ``scale``: the grid (a square model; writers scale it),
        or a hex model's picture ``(H * scale, W * scale)`` (:mod:`ncarender.hexmap`)."""
        return frame_grid(self.session.info.lattice, grid, scale)

    def writer_output(self, output: OutputSpec) -> OutputSpec:
        """``output`` as its writer takes it: a hex model's frames are mapped at the scale already (scale 1)."""
        scale = writer_scale(self.session.info.lattice, output.options.scale)
        return output if scale == output.options.scale else replace(output, options=replace(output.options, scale=1))

    def check_fits(self, n: int, grid: tuple[int, int]) -> None:
        """Refuse, before anything is allocated, a rollout of ``n`` seeds on ``grid`` that would not fit in memory."""
        self.session.check_grid(n, *grid)

    def flake_of(self, seed: int, flake: int | None = None) -> int | None:
        """The training flake ``seed`` grows with a family model (``flake`` overrides); None for one target."""
        flakes = flakes_of(self.session.info, [seed], flake)
        return None if flakes is None else flakes[0]

    def frames(
        self,
        seeds: Sequence[int],
        *,
        steps: int = DEFAULT_STEPS,
        size: tuple[int, int] | None = None,
        every: int = 1,
        background: Background | str = DEFAULT_BACKGROUND,
        damage: Sequence[Damage] = (),
        timings: dict[str, float] | None = None,
        failed: dict[int, int] | None = None,
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(step, frames)`` with frames uint8 ``(N, H, W, 4)`` for the N seeds, at :func:`frame_steps`.

        ``background`` is a colour (opaque frames) or ``transparent`` / None
        (straight alpha). Time spent is added to ``timings['rollout']`` and
        ``timings['convert']`` when a dict is given. A seed whose state turns
        non-finite raises :class:`~ncarender.runtime.NonFiniteStateError`, or,
        when ``failed`` is given, is recorded there as ``failed[index] = step``
        while the others go on (see :func:`~ncarender.runtime.rollout.roll_out`).
        """
        spec = RenderSpec(seeds=tuple(seeds), steps=steps, every=every, size=size, damage=tuple(damage))
        for step, (rgba,) in self.composites(spec, [_background(background)], timings=timings, failed=failed):
            yield step, rgba

    def composites(
        self,
        spec: RenderSpec,
        backgrounds: Sequence[Background],
        *,
        timings: dict[str, float] | None = None,
        failed: dict[int, int] | None = None,
        scales: Sequence[int] | None = None,
    ) -> Iterator[tuple[int, list[np.ndarray]]]:
        """The frames of ``spec`` over several backgrounds from one rollout: ``(step, [uint8 (N, H, W, 4) per
        background])`` (see :meth:`frames`). A hex model's frames are its picture at ``scales[i]`` (default 1)
        for background ``i`` (:meth:`frame_grid`); a square model's are its cells whatever the scales."""
        grid = spec.grid(self.grid)
        lattice = self.session.info.lattice
        views = [frame_view(lattice, grid, sc) for sc in (scales or [1] * len(backgrounds))]
        t = timings if timings is not None else {}
        t.setdefault("rollout", 0.0)
        t.setdefault("convert", 0.0)
        it = roll_out(self.session, spec, failed=failed)
        while True:
            t0 = time.perf_counter()
            try:
                step, state = next(it)
            except StopIteration:
                t["rollout"] += time.perf_counter() - t0
                return
            t1 = time.perf_counter()
            converted = [
                to_rgba8(state, bg) if view is None else view.rgba(state, bg)
                for bg, view in zip(backgrounds, views, strict=True)
            ]
            t["rollout"] += t1 - t0
            t["convert"] += time.perf_counter() - t1
            yield step, converted

    def rollout(
        self,
        seeds: Sequence[int],
        *,
        steps: int = DEFAULT_STEPS,
        size: tuple[int, int] | None = None,
        every: int = 1,
        background: Background | str = DEFAULT_BACKGROUND,
        damage: Sequence[Damage] = (),
    ) -> np.ndarray:
        """All frames at once: uint8 ``(F, N, H, W, 4)`` (F = len(frame_steps(steps, every))).

        The rendered frames; :func:`~ncarender.runtime.rollout.roll_out` yields the float
        states of the same rollout.
        """
        frames = self.frames(seeds, steps=steps, size=size, every=every, background=background, damage=damage)
        return np.stack([f for _, f in frames])

    def render(
        self,
        path: str | Path,
        *,
        fmt: str | None = None,
        seed: int = 0,
        steps: int = DEFAULT_STEPS,
        size: tuple[int, int] | None = None,
        every: int = 1,
        background: Background | str = DEFAULT_BACKGROUND,
        damage: Sequence[Damage] = (),
        options: WriterOptions | None = None,
        progress: Progress | None = None,
    ) -> RenderResult:
        """Render one seed to ``path`` as ``fmt`` (default: from the extension; a folder means ``frames``).

        ``options`` default to :class:`WriterOptions`' own, whatever the format (the command line uses each
        format's defaults instead: :func:`~ncarender.writers.output_spec`); their ``transparent`` follows the
        background. The file appears only when complete; an existing file is replaced only then.
        """
        path = Path(path)
        fmt = fmt or format_from_path(path)
        bg = _background(background)
        options = options or WriterOptions()
        if options.transparent != (bg is None):
            options = replace(options, transparent=bg is None)
        spec = RenderSpec(
            seeds=(seed,),
            steps=steps,
            every=every,
            size=size,
            damage=tuple(damage),
            outputs=(OutputSpec(fmt, bg, options),),
        )
        return self.write(path, spec, progress=progress)

    def write(
        self,
        path: str | Path,
        spec: RenderSpec,
        *,
        progress: Progress | None = None,
        columns: int | None = None,
    ) -> RenderResult:
        """Render ``spec`` (one output) to ``path``; what :meth:`render` and the command line call.

        One seed is one animation; several seeds (an animated format: gif, mp4, frames, sheet) grow side by side
        in one animation, each frame the seeds' frames tiled in ``columns`` columns (default: square), left to
        right, top to bottom (:func:`~ncarender.writers.sheet.tile_frames`). The output is opened first, so a bad
        path or option, or an output too large, fails before the rollout.
        """
        path, output = Path(path), spec.output
        seeds = spec.seeds
        if not seeds:
            raise NCAError("nothing to render: no seeds")
        self.check_fits(len(seeds), spec.grid(self.grid))
        tile = self.frame_grid(spec.grid(self.grid), output.options.scale)
        grid, blank = tile, None
        if len(seeds) > 1:
            from .writers.sheet import tile_frames, tile_grid

            if output.record.consumes != "frames":
                raise NCAError(f"{output.format} takes one seed; several seeds grow side by side in an animation")
            cols, rows = tile_grid(len(seeds), columns)
            grid = (rows * tile[0], cols * tile[1])
            blank = to_rgba8(np.zeros((1, self.session.info.channels, 1, 1), np.float32), output.background)[0, 0, 0]
        timings: dict[str, float] = {"startup": self.open_seconds}

        def frames() -> Iterator[np.ndarray]:
            scales = [output.options.scale]
            for step, (rgba,) in self.composites(spec, [output.background], timings=timings, scales=scales):
                yield rgba[0] if len(seeds) == 1 else tile_frames(rgba, columns, blank=blank)
                if progress is not None:
                    progress(step, spec.steps)

        summary = write_output(
            output.format,
            path,
            frames(),
            n_frames=spec.n_frames,
            grid=grid,
            options=self.writer_output(output).options,
            threaded=output.record.streams,
            timings=timings,
            tile=tile,
        )
        flakes = flakes_of(self.session.info, list(seeds), spec.flake)
        return RenderResult(
            path=path,
            format=output.format,
            seed=seeds[0],
            steps=spec.steps,
            summary=summary,
            device=self.device,
            timings=timings,
            flake=None if flakes is None else flakes[0],
            seeds=None if len(seeds) == 1 else list(seeds),
            flakes=None if flakes is None or len(seeds) == 1 else flakes,
        )
