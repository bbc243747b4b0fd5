"""A rollout's buffers: its state bound to the session per window shape.

:class:`BoundRollout` keeps the state of the rollout loop (:func:`~ncarender.runtime.rollout.roll_out`) in
preallocated buffers bound with IOBinding, one pair per window shape of the live region
(:mod:`~ncarender.runtime.window`), and binds each step's mask from a :class:`~ncarender.runtime.masks.MaskStream`.
On CUDA a small rollout replays a graph captured on the buffers of :class:`~ncarender.runtime.graphs.GraphCache`.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import onnxruntime as ort

from .graphs import GraphBuffers
from .masks import MaskStream
from .symmetry import WindowOrbits
from .window import REACH, Box, DeviceOps, Window, WindowPlanner, box_of_profiles, grow, nonzero_box

if TYPE_CHECKING:
    from .session import NCASession

__all__ = ["BoundRollout"]

#: Cells a step reaches beyond the nonzero ones (:data:`~ncarender.runtime.window.REACH`; a test lowers it).
WINDOW_REACH = REACH
#: Window sides are rounded up to multiples of this many cells, per kind of rollout. On the CPU a step costs about
#: its cells: fine steps (200 steps of 72x72 at batch 8: 2.66x fewer cells than the grid, 2.26x in steps of 8). On
#: CUDA a few more cells cost less than another shape (another kernel choice; with graphs, another capture).
WINDOW_QUANTUM = {"cpu": 2, "cuda": 16, "cuda-graph": 16}
#: Cells of room for growth a new window gets on each side beyond the reach. A graph rollout is bound by kernel
#: launches, not cells: room for 8 steps of growth between two measurements of the live region.
WINDOW_SLACK = {"cpu": 1, "cuda": 4, "cuda-graph": 8}
#: Steps after which the live region is measured again even if it has not grown into the window's edge, so that
#: a region that shrank (damage, a dying model) moves to a smaller window.
RESCAN_EVERY = 16
#: Move to a smaller window only when it has at most this fraction of the current one's cells.
SHRINK_BELOW = 0.7
#: Window shapes whose buffers a rollout keeps for reuse.
BUCKETS_KEPT = 4


@dataclass
class Bucket:
    """The buffers of one window shape ``(N, C, h, w)``: two states swapped each step, and the window's mask.

    ``arrays`` are the host arrays behind ``values`` (CPU), empty when the states live on the device. ``mask`` is
    None for the full grid's shape unless a graph needs one buffer (the full grid's mask is bound in place), or
    the masks are drawn straight into ``mask_array``. ``bindings`` (drawn masks): ``bindings[k]`` runs state
    ``k`` -> ``1 - k`` with the window's mask, bound once.
    """

    values: list[ort.OrtValue]
    arrays: list[np.ndarray]
    mask: ort.OrtValue | None
    mask_array: np.ndarray | None
    graph: GraphBuffers | None
    bindings: list[ort.IOBinding] = field(default_factory=list)


class BoundRollout:
    """A rollout's state in buffers bound to the session, on a window of the grid (all of it unless ``live``).

    CPU: the state buffers are numpy arrays; each step's masks are drawn for the window alone
    (:meth:`MaskStream.window <ncarender.runtime.masks.MaskStream.window>`) into the window's mask buffer, and the
    two runs of a window shape (state 0 -> 1, 1 -> 0) are bound once (``direct``); with a stream of blocks, each
    step's mask is bound in place from the block (the full grid) or its window's part copied. CUDA (``staged``): the
    state stays on the device in onnxruntime buffers, each mask block is uploaded with one copy into a device
    buffer, and each step binds its slice of that buffer by address or crops its window on the device
    (:class:`~ncarender.runtime.window.DeviceOps`). ``graphs``: each window shape replays the CUDA graph that
    :class:`GraphCache` captured on its buffers; its one mask buffer is refilled from the host each step.

    ``live``: before a step, the window must hold the nonzero cells grown by the step's reach. The rollout keeps a
    box known to hold them (grown by one cell a step); when that box reaches past the window, or every
    :data:`RESCAN_EVERY` steps, it measures the exact box, and moves the state to a new window when the box no
    longer fits or fits a much smaller one. ``direct`` looks at the state instead of the grown box: only the bands
    of the window within the reach of its sides inside the grid (:meth:`_edge_clear`). The staged and graph paths
    are tested on the CPU (tests/test_perf_invariants.py, tests/test_window.py); on a GPU by tests/test_cuda.py, not
    in CI.
    """

    def __init__(
        self,
        nca: NCASession,
        n: int,
        c: int,
        height: int,
        width: int,
        masks: MaskStream,
        *,
        staged: bool | None = None,
        graphs: bool = False,
        live: bool = False,
    ) -> None:
        self.nca = nca
        self.session = nca.session
        self.device = nca.device
        self.masks = masks
        self.graphs = graphs
        self.staged = graphs or (self.device != "cpu" if staged is None else staged)
        #: Masks drawn per step for the window into its buffer, runs bound once per window shape (the CPU).
        self.direct = not self.staged and masks.windowed
        self.live = live
        self.n, self.c, self.grid = n, c, (height, width)
        kind = "cpu" if self.device == "cpu" else "cuda-graph" if graphs else "cuda"
        self.planner = WindowPlanner(
            self.grid, reach=WINDOW_REACH, quantum=WINDOW_QUANTUM[kind], slack=WINDOW_SLACK[kind]
        )
        self.ops = DeviceOps.of(nca) if self.staged and live else None
        self.mask_shape = [n, 1, height, width]
        self.mask_bytes = 4 * n * height * width
        self.mask_blocks: list[ort.OrtValue] = []
        self.byte_blocks: list[ort.OrtValue] = []
        if self.staged and not graphs:  # mask blocks uploaded by the mask thread (a graph's come from the host)
            block_shape = masks.block_shape
            self.mask_blocks = [
                ort.OrtValue.ortvalue_from_shape_and_type(block_shape, np.float32, self.device, 0)
                for _ in range(masks.slots)
            ]
            if masks.dtype == np.uint8:  # uploaded as bytes, widened on the device
                self.widen = nca.widen_session()
                self.byte_blocks = [
                    ort.OrtValue.ortvalue_from_shape_and_type(block_shape, np.uint8, self.device, 0)
                    for _ in range(masks.slots)
                ]
                self.widen_bindings = []
                for small, wide in zip(self.byte_blocks, self.mask_blocks, strict=True):
                    binding = self.widen.io_binding()
                    binding.bind_ortvalue_input("bytes", small)
                    binding.bind_ortvalue_output("floats", wide)
                    self.widen_bindings.append(binding)
            masks.on_filled = self._upload
        self.used = masks.block  # masks of the loaded block already used; a new block is drawn first
        self.step_mask = 0  # this step's index in the block
        self.host_block: np.ndarray | None = None  # keeps the CPU block alive while it is bound
        self.mask_address = 0
        self.binding = self.session.io_binding()
        # No run options unless needed: onnxruntime's Python run_with_iobinding looks up a graph id in them, and a
        # missing one costs a caught exception (35 us a step).
        self.run_options: ort.RunOptions | None = None
        if nca.graphs.enabled:  # a session with graphs enabled runs this rollout without one
            self.run_options = ort.RunOptions()
            self.run_options.add_run_config_entry("gpu_graph_id", "-1")
        self._buckets: OrderedDict[tuple[int, int], Bucket] = OrderedDict()
        self.window = self.planner.full
        self._loaded: Bucket | None = None  # the current window's buffers, from the first set_state
        self.current = 0
        #: Holds every nonzero cell (grid coordinates); None: every cell is zero, and stays so.
        self.box: Box | None = (0, height, 0, width)
        self.since_scan = 0

    # ---- buffers per window shape

    @property
    def bucket(self) -> Bucket:
        """The buffers of the current window."""
        if self._loaded is None:
            raise RuntimeError("set_state() first")
        return self._loaded

    def _bucket(self, window: Window) -> Bucket:
        """The buffers of ``window``'s shape, made on first use; the least recently used beyond
        :data:`BUCKETS_KEPT` are dropped."""
        key = (window.height, window.width)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._make_bucket(window)
            self._buckets[key] = bucket
            while len(self._buckets) > BUCKETS_KEPT:
                self._buckets.popitem(last=False)
        self._buckets.move_to_end(key)
        return bucket

    def _make_bucket(self, window: Window) -> Bucket:
        shape = (self.n, self.c, window.height, window.width)
        mask_shape = (self.n, 1, window.height, window.width)
        full = window == self.planner.full
        if self.graphs:
            g = self.nca.graphs.buffers(self.session, self.device, shape)
            return Bucket(values=g.values, arrays=[], mask=g.mask, mask_array=None, graph=g)
        if not self.staged:
            arrays = [np.zeros(shape, np.float32), np.zeros(shape, np.float32)]
            mask_array = None if full and not self.direct else np.zeros(mask_shape, np.float32)
            bucket = Bucket(
                values=[ort.OrtValue.ortvalue_from_numpy(a) for a in arrays],
                arrays=arrays,
                mask=None if mask_array is None else ort.OrtValue.ortvalue_from_numpy(mask_array),
                mask_array=mask_array,
                graph=None,
            )
            if self.direct:
                for k in range(2):
                    binding = self.session.io_binding()
                    binding.bind_ortvalue_input("state", bucket.values[k])
                    binding.bind_ortvalue_input("mask", bucket.mask)
                    binding.bind_ortvalue_output("next_state", bucket.values[1 - k])
                    bucket.bindings.append(binding)
            return bucket
        values = [ort.OrtValue.ortvalue_from_shape_and_type(shape, np.float32, self.device, 0) for _ in range(2)]
        mask = None if full else ort.OrtValue.ortvalue_from_shape_and_type(mask_shape, np.float32, self.device, 0)
        return Bucket(values=values, arrays=[], mask=mask, mask_array=None, graph=None)

    # ---- the state

    def set_state(self, state: np.ndarray) -> None:
        """Replace the current state with ``state`` ``(N, C, H, W)`` (the full grid)."""
        window = self.planner.full
        if self.live:
            self.box = nonzero_box(state)
            window = self.window
            if self.box is not None and (not window.holds(self.planner.needs(self.box)) or self._shrinks(self.box)):
                window = self.planner.plan(self.box)
            self.since_scan = 0
        if window != self.window or self._loaded is None:
            self.window, self._loaded, self.current = window, self._bucket(window), 0
        rows, cols = window.index
        if not self.staged:
            np.copyto(self.bucket.arrays[self.current], state[:, :, rows, cols])
        else:
            part = np.ascontiguousarray(state[:, :, rows, cols], dtype=np.float32)
            self.bucket.values[self.current].update_inplace(part)

    def get_state(self) -> np.ndarray:
        """A host copy of the current state ``(N, C, H, W)`` (the full grid)."""
        if not self.staged:
            part = self.bucket.arrays[self.current]
        else:  # a copy from a device; a view of a CPU buffer
            part = self.bucket.values[self.current].numpy()
            if self.device != "cpu" and self.window == self.planner.full:
                return part
        if self.window == self.planner.full:
            return part.copy()
        out = np.zeros((self.n, self.c, *self.grid), dtype=np.float32)
        rows, cols = self.window.index
        out[:, :, rows, cols] = part
        return out

    def symmetrise(self, orbits: WindowOrbits) -> None:
        """Take every cell of the current state from its orbit's representative, on the current window (one
        gather into the other buffer; a device state makes a host round trip). See :mod:`.symmetry`."""
        if self._loaded is None or (self.live and self.box is None):
            return
        w = self.window
        index = orbits.index(w.top, w.left, w.height, w.width)
        if not self.staged:
            arrays = self.bucket.arrays
            WindowOrbits.gather(arrays[self.current], index, arrays[1 - self.current])
            self.current = 1 - self.current
            return
        value = self.bucket.values[self.current]
        part = value.numpy()
        out = np.empty_like(part)
        WindowOrbits.gather(part, index, out)
        value.update_inplace(out)

    # ---- the window

    def _shrinks(self, box: Box) -> bool:
        """Whether ``box`` fits a window much smaller than the current one."""
        return self.planner.plan(box).cells <= SHRINK_BELOW * self.window.cells

    def _scan(self) -> Box | None:
        """The exact box of the nonzero cells (grid coordinates), measured in the current window."""
        offset = (self.window.top, self.window.left)
        if not self.staged:
            return nonzero_box(self.bucket.arrays[self.current], offset)
        assert self.ops is not None
        rows, cols = self.ops.profiles(self.bucket.values[self.current])
        return box_of_profiles(rows, cols, offset)

    def _edge_clear(self) -> bool:
        """Whether no cell of the current state within the reach of a window side inside the grid holds a nonzero
        value (NaN and inf count): then the window holds what the next step reaches. Host arrays only."""
        state, w, r = self.bucket.arrays[self.current], self.window, self.planner.reach
        if r == 0:
            return True
        bands = []
        if w.top > 0:
            bands.append(state[:, :, :r])
        if w.bottom < self.grid[0]:
            bands.append(state[:, :, -r:])
        if w.left > 0:
            bands.append(state[:, :, :, :r])
        if w.right < self.grid[1]:
            bands.append(state[:, :, :, -r:])
        return not any(band.any() for band in bands)

    def _fit(self) -> None:
        """Before a step: make sure the window holds what the step reaches (see the class docstring)."""
        assert self.box is not None
        if self.since_scan < RESCAN_EVERY and (
            self._edge_clear() if self.direct else self.window.holds(self.planner.needs(self.box))
        ):
            return
        self.box = self._scan()
        self.since_scan = 0
        if self.box is None or (self.window.holds(self.planner.needs(self.box)) and not self._shrinks(self.box)):
            return
        self._move(self.planner.plan(self.box))

    def _move(self, new: Window) -> None:
        """Put the state into window ``new`` (which holds every nonzero cell): the overlap copied, zeros elsewhere."""
        old, src = self.window, self.current
        if (new.height, new.width) == (old.height, old.width):
            bucket, dst = self.bucket, 1 - src
        else:
            bucket, dst = self._bucket(new), 0
        if self.staged:
            assert self.ops is not None
            self.ops.move(self.bucket.values[src], old, bucket.values[dst], new)
        else:
            top, left = max(old.top, new.top), max(old.left, new.left)
            bottom, right = min(old.bottom, new.bottom), min(old.right, new.right)
            target = bucket.arrays[dst]
            target.fill(0.0)
            target[:, :, top - new.top : bottom - new.top, left - new.left : right - new.left] = self.bucket.arrays[
                src
            ][:, :, top - old.top : bottom - old.top, left - old.left : right - old.left]
        self.window, self._loaded, self.current = new, bucket, dst

    # ---- masks

    def _upload(self, block: np.ndarray, slot: int) -> None:
        """Copy a filled mask block to its device buffer (on the mask thread; that buffer is not bound now)."""
        if self.byte_blocks:
            self.byte_blocks[slot].update_inplace(block)
            self.widen.run_with_iobinding(self.widen_bindings[slot])
        else:
            self.mask_blocks[slot].update_inplace(block)

    def _next_mask(self) -> None:
        """Advance to this step's full-grid mask (a new block when the loaded one is used up)."""
        if self.used == self.masks.block:
            self.host_block = self.masks.next()
            if self.mask_blocks:  # uploaded by _upload when the block was filled
                self.mask_address = self.mask_blocks[self.masks.slot].data_ptr()
            else:
                self.mask_address = self.host_block.ctypes.data
            self.used = 0
        self.step_mask = self.used
        self.used += 1

    def _bind_mask(self) -> None:
        """Bind this step's mask for the current window (the graph's buffer is refilled instead)."""
        full = self.window == self.planner.full
        rows, cols = self.window.index
        if self.graphs:
            assert self.host_block is not None and self.bucket.mask is not None
            host = self.host_block[self.step_mask]
            self.bucket.mask.update_inplace(host if full else np.ascontiguousarray(host[:, :, rows, cols]))
            return
        address = self.mask_address + self.step_mask * self.mask_bytes
        if full:
            self.binding.bind_input("mask", self.device, 0, np.float32, self.mask_shape, address)
            return
        assert self.bucket.mask is not None
        if self.staged:
            assert self.ops is not None
            self.ops.crop(address, self.grid, self.n, self.window, self.bucket.mask)
        else:
            assert self.host_block is not None and self.bucket.mask_array is not None
            np.copyto(self.bucket.mask_array, self.host_block[self.step_mask][:, :, rows, cols])
        self.binding.bind_ortvalue_input("mask", self.bucket.mask)

    # ---- a step

    def run(self) -> None:
        """One step with the next mask: the current state buffer -> the other one (nothing when all is zero)."""
        if self.direct:
            self._run_direct()
            return
        self._next_mask()
        if self.live:
            if self.box is None:  # every cell is zero: a step keeps it so
                return
            self._fit()
            if self.box is None:
                return
        self._bind_mask()
        k, bucket = self.current, self.bucket
        if bucket.graph is not None:
            self.session.run_with_iobinding(bucket.graph.bindings[k], bucket.graph.run_options[k])
        else:
            self.binding.bind_ortvalue_input("state", bucket.values[k])
            self.binding.bind_ortvalue_output("next_state", bucket.values[1 - k])
            self.session.run_with_iobinding(self.binding, self.run_options)
        self.current = 1 - k
        if self.live:
            assert self.box is not None
            self.box = grow(self.box, 1, self.grid)
            self.since_scan += 1

    def _run_direct(self) -> None:
        """:meth:`run` on the host: fit the window, draw its masks into its buffer, run the bound step."""
        if self.live:
            if self.box is not None:
                self._fit()
            if self.box is None:  # every cell is zero: a step keeps it so
                self.masks.skip()
                return
        k, bucket, window = self.current, self.bucket, self.window
        assert bucket.mask_array is not None
        self.masks.window(bucket.mask_array, window.top, window.left)
        self.session.run_with_iobinding(bucket.bindings[k], self.run_options)
        self.current = 1 - k
        if self.live:
            assert self.box is not None
            self.box = grow(self.box, 1, self.grid)
            self.since_scan += 1
