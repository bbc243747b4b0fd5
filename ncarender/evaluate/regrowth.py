"""Regrowth over a distribution of damage (Distill's): how reliably a model repairs itself, not one lucky disc.

Each sample grows a seed for :data:`GROW_STEPS` steps, loses a disc whose
centre is uniform in the middle half of the grid and whose radius is uniform
in 0.1-0.4 (grid units -1..1, as in training), grows :data:`AFTER_STEPS` more
and is compared with its own target. The discs come from a fixed generator,
so the figures repeat. No torch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..runtime import NCASession, NonFiniteStateError, roll_out
from ..spec import Damage, RenderSpec

__all__ = ["AFTER_STEPS", "GROW_STEPS", "REGROWTH_BAR", "RegrowthReport", "damage_distribution", "regrowth"]

GROW_STEPS = 200
AFTER_STEPS = 200
#: The bar: median and 90th percentile of the MSE 200 steps after the damage.
REGROWTH_BAR = {"regrowth_median": 2e-3, "regrowth_p90": 1e-2}
_DISC_SEED = 20200211  # the Distill article's date: any fixed number would do


def damage_distribution(n: int, *, step: int = GROW_STEPS, seed: int = _DISC_SEED) -> list[Damage]:
    """``n`` discs: centre uniform in [-0.5, 0.5]^2, radius uniform in [0.1, 0.4], erased after ``step`` steps."""
    rng = np.random.default_rng(seed)
    draws = rng.random((n, 3))
    return [Damage(step, float(x - 0.5), float(y - 0.5), float(0.1 + 0.3 * r)) for x, y, r in draws]


@dataclass
class RegrowthReport:
    """MSE of each sample 200 steps after its damage, and their median, 90th percentile, mean and worst."""

    samples: list[float] = field(default_factory=list)
    discs: list[Damage] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)

    def _q(self, q: float) -> float:
        if not self.samples:
            return float("nan")
        with np.errstate(invalid="ignore"):  # inf samples (exploded) give inf, or nan between two of them
            return float(np.quantile(np.asarray(self.samples), q))

    @property
    def median(self) -> float:
        """Median MSE over the samples."""
        return self._q(0.5)

    @property
    def p90(self) -> float:
        """90th percentile of the MSE over the samples."""
        return self._q(0.9)

    @property
    def mean(self) -> float:
        """Mean MSE over the samples."""
        return float(np.mean(self.samples)) if self.samples else float("nan")

    @property
    def worst(self) -> float:
        """The largest MSE of a sample."""
        return float(np.max(self.samples)) if self.samples else float("nan")

    def checks(self) -> dict[str, bool]:
        """The bar: median and 90th percentile."""
        return {
            "regrowth_median": self.median <= REGROWTH_BAR["regrowth_median"],
            "regrowth_p90": self.p90 <= REGROWTH_BAR["regrowth_p90"],
        }

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict."""
        return {
            "samples": len(self.samples),
            "median": self.median,
            "p90": self.p90,
            "mean": self.mean,
            "worst": self.worst,
            "mse": self.samples,
            "seeds": self.seeds,
            "discs": [[d.x, d.y, d.r] for d in self.discs],
            "grow_steps": GROW_STEPS,
            "after_steps": AFTER_STEPS,
        }

    def summary(self) -> str:
        """One line for the human report."""
        return (
            f"regrowth ({len(self.samples)} random discs r 0.1-0.4 after {GROW_STEPS} steps, {AFTER_STEPS} more): "
            f"median {self.median:.3e}, p90 {self.p90:.3e}, mean {self.mean:.3e}, worst {self.worst:.3e}"
        )


def regrowth(
    session: NCASession,
    seeds: Sequence[int],
    target_of: Callable[[int], np.ndarray],
    grid: tuple[int, int],
    view: Callable[[np.ndarray, int], np.ndarray] | None = None,
) -> RegrowthReport:
    """Damage and regrow one sample per seed (sample i: seed ``seeds[i]``, disc i), each compared with
    ``target_of(seed)`` ``(4, H, W)``. A sample that goes non-finite counts as ``inf``. ``view`` maps a final
    state ``(1, C, H, W)`` and its seed to the RGBA ``(1, 4, h, w)`` the target is in (a hex model's square view)."""
    report = RegrowthReport(discs=damage_distribution(len(seeds)), seeds=[int(s) for s in seeds])
    steps = GROW_STEPS + AFTER_STEPS
    for seed, disc in zip(report.seeds, report.discs, strict=True):
        spec = RenderSpec(seeds=(seed,), steps=steps, every=steps, size=grid, damage=(disc,))
        try:
            *_, (_, final) = roll_out(session, spec, include_seed_frame=False)
        except NonFiniteStateError:
            report.samples.append(float("inf"))
            continue
        if view is not None:
            final = view(final, seed)
        diff = final[0, :4] - target_of(seed)
        report.samples.append(float((diff * diff).mean()))
    return report
