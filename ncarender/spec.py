"""One description of a render: :class:`RenderSpec`, validated once, read by the rollout, the writers and the batch.

The command line builds one from its options; :class:`~ncarender.api.Renderer`, :func:`~ncarender.batch.render_batch`
and the gallery build one from their keywords; the rollout (:func:`~ncarender.runtime.rollout.roll_out`) runs it.
No torch, no onnxruntime.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from .checks import is_whole
from .damage import Damage, parse_damage
from .errors import NCAError
from .limits import GRID_SIDE, RENDER, Limit, check_timing
from .writers.formats import OutputSpec  # plain data: the format table sits below the spec

__all__ = [
    "DEFAULT_STEPS",
    "Damage",
    "RenderSpec",
    "default_steps",
    "frame_steps",
    "growth_hold",
    "parse_damage",
    "parse_size",
]

#: Every seed of a render (``--seed``, ``--seeds``, the API's ``seeds``).
SEED = Limit("seeds", 0, RENDER["seed"].high)

#: Steps of a render when none are given and the model declares no growth time (every render command's ``--steps``).
DEFAULT_STEPS = 200


def growth_hold(growth_steps: int) -> int:
    """Steps a render runs past a model's growth time ``T`` when no ``--steps`` are given: ``ceil(T / 4)``, at least 1.

    The flake settles into its finished shape there (the model learned the end state at 64-96 steps, the growth
    up to ``T``); at 20 fps and ``T = 64`` that is 16 frames, 0.8 s, before the writer's own ``--hold``.
    """
    return max(1, -(-growth_steps // 4))


def default_steps(growth_steps: int | None) -> int:
    """A render's steps when none are given: the model's growth time ``T`` plus :func:`growth_hold` (``T = 64``:
    80), or :data:`DEFAULT_STEPS` for a model that declares no growth time."""
    if growth_steps is None:
        return DEFAULT_STEPS
    return growth_steps + growth_hold(growth_steps)


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
    GRID_SIDE.check(max(h, w))
    return (h, w)


def frame_steps(steps: int, every: int, start: int = 0) -> list[int]:
    """The steps at which frames are taken: ``start`` (default 0, the seed), every ``every`` steps from there, and
    the last step. The steps before ``start`` still run; their frames are not taken."""
    out = list(range(start, steps + 1, every))
    if out[-1] != steps:
        out.append(steps)
    return out


@dataclass(frozen=True)
class RenderSpec:
    """What to render: ``seeds`` (each its own sample of the batch), ``steps``, a frame every ``every`` steps from
    step ``start`` (the frames before it are not taken), the grid ``size`` ``(H, W)`` (None: the model's), the
    ``damage`` erased on the way, and the ``outputs`` to write (each a format, its background and writer options;
    none for a bare rollout).

    Invalid values raise :class:`NCAError` on construction, with the command line's wording; sequences become
    tuples and NumPy integers plain ints, so a spec compares, hashes and pickles as plain data. An empty ``seeds``
    is allowed here (a batch may have nothing left to do); a rollout refuses one.
    """

    seeds: tuple[int, ...] = (0,)
    steps: int = DEFAULT_STEPS
    every: int = 1
    size: tuple[int, int] | None = None
    damage: tuple[Damage, ...] = field(default=())
    outputs: tuple[OutputSpec, ...] = field(default=())
    #: A family model: grow this training flake from every seed (None: each seed picks its own flake).
    flake: int | None = None
    #: The first step whose frame is taken (``--start``): 0, the seed, up to ``steps``.
    start: int = 0

    def __post_init__(self) -> None:
        RENDER["steps"].check(self.steps)
        RENDER["every"].check(self.every)
        seeds = tuple(self.seeds)
        if not all(is_whole(s) for s in seeds):
            raise NCAError(f"seeds must be whole numbers, got {list(seeds)!r}")
        for seed in (min(seeds), max(seeds)) if seeds else ():
            SEED.check(seed)
        object.__setattr__(self, "seeds", tuple(int(s) for s in seeds))
        object.__setattr__(self, "steps", int(self.steps))
        object.__setattr__(self, "every", int(self.every))
        RENDER["start"].check(self.start)
        if self.start > self.steps:
            raise NCAError(f"--start {self.start} is past the last step ({self.steps}); the render would have no frame")
        object.__setattr__(self, "start", int(self.start))
        if self.size is not None:
            if len(self.size) != 2 or not all(is_whole(side) for side in self.size):
                raise NCAError(f"grid must be two whole numbers (height, width), got {self.size!r}")
            height, width = int(self.size[0]), int(self.size[1])
            if height < 3 or width < 3:
                raise NCAError(f"grid {height}x{width} is too small (at least 3x3)")
            GRID_SIDE.check(max(height, width))
            object.__setattr__(self, "size", (height, width))
        damage = tuple(self.damage)
        if not all(isinstance(d, Damage) for d in damage):
            raise NCAError("damage must be Damage(step, x, y, r) values (see parse_damage)")
        object.__setattr__(self, "damage", damage)
        if self.flake is not None:
            RENDER["flake"].check(self.flake)
            object.__setattr__(self, "flake", int(self.flake))
        outputs = tuple(self.outputs)
        if outputs:
            if not all(isinstance(o, OutputSpec) for o in outputs):
                raise NCAError("outputs must be OutputSpec values (see ncarender.writers.output_spec)")
            if len({o.format for o in outputs}) != len(outputs):
                raise NCAError("give each output format once")
            for output in outputs:  # the whole animation, now that its frames are known
                check_timing(output.record, output.options.fps, output.options.hold, self.n_frames)
        object.__setattr__(self, "outputs", outputs)

    @property
    def seed(self) -> int:
        """The one seed of a single render."""
        if len(self.seeds) != 1:
            raise ValueError(f"a single render has one seed, this spec has {len(self.seeds)}")
        return self.seeds[0]

    @property
    def output(self) -> OutputSpec:
        """The one output of a single render."""
        if len(self.outputs) != 1:
            raise ValueError(f"a single render has one output, this spec has {len(self.outputs)}")
        return self.outputs[0]

    @property
    def frame_steps(self) -> list[int]:
        """The steps at which frames are taken (:func:`frame_steps`)."""
        return frame_steps(self.steps, self.every, self.start)

    @property
    def n_frames(self) -> int:
        """Frames a rollout of this spec yields from ``start`` (``len(frame_steps)``, counted, not listed)."""
        span = self.steps - self.start
        return span // self.every + 1 + (1 if span % self.every else 0)

    def grid(self, model_grid: tuple[int, int]) -> tuple[int, int]:
        """The grid ``(H, W)`` of this render for a model trained on ``model_grid``."""
        return self.size if self.size is not None else model_grid

    def with_seeds(self, seeds: Iterable[int]) -> RenderSpec:
        """The same render for other seeds (a chunk of a batch)."""
        return replace(self, seeds=tuple(seeds))

    def with_outputs(self, *outputs: OutputSpec) -> RenderSpec:
        """The same render written to other outputs."""
        return replace(self, outputs=outputs)
