"""The live region of a rollout: the window of the grid where a step can change a cell, and how it moves.

Why a window gives the full grid's frames. A step (perceive -> update -> alive masking) reads, for a cell ``c``:
perception, the 3x3 neighbourhood of the state (zero padded); the alive test before the update, the 3x3 max-pool of
alpha; and the alive test after it, the 3x3 max-pool of the *updated, not yet masked* alpha of the neighbours, each
of which was computed from its own 3x3 neighbourhood. Let ``S`` be the cells holding any nonzero value (any channel,
any sample; NaN and inf count) and ``S+k`` the cells within ``k`` of ``S`` (Chebyshev). Then:

* outside ``S+1`` nothing becomes nonzero: a cell lives only if some neighbour's alpha is above the threshold (>= 0),
  and such a neighbour is in ``S``; a dead cell is zeroed. So after a step the nonzero cells lie in ``S+1``.
* for a cell of ``S+1`` the step reads the state within ``S+2`` and the updated alpha of cells within ``S+2``, each
  computed from the state within ``S+3``. Run on a window that holds ``S+2`` (:data:`REACH` = 2: 1 for the 3x3
  perception, 1 for the 3x3 pooling of the updated alpha), every value read inside the window is the full grid's,
  and what lies outside it is zero, as the convolution's zero padding assumes. The max-pool pads with -inf instead
  of 0, but only cells outside ``S+1`` (zeroed either way) pool across the window's edge.

One cell less is not enough: a dead cell next to ``S+1`` can carry an updated alpha above the threshold for the one
moment between update and masking (its update from an all-zero neighbourhood is the bias path), and that keeps its
live neighbour alive in the full grid; tests/test_window.py builds such a model and sees margin 1 differ. The frames
are the full grid's value for value; only the sign of a zero may differ in dead cells (the full grid multiplies a
dead cell's update by 0 and keeps its sign), which no rendered frame shows.

This holds for any model of the contract with these reaches and a non-negative alive threshold, whatever its channel
count (a family model's code channels relayed by a 3x3 max-pool have the same reach). It does not hold for a model
that may give dead cells values, so the rollout windows only models with ncarender metadata.

Window sizes are rounded up to multiples of a quantum (buckets), so a rollout reuses one set of buffers (and, on
CUDA, one captured graph) per bucket for many steps. On a device, :class:`DeviceOps` moves the state between
windows, cuts each step's window out of the full-grid masks and finds the nonzero box without a host round trip.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

if TYPE_CHECKING:
    import onnxruntime as ort

    from .session import NCASession

__all__ = ["REACH", "Box", "DeviceOps", "Window", "WindowPlanner", "box_of_profiles", "grow", "nonzero_box"]

#: Cells a step reaches beyond the nonzero cells: 1 (3x3 perception) + 1 (3x3 max-pool of the updated alpha).
REACH = 2

#: A box of cells in grid coordinates, ``(top, bottom, left, right)``, bottom and right exclusive.
Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Window:
    """A rectangle of the grid: rows ``top .. top + height``, columns ``left .. left + width``."""

    top: int
    left: int
    height: int
    width: int

    @property
    def bottom(self) -> int:
        """One past the last row."""
        return self.top + self.height

    @property
    def right(self) -> int:
        """One past the last column."""
        return self.left + self.width

    @property
    def index(self) -> tuple[slice, slice]:
        """The window's part of an ``(..., H, W)`` array: ``array[..., rows, cols]``."""
        return slice(self.top, self.bottom), slice(self.left, self.right)

    @property
    def cells(self) -> int:
        """Cells in the window."""
        return self.height * self.width

    def holds(self, box: Box) -> bool:
        """Whether ``box`` (already clipped to the grid) lies inside the window."""
        top, bottom, left, right = box
        return self.top <= top and bottom <= self.bottom and self.left <= left and right <= self.right


def grow(box: Box, by: int, grid: tuple[int, int]) -> Box:
    """``box`` grown by ``by`` cells on every side, clipped to the ``grid`` ``(H, W)``."""
    top, bottom, left, right = box
    return max(0, top - by), min(grid[0], bottom + by), max(0, left - by), min(grid[1], right + by)


