"""A small hex NCA written straight as ONNX (no torch), for the render side's tests of hex models.

The step is the issue's hex model: per channel identity and the six-neighbour Laplacian (a 3x3 depthwise
kernel with two zero corners), a 1x1 update network, ``state + update * mask``, and alive masking by the max
of alpha over a cell and its six neighbours, before and after the update. The weights are random (seeded); the
update is ``tanh(W2 h + b2) - state / 4`` (bounded, with a push on alpha), so the state grows and stays finite
but is chaotic enough that float rounding would show. :func:`numpy_step` is the same step in numpy.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ncarender.lattice import HEX_LAPLACIAN, HEX_OFFSETS

if TYPE_CHECKING:
    from ncarender.train.model import NCA

CHANNELS = 8
HIDDEN = 16
THRESHOLD = 0.1


def hex_weights(seed: int = 0, channels: int = CHANNELS, hidden: int = HIDDEN) -> dict[str, np.ndarray]:
    """Random weights: ``w1`` ``(hidden, 2C)``, ``b1`` ``(hidden,)``, ``w2`` ``(C, hidden)``, ``b2`` ``(C,)``."""
    rng = np.random.default_rng(seed)
    return {
        "w1": (rng.standard_normal((hidden, 2 * channels)) * 0.5).astype(np.float32),
        "b1": (rng.standard_normal(hidden) * 0.1).astype(np.float32),
        "w2": (rng.standard_normal((channels, hidden)) * 0.5).astype(np.float32),
        "b2": np.where(np.arange(channels) == 3, 0.6, 0.0).astype(np.float32),
    }


def _perception_kernel(channels: int) -> np.ndarray:
    """``(2C, 1, 3, 3)``: per channel identity, then ``lap6``."""
    ident = np.zeros((3, 3), np.float32)
    ident[1, 1] = 1.0
    return np.stack([k for _ in range(channels) for k in (ident, HEX_LAPLACIAN)])[:, None].astype(np.float32)


def _hex_max(name: str, source: str, nodes: list[onnx.NodeProto], inits: list[onnx.TensorProto]) -> str:
    """Nodes for the max of ``source`` ``(N, 1, H, W)`` over each cell and its six neighbours; the output name."""
    padded = f"{name}_padded"
    nodes.append(helper.make_node("Pad", [source, "pads1", "neg"], [padded], mode="constant"))
    parts = []
    for i, (dr, dq) in enumerate(((0, 0), *HEX_OFFSETS)):
        starts = numpy_helper.from_array(np.array([1 + dr, 1 + dq], np.int64), f"{name}_s{i}")
        end = [-(1 - dr) if dr < 1 else 2**62, -(1 - dq) if dq < 1 else 2**62]
        ends = numpy_helper.from_array(np.array(end, np.int64), f"{name}_e{i}")
        inits += [starts, ends]
        nodes.append(helper.make_node("Slice", [padded, starts.name, ends.name, "axes23"], [f"{name}_{i}"]))
        parts.append(f"{name}_{i}")
    nodes.append(helper.make_node("Max", parts, [name]))
    return name


def write_hex_model(
    path: Path,
    *,
    seed: int = 0,
    mask: str | None = "orbit",
    lattice: str = "hex",
    grid: tuple[int, int] = (33, 33),
    channels: int = CHANNELS,
    hidden: int = HIDDEN,
    extra: dict[str, str] | None = None,
) -> Path:
    """Write the hex step with :func:`hex_weights` ``(seed)`` and ncarender metadata naming ``lattice``/``mask``."""
    w = hex_weights(seed, channels, hidden)
    inits = [
        numpy_helper.from_array(_perception_kernel(channels), "perceive_w"),
        numpy_helper.from_array(w["w1"][:, :, None, None], "w1"),
        numpy_helper.from_array(w["b1"], "b1"),
        numpy_helper.from_array(w["w2"][:, :, None, None], "w2"),
        numpy_helper.from_array(w["b2"], "b2"),
        numpy_helper.from_array(np.array(0.25, np.float32), "decay"),
        numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "pads1"),
        numpy_helper.from_array(np.array(-1e9, np.float32), "neg"),
        numpy_helper.from_array(np.array([2, 3], np.int64), "axes23"),
        numpy_helper.from_array(np.array([3], np.int64), "c3"),
        numpy_helper.from_array(np.array([4], np.int64), "c4"),
        numpy_helper.from_array(np.array([1], np.int64), "axis1"),
        numpy_helper.from_array(np.array(THRESHOLD, np.float32), "threshold"),
    ]
    nodes = [
        helper.make_node("Slice", ["state", "c3", "c4", "axis1"], ["alpha0"]),
        helper.make_node("Conv", ["state", "perceive_w"], ["perceived"], group=channels, pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["perceived", "w1", "b1"], ["pre"]),
        helper.make_node("Relu", ["pre"], ["hidden"]),
        helper.make_node("Conv", ["hidden", "w2", "b2"], ["raw"]),
        helper.make_node("Tanh", ["raw"], ["push"]),
        helper.make_node("Mul", ["state", "decay"], ["decayed"]),
        helper.make_node("Sub", ["push", "decayed"], ["update"]),
        helper.make_node("Mul", ["update", "mask"], ["masked"]),
        helper.make_node("Add", ["state", "masked"], ["updated"]),
        helper.make_node("Slice", ["updated", "c3", "c4", "axis1"], ["alpha1"]),
    ]
    before = _hex_max("max0", "alpha0", nodes, inits)
    after = _hex_max("max1", "alpha1", nodes, inits)
    nodes += [
        helper.make_node("Greater", [before, "threshold"], ["live0"]),
        helper.make_node("Greater", [after, "threshold"], ["live1"]),
        helper.make_node("And", ["live0", "live1"], ["live"]),
        helper.make_node("Cast", ["live"], ["livef"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["updated", "livef"], ["next_state"]),
    ]
    dims: list[str | int | None] = ["N", channels, "H", "W"]
    graph = helper.make_graph(
        nodes,
        "hex_nca",
        [
            helper.make_tensor_value_info("state", TensorProto.FLOAT, dims),
            helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["N", 1, "H", "W"]),
        ],
        [helper.make_tensor_value_info("next_state", TensorProto.FLOAT, dims)],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    meta = {
        "ncarender.format_version": "1",
        "ncarender.channels": str(channels),
        "ncarender.hidden": str(hidden),
        "ncarender.fire_rate": "0.5",
        "ncarender.alive_threshold": str(THRESHOLD),
        "ncarender.grid_height": str(grid[0]),
        "ncarender.grid_width": str(grid[1]),
        "ncarender.target_name": "hex-test",
        "ncarender.lattice": lattice,
        **({} if mask is None else {"ncarender.mask": mask}),
        **(extra or {}),
    }
    helper.set_model_props(model, meta)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def hex_max(a: np.ndarray) -> np.ndarray:
    """The max of ``a`` ``(..., H, W)`` over each cell and its six axial neighbours (outside: -inf)."""
    padded = np.pad(a, [(0, 0)] * (a.ndim - 2) + [(1, 1), (1, 1)], constant_values=-np.inf)
    h, w = a.shape[-2:]
    out = a.copy()
    for dr, dq in HEX_OFFSETS:
        np.maximum(out, padded[..., 1 + dr : 1 + dr + h, 1 + dq : 1 + dq + w], out=out)
    return out


def numpy_step(state: np.ndarray, mask: np.ndarray, seed: int = 0) -> np.ndarray:
    """The model's step in numpy (float64 inside): ``state`` ``(N, C, H, W)``, ``mask`` ``(N, 1, H, W)``."""
    w = hex_weights(seed, state.shape[1])
    x = state.astype(np.float64)
    padded = np.pad(x, [(0, 0), (0, 0), (1, 1), (1, 1)])
    h, wd = x.shape[-2:]
    lap = sum(padded[:, :, 1 + dr : 1 + dr + h, 1 + dq : 1 + dq + wd] for dr, dq in HEX_OFFSETS) / 6.0 - x
    perceived = np.stack([x, lap], axis=2).reshape(x.shape[0], -1, h, wd)  # (N, 2C, H, W): c0, lap0, c1, ...
    hidden = np.maximum(np.einsum("oc,nchw->nohw", w["w1"], perceived) + w["b1"][None, :, None, None], 0.0)
    raw = np.einsum("oc,nchw->nohw", w["w2"], hidden) + w["b2"][None, :, None, None]
    updated = x + (np.tanh(raw) - 0.25 * x) * mask
    live = (hex_max(x[:, 3:4]) > THRESHOLD) & (hex_max(updated[:, 3:4]) > THRESHOLD)
    return (updated * live).astype(np.float32)


