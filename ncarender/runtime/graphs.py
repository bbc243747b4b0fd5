"""A session's CUDA graphs: when its rollouts replay one, and the buffers each graph was captured on.

onnxruntime replays a captured graph on the addresses it was captured with, so :class:`GraphCache` makes the
buffers of a shape once per session (:class:`~ncarender.runtime.session.NCASession` holds one), and every rollout of
that shape (:class:`~ncarender.runtime.buffers.BoundRollout`) binds them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnxruntime as ort

__all__ = ["CUDA_GRAPH_MAX_CELLS", "GraphBuffers", "GraphCache"]

#: CUDA graphs by default for rollouts of at most this many cells (N x H x W): there the launch of ~20 kernels
#: per step dominates (batch 1 at 72x72: 0.11 against 0.24 ms/step on an H100); larger ones are bound by the
#: GPU's work and the mask upload, and a graph, whose mask buffer is refilled each step, gains nothing.
CUDA_GRAPH_MAX_CELLS = 65536


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
