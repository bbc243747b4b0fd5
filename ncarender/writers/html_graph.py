"""Reading one NCA step out of an ncarender ONNX graph, for the live page (onnx + numpy, no torch).

:func:`read_step` walks the nodes of an ncarender step model (``train/export.py``, ``OnnxStep``) and finds its
parts by what they compute, not by their names: the depthwise 3x3 perception convs on ``state`` (one conv of
``3C`` filters or three of ``C``, concatenated), the 1x1 conv after them (``w1``, with bias), the ``Relu``, the
1x1 conv after it (``w2``), the residual ``state + update * mask`` and the two alive tests
``maxpool3x3(alpha) > threshold``. Weights are graph initializers or ``Constant`` nodes; both are read. A graph
with any other operator, or whose parts do not connect that way, is refused: the page could not reproduce it.

A family (seed-conditioned) model's state carries D code channels after the C NCA channels
(``OnnxStep._forward_coded``): the graph slices the state into ``state[:, :C]`` (perceived, updated) and
``state[:, C:]`` (the codes), relays the codes with a 3x3 max-pool, feeds the relay to the first layer after
the perception (one more ``Concat`` input) and writes ``concat(updated, relay)``, alive-masked.

:class:`~.html_step.StepWeights` holds what was read, and its ``step`` runs it in numpy: the reference the
page's JavaScript step is tested against.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto

from ..errors import NCAError
from ..metadata import ModelInfo, parse_metadata
from .html_hex import check_hex_alive, hex_max_source
from .html_onnx import StepGraph, attr_ints
from .html_step import StepWeights

__all__ = ["StepWeights", "read_step"]


def _conv_weight(g: StepGraph, node: onnx.NodeProto, what: str) -> tuple[np.ndarray, np.ndarray | None]:
    weight = g.const(node.input[1]) if len(node.input) > 1 else None
    bias = g.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    if weight is None or (len(node.input) > 2 and node.input[2] and bias is None):
        raise g.fail(f"the weights of the {what} are computed in the graph, not stored")
    if attr_ints(node, "strides", [1, 1]) != [1, 1] or attr_ints(node, "dilations", [1, 1]) != [1, 1]:
        raise g.fail(f"the {what} has strides or dilations")
    return weight.astype(np.float32), None if bias is None else bias.astype(np.float32)


def _through_casts(g: StepGraph, name: str) -> str:
    """The tensor ``name`` was cast from (float32 -> float32 Casts are no-ops; other casts are refused)."""
    cast = g.made_by(name, "Cast")
    while cast is not None:
        name = cast.input[0]
        cast = g.made_by(name, "Cast")
    return name


def _state_slice(g: StepGraph, name: str, total: int) -> tuple[int, int] | None:
    """``(start, end)`` if ``name`` is ``state[:, start:end]`` (channels, step 1, ``end`` clipped to ``total``)."""
    node = g.made_by(name, "Slice")
    if node is None or node.input[0] != "state":
        return None
    starts, ends, axes, steps = (
        g.const(node.input[i]) if len(node.input) > i and node.input[i] else None for i in (1, 2, 3, 4)
    )
    if starts is None or ends is None or axes is None or not starts.size == ends.size == axes.size == 1:
        return None
    if int(axes[0]) not in (1, -3) or (steps is not None and steps.reshape(-1).tolist() != [1]):
        return None
    start, stop = int(starts[0]), int(ends[0])
    return (start, min(stop, total)) if 0 <= start <= stop else None


def _is_pool3x3(node: onnx.NodeProto) -> bool:
    return (
        attr_ints(node, "kernel_shape", []) == [3, 3]
        and attr_ints(node, "pads", [0, 0, 0, 0]) == [1, 1, 1, 1]
        and attr_ints(node, "strides", [1, 1]) == [1, 1]
        and attr_ints(node, "dilations", [1, 1]) == [1, 1]
        and attr_ints(node, "ceil_mode", [0]) == [0]
    )


def _relay(g: StepGraph, name: str, channels: int, codes: int) -> onnx.NodeProto:
    """The MaxPool node that makes ``name``: the relay ``maxpool3x3(state[:, C:C+D])`` of a family model."""
    pool = g.made_by(_through_casts(g, name), "MaxPool")
    hexed = hex_max_source(g, _through_casts(g, name)) if pool is None else None
    source = pool.input[0] if pool is not None else None if hexed is None else hexed[1]
    if pool is not None and not _is_pool3x3(pool):
        pool = None
    if source is None or (pool is None and hexed is None):
        raise g.fail("the first layer's last input is not the relayed codes (a 3x3 max-pool, padding 1)")
    if hexed is not None:
        pool = hexed[0]  # the hex relay: its Max node stands for the pool
    assert pool is not None
    if _state_slice(g, _through_casts(g, source), channels + codes) != (channels, channels + codes):
        raise g.fail(f"the relay does not pool the code channels {channels}-{channels + codes - 1} of the state")
    return pool


def _perception(
    g: StepGraph, name: str, channels: int, codes: int
) -> tuple[np.ndarray, np.ndarray, str, onnx.NodeProto | None]:
    """The perception feeding the first layer's input ``name``: a Concat of depthwise convs or one such conv.

    A family model's Concat has the relayed codes as its last input. Returns ``(src, kernels, nca, relay)``:
    ``nca`` names the perceived tensor (``state``, or a family model's ``state[:, :C]``), ``relay`` is the
    relay's MaxPool node (None for a single model).
    """
    concat = g.made_by(name, "Concat")
    if concat is not None:
        if attr_ints(concat, "axis", [0]) != [1]:
            raise g.fail("the perception is concatenated along an axis other than channels")
        parts = list(concat.input)
    else:
        parts = [name]
    relay = None
    if codes:
        if len(parts) < 2:
            raise g.fail("the first layer does not read the relayed code channels")
        relay = _relay(g, parts.pop(), channels, codes)
    srcs, kernels, inputs = [], [], set()
    for part in parts:
        conv = g.made_by(part, "Conv")
        perceived = conv is not None and (
            conv.input[0] == "state"
            if not codes
            else _state_slice(g, _through_casts(g, conv.input[0]), channels + codes) == (0, channels)
        )
        if conv is None or not perceived:
            raise g.fail("cannot find the perception: the first layer's input is not depthwise convs of the state")
        inputs.add(conv.input[0])
        weight, bias = _conv_weight(g, conv, "perception")
        filters = weight.shape[0]
        if (
            weight.ndim != 4
            or weight.shape[1:] != (1, 3, 3)
            or attr_ints(conv, "group", [1]) != [channels]
            or filters % channels
            or attr_ints(conv, "pads", [0, 0, 0, 0]) != [1, 1, 1, 1]
        ):
            raise g.fail(
                f"the perception conv has weights {weight.shape}; "
                f"expected depthwise 3x3 over {channels} channels, padding 1"
            )
        if bias is not None and np.any(bias != 0):
            raise g.fail("the perception conv has a bias")
        per = filters // channels
        srcs.append(np.arange(filters, dtype=np.int32) // per)
        kernels.append(weight[:, 0])
    if len(inputs) != 1:
        raise g.fail("the perception convs read different tensors")
    return np.concatenate(srcs), np.concatenate(kernels).astype(np.float32), inputs.pop(), relay


def _check_alive(g: StepGraph, threshold: float, relay: onnx.NodeProto | None) -> None:
    """Two alive tests, ``maxpool3x3(state[:, 3:4]) > threshold``, with the metadata's threshold.

    ``relay``: a family model's code relay, the one other MaxPool of the graph. A hex graph's tests take the
    six-neighbour max instead (:func:`~ncarender.writers.html_hex.check_hex_alive`).
    """
    if g.of_type("Max"):
        check_hex_alive(g, threshold, relay)
        return
    pools = [p for p in g.of_type("MaxPool") if p is not relay]
    greater = g.of_type("Greater")
    if len(pools) != 2 or len(greater) != 2:
        raise g.fail(f"expected two alive tests (MaxPool, Greater), found {len(pools)} and {len(greater)}")
    for pool in pools:
        if not _is_pool3x3(pool):
            raise g.fail("the alive test is not a 3x3 max-pool with padding 1")
        sliced = g.made_by(pool.input[0], "Slice")
        if sliced is None:
            raise g.fail("the alive test does not pool a slice of the state")
        starts, ends, axes = (g.const(sliced.input[i]) if len(sliced.input) > i else None for i in (1, 2, 3))
        if starts is None or ends is None or axes is None or [int(starts[0]), int(ends[0]), int(axes[0])] != [3, 4, 1]:
            raise g.fail("the alive test does not pool the alpha channel (3)")
    for node in greater:
        limit = g.const(node.input[1])
        if limit is None or limit.size != 1 or np.float32(limit.reshape(-1)[0]) != np.float32(threshold):
            raise g.fail(f"the alive threshold in the graph is not the metadata's {threshold}")


def _check_output(g: StepGraph, updated: str, relay: onnx.NodeProto) -> None:
    """A family model's ``next_state`` is ``concat(updated, relay) * alive``: the codes travel on."""
    out = g.made_by("next_state", "Mul")
    for name in out.input if out is not None else ():
        concat = g.made_by(name, "Concat")
        if (
            concat is not None
            and attr_ints(concat, "axis", [0]) == [1]
            and [_through_casts(g, i) for i in concat.input] == [updated, relay.output[0]]
        ):
            return
    raise g.fail("the next state is not the updated channels followed by the relayed codes")


def _page_codes(info: ModelInfo) -> np.ndarray | None:
    """The flake codes ``(K, D)`` a family page offers: a continuous family's are draws 0..K-1, from its map."""
    family = info.family
    if family is None:
        return None
    return family.seed_map.page_codes(family.codes)


def _open_step_model(path: Path) -> tuple[onnx.ModelProto, ModelInfo]:
    """Load ``path`` and its metadata, refusing what the page cannot run: no file, no graph, no ncarender
    metadata, float16, a negative alive threshold, or inputs and outputs other than the contract's."""
    source = str(path)
    if not path.exists():
        raise NCAError(f"model {source!r} does not exist")
    if path.is_dir():
        raise NCAError(f"model {source!r} is a folder, not an ONNX file")
    try:
        proto = onnx.load(source)
    except Exception as exc:  # protobuf's decode errors share no useful public base class
        raise NCAError(f"{source} is not a readable ONNX model ({type(exc).__name__})") from None
    if not proto.graph.node:
        raise NCAError(f"{source} is not a readable ONNX model (no graph)")
    info: ModelInfo = parse_metadata({p.key: p.value for p in proto.metadata_props}, source=source)
    if not info.has_metadata:
        raise NCAError(f"{source} has no ncarender metadata; the page can run only models made by `ncarender export`")
    if info.precision != "float32":
        raise NCAError(
            f"{source} is a {info.precision} model; the page runs float32 models only (export without --half)"
        )
    if info.alive_threshold < 0:
        raise NCAError(f"{source}: alive threshold {info.alive_threshold} is negative; the page cannot run it")
    names = (
        {i.name for i in proto.graph.input} - {t.name for t in proto.graph.initializer},
        {o.name for o in proto.graph.output},
    )
    if names[0] != {"state", "mask"} or "next_state" not in names[1]:
        raise NCAError(f"{source} is not an NCA step model (inputs state, mask; output next_state)")
    return proto, info


def _check_state_input(g: StepGraph, proto: onnx.ModelProto, total: int) -> None:
    """The ``state`` input is ``(N, total, H, W)``, its channel count fixed or free."""
    state_dims = next(
        ([dim.dim_value if dim.HasField("dim_value") else None for dim in i.type.tensor_type.shape.dim])
        for i in proto.graph.input
        if i.name == "state"
    )
    if len(state_dims) != 4 or state_dims[1] not in (None, total):
        raise g.fail(f"the state input has shape {state_dims}, the metadata says {total} channels")


@dataclass(frozen=True)
class _Update:
    """The update network: ``w2 @ relu(w1 @ p + b1) + b2``; ``first`` is the first conv's node, ``out`` names
    the update tensor. A bias is None where its conv has none."""

    first: onnx.NodeProto
    out: str
    w1: np.ndarray
    b1: np.ndarray | None
    w2: np.ndarray
    b2: np.ndarray | None


def _update_network(g: StepGraph, channels: int) -> _Update:
    """Find the update network: a 1x1 conv, one ``Relu``, a 1x1 conv to ``channels``."""
    relus = g.of_type("Relu")
    if len(relus) != 1:
        raise g.fail(f"expected one Relu (the hidden layer), found {len(relus)}")
    (relu,) = relus
    layer2 = [n for n in g.of_type("Conv") if n.input[0] == relu.output[0]]
    layer1 = g.made_by(relu.input[0], "Conv")
    if len(layer2) != 1 or layer1 is None:
        raise g.fail("cannot find the update network (1x1 conv, Relu, 1x1 conv)")
    w1, b1 = _conv_weight(g, layer1, "first layer")
    w2, b2 = _conv_weight(g, layer2[0], "second layer")
    hidden = w1.shape[0]
    if w1.ndim != 4 or w1.shape[2:] != (1, 1) or w2.ndim != 4 or w2.shape != (channels, hidden, 1, 1):
        raise g.fail(f"update layers have weights {w1.shape} and {w2.shape}; expected 1x1 convs to {channels} channels")
    return _Update(layer1, layer2[0].output[0], w1, b1, w2, b2)


def _residual(g: StepGraph, update: str, nca: str) -> str:
    """Check that the update is applied as ``nca + update * mask`` (through a float32 -> float32 ``Cast`` of
    ``update`` where the graph has one); the name of the updated state."""
    for cast in g.of_type("Cast"):  # a float32 -> float32 Cast may follow the second layer (``.to(float32)``)
        if attr_ints(cast, "to", [0]) != [TensorProto.FLOAT]:
            raise g.fail("the graph casts to a type other than float32")
        if cast.input[0] == update:
            update = cast.output[0]
    residual = [n for n in g.of_type("Mul") if set(n.input) == {update, "mask"}]
    added = [n for n in g.of_type("Add") if residual and set(n.input) == {nca, residual[0].output[0]}]
    if len(residual) != 1 or len(added) != 1:
        raise g.fail("the update is not applied as state + update * mask")
    return added[0].output[0]


def read_step(model: Path | str) -> StepWeights:
    """Read the step of an ncarender ONNX model into :class:`StepWeights`, or raise :class:`NCAError` (one line).

    In order: the file and its metadata, the state input, the update network, the perception that feeds it, the
    residual, the alive tests (and a family model's relayed codes), and finite weights.
    """
    path = Path(model)
    source = str(path)
    proto, info = _open_step_model(path)
    g = StepGraph(proto, source)
    total, d = info.channels, info.code_channels  # the state's channels, and a family model's code channels
    c = total - d
    _check_state_input(g, proto, total)
    net = _update_network(g, c)
    w1, b1, w2, b2 = net.w1, net.b1, net.w2, net.b2
    hidden = w1.shape[0]
    src, kernels, nca, relay = _perception(g, net.first.input[0], c, d)
    if w1.shape[1] != len(src) + d:
        raise g.fail(f"the first layer takes {w1.shape[1]} inputs but the perception gives {len(src) + d}")
    if info.hidden is not None and info.hidden != hidden:
        raise g.fail(f"the metadata says {info.hidden} hidden units, the graph has {hidden}")
    updated = _residual(g, net.out, nca)
    if len(g.of_type("Conv")) != 2 + sum(1 for n in g.of_type("Conv") if n.input[0] == nca):
        raise g.fail("the graph has convolutions that are neither perception nor the update network")
    if bool(g.of_type("Max")) != (info.lattice.name == "hex"):
        raise g.fail(f"the metadata says lattice {info.lattice.name}, the graph's alive test is the other one's")
    _check_alive(g, info.alive_threshold, relay)
    if relay is not None:
        _check_output(g, updated, relay)
    if not all(
        np.isfinite(a).all() for a in (kernels, w1, w2, b1 if b1 is not None else 0, b2 if b2 is not None else 0)
    ):
        raise NCAError(f"{source}: the weights hold NaN or infinity; the page cannot run it")
    return StepWeights(
        channels=c,
        hidden=hidden,
        fire_rate=info.fire_rate,
        threshold=info.alive_threshold,
        src=src,
        kernels=kernels,
        w1=w1[:, :, 0, 0].copy(),
        b1=np.zeros(hidden, np.float32) if b1 is None else b1,
        w2=w2[:, :, 0, 0].copy(),
        b2=np.zeros(c, np.float32) if b2 is None else b2,
        grid=info.grid,
        target_name=info.target_name,
        code_channels=d,
        codes=_page_codes(info),
        seed_map=None if info.family is None else info.family.seed_map,
        lattice=info.lattice.name,
        mask_kind=info.mask_kind,
    )
