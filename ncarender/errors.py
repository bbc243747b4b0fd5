"""The one domain exception that the command line turns into ``Error: ...``."""

from __future__ import annotations

__all__ = ["NCAError"]


class NCAError(Exception):
    """A problem the user can fix (bad file, bad option); shown as one line, exit 1."""
