"""A render's plan, decided once from the spec and the model: :func:`plan_render`.

What a render asks of the model is decided here, before anything rolls out, and then travels with it:

* per output (:class:`OutputPlan`): the frames' grid, the output as its writer takes it (a hex model's frames
  are its picture at the scale already, so its writer scales by 1) and the look its frames are converted in
  (background, and the scale of a hex model's picture);
* per seed (:class:`SeedPlan`): the flake it grows and, for a continuous family, that flake's parameters.

:meth:`Renderer.write <ncarender.api.Renderer.write>`, the batch and the gallery take a plan; none of them asks
the renderer or its session again on the way. numpy only (no onnxruntime): it reads the model's metadata.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .metadata import ModelInfo
from .render import Background
from .spec import RenderSpec
from .writers.formats import OutputSpec

__all__ = ["Look", "OutputPlan", "RenderPlan", "SeedPlan", "plan_render"]


@dataclass(frozen=True)
class Look:
    """What an output's frames depend on: the ``background`` they are composited over and the ``scale`` at which
    a hex model's picture is drawn (1 for a square model, whose frames are its cells whatever the scale)."""

    background: Background
    scale: int


@dataclass(frozen=True)
class OutputPlan:
    """One output's view: ``output`` as asked (what a manifest describes), ``writes`` as its writer takes it,
    ``frame_grid`` ``(H, W)`` of one seed's frames, and their ``look``."""

    output: OutputSpec
    writes: OutputSpec
    frame_grid: tuple[int, int]
    look: Look

    @property
    def format(self) -> str:
        """The output's format name."""
        return self.output.format


@dataclass(frozen=True)
class SeedPlan:
    """One seed: the training ``flake`` it grows (None for a one-target model, which names none) and, for a
    continuous family, that flake's generator ``params``."""

    seed: int
    flake: int | None = None
    params: dict[str, float] | None = None


@dataclass(frozen=True)
class RenderPlan:
    """A render decided: its ``spec``, the rollout ``grid`` ``(H, W)``, one :class:`OutputPlan` per output of the
    spec (in its order) and one :class:`SeedPlan` per seed (in its order)."""

    spec: RenderSpec
    grid: tuple[int, int]
    outputs: tuple[OutputPlan, ...]
    seeds: tuple[SeedPlan, ...]

    @property
    def output(self) -> OutputPlan:
        """The one output of a single render."""
        if len(self.outputs) != 1:
            raise ValueError(f"a single render has one output, this plan has {len(self.outputs)}")
        return self.outputs[0]

    @property
    def looks(self) -> list[Look]:
        """The outputs' looks, each once, in the outputs' order: one conversion each per rollout."""
        return list(dict.fromkeys(o.look for o in self.outputs))

    @property
    def flakes(self) -> list[int] | None:
        """The flake of each seed, or None for a model that names none (one target)."""
        if not self.seeds or self.seeds[0].flake is None:
            return None
        return [int(s.flake) for s in self.seeds if s.flake is not None]

    def by_seed(self) -> dict[int, SeedPlan]:
        """Each seed's plan by its number."""
        return {s.seed: s for s in self.seeds}


def _output_plan(info: ModelInfo, grid: tuple[int, int], output: OutputSpec) -> OutputPlan:
    scale = output.options.scale
    writes_at = info.lattice.writer_scale(scale)
    writes = output if writes_at == scale else replace(output, options=replace(output.options, scale=writes_at))
    look = Look(output.background, scale if writes is not output else 1)
    return OutputPlan(output, writes, info.lattice.frame_grid(grid, scale), look)


def plan_render(spec: RenderSpec, info: ModelInfo) -> RenderPlan:
    """Decide ``spec`` for the model ``info`` describes: every output's view and every seed's flake.

    A ``spec.flake`` the model cannot grow is refused here (one :class:`~ncarender.errors.NCAError` line).
    """
    grid = spec.grid(info.grid)
    seeding = info.seeding
    seeding.check_flake(spec.flake)
    seeds = []
    for seed in spec.seeds:
        if not seeding.names_flakes:
            seeds.append(SeedPlan(seed))
            continue
        flake = spec.flake if spec.flake is not None else seeding.flake_of_seed(seed)
        seeds.append(SeedPlan(seed, flake, seeding.seed_map.params_of_flake(flake)))
    outputs = tuple(_output_plan(info, grid, o) for o in spec.outputs)
    return RenderPlan(spec, grid, outputs, tuple(seeds))
