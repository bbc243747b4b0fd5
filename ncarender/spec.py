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
from .writers.formats import OutputSpec  # plain data: the format table sits below the spec

__all__ = ["DEFAULT_STEPS", "Damage", "RenderSpec", "frame_steps", "parse_damage", "parse_size"]

#: Steps of a render when none are given (every render command's ``--steps``).
DEFAULT_STEPS = 200


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


def frame_steps(steps: int, every: int) -> list[int]:
    """The steps at which frames are taken: 0, every ``every`` steps, and the last step."""
    out = list(range(0, steps + 1, every))
    if out[-1] != steps:
        out.append(steps)
    return out


@dataclass(frozen=True)
class RenderSpec:
    """What to render: ``seeds`` (each its own sample of the batch), ``steps``, a frame every ``every`` steps, the
    grid ``size`` ``(H, W)`` (None: the model's), the ``damage`` erased on the way, and the ``outputs`` to write
    (each a format, its background and writer options; none for a bare rollout).

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

    def __post_init__(self) -> None:
        if not is_whole(self.steps) or self.steps < 1:
            raise NCAError(f"--steps must be at least 1, got {self.steps}")
        if not is_whole(self.every) or self.every < 1:
            raise NCAError(f"--every must be at least 1, got {self.every}")
        seeds = tuple(self.seeds)
        if not all(is_whole(s) for s in seeds):
            raise NCAError(f"seeds must be whole numbers, got {list(seeds)!r}")
        if seeds and min(seeds) < 0:
            raise NCAError(f"seeds must be 0 or more, got {min(int(s) for s in seeds)}")
        object.__setattr__(self, "seeds", tuple(int(s) for s in seeds))
        object.__setattr__(self, "steps", int(self.steps))
        object.__setattr__(self, "every", int(self.every))
        if self.size is not None:
            if len(self.size) != 2 or not all(is_whole(side) for side in self.size):
                raise NCAError(f"grid must be two whole numbers (height, width), got {self.size!r}")
            height, width = int(self.size[0]), int(self.size[1])
            if height < 3 or width < 3:
                raise NCAError(f"grid {height}x{width} is too small (at least 3x3)")
            object.__setattr__(self, "size", (height, width))
        damage = tuple(self.damage)
        if not all(isinstance(d, Damage) for d in damage):
            raise NCAError("damage must be Damage(step, x, y, r) values (see parse_damage)")
        object.__setattr__(self, "damage", damage)
        if self.flake is not None:
            if not is_whole(self.flake) or self.flake < 0:
                raise NCAError(f"--flake must be a flake number, 0 or more, got {self.flake!r}")
            object.__setattr__(self, "flake", int(self.flake))
        outputs = tuple(self.outputs)
        if outputs:
            if not all(isinstance(o, OutputSpec) for o in outputs):
                raise NCAError("outputs must be OutputSpec values (see ncarender.writers.output_spec)")
            if len({o.format for o in outputs}) != len(outputs):
                raise NCAError("give each output format once")
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
        return frame_steps(self.steps, self.every)

    @property
    def n_frames(self) -> int:
        """Frames a rollout of this spec yields, the seed frame included."""
        return len(self.frame_steps)

    def grid(self, model_grid: tuple[int, int]) -> tuple[int, int]:
        """The grid ``(H, W)`` of this render for a model trained on ``model_grid``."""
        return self.size if self.size is not None else model_grid

    def with_seeds(self, seeds: Iterable[int]) -> RenderSpec:
        """The same render for other seeds (a chunk of a batch)."""
        return replace(self, seeds=tuple(seeds))

    def with_outputs(self, *outputs: OutputSpec) -> RenderSpec:
        """The same render written to other outputs."""
        return replace(self, outputs=outputs)
