"""``ncarender eval`` for a continuous family (``reiter:params:N``): every seed against the automaton's own crystal.

Seed ``s`` of such a model grows parameter draw ``s``, so its target is what
Reiter's automaton grows for those parameters (:mod:`ncarender.family.reiter`,
numpy). Seeds ``0..`` were training draws; seeds from ``training_draws`` on
are *held out*: parameters the model never saw. The stretch bar of issue 12
is the held-out median MSE at step 200. No torch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from ..errors import NCAError
from ..family.seed_maps import ParamsMap
from ..metadata import FamilyInfo
from ..runtime import NCASession, NonFiniteStateError, roll_out
from ..spec import RenderSpec
from .family import DISTINCT_SEEDS, FAMILY_BAR, FAMILY_FLOOR, _rgba_mse
from .growth import GrowthFigure, params_growth_figure
from .regrowth import RegrowthReport, regrowth
from .report import Judged

__all__ = ["PARAMS_BAR", "PARAMS_FLOOR", "ParamsReport", "evaluate_params", "format_params_report"]

#: The stretch bar (held-out parameters against the automaton's crystal) and the family bar's other measures.
PARAMS_BAR = {
    "held_out_mse_200_median": 5e-3,
    "distinct_min": FAMILY_BAR["distinct_min"],
    "regrowth_median": FAMILY_BAR["regrowth_median"],
    "regrowth_p90": FAMILY_BAR["regrowth_p90"],
    "growth_mean": FAMILY_BAR["growth_mean"],
    "growth_worst": FAMILY_BAR["growth_worst"],
}
#: The ship floor of a continuous family (issue 23): its own measures, held-out MSE against the automaton,
#: alive and finite; not distinctness (neighbouring draws are twins by design) nor regrowth.
PARAMS_FLOOR = {"held_out_mse_200_median": 5e-3, "growth_mean": FAMILY_FLOOR["growth_mean"]}
#: Held-out seeds the growth figure follows (the first of them).
GROWTH_SEEDS = 16


@dataclass
class ParamsReport(Judged):
    """What ``eval`` measures of a continuous family: MSE per seed and step, for training and held-out seeds."""

    model: str
    spec: str
    grid: tuple[int, int]
    steps: list[int]
    train_seeds: list[int]
    held_out_seeds: list[int]
    #: ``mse[step][i]``: seed ``train_seeds + held_out_seeds`` [i] against its own crystal.
    mse: dict[int, list[float]] = field(default_factory=dict)
    dead: dict[int, int] = field(default_factory=dict)
    #: Held-out seeds whose final frame is nearest their own crystal among all the held-out crystals.
    identity_held_out: int = 0
    non_finite: int | None = None
    distinct_min: float | None = None
    distinct_median: float | None = None
    regrowth: RegrowthReport | None = None
    #: Growth against each held-out seed's own automaton (the first :data:`GROWTH_SEEDS` held-out seeds).
    growth: GrowthFigure | None = None

    def figures(self, step: int, held_out: bool) -> dict[str, float]:
        """Median, 90th percentile and worst MSE at ``step`` over the training or the held-out seeds."""
        n = len(self.train_seeds)
        values = np.asarray(self.mse.get(step, [])[n:] if held_out else self.mse.get(step, [])[:n])
        if not values.size:
            return {"median": math.nan, "p90": math.nan, "worst": math.nan}
        return {
            "median": float(np.median(values)),
            "p90": float(np.percentile(values, 90)),
            "worst": float(values.max()),
        }

    bar: ClassVar[dict[str, float]] = PARAMS_BAR
    floor_bar: ClassVar[dict[str, float]] = PARAMS_FLOOR
    at_least: ClassVar[tuple[str, ...]] = ("distinct_min",)

    def body_lines(self) -> list[str]:
        return _body_lines(self)

    def body_json(self) -> dict[str, object]:
        return {
            "model": self.model,
            "family": self.spec,
            "continuous": True,
            "grid": list(self.grid),
            "train_seeds": self.train_seeds,
            "held_out_seeds": self.held_out_seeds,
            "mse": {str(s): v for s, v in self.mse.items()},
            "train": {str(s): self.figures(s, False) for s in self.steps},
            "held_out": {str(s): self.figures(s, True) for s in self.steps},
            "dead": {str(s): v for s, v in self.dead.items()},
            "identity_held_out": self.identity_held_out,
            "non_finite_at": self.non_finite,
            "distinct": {
                "seeds": list(range(DISTINCT_SEEDS)),
                "min": self.distinct_min,
                "median": self.distinct_median,
            },
            "regrowth": None if self.regrowth is None else self.regrowth.to_json(),
            "growth": None if self.growth is None else self.growth.to_json(),
        }


def _params_family(session: NCASession) -> tuple[FamilyInfo, ParamsMap]:
    """The continuous family of ``session``'s model and its seed map, or an :class:`NCAError`."""
    family = session.info.family
    if family is None or not isinstance(family.seed_map, ParamsMap):
        raise NCAError(f"{session.path} is not a continuous family model")
    return family, family.seed_map


