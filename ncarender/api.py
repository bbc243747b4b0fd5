"""The Python API that the command line also uses: :class:`Renderer`.

>>> from ncarender import Renderer
>>> Renderer().render("snowflake.gif", seed=0, steps=200)  # doctest: +SKIP

No torch: the model is an ONNX step run by onnxruntime (see :mod:`ncarender.runtime`). A render is described
once, by a :class:`~ncarender.spec.RenderSpec`; :meth:`Renderer.render` builds it as the render commands do
(:func:`~ncarender.request.render_request`), so the same options give the same bytes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Unpack

import numpy as np

from .errors import NCAError
from .hexmap import frame_grid, frame_view, writer_scale
from .render import Background, parse_background, to_rgba8
from .request import DamageLike, SizeLike, render_request
from .result import RenderResult, Stills
from .runtime import NCASession, open_model, roll_out
from .runtime.seeds import flakes_of
from .spec import DEFAULT_STEPS, Damage, RenderSpec, default_steps, frame_steps, parse_size
from .stills import StillOptions, still_images
from .targets import Target, file_target, is_path, target_format
from .writers.formats import OutputSpec, format_from_path
from .writers.options import WriterOptions, parse_loop
from .writers.output import write_output

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["RenderResult", "Renderer", "Stills", "format_from_path", "frame_steps", "parse_size"]

#: The background of :meth:`Renderer.frames` and :meth:`Renderer.rollout` (a render's is its format's).
DEFAULT_BACKGROUND = "white"
#: Progress callback: ``(steps_done, steps_total)``.
Progress = Callable[[int, int], None]


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
    def default_steps(self) -> int:
        """Steps of a render that gives none: the model's growth time plus a hold
        (:func:`~ncarender.spec.default_steps`), or 200 for a model that declares no growth time."""
        return default_steps(self.session.info.growth_steps)

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
        steps: int | None = None,
        size: tuple[int, int] | None = None,
        every: int = 1,
        background: Background | str = DEFAULT_BACKGROUND,
        damage: Sequence[Damage] = (),
        timings: dict[str, float] | None = None,
        failed: dict[int, int] | None = None,
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(step, frames)`` with frames uint8 ``(N, H, W, 4)`` for the N seeds, at :func:`frame_steps`.

        ``background`` is a colour (opaque frames) or ``transparent`` / None
        (straight alpha); ``steps`` None: :attr:`default_steps`. Time spent is added to ``timings['rollout']`` and
        ``timings['convert']`` when a dict is given. A seed whose state turns
        non-finite raises :class:`~ncarender.runtime.NonFiniteStateError`, or,
        when ``failed`` is given, is recorded there as ``failed[index] = step``
        while the others go on (see :func:`~ncarender.runtime.rollout.roll_out`).
        """
        steps = self.default_steps if steps is None else steps
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
        steps: int | None = None,
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
        target: Target,
        *,
        fmt: str | None = None,
        seed: int = 0,
        seeds: str | Sequence[int] | None = None,
        columns: int | None = None,
        flake: int | None = None,
        steps: int | None = None,
        size: SizeLike | None = None,
        every: int = 1,
        scale: int | None = None,
        fps: float | None = None,
        background: str | tuple[int, int, int] | None = None,
        hold: float | None = None,
        loop: bool | str | None = None,
        crf: int | None = None,
        sheet_frames: int | None = None,
        quality: int | None = None,
        resample: str | None = None,
        damage: DamageLike | Sequence[DamageLike] | None = None,
        options: WriterOptions | None = None,
        progress: Progress | None = None,
        start: int = 0,
    ) -> RenderResult:
        """Render to ``target`` exactly as ``ncarender FMT`` with the same options: the same bytes.

        ``target`` is a path or a binary file object (``io.BytesIO()``, ``open(p, "wb")``; not for ``frames`` or
        ``sheet``, which are several files). ``fmt`` is ``gif``, ``mp4``, ``sheet``, ``frames``, ``webp``, ``apng``
        or ``png`` (a still of the last step; default: from the suffix, ``.png`` meaning a sheet). Every option
        left None takes the format's default, the command's (``hold`` 1 s for gif, mp4, webp and apng;
        ``background`` white for gif and mp4, else transparent; ``scale`` 4, a sheet 2). ``steps`` None:
        :attr:`default_steps` (the model's growth time plus a hold, else 200), as the command line; ``start``: the
        first step whose frame is written (``--start``). ``loop``: ``"forward"`` or ``"pingpong"`` (forward, then
        back: gif, mp4, webp, apng; the command line's ``--loop``), or False to play once (``--no-loop``).
        ``seeds`` (``"0-3"`` or a list, at most 64) grow side by side in ``columns`` columns; ``flake`` picks a
        family model's flake; ``size`` is ``72``, ``"96x128"`` or ``(H, W)``; ``damage`` is ``"STEP:X,Y,R"``
        strings or :class:`~ncarender.damage.Damage` values. ``options`` (a whole :class:`WriterOptions`) replaces
        the format options instead. A bad value raises one :class:`NCAError`, before anything renders; the file
        appears only when complete (an existing one is replaced only then).
        """
        fmt = target_format(target, fmt)
        if isinstance(loop, str):
            order: bool | None = parse_loop(loop)
            plays: bool | None = None
        elif loop is None or isinstance(loop, bool):
            order, plays = None, loop
        else:
            raise NCAError(f"loop must be 'forward', 'pingpong' or False (play once), got {loop!r}")
        given: dict[str, object] = dict(scale=scale, fps=fps, hold=hold, loop=plays, pingpong=order, crf=crf)
        given.update(sheet_frames=sheet_frames, quality=quality, resample=resample)
        if options is not None and any(v is not None for v in given.values()):
            named = ", ".join(k for k, v in given.items() if v is not None)
            raise NCAError(f"give options= or the option keywords ({named}), not both")
        if options is not None and not isinstance(options, WriterOptions):
            raise NCAError(f"options must be a WriterOptions, got {type(options).__name__}")
        request = render_request(
            fmt,
            seed=seed,
            seeds=seeds,
            columns=columns,
            flake=flake,
            steps=steps,
            default_steps=self.default_steps,
            start=start,
            size=size,
            every=every,
            background=background,
            damage=damage,
            **given,  # type: ignore[arg-type]
        )
        spec = request.spec
        if options is not None:
            out = spec.output
            spec = spec.with_outputs(replace(out, options=replace(options, transparent=out.background is None)))
        if is_path(target):
            return self.write(Path(target), spec, progress=progress, columns=request.columns)  # type: ignore[arg-type]
        with file_target(target, fmt) as path:  # type: ignore[arg-type]
            result = self.write(path, spec, progress=progress, columns=request.columns)
        result.path = None
        result.summary["path"] = None
        return result

    def still(self, step: int = DEFAULT_STEPS, **options: Unpack[StillOptions]) -> Image.Image:
        """The frame at ``step`` as a PIL RGBA image, the picture ``ncarender png --step STEP`` writes (a notebook
        shows it inline). ``options``: ``seed``, ``seeds``, ``columns``, ``flake``, ``size``, ``scale``,
        ``background``, ``resample``, ``damage``, as :meth:`render` takes them (the ``png`` format's defaults:
        scale 4, transparent)."""
        return still_images(self, [step], **options)[0]

    def stills(self, steps: Sequence[int], **options: Unpack[StillOptions]) -> Stills:
        """PIL RGBA images of the frames at ``steps`` (0 is the seed), from one rollout, in the order given: each the
        picture ``ncarender png --step S`` writes with the same ``options`` (:meth:`still`). Shown side by side in
        a notebook; ``np.asarray(image)`` is a uint8 ``(H, W, 4)`` array. Only the chosen frames are scaled."""
        return still_images(self, steps, **options)

    def tiled(
        self,
        spec: RenderSpec,
        background: Background,
        *,
        scale: int = 1,
        columns: int | None = None,
        timings: dict[str, float] | None = None,
    ) -> Iterator[tuple[int, np.ndarray]]:
        """``(step, frame)`` of ``spec`` over ``background``: frame uint8 ``(H, W, 4)``, one seed's, or several
        seeds' side by side in ``columns`` columns (default: square), left to right, top to bottom
        (:func:`~ncarender.writers.sheet.tile_frames`; empty cells take the background). A hex model's frames are
        its picture at ``scale``."""
        seeds = spec.seeds
        if not seeds:
            raise NCAError("nothing to render: no seeds")
        self.check_fits(len(seeds), spec.grid(self.grid))
        blank = to_rgba8(np.zeros((1, self.session.info.channels, 1, 1), np.float32), background)[0, 0, 0]
        for step, (rgba,) in self.composites(spec, [background], timings=timings, scales=[scale]):
            if len(seeds) == 1:
                yield step, rgba[0]
            else:
                from .writers.sheet import tile_frames

                yield step, tile_frames(rgba, columns, blank=blank)

    def write(
        self,
        path: str | Path,
        spec: RenderSpec,
        *,
        progress: Progress | None = None,
        columns: int | None = None,
    ) -> RenderResult:
        """Render ``spec`` (one output) to ``path``; what :meth:`render` and the command line call.

        One seed is one animation; several seeds (an animated format or a still) grow side by side in one
        animation, each frame the seeds' frames tiled in ``columns`` columns (:meth:`tiled`). A still (``png``)
        takes only the frame at the last step, so only that frame is scaled. The output is opened first, so a bad
        path or option, or an output too large, fails before the rollout.
        """
        path, output = Path(path), spec.output
        if not spec.seeds:
            raise NCAError("nothing to render: no seeds")
        still = output.record.consumes == "still"
        if still:  # the rollout is the same at every --every; convert only the seed frame and the last one
            spec = replace(spec, every=spec.steps)
        self.check_fits(len(spec.seeds), spec.grid(self.grid))
        tile = self.frame_grid(spec.grid(self.grid), output.options.scale)
        grid = tile
        if len(spec.seeds) > 1:
            from .writers.sheet import tile_grid

            if output.record.consumes not in ("frames", "still"):
                raise NCAError(f"{output.format} takes one seed; several seeds grow side by side in an animation")
            cols, rows = tile_grid(len(spec.seeds), columns)
            grid = (rows * tile[0], cols * tile[1])
        timings: dict[str, float] = {"startup": self.open_seconds}

        def frames() -> Iterator[np.ndarray]:
            scale = output.options.scale
            for step, frame in self.tiled(spec, output.background, scale=scale, columns=columns, timings=timings):
                if progress is not None:
                    progress(step, spec.steps)
                if not still or step == spec.steps:
                    yield frame

        summary = write_output(
            output.format,
            path,
            frames(),
            n_frames=1 if still else spec.n_frames,
            grid=grid,
            options=self.writer_output(output).options,
            threaded=output.record.streams,
            timings=timings,
            tile=tile,
        )
        if still:
            summary["step"] = spec.steps
        flakes = flakes_of(self.session.info, list(spec.seeds), spec.flake)
        single = len(spec.seeds) == 1
        return RenderResult(
            path=path,
            format=output.format,
            seed=spec.seeds[0],
            steps=spec.steps,
            summary=summary,
            device=self.device,
            timings=timings,
            flake=None if flakes is None else flakes[0],
            seeds=None if single else list(spec.seeds),
            flakes=None if flakes is None or single else flakes,
        )
