"""The Python API that the command line also uses: :class:`Renderer`.

>>> from ncarender import Renderer
>>> Renderer().render("snowflake.gif", seed=0, steps=200)  # doctest: +SKIP

No torch: the model is an ONNX step run by onnxruntime (see :mod:`ncarender.runtime`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import NCAError
from .render import Background, parse_background, to_rgba8
from .runtime import NCASession, open_model
from .spec import Damage, RenderSpec
from .writers import WriterOptions, write_output

__all__ = ["EXTENSIONS", "STREAMING_FORMATS", "RenderResult", "Renderer", "frame_steps", "parse_size"]

#: The file extension each format writes (``frames`` writes a folder).
EXTENSIONS = {"gif": ".gif", "mp4": ".mp4", "sheet": ".png", "frames": ""}
#: Formats whose writer works on each frame as it comes, so it runs on its own thread beside the rollout
#: (GIF marks each frame's colours there, see ncarender.writers).
STREAMING_FORMATS = ("gif", "mp4", "frames")

#: Progress callback: ``(steps_done, steps_total)``.
Progress = Callable[[int, int], None]


def frame_steps(steps: int, every: int) -> list[int]:
    """The steps at which frames are taken: 0, every ``every`` steps, and the last step."""
    out = list(range(0, steps + 1, every))
    if out[-1] != steps:
        out.append(steps)
    return out


def parse_size(text: str | int | None) -> tuple[int, int] | None:
    """``72`` or ``96x128`` (H x W) -> ``(H, W)``; None stays None."""
    if text is None:
        return None
    if isinstance(text, int):
        h = w = text
    else:
        parts = text.lower().split("x")
        try:
            if len(parts) == 1:
                h = w = int(parts[0])
            elif len(parts) == 2:
                h, w = int(parts[0]), int(parts[1])
            else:
                raise ValueError
        except ValueError:
            raise NCAError(f"--size {text!r}: expected N or HxW, such as 72 or 96x128") from None
    if h < 3 or w < 3:
        raise NCAError(f"--size {text!r}: the grid must be at least 3x3")
    return (h, w)


@dataclass
class RenderResult:
    """What :meth:`Renderer.render` wrote: the writer's summary plus timings in seconds."""

    path: Path
    format: str
    seed: int
    steps: int
    summary: dict[str, object]
    provider: str
    timings: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (the CLI's ``--json`` output)."""
        out = dict(self.summary)
        out.update(
            path=str(self.path),
            format=self.format,
            seed=self.seed,
            steps=self.steps,
            provider=self.provider,
            seconds={k: round(v, 4) for k, v in self.timings.items()},
        )
        return out


class Renderer:
    """Render a single-step ONNX NCA model (default: the shipped snowflake).

    ``provider`` is ``auto`` (CUDA when onnxruntime offers it), ``cpu`` or ``cuda``.
    """

    def __init__(self, model: str | Path | None = None, *, provider: str = "auto", quiet: bool = False) -> None:
        t0 = time.perf_counter()
        self.session: NCASession = open_model(model, provider=provider, quiet=quiet)
        self.open_seconds = time.perf_counter() - t0

    @property
    def provider(self) -> str:
        """``cpu`` or ``cuda``: what onnxruntime actually runs."""
        return self.session.device

    @property
    def grid(self) -> tuple[int, int]:
        """The grid the model was trained on ``(H, W)``."""
        return self.session.info.grid

    def frames(
        self,
        seeds: Sequence[int],
        *,
        steps: int = 200,
        size: tuple[int, int] | None = None,
        every: int = 1,
        background: Background | str = "white",
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
        while the others go on (see :meth:`NCASession.states`).
        """
        bg = parse_background(background) if isinstance(background, str) else background
        for step, (rgba,) in self.composites(
            seeds, [bg], steps=steps, size=size, every=every, damage=damage, timings=timings, failed=failed
        ):
            yield step, rgba

    def composites(
        self,
        seeds: Sequence[int],
        backgrounds: Sequence[Background],
        *,
        steps: int = 200,
        size: tuple[int, int] | None = None,
        every: int = 1,
        damage: Sequence[Damage] = (),
        timings: dict[str, float] | None = None,
        failed: dict[int, int] | None = None,
    ) -> Iterator[tuple[int, list[np.ndarray]]]:
        """:meth:`frames` over several backgrounds from one rollout: ``(step, [uint8 (N, H, W, 4) per background])``."""
        t = timings if timings is not None else {}
        t.setdefault("rollout", 0.0)
        t.setdefault("convert", 0.0)
        spec = RenderSpec(seeds=tuple(seeds), steps=steps, every=every, size=size, damage=tuple(damage))
        it = self.session.states(spec, failed=failed)
        while True:
            t0 = time.perf_counter()
            try:
                step, state = next(it)
            except StopIteration:
                t["rollout"] += time.perf_counter() - t0
                return
            t1 = time.perf_counter()
            converted = [to_rgba8(state, bg) for bg in backgrounds]
            t["rollout"] += t1 - t0
            t["convert"] += time.perf_counter() - t1
            yield step, converted

    def rollout(
        self,
        seeds: Sequence[int],
        *,
        steps: int = 200,
        size: tuple[int, int] | None = None,
        every: int = 1,
        background: Background | str = "white",
        damage: Sequence[Damage] = (),
    ) -> np.ndarray:
        """All frames at once: uint8 ``(F, N, H, W, 4)`` (F = len(frame_steps(steps, every)))."""
        return np.stack(
            [
                f
                for _, f in self.frames(
                    seeds, steps=steps, size=size, every=every, background=background, damage=damage
                )
            ]
        )

    def render(
        self,
        path: str | Path,
        *,
        fmt: str | None = None,
        seed: int = 0,
        steps: int = 200,
        size: tuple[int, int] | None = None,
        every: int = 1,
        background: Background | str = "white",
        damage: Sequence[Damage] = (),
        options: WriterOptions | None = None,
        progress: Progress | None = None,
    ) -> RenderResult:
        """Render one seed to ``path`` as ``fmt`` (default: from the extension; a folder means ``frames``).

        The file appears only when complete; an existing file is replaced only then.
        """
        path = Path(path)
        fmt = fmt or format_from_path(path)
        options = options or WriterOptions()
        bg = parse_background(background) if isinstance(background, str) else background
        if options.transparent != (bg is None):
            options = _replace_transparent(options, bg is None)
        grid = size or self.grid
        if steps < 1:
            raise NCAError(f"--steps must be at least 1, got {steps}")
        if every < 1:
            raise NCAError(f"--every must be at least 1, got {every}")
        self.session.check_grid(1, *grid)
        shots = frame_steps(steps, every)
        timings: dict[str, float] = {"startup": self.open_seconds}

        def frames() -> Iterator[np.ndarray]:
            for step, rgba in self.frames(
                [seed], steps=steps, size=grid, every=every, background=bg, damage=damage, timings=timings
            ):
                yield rgba[0]
                if progress is not None:
                    progress(step, steps)

        summary = write_output(
            fmt,
            path,
            frames(),
            n_frames=len(shots),
            grid=grid,
            options=options,
            threaded=fmt in STREAMING_FORMATS,
            timings=timings,
        )
        return RenderResult(
            path=path, format=fmt, seed=seed, steps=steps, summary=summary, provider=self.provider, timings=timings
        )


def _replace_transparent(options: WriterOptions, transparent: bool) -> WriterOptions:
    from dataclasses import replace

    return replace(options, transparent=transparent)


def format_from_path(path: Path) -> str:
    """Guess the format from ``path``: .gif, .mp4, .png (sheet) or no suffix (frames folder)."""
    suffix = path.suffix.lower()
    for fmt, ext in EXTENSIONS.items():
        if ext and suffix == ext:
            return fmt
    if not suffix:
        return "frames"
    raise NCAError(f"cannot tell the format of {str(path)!r}; use .gif, .mp4, .png or a folder")
