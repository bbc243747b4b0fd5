"""An int8 step: the update network of an exported step (its two 1x1 convolutions and the ReLU between them)
quantised to int8 (QDQ, static), the rest float32.

onnxruntime's dynamic quantisation turns a Conv into ``ConvInteger``, which on the CPU ran 1.5-5x slower than the
float32 step; a static QDQ graph (per-channel int8 weights, uint8 activations with scales calibrated on states
of the model's own rollouts) runs as ``QLinearConv``. The ReLU is quantised with the convolutions, so both
layers fuse into one int8 chain (the convolutions alone left a dequantise/requantise pair between them: 1.1x
instead of 1.7x the float32 step). Activation ranges come from the 99.999th percentile of the calibration
values (min/max ranges, stretched by a few outliers, drifted past the ship floor on the shipped snowflake).
Perception, the alive test and the residual update stay float32, so inputs, outputs and the contract do not
change; the metadata says ``ncarender.precision = int8``. No torch: :func:`quantize_step` reads and writes ONNX
files, :func:`calibration_states` rolls the float32 model out.
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import onnx

from ..metadata import META

if TYPE_CHECKING:
    from .session import NCASession

__all__ = ["CALIBRATION_SEEDS", "INT8", "calibration_states", "one_by_one_convs", "quantize_step"]

#: The precision an int8 step declares in its metadata.
INT8 = "int8"
#: The seeds whose rollouts calibrate the activation ranges (none of the seeds ``eval`` judges the drift on).
CALIBRATION_SEEDS = tuple(range(10_000, 10_008))
#: Steps of the calibration rollouts, and every how many steps a state is kept: as far as the drift is judged
#: (on the shipped snowflake, ranges from 400 steps drifted past the floor at step 1000: 7.5e-3 worst; from
#: 1000 steps, 4.9e-3).
CALIBRATION_STEPS, CALIBRATION_EVERY = 1000, 100


def _constants_to_initializers(proto: onnx.ModelProto) -> None:
    """Move every ``Constant`` node holding a tensor into the graph's initializers (the quantiser reads weights
    from initializers only; the torch exporter writes some as Constant nodes)."""
    kept = []
    for node in proto.graph.node:
        if node.op_type == "Constant" and len(node.attribute) == 1 and node.attribute[0].name == "value":
            tensor = onnx.TensorProto()
            tensor.CopyFrom(node.attribute[0].t)
            tensor.name = node.output[0]
            proto.graph.initializer.append(tensor)
        else:
            kept.append(node)
    del proto.graph.node[:]
    proto.graph.node.extend(kept)


def one_by_one_convs(proto: onnx.ModelProto) -> list[str]:
    """The names of the Conv nodes of ``proto`` whose weight is an initializer of shape ``(O, I, 1, 1)``: the
    update network's two layers (perception's convolutions are 3x3)."""
    weights = {t.name: list(t.dims) for t in proto.graph.initializer}
    return [
        node.name
        for node in proto.graph.node
        if node.op_type == "Conv" and len(weights.get(node.input[1], [])) == 4 and weights[node.input[1]][2:] == [1, 1]
    ]


def _update_network(proto: onnx.ModelProto) -> list[str]:
    """The 1x1 convolutions and every ReLU that reads one of their outputs: the nodes to quantise."""
    convs = one_by_one_convs(proto)
    outputs = {o for node in proto.graph.node if node.name in convs for o in node.output}
    relus = [n.name for n in proto.graph.node if n.op_type == "Relu" and n.input[0] in outputs]
    return convs + relus


def calibration_states(session: NCASession) -> list[np.ndarray]:
    """States ``(N, C, H, W)`` of ``session``'s rollouts from :data:`CALIBRATION_SEEDS` on its grid, every
    :data:`CALIBRATION_EVERY` steps up to :data:`CALIBRATION_STEPS` (the seed state included)."""
    from ..spec import RenderSpec
    from .rollout import roll_out

    spec = RenderSpec(seeds=CALIBRATION_SEEDS, steps=CALIBRATION_STEPS, every=CALIBRATION_EVERY)
    return [state for _step, state in roll_out(session, spec)]


class _States:
    """The quantiser's calibration reader: ``{"state", "mask"}`` feeds from states ``(N, C, H, W)``."""

    def __init__(self, states: Sequence[np.ndarray], fire_rate: float) -> None:
        rng = np.random.default_rng(0)
        self._feeds: Iterator[dict[str, np.ndarray]] = iter(
            [
                {
                    "state": np.ascontiguousarray(s, dtype=np.float32),
                    "mask": (rng.random((s.shape[0], 1, *s.shape[2:])) < fire_rate).astype(np.float32),
                }
                for s in states
            ]
        )

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._feeds, None)

    def rewind(self) -> None:  # pragma: no cover - the MinMax calibrator reads once
        raise NotImplementedError


def quantize_step(source: Path, target: Path, states: Sequence[np.ndarray], *, fire_rate: float) -> None:
    """Write ``source``'s step with its 1x1 convolutions in int8 to ``target``, calibrated on ``states``
    (a list of ``(N, C, H, W)`` float32 states of the model's rollouts); metadata copied, precision ``int8``."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    proto = onnx.load(str(source))
    _constants_to_initializers(proto)
    nodes = _update_network(proto)

    class Reader(_States, CalibrationDataReader):
        pass

    with tempfile.TemporaryDirectory(prefix="ncarender-int8-") as tmp:
        plain = Path(tmp) / "step.onnx"
        onnx.save(proto, str(plain))
        quiet = logging.getLogger().level
        logging.getLogger().setLevel(logging.ERROR)  # the quantiser logs advice on the root logger
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # the percentile calibrator prints its progress
                quantize_static(
                    str(plain),
                    str(target),
                    Reader(states, fire_rate),
                    quant_format=QuantFormat.QDQ,
                    op_types_to_quantize=["Conv", "Relu"],
                    nodes_to_quantize=nodes,
                    calibrate_method=CalibrationMethod.Percentile,
                    per_channel=True,
                    activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8,
                )
        finally:
            logging.getLogger().setLevel(quiet)
    out = onnx.load(str(target))
    del out.metadata_props[:]
    for entry in proto.metadata_props:
        added = out.metadata_props.add()
        added.key, added.value = entry.key, INT8 if entry.key == META.precision else entry.value
    if not any(e.key == META.precision for e in out.metadata_props):
        added = out.metadata_props.add()
        added.key, added.value = META.precision, INT8
    out.producer_name, out.producer_version, out.doc_string = (
        proto.producer_name,
        proto.producer_version,
        proto.doc_string,
    )
    onnx.save(out, str(target))
