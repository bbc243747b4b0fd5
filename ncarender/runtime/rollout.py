"""The rollout loop: a :class:`~ncarender.spec.RenderSpec` in, ``(step, state)`` frames out.

The state stays in two preallocated buffers bound to the session with IOBinding and swapped each step
(:class:`~ncarender.runtime.buffers.BoundRollout`); the masks come from a
:class:`~ncarender.runtime.masks.MaskStream`, so a batch of seeds gives the same frames as each seed alone. For a
model with ncarender metadata each step runs only on the live region's window (:mod:`~ncarender.runtime.window`):
the cells that can change, bucketed; the rest of the grid stays zero and the frames are the full grid's. On CUDA
small rollouts replay a captured graph per window shape (:class:`~ncarender.runtime.buffers.GraphCache`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from ..damage import Damage
from ..errors import NCAError
from ..resources import usable_cores
from ..spec import RenderSpec
from .buffers import BoundRollout
from .masks import MaskStream
from .seeds import states_for_seeds
from .symmetry import WindowOrbits, mask_orbits

if TYPE_CHECKING:
    from .session import NCASession

__all__ = [
    "COMPACT_MASK_UPLOAD",
    "NonFiniteStateError",
    "initial_states",
    "live_region",
    "roll_out",
]

#: The environment variable that turns the live region off (``0``).
LIVE_REGION_ENV = "NCARENDER_LIVE_REGION"
#: CUDA: masks are drawn and uploaded in blocks of steps of about this many bytes.
CUDA_MASK_BLOCK_BYTES = 64 * 2**20
#: CUDA: upload the masks as bytes and widen them to float32 on the GPU (a one-node Cast model), a quarter of
#: the host-to-device traffic of float32 masks.
COMPACT_MASK_UPLOAD = True


def initial_states(n: int, channels: int, height: int, width: int) -> np.ndarray:
    """The state at step 0 of ``n`` samples, ``(n, C, H, W)``: zeros but the centre cell, whose channels 3.. are 1."""
    x = np.zeros((n, channels, height, width), dtype=np.float32)
    x[:, 3:, height // 2, width // 2] = 1.0
    return x


def live_region(nca: NCASession) -> bool:
    """Whether rollouts of ``nca`` run on the live region: a model with ncarender metadata (ours keep dead cells
    at zero) and a non-negative alive threshold, unless the environment sets ``NCARENDER_LIVE_REGION=0`` (every
    step on the whole grid, for comparison; the frames are the same). A foreign model runs on the full grid."""
    if os.environ.get(LIVE_REGION_ENV, "1").strip().lower() in ("0", "off", "false", "no"):
        return False
    return nca.info.has_metadata and nca.info.alive_threshold >= 0


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
    nca: NCASession,
    spec: RenderSpec,
    *,
    include_seed_frame: bool = True,
    failed: dict[int, int] | None = None,
    live: bool | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Run ``spec`` on ``nca`` for all its seeds at once; yield ``(step, state)`` for each frame: the float states.

    ``state`` is a fresh ``(N, C, H, W)`` float32 copy (N = len(spec.seeds)). Frames are taken at step 0
    (if ``include_seed_frame``), every ``spec.every`` steps, and always at the last step. Sample ``i`` draws
    its masks from ``numpy.random.default_rng(spec.seeds[i])``, one ``(H, W)`` array per step. Raises
    :class:`NonFiniteStateError` if the state becomes non-finite, unless ``failed`` is given: then each sample
    that does is recorded as ``failed[i] = step`` and zeroed, and the others go on unchanged (the failed sample's
    later frames mean nothing). ``live``: run each step on the live region's window (default: :func:`live_region`)
    or, False, on the full grid; the frames are the same. The rendered, uint8 frames of the same rollout come
    from :meth:`Renderer.rollout <ncarender.api.Renderer.rollout>`.
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
    orbits = mask_orbits(nca.info, height, width)
    if nca.device == "cpu":  # one step's masks at a time, drawn on this thread: the cores run onnxruntime
        masks = MaskStream(seeds, height, width, nca.info.fire_rate, orbits=orbits)
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
            orbits=orbits,
        )
    try:
        runner = BoundRollout(
            nca, n, c, height, width, masks, graphs=use_graph, live=live_region(nca) if live is None else live
        )
        runner.set_state(states_for_seeds(nca.info, seeds, height, width, spec.flake))
        steps, start, every = spec.steps, spec.start, spec.every
        if include_seed_frame and start == 0:
            yield 0, runner.get_state()
        # a hex model with orbit masks: each step's state gathered by the orbits until damage (.symmetry)
        symmetry = None if orbits is None else WindowOrbits(orbits, height, width)
        for t in range(1, steps + 1):
            if t - 1 in by_step:  # damage applies to the state after t-1 steps
                symmetry = None  # and breaks the symmetry on purpose
                state = runner.get_state()
                with np.errstate(invalid="ignore"):  # an exploded state (inf * 0) is caught below, not warned
                    for d in by_step[t - 1]:
                        state *= nca.info.lattice.damage_keep(d, height, width)
                runner.set_state(state)
            runner.run()
            if nca.on_step is not None:
                nca.on_step(n)
            if symmetry is not None:
                runner.symmetrise(symmetry)
            if t >= start and ((t - start) % every == 0 or t == steps):  # spec.frame_steps
                frame = runner.get_state()
                rows, cols = runner.window.index  # outside the window every value is zero
                if not np.isfinite(frame[:, :, rows, cols]).all():
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