def crystal_targets(session: NCASession, seeds: Sequence[int]) -> np.ndarray:
    """The automaton's crystal for each seed's parameter draw: ``(len(seeds), 4, S, S)`` premultiplied RGBA."""
    from ..family.crystal_image import crystal_target
    from ..family.family import parse_family_spec
    from ..family.reiter import family_domain, grow_crystals

    family, seed_map = _params_family(session)
    spec = parse_family_spec(family.spec)
    drawn = [seed_map.param_map.params(int(s)) for s in seeds]
    crystals = grow_crystals(drawn, domain=family_domain(spec.diameter))
    out = np.zeros((len(seeds), 4, spec.size, spec.size), dtype=np.float32)
    for i, crystal in enumerate(crystals):
        if crystal is None:
            raise NCAError(f"seed {seeds[i]}: the automaton grows no crystal for {drawn[i].label()}")
        out[i] = crystal_target(crystal, size=spec.size, diameter=spec.diameter)
    return out


def evaluate_params(
    session: NCASession,
    *,
    train_seeds: int = DISTINCT_SEEDS,
    held_out: int = 48,
    steps: Sequence[int] = (200, 1000),
    regrowth_samples: int = 24,
) -> ParamsReport:
    """Evaluate a continuous family: ``train_seeds`` training draws and ``held_out`` unseen ones, at ``steps``.

    Regrowth damages ``regrowth_samples`` of those seeds (training seeds first), one random disc each.
    """
    family, seed_map = _params_family(session)
    if session.info.lattice.name != "square":  # its square view needs each draw's crystal: not built yet
        raise NCAError(f"{session.path}: eval does not judge a continuous hex family yet (a discrete one: reiter:K)")
    wanted = sorted({int(s) for s in steps})
    if not wanted or wanted[0] < 1:
        raise NCAError("--steps must list positive step counts, such as 200,1000")
    if train_seeds < 1 or held_out < 2:
        raise NCAError("a continuous family needs at least 1 training seed and 2 held-out seeds to measure")
    first = seed_map.training_draws
    n_train = min(train_seeds, first)
    seeds = list(range(n_train)) + list(range(first, first + held_out))
    targets = crystal_targets(session, seeds)
    grid = (int(targets.shape[2]), int(targets.shape[3]))
    report = ParamsReport(str(session.path), family.spec, grid, wanted, seeds[:n_train], seeds[n_train:])
    threshold = session.info.alive_threshold
    spec = RenderSpec(seeds=tuple(seeds), steps=wanted[-1], every=math.gcd(*wanted), size=grid)
    own = np.arange(len(seeds))
    try:
        for step, state in roll_out(session, spec, include_seed_frame=False):
            if step not in wanted:
                continue
            to_all = _rgba_mse(state, targets)
            report.mse[step] = [float(v) for v in to_all[own, own]]
            report.dead[step] = int(((state[:, 3] > threshold).sum(axis=(1, 2)) == 0).sum())
            if step == (200 if 200 in wanted else wanted[-1]):
                final = state[: min(DISTINCT_SEEDS, n_train)]
                upper = _rgba_mse(final, final[:, :4])[np.triu_indices(len(final), 1)]
                if upper.size:
                    report.distinct_min, report.distinct_median = float(upper.min()), float(np.median(upper))
            if step == wanted[-1]:
                held = to_all[n_train:, n_train:]
                report.identity_held_out = int((np.argmin(held, axis=1) == np.arange(len(held))).sum())
    except NonFiniteStateError as exc:
        report.non_finite = exc.step
    if report.non_finite is None:
        report.growth = params_growth_figure(session, report.held_out_seeds[:GROWTH_SEEDS])
    if regrowth_samples > 0:  # training seeds first, then held-out ones
        index = {s: i for i, s in enumerate(seeds)}
        report.regrowth = regrowth(session, seeds[:regrowth_samples], lambda s: targets[index[s]], grid)
    _judge(report)
    return report


