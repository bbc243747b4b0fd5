"""ncarender: grow snowflakes with a Neural Cellular Automaton and render them.

The rendering API never imports torch::

    from ncarender import Renderer
    Renderer().render("snowflake.gif", seed=0, steps=200)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_exports
from ._version import __version__

__all__ = ["NCAError", "RenderResult", "Renderer", "WriterOptions", "__version__", "open_model", "render_batch"]

if TYPE_CHECKING:
    from .api import Renderer, RenderResult
    from .batch import render_batch
    from .errors import NCAError
    from .runtime import open_model
    from .writers import WriterOptions

_LAZY = {
    "Renderer": ".api",
    "RenderResult": ".api",
    "render_batch": ".batch",
    "NCAError": ".errors",
    "open_model": ".runtime",
    "WriterOptions": ".writers",
}


__getattr__ = lazy_exports(__name__, _LAZY)
