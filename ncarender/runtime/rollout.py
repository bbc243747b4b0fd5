"""The rollout loop: a :class:`~ncarender.spec.RenderSpec` in, ``(step, state)`` frames out.

The state stays in two preallocated buffers bound to the session with IOBinding and swapped each step; the masks
come from a :class:`~ncarender.runtime.masks.MaskStream`, so a batch of seeds gives the same frames as each seed
alone. On CUDA small rollouts replay a captured graph per step (:class:`GraphCache`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import onnxruntime as ort

from ..errors import NCAError
from ..spec import Damage, RenderSpec
from .masks import MaskStream
from .resources import usable_cores
from .seeds import states_for_seeds

if TYPE_CHECKING:
    from .session import NCASession

__all__ = [
    "COMPACT_MASK_UPLOAD",
    "CUDA_GRAPH_MAX_CELLS",
    "BoundRollout",
    "GraphCache",
    "GraphRollout",
    "NonFiniteStateError",
    "initial_states",
    "roll_out",
]

#: CUDA: masks are drawn and uploaded in blocks of steps of about this many bytes.
CUDA_MASK_BLOCK_BYTES = 64 * 2**20
#: CUDA: upload the masks as bytes and widen them to float32 on the GPU (a one-node Cast model), a quarter of
#: the host-to-device traffic of float32 masks.
COMPACT_MASK_UPLOAD = True
#: CUDA graphs by default for rollouts of at most this many cells (N x H x W): there the launch of ~20 kernels
#: per step dominates (batch 1 at 72x72: 0.11 against 0.24 ms/step on an H100); larger ones are bound by the
#: GPU's work and the mask upload, and a graph, whose mask buffer is refilled each step, gains nothing.
CUDA_GRAPH_MAX_CELLS = 65536


def initial_states(n: int, channels: int, height: int, width: int) -> np.ndarray:
    """The state at step 0 of ``n`` samples, ``(n, C, H, W)``: zeros but the centre cell, whose channels 3.. are 1."""
    x = np.zeros((n, channels, height, width), dtype=np.float32)
    x[:, 3:, height // 2, width // 2] = 1.0
    return x


class NonFiniteStateError(NCAError):
    """The state of some seeds became NaN or infinite at a step."""

    def __init__(self, step: int, seeds: list[int]):
        self.step = step
        self.seeds = seeds
        super().__init__(
            f"the state became non-finite (NaN/inf) at step {step} for seed(s) {', '.join(map(str, seeds))}; "
            "the model is unstable at this length or grid size"
        )


def roll_out(
    nca: NCASession, spec: RenderSpec, *, include_seed_frame: bool = True, failed: dict[int, int] | None = None
) -> Iterator[tuple[int, np.ndarray]]:
    """Run ``spec`` on ``nca`` for all its seeds at once; yield ``(step, state)`` for each frame.

    See :meth:`NCASession.states <ncarender.runtime.NCASession.states>`.
    """
    seeds = spec.seeds
    if not seeds:
        raise NCAError("no seeds to render")
    height, width = spec.grid(nca.info.grid)
    n, c = len(seeds), nca.info.channels
    nca.check_grid(n, height, width)
    by_step: dict[int, list[Damage]] = {}
    for d in spec.damage:
        by_step.setdefault(d.step, []).append(d)
    use_graph = nca.graphs.use_for(n, height, width)
    if nca.device == "cpu":  # one step's masks at a time, drawn on this thread: the cores run onnxruntime
        masks = MaskStream(seeds, height, width, nca.info.fire_rate)
    else:  # the host would idle while the GPU runs: draw blocks of steps ahead, seeds in parallel
        block = max(1, min(spec.steps, CUDA_MASK_BLOCK_BYTES // (4 * n * height * width)))
        masks = MaskStream(
            seeds,
            height,
            width,
            nca.info.fire_rate,
            block=block,
            workers=min(n, usable_cores()),
            prefetch=True,
            # a graph's one mask buffer is refilled from the host each step: float32 there
            dtype=np.uint8 if COMPACT_MASK_UPLOAD and not use_graph else np.float32,
        )
    try:
        runner = (
            GraphRollout(nca, n, c, height, width, masks)
            if use_graph
            else BoundRollout(nca, n, c, height, width, masks)
        )
        runner.set_state(states_for_seeds(nca.info, seeds, height, width, spec.flake))
        if include_seed_frame:
            yield 0, runner.get_state()
        steps, every = spec.steps, spec.every
        for t in range(1, steps + 1):
            if t - 1 in by_step:  # damage applies to the state after t-1 steps
                state = runner.get_state()
                for d in by_step[t - 1]:
                    state *= d.keep_mask(height, width)
                runner.set_state(state)
            runner.run()
            if t % every == 0 or t == steps:
                frame = runner.get_state()
                if not np.isfinite(frame).all():
                    bad = [i for i in range(n) if not np.isfinite(frame[i]).all()]
                    if failed is None:
                        raise NonFiniteStateError(t, [int(seeds[i]) for i in bad])
                    for i in bad:
                        failed.setdefault(i, t)
                    frame[bad] = 0.0
                    runner.set_state(frame)
                yield t, frame
    finally:
        masks.close()


class BoundRollout:
    """Two state buffers bound to the session, swapped by ``run()``; masks bound straight from a block.

    CPU: the state buffers are numpy arrays and each step's mask is bound in place from the
    :class:`MaskStream` block (no copies). CUDA (``staged``): the state stays on the device in two
    onnxruntime buffers, each mask block is uploaded with one copy into a device buffer, and each step binds
    its slice of that buffer by address. The staged path is tested on the CPU (tests/test_perf_invariants.py);
    on a GPU only by benchmarks/bench.py --device cuda, not in CI.
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
        allocate: bool = True,
    ) -> None:
        self.session = nca.session
        self.device = nca.device
        self.masks = masks
        self.staged = self.device != "cpu" if staged is None else staged
        shape = (n, c, height, width)
        self.mask_shape = [n, 1, height, width]
        self.mask_bytes = 4 * n * height * width
        if not allocate:  # a subclass brings its own buffers
            self.values = []
        elif not self.staged:
            self.buffers = [np.zeros(shape, np.float32), np.zeros(shape, np.float32)]
            self.values = [ort.OrtValue.ortvalue_from_numpy(b) for b in self.buffers]
        else:
            self.values = [
                ort.OrtValue.ortvalue_from_shape_and_type(shape, np.float32, self.device, 0) for _ in range(2)
            ]
            block_shape = masks.block_shape
            self.mask_blocks = [
                ort.OrtValue.ortvalue_from_shape_and_type(block_shape, np.float32, self.device, 0)
                for _ in range(masks.slots)
            ]
            self.byte_blocks: list[ort.OrtValue] = []
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
        self.current = 0
        self.used = masks.block  # masks of the loaded block already bound; a new block is drawn first
        self.host_block: np.ndarray | None = None  # keeps the CPU block alive while it is bound
        self.mask_address = 0
        self.binding = self.session.io_binding()
        self.run_options = ort.RunOptions()
        if nca.graphs.enabled:  # a session with graphs enabled runs this rollout without one
            self.run_options.add_run_config_entry("gpu_graph_id", "-1")

    def set_state(self, state: np.ndarray) -> None:
        """Replace the current state with ``state`` ``(N, C, H, W)``."""
        if not self.staged:
            np.copyto(self.buffers[self.current], state)
        else:
            self.values[self.current].update_inplace(np.ascontiguousarray(state, dtype=np.float32))

    def get_state(self) -> np.ndarray:
        """A host copy of the current state ``(N, C, H, W)``."""
        if not self.staged:
            return self.buffers[self.current].copy()
        host = self.values[self.current].numpy()  # a copy from a device; a view of a CPU buffer
        return host.copy() if self.device == "cpu" else host

    def _upload(self, block: np.ndarray, slot: int) -> None:
        """Copy a filled mask block to its device buffer (on the mask thread; that buffer is not bound now)."""
        if self.byte_blocks:
            self.byte_blocks[slot].update_inplace(block)
            self.widen.run_with_iobinding(self.widen_bindings[slot])
        else:
            self.mask_blocks[slot].update_inplace(block)

    def _bind_next_mask(self) -> None:
        if self.used == self.masks.block:
            self.host_block = self.masks.next()
            if self.staged:  # uploaded by _upload when the block was filled
                self.mask_address = self.mask_blocks[self.masks.slot].data_ptr()
            else:
                self.mask_address = self.host_block.ctypes.data
            self.used = 0
        address = self.mask_address + self.used * self.mask_bytes
        self.binding.bind_input("mask", self.device, 0, np.float32, self.mask_shape, address)
        self.used += 1

    def run(self) -> None:
        """One step with the next mask: the current state buffer -> the other one."""
        self._bind_next_mask()
        src, dst = self.values[self.current], self.values[1 - self.current]
        self.binding.bind_ortvalue_input("state", src)
        self.binding.bind_ortvalue_output("next_state", dst)
        self.session.run_with_iobinding(self.binding, self.run_options)
        self.current = 1 - self.current


