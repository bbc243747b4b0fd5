"""What every ``eval`` report shares: the bar's checks by name, the verdict, and how both are printed and written.

Each evaluator (:mod:`.target`, :mod:`.family`, :mod:`.params`) fills a subclass of :class:`Judged` with its own
measures and says how to print them; :func:`ncarender.evaluate.choose.evaluate_model` picks the evaluator.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from .regrowth import RegrowthReport

__all__ = ["Judged", "tail_lines"]


#: The floor's check that applies only to a model declaring its growth time (``ncarender.growth_steps``).
GROWTH_CHECK = "growth_mean"


def tail_lines(regrowth: RegrowthReport | None, non_finite: int | None) -> list[str]:
    """The lines that end a report's measures: the regrowth summary and where the state went non-finite."""
    lines = [] if regrowth is None else [regrowth.summary()]
    return lines if non_finite is None else [*lines, f"non-finite state at step {non_finite}"]


@dataclass(kw_only=True)
class Judged(ABC):
    """What every ``eval`` report ends with: the bar's checks by name and a one-line verdict.

    A subclass names its ``bar`` (limit by check name), the checks that are lower bounds (``at_least``), how
    a limit is printed (``limit_format``), and gives its measures as text (:meth:`body_lines`) and JSON
    (:meth:`body_json`); :meth:`format` and :meth:`to_json` add the checks and the verdict.

    A model kind that ships (a family) is judged twice: ``floor_bar`` names its **ship floor**, what every
    shipped model of the kind holds (``eval --check`` exits 2 when one of :attr:`floor` fails), and ``bar``
    its fidelity **goal**, printed as the distance still to go. ``values`` keeps each judged figure by name,
    so a check is printed beside the figure it judged.
    """

    checks: dict[str, bool] = field(default_factory=dict)
    verdict: str = ""
    floor: dict[str, bool] = field(default_factory=dict)
    floor_verdict: str = ""
    values: dict[str, float] = field(default_factory=dict)

    bar: ClassVar[dict[str, float]] = {}
    floor_bar: ClassVar[dict[str, float]] = {}
    at_least: ClassVar[tuple[str, ...]] = ()
    limit_format: ClassVar[str] = "g"

    @property
    def passed(self) -> bool:
        """True if every applicable check of the bar passed (and there was one)."""
        return bool(self.checks) and all(self.checks.values())

    @property
    def unmeasured(self) -> list[str]:
        """The ship floor's checks this report did not measure (fewer steps, no regrowth, one flake...).

        The growth check (:data:`GROWTH_CHECK`) belongs to the floor only of a model that declares a growth time.
        """
        growth = getattr(self, "growth", None)
        declared = growth is not None and bool(growth.declared)
        return [name for name in self.floor_bar if name not in self.floor and (name != GROWTH_CHECK or declared)]

    @property
    def shippable(self) -> bool:
        """True if the model holds its kind's ship floor (a kind with no floor: if it :attr:`passed`); never while
        a check of the floor went unmeasured."""
        if not self.floor_bar:
            return self.passed
        return bool(self.floor) and all(self.floor.values()) and not self.unmeasured

    def check_lines(self) -> list[str]:
        """A ``PASS``/``FAIL`` line per check (its figure, its limit), then the verdict. A kind with a ship floor:
        the floor's checks pass or fail; the goal's figures say how far each still has to go (:meth:`goal_lines`)."""
        if not self.floor_bar:
            return [*self._lines(self.checks, self.bar), f"verdict: {self.verdict}"]
        return [
            "ship floor (eval --check):",
            *self._lines(self.floor, self.floor_bar),
            f"floor: {self.floor_verdict}",
            "fidelity goal (where training is headed; the distance still to go):",
            *self.goal_lines(),
        ]

    def goal_lines(self) -> list[str]:
        """The goal, figure by figure: ``reached``, or ``to go`` with the factor left (``2.4x lower``); then how
        many are reached. The JSON's ``checks`` and ``verdict`` say the same as pass/fail."""
        lines = []
        for name, ok in self.checks.items():
            limit, value = self.bar.get(name), self.values.get(name)
            higher = name in self.at_least
            if limit is None or value is None:
                lines.append(f"  {'reached' if ok else 'to go':<7}  {name}")
                continue
            goal = f"{'>=' if higher else '<='} {format(limit, self.limit_format)}"
            if ok:
                lines.append(f"  reached  {name} {value:.3g} (goal {goal})")
                continue
            factor = (limit / value if higher else value / limit) if value > 0 and limit > 0 else math.inf
            left = f"{factor:.1f}x {'higher' if higher else 'lower'}" if math.isfinite(factor) else "to rise from 0"
            lines.append(f"  to go    {name} {value:.3g}, goal {goal}: {left}")
        reached = sum(self.checks.values())
        if self.verdict.startswith("explodes"):
            return [*lines, f"goal: {self.verdict}"]
        whole = "; the goal is met" if reached == len(self.checks) else ""
        return [*lines, f"goal: {reached} of {len(self.checks)} reached{whole}"]

    def _lines(self, checks: dict[str, bool], bar: dict[str, float]) -> list[str]:
        lines = []
        for name, ok in checks.items():
            limit, cmp = bar.get(name), ">=" if name in self.at_least else "<="
            value = self.values.get(name)
            shown = f" {value:.3g}" if value is not None else ""
            shown += f" {cmp} {format(limit, self.limit_format)}" if limit is not None else ""
            lines.append(f"  {'PASS' if ok else 'FAIL'}  {name}{shown}")
        return lines

    def judge(self, non_finite: int | None) -> None:
        """The verdicts from the checks: the goal's and, for a kind with a ship floor, the floor's."""
        self.verdict = _verdict(self.checks, non_finite, "meets the goal", "below the goal")
        if self.floor_bar:
            self.floor_verdict = _verdict(self.floor, non_finite, "holds the ship floor", "below the ship floor")

    @abstractmethod
    def body_lines(self) -> list[str]:
        """The report's measures as the lines of the human table."""

    @abstractmethod
    def body_json(self) -> dict[str, object]:
        """The report's measures, JSON-ready."""

    def format(self) -> str:
        """The human report ``eval`` prints: the measures, each check and the verdict."""
        return "\n".join([*self.body_lines(), *self.check_lines()])

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (``--json``): the measures, then the bar, the checks, the outcome and the verdict."""
        out = {
            **self.body_json(),
            "bar": self.bar,
            "checks": self.checks,
            "passed": self.passed,
            "verdict": self.verdict,
        }
        if self.floor_bar:
            out.update(
                floor=self.floor_bar,
                floor_checks=self.floor,
                shippable=self.shippable,
                floor_verdict=self.floor_verdict,
                values=self.values,
            )
        return out


def _verdict(checks: dict[str, bool], non_finite: int | None, good: str, bad: str) -> str:
    if non_finite is not None:
        return f"explodes: the state went non-finite at step {non_finite}"
    missed = [name for name, ok in checks.items() if not ok]
    return good if not missed else f"{bad}: " + ", ".join(missed)
