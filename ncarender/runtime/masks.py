"""The update masks of a rollout: one seeded numpy generator per seed, drawn in blocks of steps or per window."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

__all__ = ["MaskStream", "fire_threshold"]


def fire_threshold(fire_rate: float) -> int:
    """The 32-bit words that fire: word ``u`` fires iff ``u < fire_threshold(fire_rate)`` (up to ``2**32``).

    numpy draws a float32 uniform from a 32-bit word ``u`` as ``(u >> 8) * 2**-24``, and a cell fires when that
    is below ``float32(fire_rate)``: ``(u >> 8) < fire * 2**24``, for a whole ``u >> 8`` the same as
    ``(u >> 8) < ceil(fire * 2**24)``, that is ``u < ceil(fire * 2**24) << 8``.
    """
    return math.ceil(float(np.float32(fire_rate)) * 2**24) << 8


class MaskStream:
    """The update masks of a rollout, drawn ``block`` steps at a time: ``(block, N, 1, H, W)``, 1 = fires.

    Sample ``i`` draws from ``numpy.random.default_rng(seeds[i])``; its mask at step ``t`` is the ``t``-th
    ``(H, W)`` float32 draw ``< fire_rate`` (tests/conftest.py ``reference_masks``). A float32 draw takes one
    32-bit word per cell from one stream, the low then the high half of each 64-bit PCG64 output, whatever the
    array's shape: step ``t``'s cells are words ``t*H*W .. (t+1)*H*W``, row by row. The stream reads those words
    itself (``random_raw``) and compares them with :func:`fire_threshold`, the same masks at a third of the
    cost of drawing floats; they are the same for any ``block``, ``workers`` or batch
    (tests/test_perf_invariants.py). ``workers`` > 1 draws the seeds on that many threads (numpy releases the
    GIL while it draws); ``prefetch`` draws the next block on a background thread while the caller uses the
    current one. ``dtype=np.uint8`` gives the same masks as 0/1 bytes (a quarter of the bytes to upload to a
    GPU). Draws past the end of a rollout are harmless: every rollout starts from fresh generators.

    :meth:`window` (``block`` 1, no ``prefetch``: the CPU rollout) draws a step's masks on a window of the grid
    only: its rows are one run of words from its first cell to its last, and the generators jump over the words
    before and after it (``PCG64.advance``). The masks are those of the full grid's window, bit for bit.

    ``orbits`` (a hex model with mask kind ``orbit``): ``(H * W,)`` int64 orbit representatives
    (:func:`ncarender.lattice.hex_orbits`); each step's per-cell words are gathered by them before the
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
        self.height, self.width = int(height), int(width)
        self.fire = np.float32(fire_rate)
        #: Words below this fire (:func:`fire_threshold`).
        self.threshold = fire_threshold(fire_rate)
        self.block = block
        n = len(self.rngs)
        #: One block's shape, ``(block, N, 1, H, W)``.
        self.block_shape = (block, n, 1, height, width)
        #: The masks' element type: float32 0/1, or uint8 0/1.
        self.dtype = np.dtype(dtype)
        self._word = 0  # the next word each generator hands out (all are at the same one)
        self._carry = np.zeros(n, dtype=np.uint32)  # at an odd word: that word, the kept high half of an output
        self._steps = 0  # steps whose masks were handed out
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

    @property
    def windowed(self) -> bool:
        """Whether :meth:`window` may be used: one step a block, drawn on the caller's thread."""
        return self.block == 1 and self._ahead is None

    def _words(self, i: int, start: int, stop: int) -> np.ndarray:
        """Words ``start .. stop`` (``start`` at or after the next word) of generator ``i``, uint32 ``(stop -
        start,)``; the generator then stands at word ``stop``. Every generator must draw the same words."""
        first = start // 2  # the output holding word `start`
        kept = start == self._word and start % 2  # its high half was kept when the output was drawn
        if kept:
            first += 1
        bits = self.rngs[i].bit_generator
        bits.advance(first - (self._word + 1) // 2)  # type: ignore[attr-defined]
        raw = bits.random_raw(max(0, (stop + 1) // 2 - first)).view(np.uint32)  # little-endian: low half first
        if kept:
            raw = np.concatenate([self._carry[i : i + 1], raw])
        skip = 1 if start % 2 and not kept else 0  # the low half of the first output comes before `start`
        words = raw[skip : skip + stop - start]
        if stop % 2:
            self._carry[i] = raw[-1]
        return words

    def _fire(self, words: np.ndarray, out: np.ndarray) -> None:
        """``out`` (any shape of ``words``' size, float32 or uint8) = 1 where a word fires, 0 elsewhere."""
        np.less(words, self.threshold, out=out, casting="unsafe")

    def _draw_seed(self, i: int, out: np.ndarray) -> None:
        block, _, _, height, width = self.block_shape
        start = self._steps * height * width
        words = self._words(i, start, start + block * height * width).reshape(block, height * width)
        if self.orbits is not None:  # each cell takes its orbit representative's word
            words = words[:, self.orbits]
        self._fire(words.reshape(block, height, width), out[:, i, 0])

    def _fill(self, slot: int) -> int:
        out = self._blocks[slot]
        if self._workers is None:
            for i in range(len(self.rngs)):
                self._draw_seed(i, out)
        else:
            list(self._workers.map(self._draw_seed, range(len(self.rngs)), [out] * len(self.rngs)))
        self._steps += self.block
        self._word = self._steps * self.height * self.width
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

    def window(self, out: np.ndarray, top: int, left: int) -> None:
        """Write the next step's masks on the window at ``(top, left)`` of ``out``'s shape into ``out``
        ``(N, 1, h, w)`` (float32 or uint8): the window of the full-grid masks :meth:`next` would give."""
        if not self.windowed:
            raise ValueError("window() needs a stream of one step a block without prefetch")
        _, _, h, w = out.shape
        height, width = self.height, self.width
        step = self._steps * height * width
        first, count = top * width + left, (h - 1) * width + w  # the window's first cell to its last
        if self.orbits is not None:  # a cell's orbit representative may lie anywhere: the whole grid
            first, count = 0, height * width
        for i in range(len(self.rngs)):
            words = self._words(i, step + first, step + first + count)
            if self.orbits is None:  # words[r * W + c] is the window's cell (r, c)
                rows = np.ndarray((h, w), dtype=np.uint32, buffer=words, strides=(4 * width, 4))
            else:
                rows = words[self.orbits].reshape(height, width)[top : top + h, left : left + w]
            self._fire(rows, out[i, 0])
        self._word = step + first + count
        self._steps += 1

    def skip(self) -> None:
        """Hand out no masks for the next step (the generators jump over its words when next drawn)."""
        if not self.windowed:
            raise ValueError("skip() needs a stream of one step a block without prefetch")
        self._steps += 1

    def close(self) -> None:
        """Stop the helper threads (waits for a block being drawn)."""
        for pool in (self._ahead, self._workers):
            if pool is not None:
                pool.shutdown(wait=True)
        self._ahead = self._workers = self._pending = None
