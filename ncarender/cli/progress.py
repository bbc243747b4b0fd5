"""The one progress bar of the command line (render, batch, train): rich, on stderr, only on a terminal."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["ProgressBar"]


class ProgressBar:
    """A bar ``LABEL [bar] done/total [fields] time left`` on stderr while it runs; nothing when ``quiet`` or when
    stderr is not a terminal (:attr:`enabled` says which).

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
        remaining: bool = True,
    ) -> None:
        self.label = label
        self.enabled = not quiet and sys.stderr.isatty()
        self.fields = fields or {}
        self.transient = transient
        self.remaining = remaining
        self._bar: Any = None  # rich.progress.Progress, imported only when a bar is shown
        self._task: Any = None

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
        return self

    def update(self, done: int, total: int, **fields: object) -> None:
        """``done`` of ``total`` (either may change between calls), and the ``fields``' values."""
        if self._bar is None:
            return
        if self._task is None:
            blank = dict.fromkeys(self.fields, "")
            self._task = self._bar.add_task(self.label, total=total, completed=max(0, done - 1), **blank)
        self._bar.update(self._task, completed=done, total=total, **fields)

    def __call__(self, done: int, total: int) -> None:
        self.update(done, total)

    def stop(self) -> None:
        """Take the bar down."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def __enter__(self) -> ProgressBar:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