@dataclass
class GraphBuffers:
    """Device buffers a CUDA graph was captured on: two states, one step's mask; graph ids ``base``, ``base + 1``."""

    values: list[ort.OrtValue]
    mask: ort.OrtValue
    bindings: list[ort.IOBinding]
    run_options: list[ort.RunOptions]


class GraphCache:
    """A session's CUDA graphs: when rollouts use them, and per ``(N, H, W)`` the buffers they were captured on.

    onnxruntime replays a captured graph on the addresses it was captured with, so the buffers of a shape are made
    once and reused by every rollout of that shape on the session.
    """

    def __init__(self, *, enabled: bool, active: bool, max_cells: int | None) -> None:
        #: The session was made with ``enable_cuda_graph``: a run outside a graph needs ``gpu_graph_id -1``.
        self.enabled = enabled
        #: Rollouts may use graphs (those of at most :attr:`max_cells` cells; None: all).
        self.active = active
        self.max_cells = max_cells
        self._buffers: dict[tuple[int, int, int], GraphBuffers] = {}

    @property
    def shapes(self) -> list[tuple[int, int, int]]:
        """The ``(N, H, W)`` shapes captured so far, in order."""
        return list(self._buffers)

    def use_for(self, n: int, height: int, width: int) -> bool:
        """Whether a rollout of ``n`` samples on ``height x width`` replays a graph."""
        return self.active and (self.max_cells is None or n * height * width <= self.max_cells)

    def buffers(self, session: ort.InferenceSession, device: str, shape: tuple[int, int, int, int]) -> GraphBuffers:
        """The buffers, bindings and graph ids for states of ``shape`` ``(N, C, H, W)``, made on first use."""
        n, _, height, width = shape
        key = (n, height, width)
        if key not in self._buffers:
            base = 2 * len(self._buffers)
            values = [ort.OrtValue.ortvalue_from_shape_and_type(shape, np.float32, device, 0) for _ in range(2)]
            mask = ort.OrtValue.ortvalue_from_shape_and_type([n, 1, height, width], np.float32, device, 0)
            bindings, run_options = [], []
            for k in range(2):
                binding = session.io_binding()
                binding.bind_ortvalue_input("state", values[k])
                binding.bind_ortvalue_input("mask", mask)
                binding.bind_ortvalue_output("next_state", values[1 - k])
                options = ort.RunOptions()
                options.add_run_config_entry("gpu_graph_id", str(base + k))
                bindings.append(binding)
                run_options.append(options)
            self._buffers[key] = GraphBuffers(values, mask, bindings, run_options)
        return self._buffers[key]


class GraphRollout(BoundRollout):
    """CUDA graphs: state A -> B is graph ``base``, B -> A graph ``base + 1``, both reading one mask buffer.

    Each step's mask is copied into the one mask buffer before the run. The CPU runs the same bookkeeping in
    tests, without graphs.
    """

    def __init__(self, nca: NCASession, n: int, c: int, height: int, width: int, masks: MaskStream) -> None:
        super().__init__(nca, n, c, height, width, masks, staged=True, allocate=False)
        self.graph = nca.graphs.buffers(self.session, self.device, (n, c, height, width))
        self.values = self.graph.values

    def run(self) -> None:
        """One step: copy the next mask into the mask buffer, replay the graph for the current buffer."""
        if self.used == self.masks.block:
            self.host_block = self.masks.next()
            self.used = 0
        assert self.host_block is not None
        self.graph.mask.update_inplace(self.host_block[self.used])
        self.used += 1
        k = self.current
        self.session.run_with_iobinding(self.graph.bindings[k], self.graph.run_options[k])
        self.current = 1 - k
