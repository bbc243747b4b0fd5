"""The ``ncarender`` command line: thin commands that build one description of the work and delegate.

* :mod:`~ncarender.cli.app`: the typer app, the one error boundary, messages, :func:`main` (the console script).
* :mod:`~ncarender.cli.options`: the options shared by the commands, defined once; :class:`RenderArgs`.
* :mod:`~ncarender.cli.progress`: the one progress bar (render, batch, train).
* :mod:`~ncarender.cli.render`: gif, mp4, sheet (and the gallery), frames.
* :mod:`~ncarender.cli.animated`: webp and apng (full alpha).
* :mod:`~ncarender.cli.still`: png (one still at any size).
* :mod:`~ncarender.cli.page`: html (the live page).
* :mod:`~ncarender.cli.batch`: batch.
* :mod:`~ncarender.cli.train`: train, export (torch; the only commands that import :mod:`ncarender.train`).
* :mod:`~ncarender.cli.model`: eval, family, info.

Importing it loads typer and the table of formats, never numpy, onnxruntime or torch: ``--help`` stays fast.
"""

from __future__ import annotations

from importlib import import_module

from .app import app, main

# Each module registers its commands; this order is the order of the commands in ``ncarender --help``.
for _module in ("render", "animated", "still", "page", "batch", "train", "model"):
    import_module(f".{_module}", __name__)

__all__ = ["app", "main"]
