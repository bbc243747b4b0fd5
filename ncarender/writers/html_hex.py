"""The live page of a hex model: reading its six-neighbour max out of the ONNX graph, and what its page adds.

A hex model's graph (``train/export.py`` with ``train/hex_ops.py``) takes the max over a cell and its six
neighbours as ``MaxPool`` (kernel 2, stride 1, padding 1), then two slices of the pooled tensor, one reaching
up and right (rows ``:-1``, columns ``1:``), one down and left (rows ``1:``, columns ``:-1``), and their ``Max``;
alive masking and a family's code relay use it where a square model has a 3x3 ``MaxPool``.
:func:`hex_max_source` recognises that pattern; :func:`check_hex_alive` is the hex form of the page's two alive
tests. :func:`hex_page_config` is what the page's config gains for a hex model: the lattice, the orbit
representatives of an orbit-mask model, and the picture's mapping (:func:`ncarender.lattice.hex_view.render_view` at
scale 1, the canvas's size) that ``hex.js`` draws with. numpy + onnx only.
"""

from __future__ import annotations

import base64

import numpy as np
import onnx

from ..lattice import MASK_ORBIT, hex_orbits
from ..lattice.hex_view import SUPERSAMPLE, render_view
from .html_onnx import StepGraph, attr_ints

__all__ = ["check_hex_alive", "hex_max_source", "hex_page_config"]

#: A slice end at or past this reaches the end of its axis.
_TO_END = 2**31


def _slices(g: StepGraph, name: str) -> tuple[str, dict[int, tuple[int, int]]] | None:
    """Follow Slices back from ``name``: ``(the sliced tensor, {axis: (start, end)})`` over axes 2 and 3."""
    cuts: dict[int, tuple[int, int]] = {}
    node = g.made_by(name, "Slice")
    while node is not None:
        starts, ends, axes, steps = (
            g.const(node.input[i]) if len(node.input) > i and node.input[i] else None for i in (1, 2, 3, 4)
        )
        if starts is None or ends is None or axes is None:
            return None
        if steps is not None and any(int(s) != 1 for s in steps.reshape(-1)):
            return None
        for a, s, e in zip(axes.reshape(-1), starts.reshape(-1), ends.reshape(-1), strict=True):
            axis = int(a) % 4
            if axis in cuts or axis not in (2, 3):
                return None
            cuts[axis] = (int(s), _TO_END if int(e) >= _TO_END else int(e))
        name = node.input[0]
        node = g.made_by(name, "Slice")
    return name, cuts


def hex_max_source(g: StepGraph, name: str) -> tuple[onnx.NodeProto, str] | None:
    """If ``name`` is the six-neighbour max of a tensor ``X``, ``(its Max node, X's name)``; else None."""
    node = g.made_by(name, "Max")
    if node is None or len(node.input) != 2:
        return None
    found = [_slices(g, part) for part in node.input]
    if any(f is None for f in found):
        return None
    pooled = {f[0] for f in found if f is not None}
    cuts = sorted(tuple(sorted(f[1].items())) for f in found if f is not None)
    want = sorted([((2, (0, -1)), (3, (1, _TO_END))), ((2, (1, _TO_END)), (3, (0, -1)))])
    pool = g.made_by(next(iter(pooled)), "MaxPool") if len(pooled) == 1 else None
    if pool is None or cuts != want:
        return None
    if (
        attr_ints(pool, "kernel_shape", []) != [2, 2]
        or attr_ints(pool, "pads", [0, 0, 0, 0]) != [1, 1, 1, 1]
        or attr_ints(pool, "strides", [1, 1]) != [1, 1]
        or attr_ints(pool, "dilations", [1, 1]) != [1, 1]
        or attr_ints(pool, "ceil_mode", [0]) != [0]
    ):
        return None
    return node, pool.input[0]


def check_hex_alive(g: StepGraph, threshold: float, relay: onnx.NodeProto | None) -> None:
    """Two alive tests, ``hexmax(alpha) > threshold``, with the metadata's threshold (``relay``: a family
    model's code relay, the one other six-neighbour max)."""
    greater = g.of_type("Greater")
    maxes = [n for n in g.of_type("Max") if n is not relay]
    if len(greater) != 2 or len(maxes) != 2:
        raise g.fail(f"expected two hex alive tests (Max, Greater), found {len(maxes)} and {len(greater)}")
    for node in greater:
        found = hex_max_source(g, node.input[0])
        if found is None:
            raise g.fail("the alive test is not the max over a cell and its six neighbours")
        sliced = g.made_by(found[1], "Slice")
        bounds = [g.const(sliced.input[i]) if sliced is not None else None for i in (1, 2, 3)]
        if any(b is None for b in bounds) or [int(b.reshape(-1)[0]) for b in bounds if b is not None] != [3, 4, 1]:
            raise g.fail("the alive test does not pool the alpha channel (3)")
        limit = g.const(node.input[1])
        if limit is None or limit.size != 1 or np.float32(limit.reshape(-1)[0]) != np.float32(threshold):
            raise g.fail(f"the alive threshold in the graph is not the metadata's {threshold}")


def _b64(array: np.ndarray, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype=dtype).tobytes()).decode("ascii")


def hex_page_config(mask_kind: str, height: int, width: int) -> dict[str, object]:
    """The keys a hex model's page config adds: ``lattice``, ``orbits`` (an orbit-mask model's representatives,
    ``(H * W,)``) and ``view``: the picture at scale 1 (``H x W`` pixels, the canvas), each pixel the weighted sum
    of ``K`` cells (``index`` ``(H * W, K)`` uint16, or int32 from 65,536 cells, ``H * W`` for no cell; the weight
    ``counts / samples``, ``counts`` uint8: exactly the float32 weights of
    :class:`~ncarender.lattice.hex_view.HexView`)."""
    view = render_view((height, width), 1)
    samples = SUPERSAMPLE * SUPERSAMPLE
    counts = np.rint(view.weight * samples)  # the weights are whole counts of samples: exact in a byte
    wide = height * width >= 2**16  # cell indices (and H * W, no cell) in two bytes where they fit
    out: dict[str, object] = {
        "lattice": "hex",
        "view": {
            "k": int(view.index.shape[1]),
            "indexBytes": 4 if wide else 2,
            "index": _b64(view.index, "<i4" if wide else "<u2"),
            "counts": _b64(counts, "u1"),
            "samples": samples,
        },
    }
    if mask_kind == MASK_ORBIT:
        out["orbits"] = [int(i) for i in hex_orbits(height, width)]
    return out
