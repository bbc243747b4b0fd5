"""What every ``eval`` report shares: the bar's checks by name, the verdict, and how both are printed and written.

Each evaluator (:mod:`.target`, :mod:`.family`, :mod:`.params`) fills a subclass of :class:`Judged` with its own
measures and says how to print them; :func:`ncarender.evaluate.choose.evaluate_model` picks the evaluator.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from .regrowth import RegrowthReport

__all__ = ["Judged", "tail_lines"]


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
    """

    checks: dict[str, bool] = field(default_factory=dict)
    verdict: str = ""

    bar: ClassVar[dict[str, float]] = {}
    at_least: ClassVar[tuple[str, ...]] = ()
    limit_format: ClassVar[str] = "g"

    @property
    def passed(self) -> bool:
        """True if every applicable check of the bar passed (and there was one)."""
        return bool(self.checks) and all(self.checks.values())

    def check_lines(self) -> list[str]:
        """A ``PASS``/``FAIL`` line per check (with its limit from the bar), then the verdict."""
        lines = []
        for name, ok in self.checks.items():
            limit, cmp = self.bar.get(name), ">=" if name in self.at_least else "<="
            shown = f" {cmp} {format(limit, self.limit_format)}" if limit is not None else ""
            lines.append(f"  {'PASS' if ok else 'FAIL'}  {name}{shown}")
        return [*lines, f"verdict: {self.verdict}"]

    @abstractmethod
    def body_lines(self) -> list[str]:
        """The report's measures as the lines of the human table."""

    @abstractmethod
    def body_json(self) -> dict[str, object]:
        """The report's measures, JSON-ready."""

    def format(self) -> str:
        """The human report printed on stderr: the measures, each check and the verdict."""
        return "\n".join([*self.body_lines(), *self.check_lines()])

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (``--json``): the measures, then the bar, the checks, the outcome and the verdict."""
        return {
            **self.body_json(),
            "bar": self.bar,
            "checks": self.checks,
            "passed": self.passed,
            "verdict": self.verdict,
        }
