"""An ncarender step's ONNX graph as the live page's reader walks it: its nodes by the names they produce, its
constant tensors, its attributes (onnx + numpy, no torch).

:class:`StepGraph` is what :func:`~.html_graph.read_step` and the hex reader (:mod:`~.html_hex`) both walk; a graph
with an operator an ncarender step does not use is refused here, before either looks at it.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper

from ..errors import NCAError

__all__ = ["StepGraph", "attr_ints"]

#: Operators of an ncarender step graph; any other one means an architecture the page does not know.
_OPS = frozenset(
    {"Conv", "Concat", "Relu", "Mul", "Add", "Slice", "MaxPool", "Max", "Greater", "And", "Cast", "Constant"}
)


def _tensors(graph: onnx.GraphProto, source: str) -> dict[str, np.ndarray]:
    """Every constant tensor of the graph by name: initializers and ``Constant`` node outputs."""
    out = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type != "Constant":
            continue
        attrs = {a.name: a for a in node.attribute}
        if "value" not in attrs:
            raise NCAError(
                f"{source}: a Constant node without a tensor value ({', '.join(attrs)}); not an ncarender step"
            )
        out[node.output[0]] = numpy_helper.to_array(attrs["value"].t)
    for name, value in out.items():
        if value.dtype == np.float16:
            raise NCAError(f"{source}: tensor {name!r} is float16; the page runs float32 models only")
    return out


class StepGraph:
    """The nodes of a step graph, indexed by the names they produce and consume."""

    def __init__(self, proto: onnx.ModelProto, source: str) -> None:
        self.source = source
        graph = proto.graph
        self.consts = _tensors(graph, source)
        self.producer = {out: node for node in graph.node for out in node.output}
        self.nodes = list(graph.node)
        unknown = sorted({n.op_type for n in graph.node} - _OPS)
        if unknown:
            raise NCAError(
                f"{source}: the graph uses {', '.join(unknown)}, which an ncarender step does not; "
                "the page can run only ncarender's own architecture"
            )

    def fail(self, what: str) -> NCAError:
        return NCAError(f"{self.source}: {what}; the page can run only ncarender's own architecture")

    def made_by(self, name: str, op: str) -> onnx.NodeProto | None:
        node = self.producer.get(name)
        return node if node is not None and node.op_type == op else None

    def const(self, name: str) -> np.ndarray | None:
        return self.consts.get(name)

    def of_type(self, op: str) -> list[onnx.NodeProto]:
        return [n for n in self.nodes if n.op_type == op]


def attr_ints(node: onnx.NodeProto, name: str, default: list[int]) -> list[int]:
    """The integer (or integers) of attribute ``name`` of ``node``, or ``default`` where it has none."""
    for a in node.attribute:
        if a.name == name:
            return list(a.ints) if a.ints else [int(a.i)]
    return default
