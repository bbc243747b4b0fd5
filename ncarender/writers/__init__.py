"""Writers: frames -> files. One table of formats (:mod:`~ncarender.writers.formats`), then one module per format.

* :mod:`~ncarender.writers.formats`: a :class:`Format` record per format (suffix, batch name, writer, streams,
  alpha, defaults, size limit), :class:`OutputSpec` and :func:`output_spec`; plain data.
* :mod:`~ncarender.writers.options`: :class:`WriterOptions`, validated on construction; plain data.
* :mod:`~ncarender.writers.base`: :class:`FrameWriter` and :class:`BaseWriter` (atomic commit and abort,
  the size and memory checks made when a writer opens).
* :mod:`~ncarender.writers.gif`, :mod:`~ncarender.writers.mp4`, :mod:`~ncarender.writers.sheet` (+ atlas),
  :mod:`~ncarender.writers.gallery`, :mod:`~ncarender.writers.frames`, :mod:`~ncarender.writers.webp`,
  :mod:`~ncarender.writers.apng`: one format each (the last two share :mod:`~ncarender.writers.animation`).
* :mod:`~ncarender.writers.resample`: ``--resample smooth`` (premultiplied bicubic) for every format.
* :mod:`~ncarender.writers.pingpong`: ``--loop pingpong`` (forward, then back) for the animated formats.
* :mod:`~ncarender.writers.output`: :func:`open_writer`, :func:`write_output` (the one write path of single and
  batch renders) and :class:`ThreadedWriter`.
* :mod:`~ncarender.writers.html`: the ``html`` format, a live page that runs the model itself (no frames):
  :func:`~ncarender.writers.html.write_page`; :mod:`~ncarender.writers.html_graph` reads the step out of the
  ONNX graph for it (:mod:`~ncarender.writers.html_onnx`: the graph's nodes and constants;
  :mod:`~ncarender.writers.html_hex`: a hex graph's six-neighbour max).

Names are imported lazily, so the command line can read the table at start-up without numpy or Pillow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

__all__ = [
    "FORMATS",
    "TABLE",
    "BaseWriter",
    "Format",
    "FrameWriter",
    "OutputSpec",
    "ThreadedWriter",
    "WriterOptions",
    "format_from_path",
    "get_format",
    "gif_frame_ms",
    "open_writer",
    "output_name",
    "output_spec",
    "parse_formats",
    "sheet_indices",
    "write_output",
]

if TYPE_CHECKING:
    from .base import BaseWriter, FrameWriter
    from .formats import (
        FORMATS,
        TABLE,
        Format,
        OutputSpec,
        format_from_path,
        get_format,
        output_name,
        output_spec,
        parse_formats,
    )
    from .gif import gif_frame_ms
    from .options import WriterOptions
    from .output import ThreadedWriter, open_writer, write_output
    from .sheet import sheet_indices

_LAZY = {
    **dict.fromkeys(
        [
            "FORMATS",
            "TABLE",
            "Format",
            "OutputSpec",
            "format_from_path",
            "get_format",
            "output_name",
            "output_spec",
            "parse_formats",
        ],
        ".formats",
    ),
    "BaseWriter": ".base",
    "FrameWriter": ".base",
    "ThreadedWriter": ".output",
    "WriterOptions": ".options",
    "gif_frame_ms": ".gif",
    "open_writer": ".output",
    "sheet_indices": ".sheet",
    "write_output": ".output",
}


__getattr__ = lazy_exports(__name__, _LAZY)
