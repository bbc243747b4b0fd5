"""``ncarender eval``: how close a model grows to its target, whether it stays there, and regeneration.

No torch: the model runs in onnxruntime exactly as a render does (same seeds,
same masks), so the figures describe what users will see.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from ..errors import NCAError
from ..runtime import NCASession, NonFiniteStateError, open_model, roll_out
from ..spec import Damage, RenderSpec
from .regrowth import REGROWTH_BAR, RegrowthReport, regrowth
from .report import Judged, tail_lines

__all__ = ["BAR", "EvalReport", "evaluate", "format_report"]

#: The quality bar of the shipped model: MSE at step 200, at step 1000, and 100 steps after damage.
BAR = {"mse_200": 1.0e-3, "mse_1000": 1.5e-3, "regen": 5.0e-3}
#: The steps ``ncarender eval`` measures at by default.
DEFAULT_EVAL_STEPS = (100, 200, 500, 1000)
#: The regeneration test: after 100 steps erase a disc of radius 0.3 centred off-centre, grow 100 more.
REGEN_DAMAGE = Damage(step=100, x=0.3, y=-0.2, r=0.3)
REGEN_STEPS = 200


@dataclass
class EvalReport(Judged):
    """Per-step MSE (mean and worst over seeds), live cells, finiteness, regeneration and the bar."""

    model: str
    seeds: list[int]
    grid: tuple[int, int]
    mse: dict[int, float] = field(default_factory=dict)
    mse_worst: dict[int, float] = field(default_factory=dict)
    live_cells: dict[int, float] = field(default_factory=dict)
    non_finite: int | None = None  # first step at which some state went NaN/inf
    regen_mse: float | None = None
    regrowth: RegrowthReport | None = None

    bar: ClassVar[dict[str, float]] = {**BAR, **REGROWTH_BAR}
    limit_format: ClassVar[str] = ".1e"

    def body_lines(self) -> list[str]:
        return _body_lines(self)

    def body_json(self) -> dict[str, object]:
        return {
            "model": self.model,
            "seeds": self.seeds,
            "grid": list(self.grid),
            "mse": {str(k): v for k, v in self.mse.items()},
            "mse_worst": {str(k): v for k, v in self.mse_worst.items()},
            "live_cells": {str(k): v for k, v in self.live_cells.items()},
            "non_finite_at": self.non_finite,
            "regen_mse": self.regen_mse,
            "regrowth": None if self.regrowth is None else self.regrowth.to_json(),
        }


def _mse(states: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per-seed MSE of premultiplied RGBA: ``states`` ``(N, C, H, W)``, ``target`` ``(4, H, W)`` -> ``(N,)``."""
    diff = states[:, :4] - target[None]
    return np.asarray((diff * diff).mean(axis=(1, 2, 3)), dtype=np.float64)


def _alive_count(states: np.ndarray, threshold: float) -> np.ndarray:
    """Cells with alpha above the threshold, per seed ``(N,)``."""
    return np.asarray((states[:, 3] > threshold).sum(axis=(1, 2)), dtype=np.float64)