# ---- torch hex models (the trainer's), for export and page tests


def random_hex(
    code_channels: int = 0, hidden: int = 16, seed: int = 0, mask: str = "orbit", lap_gain: float = 1.0
) -> NCA:
    """A random torch hex NCA (8 channels) whose alpha only grows: the flake spreads and stays alive."""
    import torch

    from ncarender.train.model import NCA

    torch.manual_seed(seed)
    model = NCA(channels=8, hidden=hidden, code_channels=code_channels, lattice="hex", mask=mask, lap_gain=lap_gain)
    torch.nn.init.normal_(model.w2.weight, std=0.02)
    with torch.no_grad():
        model.w2.weight[3] = model.w2.weight[3].abs()  # alpha only grows: the flake spreads and stays alive
    return model


def hex_checkpoint(tmp_path: Path, code_channels: int = 3, lap_gain: float = 1.0) -> Path:
    """:func:`random_hex` saved as a checkpoint (a family of 2 flakes when ``code_channels``) in ``tmp_path``."""
    from ncarender.train.checkpoint import Checkpoint, save_checkpoint

    model = random_hex(code_channels, lap_gain=lap_gain)
    ckpt = Checkpoint(
        model_config=model.config,
        state_dict={k: v.detach() for k, v in model.state_dict().items()},
        target=np.zeros((4, 15, 15), np.float32),
        target_name="hex",
    )
    if code_channels:
        from ncarender.family.conditioning import FamilyTargets

        codes = np.random.default_rng(0).random((2, code_channels)).astype(np.float32)
        ckpt.family = FamilyTargets(np.zeros((2, 4, 15, 15), np.float32), codes, "reiter:2")
    path = tmp_path / "hex.pt"
    save_checkpoint(path, ckpt)
    return path
