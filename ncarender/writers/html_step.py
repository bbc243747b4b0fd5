"""One NCA step as the live page runs it (:class:`StepWeights`), and the same step in numpy (numpy only).

:func:`~.html_graph.read_step` fills it from an ONNX graph; :meth:`StepWeights.step` is the reference the page's
JavaScript step is tested against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..lattice import hex_max

if TYPE_CHECKING:
    from ..family.seed_maps import SeedMap

__all__ = ["StepWeights"]


@dataclass(frozen=True)
class StepWeights:
    """One NCA step as the page runs it, read from an ONNX graph.

    Perception channel ``j`` (of ``P``, the first columns of ``w1`` in order) is the 3x3 filter ``kernels[j]``
    (zero padding) applied to state channel ``src[j]``. Then ``hidden = relu(w1 @ p + b1)`` and
    ``update = w2 @ hidden + b2``; ``state += update * mask``; cells dead before or after
    (``maxpool3x3(alpha) <= threshold``) are zeroed.

    A family model (``code_channels`` D > 0, ``codes`` ``(K, D)``): the state is ``(N, C + D, H, W)``, the
    last D channels a flake code. ``relay = maxpool3x3(codes)`` (the grid's edge excluded) is the input
    after the perception (``w1`` has ``P + D`` columns); only the C channels are updated; the next state is
    ``concat(updated, relay)``, alive-masked. A seed of flake k: the centre cell's channels ``3..C-1`` are 1
    and its code channels ``codes[k]``.
    """

    channels: int
    hidden: int
    fire_rate: float
    threshold: float
    src: np.ndarray  # (P,) int32, the state channel of each perception channel
    kernels: np.ndarray  # (P, 3, 3) float32
    w1: np.ndarray  # (hidden, P) float32
    b1: np.ndarray  # (hidden,) float32
    w2: np.ndarray  # (C, hidden) float32
    b2: np.ndarray  # (C,) float32
    grid: tuple[int, int]
    target_name: str | None = None
    code_channels: int = 0
    codes: np.ndarray | None = None  # (K, D) float32 >= 0, a family model's flake codes
    seed_map: SeedMap | None = None  # how a seed becomes a flake and its code (one target: a map of one)
    #: ``hex``: the alive tests and the relay take the max over a cell and its six axial neighbours
    #: (:mod:`~ncarender.writers.html_hex`); ``square``: over the 3x3 square. ``mask_kind``: the metadata's.
    lattice: str = "square"
    mask_kind: str = "cell"

    @property
    def flakes(self) -> int:
        """K, the training flakes of a family model (0 for a model that grows one target)."""
        return 0 if self.codes is None else int(self.codes.shape[0])

    def step(self, state: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The same step in numpy (a reference for tests): ``(N, C+D, H, W)``, ``(N, 1, H, W)`` -> the next state."""
        n, _, height, width = state.shape
        nca = state[:, : self.channels]
        padded = np.pad(nca, ((0, 0), (0, 0), (1, 1), (1, 1)))
        percept = np.zeros((n, len(self.src), height, width), dtype=np.float32)
        for j, (c, kernel) in enumerate(zip(self.src, self.kernels, strict=True)):
            for dy in range(3):
                for dx in range(3):
                    if kernel[dy, dx] != 0.0:
                        percept[:, j] += kernel[dy, dx] * padded[:, c, dy : dy + height, dx : dx + width]
        relay = self._pool(state[:, self.channels :])
        inputs = np.concatenate([percept, relay], axis=1)
        hidden = np.maximum(np.einsum("hp,nyxp->nyxh", self.w1, inputs.transpose(0, 2, 3, 1)) + self.b1, 0.0)
        update = (np.einsum("ch,nyxh->nyxc", self.w2, hidden) + self.b2).transpose(0, 3, 1, 2)
        pre = self._alive(state)
        nca = nca + update.astype(np.float32) * mask
        out = np.concatenate([nca, relay], axis=1)
        return (out * (pre & self._alive(nca))).astype(np.float32)

    def _alive(self, state: np.ndarray) -> np.ndarray:
        return self._pool(state[:, 3:4]) > np.float32(self.threshold)

    def _pool(self, x: np.ndarray) -> np.ndarray:
        return hex_max(x) if self.lattice == "hex" else _maxpool3x3(x)


def _maxpool3x3(x: np.ndarray) -> np.ndarray:
    """Max over each cell's 3x3 neighbourhood within the grid (ONNX MaxPool, pads 1): ``(N, K, H, W)``."""
    height, width = x.shape[2:]
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    return np.max([padded[:, :, dy : dy + height, dx : dx + width] for dy in range(3) for dx in range(3)], axis=0)
