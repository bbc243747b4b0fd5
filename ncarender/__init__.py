"""ncarender: grow snowflakes with a Neural Cellular Automaton and render them."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