def box_of_profiles(rows: np.ndarray, cols: np.ndarray, offset: tuple[int, int] = (0, 0)) -> Box | None:
    """The box of the nonzero entries of a row profile ``(h,)`` and a column profile ``(w,)``, shifted by ``offset``.

    None if there are none (every cell is zero).
    """
    ys, xs = np.flatnonzero(rows), np.flatnonzero(cols)
    if ys.size == 0 or xs.size == 0:
        return None
    return (
        offset[0] + int(ys[0]),
        offset[0] + int(ys[-1]) + 1,
        offset[1] + int(xs[0]),
        offset[1] + int(xs[-1]) + 1,
    )


def nonzero_box(state: np.ndarray, offset: tuple[int, int] = (0, 0)) -> Box | None:
    """The box of the cells of ``state`` ``(N, C, h, w)`` that hold a nonzero value (NaN, inf included) in any
    sample and channel, shifted by ``offset`` (the window's top-left); None if every value is zero."""
    live = np.any(state, axis=(0, 1))  # (h, w); NaN counts as nonzero
    return box_of_profiles(live.any(axis=1), live.any(axis=0), offset)


class WindowPlanner:
    """Chooses the window of a box: the box grown by ``reach`` and ``slack`` cells, each side rounded up to a
    multiple of ``quantum`` (at most the grid), centred on the box and kept inside the grid.

    ``slack`` lets the live region grow for a few steps before the window must move.
    """

    def __init__(self, grid: tuple[int, int], *, reach: int = REACH, quantum: int = 8, slack: int = 2) -> None:
        if reach < 0 or quantum < 1 or slack < 0:
            raise ValueError("reach and slack must be >= 0, quantum >= 1")
        self.grid = grid
        self.reach = reach
        self.quantum = quantum
        self.slack = slack

    @property
    def full(self) -> Window:
        """The whole grid."""
        return Window(0, 0, *self.grid)

    def needs(self, box: Box) -> Box:
        """The cells a step on ``box``'s nonzero cells may read or change: ``box`` grown by the reach."""
        return grow(box, self.reach, self.grid)

    def _side(self, start: int, stop: int, limit: int) -> tuple[int, int]:
        need = stop - start + 2 * (self.reach + self.slack)
        size = min(limit, -(-need // self.quantum) * self.quantum)
        first = start - self.reach - self.slack - (size - need) // 2
        return min(max(0, first), limit - size), size

    def plan(self, box: Box) -> Window:
        """The window for the nonzero cells in ``box``."""
        top, height = self._side(box[0], box[1], self.grid[0])
        left, width = self._side(box[2], box[3], self.grid[1])
        return Window(top, left, height, width)


# --------------------------------------------------------------------------- device helpers


def _helper_models() -> dict[str, bytes]:
    """Three tiny ONNX models (opset 17) that work on the device: ``crop`` (a step's window of the full-grid mask),
    ``move`` (a state from one window into another: crop the overlap, zero-pad the rest) and ``profiles`` (which rows
    and columns of a window hold a nonzero value)."""
    from onnx import TensorProto, helper  # only a device rollout pays for this import

    f32, i64 = TensorProto.FLOAT, TensorProto.INT64
    axes = helper.make_tensor("axes", i64, [2], [2, 3])
    four: list[str | int | None] = ["N", "C", "h", "w"]

    def model(nodes: list[object], inputs: list[object], outputs: list[object], inits: list[object]) -> bytes:
        graph = helper.make_graph(nodes, "ncarender_window", inputs, outputs, inits)  # type: ignore[arg-type]
        proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
        return bytes(proto.SerializeToString())

    vector = [helper.make_tensor_value_info(name, i64, [2]) for name in ("starts", "ends")]
    crop = model(
        [helper.make_node("Slice", ["mask", "starts", "ends", "axes"], ["window"])],
        [helper.make_tensor_value_info("mask", f32, ["N", 1, "H", "W"]), *vector],
        [helper.make_tensor_value_info("window", f32, ["N", 1, "h", "w"])],
        [axes],
    )
    move = model(
        [
            helper.make_node("Slice", ["state", "starts", "ends", "axes"], ["overlap"]),
            helper.make_node("Pad", ["overlap", "pads"], ["moved"], mode="constant"),
        ],
        [
            helper.make_tensor_value_info("state", f32, four),
            *vector,
            helper.make_tensor_value_info("pads", i64, [8]),
        ],
        [helper.make_tensor_value_info("moved", f32, ["N", "C", "h2", "w2"])],
        [axes],
    )
    zero = helper.make_tensor("zero", f32, [], [0.0])
    profiles = model(
        [
            helper.make_node("Equal", ["state", "zero"], ["is_zero"]),  # NaN is not zero
            helper.make_node("Not", ["is_zero"], ["nonzero"]),
            helper.make_node("Cast", ["nonzero"], ["ones"], to=f32),
            helper.make_node("ReduceMax", ["ones"], ["cells"], axes=[0, 1], keepdims=0),
            helper.make_node("ReduceMax", ["cells"], ["rows"], axes=[1], keepdims=0),
            helper.make_node("ReduceMax", ["cells"], ["cols"], axes=[0], keepdims=0),
        ],
        [helper.make_tensor_value_info("state", f32, four)],
        [helper.make_tensor_value_info("rows", f32, ["h"]), helper.make_tensor_value_info("cols", f32, ["w"])],
        [zero],
    )
    return {"crop": crop, "move": move, "profiles": profiles}


class DeviceOps:
    """The window's work on the device of a session (CUDA; the CPU runs it too, in tests): sessions of
    :func:`_helper_models` on the session's providers, made once per :class:`NCASession` (:meth:`of`)."""

    _made: ClassVar[weakref.WeakKeyDictionary[NCASession, DeviceOps]] = weakref.WeakKeyDictionary()

    def __init__(self, providers: list[str], device: str) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        opts.intra_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.device = device
        self.sessions = {
            name: ort.InferenceSession(proto, sess_options=opts, providers=providers)
            for name, proto in _helper_models().items()
        }
        self.bindings = {name: s.io_binding() for name, s in self.sessions.items()}
        self._ort = ort

    @classmethod
    def of(cls, nca: NCASession) -> DeviceOps:
        """The helpers of ``nca``, made on first use."""
        ops = cls._made.get(nca)
        if ops is None:
            ops = cls._made[nca] = cls(nca.session.get_providers(), nca.device)
        return ops

    def _run(self, name: str) -> None:
        self.sessions[name].run_with_iobinding(self.bindings[name])

    def crop(self, address: int, grid: tuple[int, int], n: int, window: Window, out: ort.OrtValue) -> None:
        """Write the ``window`` of the full-grid mask ``(n, 1, H, W)`` at device ``address`` into ``out``."""
        b = self.bindings["crop"]
        b.bind_input("mask", self.device, 0, np.float32, [n, 1, *grid], address)
        b.bind_cpu_input("starts", np.array([window.top, window.left], dtype=np.int64))
        b.bind_cpu_input("ends", np.array([window.bottom, window.right], dtype=np.int64))
        b.bind_ortvalue_output("window", out)
        self._run("crop")

    def move(self, src: ort.OrtValue, old: Window, dst: ort.OrtValue, new: Window) -> None:
        """Write the state ``src`` of window ``old`` into ``dst`` as window ``new``; zero where ``old`` has no cell.

        The nonzero cells must lie in both windows (the overlap is never empty).
        """
        top, left = max(old.top, new.top), max(old.left, new.left)
        bottom, right = min(old.bottom, new.bottom), min(old.right, new.right)
        b = self.bindings["move"]
        b.bind_ortvalue_input("state", src)
        b.bind_cpu_input("starts", np.array([top - old.top, left - old.left], dtype=np.int64))
        b.bind_cpu_input("ends", np.array([bottom - old.top, right - old.left], dtype=np.int64))
        pads = [0, 0, top - new.top, left - new.left, 0, 0, new.bottom - bottom, new.right - right]
        b.bind_cpu_input("pads", np.array(pads, dtype=np.int64))
        b.bind_ortvalue_output("moved", dst)
        self._run("move")

    def profiles(self, state: ort.OrtValue) -> tuple[np.ndarray, np.ndarray]:
        """Which rows ``(h,)`` and columns ``(w,)`` of ``state`` ``(N, C, h, w)`` hold a nonzero value (1.0)."""
        b = self.bindings["profiles"]
        b.bind_ortvalue_input("state", state)
        b.bind_output("rows", "cpu")
        b.bind_output("cols", "cpu")
        self._run("profiles")
        rows, cols = b.copy_outputs_to_cpu()
        return np.asarray(rows), np.asarray(cols)
