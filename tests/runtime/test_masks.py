"""The mask stream: window draws are the full grid's masks' window, the same random stream (reference_masks)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import reference_masks

from ncarender.lattice import hex_orbits
from ncarender.runtime import MaskStream, initial_states, open_model
from ncarender.runtime.buffers import RESCAN_EVERY, BoundRollout
from ncarender.runtime.masks import fire_threshold


@pytest.mark.parametrize("fire", [0.5, 0.3, 0.1234567, 0.999, 1.0, 1e-9])
def test_fire_threshold_is_numpys_float_comparison(fire: float) -> None:
    edge = fire_threshold(fire)
    words = np.array([0, 1, 255, 256, 2**32 - 1, *range(max(0, edge - 600), min(2**32, edge + 600))], np.uint64)
    floats = (words >> np.uint64(8)).astype(np.float32) * np.float32(2**-24)
    assert np.array_equal(words < edge, floats < np.float32(fire))


# (grid, seeds, fire, per step: "next", "skip" or a window (top, left, h, w))
CASES = [
    ((9, 7), [0], 0.5, [(0, 0, 9, 7), (2, 3, 4, 2), (1, 1, 1, 1), (8, 6, 1, 1)]),  # odd grid: odd first words
    ((12, 10), [3, 1, 4], 0.3, [(5, 5, 3, 3), "skip", "next", (0, 9, 12, 1), "skip", "skip", (4, 0, 2, 10)]),
    ((16, 16), [7, 8], 0.5, ["next", (3, 3, 10, 10), (2, 2, 12, 12), (0, 0, 16, 16), "next"]),
    ((5, 5), [2], 1.0, [(1, 1, 3, 3), (0, 0, 5, 5)]),
]


@pytest.mark.parametrize(("grid", "seeds", "fire", "steps"), CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.uint8])
def test_window_masks_are_the_full_grids_window(
    grid: tuple[int, int], seeds: list[int], fire: float, steps: list[object], dtype: type[np.generic]
) -> None:
    height, width = grid
    want = reference_masks(seeds, len(steps), height, width, fire)
    stream = MaskStream(seeds, height, width, fire, dtype=dtype)
    for t, step in enumerate(steps):
        if step == "skip":
            stream.skip()
        elif step == "next":
            assert np.array_equal(stream.next()[0], want[t])
        else:
            top, left, h, w = step  # type: ignore[misc]
            out = np.full((len(seeds), 1, h, w), 7, dtype=dtype)
            stream.window(out, top, left)
            assert np.array_equal(out, want[t][:, :, top : top + h, left : left + w]), f"step {t}"


def test_orbit_windows_take_their_representatives_draws() -> None:
    height, width, seeds = 13, 11, [5, 6]
    orbits = hex_orbits(height, width)
    blocks = MaskStream(seeds, height, width, 0.5, block=3, orbits=orbits).next()
    stream = MaskStream(seeds, height, width, 0.5, orbits=orbits)
    for t, (top, left, h, w) in enumerate([(0, 0, 13, 11), (4, 3, 5, 6), (1, 2, 3, 3)]):
        out = np.empty((2, 1, h, w), np.float32)
        stream.window(out, top, left)
        assert np.array_equal(out, blocks[t][:, :, top : top + h, left : left + w])


def test_windows_need_a_stream_of_single_steps() -> None:
    out = np.empty((1, 1, 2, 2), np.float32)
    for stream in (MaskStream([0], 4, 4, 0.5, block=2), MaskStream([0], 4, 4, 0.5, prefetch=True)):
        assert not stream.windowed
        with pytest.raises(ValueError, match="one step a block"):
            stream.window(out, 0, 0)
        stream.close()


def test_the_host_rollout_measures_the_live_region_only_when_it_must() -> None:
    """The window is fitted from its edge bands: a full measurement only to move the window or every
    RESCAN_EVERY steps, not each time a box grown by a cell a step reaches the edge (most steps)."""
    session = open_model("snowflake", provider="cpu", quiet=True)
    masks = MaskStream([0], 72, 72, session.info.fire_rate)
    runner = BoundRollout(session, 1, 16, 72, 72, masks, live=True)
    assert runner.direct
    runner.set_state(initial_states(1, 16, 72, 72))
    scans, moves, steps = 0, 0, 120
    scan = runner._scan

    def counted() -> object:
        nonlocal scans
        scans += 1
        return scan()

    runner._scan = counted  # type: ignore[method-assign]
    for _ in range(steps):
        before = runner.window
        runner.run()
        moves += runner.window != before
    assert moves >= 5
    assert scans <= moves + steps // RESCAN_EVERY + 1
