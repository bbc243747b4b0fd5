"""The one progress UI of the command line (render, batch, gallery, eval, train), on stderr: a rich bar on a
terminal; elsewhere (a script, a log, a scheduler) a short line every :data:`LINE_SECONDS`, so a long command never
looks hung."""

from __future__ import annotations

import math
import os
import sys
import time
from typing import Any

__all__ = ["LINE_SECONDS", "PROGRESS_SECONDS_ENV", "ProgressBar", "clock", "line_seconds"]

#: Seconds between two progress lines when stderr is not a terminal.
LINE_SECONDS = 10.0
#: The environment variable that sets those seconds (``0``: a line at every update; ``off``: no lines).
PROGRESS_SECONDS_ENV = "NCARENDER_PROGRESS_SECONDS"


def line_seconds() -> float | None:
    """Seconds between progress lines off a terminal: :data:`PROGRESS_SECONDS_ENV` if it holds a number of 0 or
    more, None (no lines) if it says ``off``, else :data:`LINE_SECONDS`."""
    text = os.environ.get(PROGRESS_SECONDS_ENV, "").strip().lower()
    if text in ("off", "none", "no"):
        return None
    try:
        value = float(text)
    except ValueError:
        return LINE_SECONDS
    return value if math.isfinite(value) and value >= 0 else LINE_SECONDS


def clock(seconds: float) -> str:
    """``seconds`` as ``M:SS`` or ``H:MM:SS`` (rounded to the second)."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProgressBar:
    """A bar ``LABEL [bar] done/total [fields] time left`` on stderr while it runs, when stderr is a terminal
    (:attr:`enabled`); otherwise a line ``LABEL done/total UNIT  elapsed M:SS  ETA M:SS [fields]`` every
    :func:`line_seconds` (none before the first interval has passed, so a short command prints none, and one
    more when it stops if any was printed). Nothing at all when ``quiet``. A ``total`` of None counts without
    an end (``LABEL done UNIT  elapsed M:SS``). ``unit`` names what is counted (``steps``, ``seeds``...).

    ``fields`` names extra values shown after the count (``{"loss": "loss {task.fields[loss]}"}``), given to
    :meth:`update`. ``transient`` bars disappear when they stop; ``remaining=False`` leaves out rich's time-left
    column (for a caller that shows its own ETA as a field). Use it as a context manager, or
    :meth:`start` and :meth:`stop`; as a callable it is a ``(done, total)`` progress callback.
    """

    def __init__(
        self,
        label: str,
        *,
        quiet: bool,
        fields: dict[str, str] | None = None,
        transient: bool = True,
        unit: str = "",
        remaining: bool = True,
    ) -> None:
        self.label = label
        self.enabled = not quiet and sys.stderr.isatty()
        self.fields = fields or {}
        self.transient = transient
        self.unit = unit
        self.remaining = remaining
        self._bar: Any = None  # rich.progress.Progress, imported only when a bar is shown
        self._task: Any = None
        #: Seconds between lines off a terminal (None: no lines).
        self.interval = None if quiet or self.enabled else line_seconds()
        self._t0: float | None = None  # when the lines' clock started
        self._last_line = 0.0
        self._lines = 0
        self._latest: tuple[int, int | None, dict[str, object]] | None = None

    def start(self) -> ProgressBar:
        """Show the bar (when :attr:`enabled`)."""
        if self.enabled and self._bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            columns = [TextColumn(self.label), BarColumn(), MofNCompleteColumn()]
            columns += [TextColumn(text) for text in self.fields.values()]
            if self.remaining:
                columns.append(TimeRemainingColumn())
            self._bar = Progress(*columns, console=Console(stderr=True), transient=self.transient)
            self._bar.start()
        if self.interval is not None and self._t0 is None:
            self._t0 = self._last_line = time.monotonic()
        return self

    def update(self, done: int, total: int | None, **fields: object) -> None:
        """``done`` of ``total`` (either may change between calls; None: no end known), and the ``fields``' values."""
        if self._t0 is not None:
            self._latest = (done, total, fields)
            now = time.monotonic()
            if self.interval is not None and now - self._last_line >= self.interval:
                self._last_line = now
                self._line(now)
        if self._bar is None:
            return
        if self._task is None:
            blank = dict.fromkeys(self.fields, "")
            self._task = self._bar.add_task(self.label, total=total, completed=max(0, done - 1), **blank)
        self._bar.update(self._task, completed=done, total=total, **fields)

    def __call__(self, done: int, total: int) -> None:
        self.update(done, total)

    def line(self, now: float) -> str:
        """The progress line at ``now`` (:func:`time.monotonic`) for the latest :meth:`update`."""
        assert self._t0 is not None and self._latest is not None
        done, total, fields = self._latest
        elapsed = now - self._t0
        unit = f" {self.unit}" if self.unit else ""
        if total is None:
            text = f"{self.label} {done:,}{unit}  elapsed {clock(elapsed)}"
        else:
            eta = clock(elapsed * (total - done) / done) if 0 < done <= total else "?"
            text = f"{self.label} {done:,}/{total:,}{unit}  elapsed {clock(elapsed)}  ETA {eta}"
        return text + "".join(f"  {name} {value}" for name, value in fields.items())

    def _line(self, now: float) -> None:
        print(self.line(now), file=sys.stderr, flush=True)
        self._lines += 1

    def stop(self) -> None:
        """Take the bar down; off a terminal, a last line if any was printed."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        if self._lines and self._latest is not None:
            self._line(time.monotonic())
        self._t0, self._lines = None, 0

    def __enter__(self) -> ProgressBar:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
