"""The one entry point of ``eval``: the evaluator for a model, picked from its metadata.

A model that grows one target is judged against it (:mod:`.target`); a family model by the evaluator of its
seed map's kind (:mod:`.family` for ``cycle``, :mod:`.params` for ``reiter-params``). The CLI and scripts call
:func:`evaluate_model` only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..errors import NCAError
from ..family.seed_maps import SEED_MAP_CYCLE, SEED_MAP_ONE_TARGET, SEED_MAP_PARAMS
from ..runtime import NCASession
from .report import Judged

__all__ = ["EVALUATORS", "EvalOptions", "evaluate_model"]


@dataclass(frozen=True)
class EvalOptions:
    """What ``eval`` was asked; None means the evaluator's default.

    ``target``/``target_size``: another target image for a one-target model; ``num_seeds``: seeds (one
    target), mask seeds per flake (a family) or held-out seeds (a continuous family); ``steps`` to measure at;
    ``regen``: the one-target regeneration test; ``regrowth``: random discs for the regrowth figures.
    """

    target: str | None = None
    target_size: int = 40
    num_seeds: int | None = None
    steps: Sequence[int] | None = None
    regen: bool = True
    regrowth: int | None = None


def _one_target(session: NCASession, options: EvalOptions) -> Judged:
    from .target import DEFAULT_EVAL_STEPS, evaluate

    tgt = None
    if options.target is not None:
        from ..family.targets import load_target

        grid = min(session.info.grid)
        if options.target_size > grid:
            raise NCAError(f"--target-size {options.target_size} does not fit the model's {grid}-cell grid")
        tgt = load_target(options.target, size=options.target_size, pad=(grid - options.target_size) // 2)
    return evaluate(
        session,
        target=tgt,
        seeds=range(options.num_seeds or 16),
        steps=options.steps or DEFAULT_EVAL_STEPS,
        regen=options.regen,
        regrowth_samples=24 if options.regrowth is None else options.regrowth,
    )


def _cycle(session: NCASession, options: EvalOptions) -> Judged:
    from .family import DEFAULT_STEPS, evaluate_family

    steps = DEFAULT_STEPS if options.steps is None else options.steps
    return evaluate_family(session, mask_seeds=options.num_seeds or 4, steps=steps, regrowth_samples=options.regrowth)


def _params(session: NCASession, options: EvalOptions) -> Judged:
    from .family import DEFAULT_STEPS
    from .params import evaluate_params

    return evaluate_params(
        session,
        held_out=options.num_seeds or 48,
        steps=DEFAULT_STEPS if options.steps is None else options.steps,
        regrowth_samples=24 if options.regrowth is None else options.regrowth,
    )


#: The evaluator of each kind of seed map (a one-target model's included), by the map's name.
EVALUATORS: dict[str, Callable[[NCASession, EvalOptions], Judged]] = {
    SEED_MAP_ONE_TARGET: _one_target,
    SEED_MAP_CYCLE: _cycle,
    SEED_MAP_PARAMS: _params,
}


def evaluate_model(session: NCASession, options: EvalOptions | None = None) -> Judged:
    """Measure the model of ``session`` with the evaluator its metadata calls for; the report says if it passed."""
    options = options or EvalOptions()
    seeding = session.info.seeding
    if options.target is not None and seeding.names_flakes:
        raise NCAError("--target does not apply to a family model: each flake is judged by its own target")
    return EVALUATORS[seeding.seed_map.kind](session, options)
