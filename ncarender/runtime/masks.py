"""The update masks of a rollout: one seeded numpy generator per seed, drawn in blocks of steps."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

__all__ = ["MaskStream"]


class MaskStream:
    """The update masks of a rollout, drawn ``block`` steps at a time: ``(block, N, 1, H, W)``, 1 = fires.

    Sample ``i`` draws from ``numpy.random.default_rng(seeds[i])``; its mask at step ``t`` is the ``t``-th
    ``(H, W)`` float32 draw ``< fire_rate``. numpy fills float32 arrays from one stream of 32-bit words whatever
    their shape, so one ``(block, H, W)`` draw equals ``block`` draws of ``(H, W)``: the masks, and so the
    frames, are the same for any ``block``, ``workers`` or batch (tests/test_perf_invariants.py).
    ``workers`` > 1 draws the seeds on that many threads (numpy releases the GIL while it fills an array);
    ``prefetch`` draws the next block on a background thread while the caller uses the current one.
    ``dtype=np.uint8`` gives the same masks as 0/1 bytes (a quarter of the bytes to upload to a GPU).
    Draws past the end of a rollout are harmless: every rollout starts from fresh generators.

    ``orbits`` (a hex model with mask kind ``orbit``): ``(H * W,)`` int64 orbit representatives
    (:func:`ncarender.lattice.hex_orbits`); each step's per-cell uniform draw is gathered by them before the
    comparison, so every cell fires with its orbit's representative (one Bernoulli draw per orbit) and the
    generator advances exactly as for a per-cell mask. None (every square model): the per-cell masks above.
    """

    def __init__(
        self,
        seeds: Sequence[int],
        height: int,
        width: int,
        fire_rate: float,
        *,
        block: int = 1,
        workers: int = 1,
        prefetch: bool = False,
        dtype: type[np.generic] = np.float32,
        orbits: np.ndarray | None = None,
    ) -> None:
        if orbits is not None and orbits.shape != (height * width,):
            raise ValueError(f"orbits must have shape ({height * width},), got {orbits.shape}")
        #: Orbit representatives ``(H * W,)`` whose draws every cell takes, or None (a draw per cell).
        self.orbits = orbits
        self.rngs = [np.random.default_rng(int(s)) for s in seeds]
        self.fire = np.float32(fire_rate)
        self.block = block
        n = len(self.rngs)
        #: One block's shape, ``(block, N, 1, H, W)``.
        self.block_shape = (block, n, 1, height, width)
        #: The masks' element type: float32 0/1, or uint8 0/1.
        self.dtype = np.dtype(dtype)
        self._uniform = np.empty((n, block, height, width), dtype=np.float32)  # each seed's draws, contiguous
        self._blocks = [np.empty(self.block_shape, dtype=dtype) for _ in range(1 + prefetch)]
        self._workers = ThreadPoolExecutor(workers, "ncarender-masks") if workers > 1 else None
        self._ahead = ThreadPoolExecutor(1, "ncarender-masks-ahead") if prefetch else None
        self._pending: Future[int] | None = None
        #: Called with ``(block, slot)`` on the thread that filled the block (the background one with
        #: ``prefetch``): the CUDA rollout uploads there, so the copy overlaps the GPU's steps.
        self.on_filled: Callable[[np.ndarray, int], object] | None = None
        #: Which of the :attr:`slots` blocks :meth:`next` returned last.
        self.slot = 0

    @property
    def slots(self) -> int:
        """How many blocks the stream fills in turn: 1, or 2 with ``prefetch`` (one in use, one being drawn)."""
        return len(self._blocks)

    def _draw_seed(self, i: int, out: np.ndarray) -> None:
        self.rngs[i].random(dtype=np.float32, out=self._uniform[i])
        uniform = self._uniform[i]
        if self.orbits is not None:  # (block, H, W): each cell takes its orbit representative's draw
            block, height, width = uniform.shape
            uniform = uniform.reshape(block, height * width)[:, self.orbits].reshape(block, height, width)
        np.less(uniform, self.fire, out=out[:, i, 0], casting="unsafe")

    def _fill(self, slot: int) -> int:
        out = self._blocks[slot]
        if self._workers is None:
            for i in range(len(self.rngs)):
                self._draw_seed(i, out)
        else:
            list(self._workers.map(self._draw_seed, range(len(self.rngs)), [out] * len(self.rngs)))
        if self.on_filled is not None:
            self.on_filled(out, slot)
        return slot

    def next(self) -> np.ndarray:
        """The masks of the next ``block`` steps, ``(block, N, 1, H, W)``; valid until the next call."""
        if self._ahead is None:
            self.slot = self._fill(0)
        else:
            self.slot = self._pending.result() if self._pending is not None else self._fill(0)
            self._pending = self._ahead.submit(self._fill, 1 - self.slot)
        return self._blocks[self.slot]

    def close(self) -> None:
        """Stop the helper threads (waits for a block being drawn)."""
        for pool in (self._ahead, self._workers):
            if pool is not None:
                pool.shutdown(wait=True)
        self._ahead = self._workers = self._pending = None
