"""Training's progress on stderr: the bar on a terminal, else a line every 10 s (as every progress line: see
:func:`~ncarender.cli.progress.line_seconds`); both with an ETA.

The ETA is whichever ends first: the iterations left at this sitting's pace, or the time budget (``--minutes``).
"""

from __future__ import annotations

import time

import typer

from .progress import ProgressBar, clock, line_seconds

__all__ = ["TrainProgress", "clock", "eta"]


def eta(left: int, per_iteration: float, budget_left: float | None) -> tuple[float, bool]:
    """Seconds to go and whether the time budget is what ends the run: ``left`` iterations at ``per_iteration``
    seconds each, or ``budget_left`` seconds of the budget (None: no budget), whichever is sooner."""
    by_iterations = left * per_iteration
    if budget_left is not None and budget_left < by_iterations:
        return max(0.0, budget_left), True
    return by_iterations, False


class TrainProgress:
    """The callback ``(iteration, total, loss)`` of :func:`ncarender.train.loop.train` that shows the progress.

        On a terminal: ``training [bar] done/total loss ETA``; elsewhere, unless ``quiet``, a line
        ``iteration done/total  loss L  elapsed M:SS  ETA M:SS`` every ``every`` seconds (None:
    :func:`~ncarender.cli.progress.line_seconds`, which may say no lines), at the first
        iteration and at the last. ``minutes`` is the run's time budget (None: none); create the progress just
        before the run starts, as its budget counts from then.
    """

    def __init__(self, quiet: bool, minutes: float | None = None, *, every: float | None = None) -> None:
        self.quiet = quiet
        self.every = line_seconds() if every is None else every
        fields = {"loss": "loss {task.fields[loss]}", "eta": "ETA {task.fields[eta]}"}
        self.bar = ProgressBar("training", quiet=quiet, fields=fields, transient=False, remaining=False)
        self.t0 = time.perf_counter()
        self.deadline = None if minutes is None else self.t0 + minutes * 60.0
        self._first: tuple[int, float] | None = None  # the sitting's first iteration seen, and when
        self._last_line = -float("inf")

    def estimate(self, iteration: int, total: int, now: float) -> tuple[float, bool]:
        """The ETA after ``iteration`` of ``total`` at ``now``: seconds, and whether the budget ends the run."""
        if self._first is None:  # the first iteration took the time since the start (set-up included)
            per_iteration = now - self.t0
        else:
            done_at, since = self._first
            per_iteration = (now - since) / max(1, iteration - done_at)
        budget_left = None if self.deadline is None else self.deadline - now
        return eta(total - iteration, per_iteration, budget_left)

    def __call__(self, iteration: int, total: int, loss: float) -> None:
        now = time.perf_counter()
        seconds, by_budget = self.estimate(iteration, total, now)
        if self._first is None:
            self._first = (iteration, now)
        left = clock(seconds) + (" (time budget)" if by_budget else "")
        if self.bar.enabled:
            self.bar.update(iteration, total, loss=f"{loss:.5f}", eta=left)
        elif not self.quiet and self.every is not None and (now - self._last_line >= self.every or iteration == total):
            self._last_line = now
            typer.echo(
                f"iteration {iteration}/{total}  loss {loss:.5f}  elapsed {clock(now - self.t0)}  ETA {left}",
                err=True,
            )

    def __enter__(self) -> TrainProgress:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()