def _judge(report: ParamsReport) -> None:
    """The goal's checks (:data:`PARAMS_BAR`) and the ship floor's (:data:`PARAMS_FLOOR`), with their figures."""
    checks, floor, values = report.checks, report.floor, report.values
    if report.non_finite is not None:
        checks["finite"] = floor["finite"] = False
        report.judge(report.non_finite)
        return
    if 200 in report.steps:
        values["held_out_mse_200_median"] = median = report.figures(200, True)["median"]
        checks["held_out_mse_200_median"] = median <= PARAMS_BAR["held_out_mse_200_median"]
        floor["held_out_mse_200_median"] = median <= PARAMS_FLOOR["held_out_mse_200_median"]
    checks["alive"] = floor["alive"] = all(v == 0 for v in report.dead.values())
    floor["finite"] = True
    if report.distinct_min is not None:
        values["distinct_min"] = report.distinct_min
        checks["distinct_min"] = report.distinct_min >= PARAMS_BAR["distinct_min"]
    if report.regrowth is not None:
        values["regrowth_median"], values["regrowth_p90"] = report.regrowth.median, report.regrowth.p90
        checks.update(report.regrowth.checks())
    if report.growth is not None:
        values["growth_mean"], values["growth_worst"] = report.growth.mean, report.growth.worst
        checks["growth_mean"] = report.growth.mean <= PARAMS_BAR["growth_mean"]
        checks["growth_worst"] = report.growth.worst <= PARAMS_BAR["growth_worst"]
        if report.growth.declared:
            floor["growth_mean"] = report.growth.mean <= PARAMS_FLOOR["growth_mean"]
    report.judge(report.non_finite)


def format_params_report(report: ParamsReport) -> str:
    """The human summary printed on stderr."""
    return report.format()


def _body_lines(report: ParamsReport) -> list[str]:
    lines = [
        f"model {report.model}: continuous family {report.spec} on a {report.grid[0]}x{report.grid[1]} grid; "
        f"{len(report.train_seeds)} training seeds, {len(report.held_out_seeds)} held-out seeds "
        f"({report.held_out_seeds[0]}-{report.held_out_seeds[-1]}: parameters never trained on)",
        f"{'MSE vs the automaton':<24}  {'median':>9}  {'p90':>9}  {'worst':>9}",
    ]
    for step in report.steps:
        for held in (False, True):
            fig = report.figures(step, held)
            name = f"{'held-out' if held else 'training'} @{step}"
            lines.append(f"{name:<24}  {fig['median']:>9.3e}  {fig['p90']:>9.3e}  {fig['worst']:>9.3e}")
    lines.append(
        f"held-out identity: {report.identity_held_out} of {len(report.held_out_seeds)} final frames are "
        "nearest their own crystal among the held-out crystals"
    )
    if report.distinct_min is not None:
        lines.append(
            f"distinctness, seeds 0-{min(DISTINCT_SEEDS, len(report.train_seeds)) - 1}: pairwise MSE "
            f"min {report.distinct_min:.3e}, median {report.distinct_median:.3e}"
        )
    if report.regrowth is not None:
        lines.append(report.regrowth.summary())
    if report.growth is not None:
        lines.append("held-out seeds " + report.growth.summary())
    for step, dead in report.dead.items():
        if dead:
            lines.append(f"{dead} seeds dead at step {step}")
    if report.non_finite is not None:
        lines.append(f"non-finite state at step {report.non_finite}")
    return lines