def evaluate(
    model: str | Path | NCASession | None,
    *,
    target: np.ndarray | None = None,
    seeds: Sequence[int] = tuple(range(16)),
    steps: Sequence[int] = DEFAULT_EVAL_STEPS,
    regen: bool = True,
    provider: str = "auto",
    regrowth_samples: int = 0,
) -> EvalReport:
    """Evaluate ``model`` from the seed over ``seeds``; ``target`` ``(4, H, W)`` defaults to the metadata's.

    The bar (:data:`BAR`) is checked for the steps it names that were run; with ``regrowth_samples`` > 0
    also regrowth over that many random discs (:mod:`ncarender.evaluate.regrowth`, seeds 0, 1, ...).
    """
    session = model if isinstance(model, NCASession) else open_model(model, provider=provider, quiet=True)
    if session.info.lattice.name != "square":  # judged in the square view, which a family's crystals define
        raise NCAError(f"{session.path}: eval judges hex models that grow a Reiter family (reiter:K), not one target")
    if target is None:
        target = session.info.target()
        if target is None:
            raise NCAError(f"{session.path} stores no target image; pass --target IMAGE")
    grid = (int(target.shape[1]), int(target.shape[2]))
    wanted = sorted({int(s) for s in steps})
    if not wanted or wanted[0] < 1:
        raise NCAError("--steps must list positive step counts, such as 100,200,500,1000")
    if not seeds:
        raise NCAError("no seeds to evaluate")
    every = math.gcd(*wanted)
    report = EvalReport(model=str(session.path), seeds=[int(s) for s in seeds], grid=grid)
    threshold = session.info.alive_threshold
    try:
        spec = RenderSpec(seeds=tuple(seeds), steps=wanted[-1], every=every, size=grid)
        for step, state in roll_out(session, spec, include_seed_frame=False):
            if step in wanted:
                mse = _mse(state, target)
                report.mse[step] = float(mse.mean())
                report.mse_worst[step] = float(mse.max())
                report.live_cells[step] = float(_alive_count(state, threshold).mean())
    except NonFiniteStateError as exc:
        report.non_finite = exc.step
        for step in wanted:
            if step >= exc.step:
                report.mse[step] = report.mse_worst[step] = math.inf
    if regen:
        try:
            regrow = RenderSpec(
                seeds=tuple(seeds), steps=REGEN_STEPS, every=REGEN_STEPS, size=grid, damage=(REGEN_DAMAGE,)
            )
            *_, (_, final) = roll_out(session, regrow, include_seed_frame=False)
            report.regen_mse = float(_mse(final, target).mean())
        except NonFiniteStateError:
            report.regen_mse = math.inf
    if regrowth_samples > 0:
        report.regrowth = regrowth(session, range(regrowth_samples), lambda _: target, grid)
    _judge(report, target)
    return report


def _judge(report: EvalReport, target: np.ndarray) -> None:
    if 200 in report.mse:
        report.checks["mse_200"] = report.mse[200] <= BAR["mse_200"]
    if 1000 in report.mse:
        report.checks["mse_1000"] = report.mse[1000] <= BAR["mse_1000"] and report.non_finite is None
    if report.non_finite is not None:
        report.checks["finite"] = False
    if report.regen_mse is not None:
        report.checks["regen"] = report.regen_mse <= BAR["regen"]
    if report.regrowth is not None:
        report.checks.update(report.regrowth.checks())
    last = max(report.mse) if report.mse else None
    empty = float((target[:4] ** 2).mean())
    if report.non_finite is not None:
        report.verdict = f"explodes: the state went non-finite at step {report.non_finite}"
    elif last is not None and report.live_cells.get(last, 1.0) == 0:
        report.verdict = f"dies: no live cells at step {last}"
    elif last is not None and report.mse[last] > empty:
        report.verdict = "diverges: further from the target than an empty grid"
    else:
        report.verdict = "meets the bar" if report.passed else "below the bar"


def format_report(report: EvalReport) -> str:
    """The human table printed on stderr."""
    return report.format()


def _body_lines(report: EvalReport) -> list[str]:
    lines = [f"model {report.model}: {len(report.seeds)} seeds on a {report.grid[0]}x{report.grid[1]} grid"]
    lines.append(f"{'step':>6}  {'MSE mean':>10}  {'MSE worst':>10}  {'live cells':>10}")
    for step in sorted(report.mse):
        live = report.live_cells.get(step)
        lines.append(
            f"{step:>6}  {report.mse[step]:>10.3e}  {report.mse_worst[step]:>10.3e}  "
            f"{'-' if live is None else f'{live:10.1f}':>10}"
        )
    if report.regen_mse is not None:
        d = REGEN_DAMAGE
        lines.append(
            f"regeneration (disc r={d.r} at ({d.x},{d.y}) after {d.step} steps, {REGEN_STEPS - d.step} more): "
            f"MSE {report.regen_mse:.3e}"
        )
    return lines + tail_lines(report.regrowth, report.non_finite)
