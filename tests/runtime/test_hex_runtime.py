"""A hex model's rollout: per-orbit masks from the host, exact six-fold symmetry until damage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import reference_masks
from hexmodel import numpy_step, write_hex_model

from ncarender.lattice import hex_orbits
from ncarender.runtime import MaskStream, open_model, roll_out
from ncarender.runtime.buffers import BoundRollout
from ncarender.runtime.session import NCASession
from ncarender.spec import Damage, RenderSpec


@pytest.fixture(scope="module")
def hex_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test hex model (seed 0 of :mod:`tests.hexmodel`: grows and stays alive past step 1000), orbit masks."""
    return write_hex_model(tmp_path_factory.mktemp("hex") / "hex.onnx", seed=0)


def _spread(state: np.ndarray) -> float:
    """The largest difference between a cell and its orbit representative, over samples and channels."""
    n, c, h, w = state.shape
    flat = state.reshape(n, c, h * w)
    return float(np.abs(flat - flat[..., hex_orbits(h, w)]).max())


def test_orbit_masks_draw_once_per_orbit_from_the_cell_stream() -> None:
    seeds, steps, height, width = [0, 9], 5, 11, 9
    rep = hex_orbits(height, width)
    stream = MaskStream(seeds, height, width, 0.5, block=2, orbits=rep)
    try:
        got = np.concatenate([stream.next().copy() for _ in range(3)])[:steps]
    finally:
        stream.close()
    cells = reference_masks(seeds, steps, height, width, 0.5)  # the per-cell masks of the same generators
    want = cells.reshape(steps, 2, 1, height * width)[..., rep].reshape(cells.shape)
    np.testing.assert_array_equal(got, want)
    assert not np.array_equal(got, cells)  # the gather changed something: orbits share one draw


def test_the_test_model_is_the_numpy_step(hex_model: Path) -> None:
    session = open_model(hex_model, provider="cpu", quiet=True)
    rng = np.random.default_rng(4)
    x = rng.random((2, 8, 13, 11), dtype=np.float32)
    mask = (rng.random((2, 1, 13, 11)) < 0.5).astype(np.float32)
    np.testing.assert_allclose(session.step(x, mask), numpy_step(x, mask), atol=2e-6)


def _final(session: NCASession, spec: RenderSpec) -> np.ndarray:
    *_, (_, state) = roll_out(session, spec, include_seed_frame=False)
    return state


def test_exact_six_fold_symmetry_at_step_1000(hex_model: Path) -> None:
    session = open_model(hex_model, provider="cpu", quiet=True)
    state = _final(session, RenderSpec(seeds=(0, 3), steps=1000, every=1000))
    assert (state[:, 3] > 0.1).sum(axis=(1, 2)).min() > 30  # grown, alive
    n, c, h, w = state.shape
    rep = hex_orbits(h, w)
    flat = state.reshape(n, c, h * w)
    assert np.array_equal(flat, flat[..., rep])  # every cell equals its orbit's representative, bit for bit
    # and every in-array image of a cell under the twelve symmetries: check three explicitly
    centre = state[:, :, h // 2 - 10 : h // 2 + 11, w // 2 - 10 : w // 2 + 11]
    r, q = np.mgrid[-10:11, -10:11]
    for qi, ri in ((-q, -r), (r, q), (-q - r, q)):  # half turn, a mirror, a sixth of a turn
        ok = (np.abs(qi) <= 10) & (np.abs(ri) <= 10)
        image = centre[:, :, ri[ok] + 10, qi[ok] + 10]
        assert np.array_equal(centre[:, :, r[ok] + 10, q[ok] + 10], image)


def test_without_the_gather_rounding_breaks_the_symmetry(hex_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    session = open_model(hex_model, provider="cpu", quiet=True)
    monkeypatch.setattr(BoundRollout, "symmetrise", lambda self, orbits: None)
    assert _spread(_final(session, RenderSpec(seeds=(0,), steps=300, every=300))) > 1e-3


def test_symmetric_rollout_is_the_same_windowed_full_grid_and_batched(
    hex_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = open_model(hex_model, provider="cpu", quiet=True)
    spec = RenderSpec(seeds=(0, 3, 5), steps=120, every=40)
    live = [s for _, s in roll_out(session, spec)]
    alone = [s for _, s in roll_out(session, spec.with_seeds((3,)))]
    monkeypatch.setenv("NCARENDER_LIVE_REGION", "0")
    full = [s for _, s in roll_out(session, spec)]
    for a, b, one in zip(live, full, alone, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a[1:2], one)
        assert _spread(a) == 0.0


def test_damage_breaks_the_symmetry_on_purpose(hex_model: Path) -> None:
    session = open_model(hex_model, provider="cpu", quiet=True)
    spec = RenderSpec(seeds=(0,), steps=200, every=200, damage=(Damage(100, 0.15, 0.1, 0.2),))
    assert _spread(_final(session, spec)) > 1e-3


def test_a_cell_mask_hex_model_is_not_symmetrised(tmp_path: Path) -> None:
    session = open_model(write_hex_model(tmp_path / "cell.onnx", mask="cell"), provider="cpu", quiet=True)
    assert session.info.mask_kind == "cell"
    assert _spread(_final(session, RenderSpec(seeds=(0,), steps=60, every=60))) > 1e-3


@pytest.mark.parametrize(("dtype", "graphs"), [(np.uint8, False), (np.float32, True)])
def test_device_paths_symmetrise_like_the_host(hex_model: Path, dtype: type[np.generic], graphs: bool) -> None:
    """The CUDA code paths on the CPU (state in onnxruntime buffers, masks in uploaded blocks or a graph's
    buffer): the gather's host round trip gives the host path's states."""
    from ncarender.runtime.rollout import initial_states
    from ncarender.runtime.symmetry import WindowOrbits

    session = open_model(hex_model, provider="cpu", quiet=True)
    session.graphs.active = graphs
    height, width, seeds = 33, 33, [0, 3]
    spec = RenderSpec(tuple(seeds), 60, 1)
    want = [f for _, f in roll_out(open_model(hex_model, provider="cpu", quiet=True), spec, include_seed_frame=False)]
    rep = hex_orbits(height, width)
    masks = MaskStream(seeds, height, width, 0.5, block=7, workers=2, prefetch=True, dtype=dtype, orbits=rep)
    try:
        runner = BoundRollout(session, 2, 8, height, width, masks, staged=True, graphs=graphs, live=True)
        runner.set_state(initial_states(2, 8, height, width))
        orbits = WindowOrbits(rep, height, width)
        for t, state in enumerate(want, start=1):
            runner.run()
            runner.symmetrise(orbits)
            assert np.array_equal(runner.get_state(), state), f"step {t}"
    finally:
        masks.close()
