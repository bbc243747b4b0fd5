"""The one mapping from axial cells to square pixels (ncarender.lattice.hex_view)."""

from __future__ import annotations

import numpy as np
import pytest

from ncarender.lattice import HEX_OFFSETS, hex_orbits
from ncarender.lattice.hex_view import cell_offsets, keep_mask, render_view, square_view
from ncarender.spec import Damage


def _axial_crystal(params_index: int = 0) -> tuple[np.ndarray, object]:
    """A Reiter crystal coloured per cell as the square targets shade it: premultiplied RGBA ``(1, 4, N, N)``."""
    from ncarender.family import crystal_image as ci
    from ncarender.family.family import _candidates, family_domain
    from ncarender.family.reiter import grow_crystal

    params = next(p for i, p in enumerate(_candidates(0)) if i == params_index)
    crystal = grow_crystal(params, domain=family_domain(32))
    t = ci.palette_position(crystal)[..., None]
    ice = crystal.ice
    colour = np.where(ice[..., None], ci.RIM + (ci.CORE - ci.RIM) * t, 0.0)
    rgba = np.concatenate([colour, ice[..., None]], axis=-1).astype(np.float32)
    return np.moveaxis(rgba, -1, 0)[None], crystal


def test_square_view_samples_as_the_square_targets() -> None:
    """The evaluation's view of the crystal's own cells is the square target, up to float rounding."""
    from ncarender.family.crystal_image import crystal_target

    state, crystal = _axial_crystal()
    per_px = (crystal.extent + 0.5) / (32 / 2.0)  # type: ignore[attr-defined]
    view = square_view(state.shape[2:], 40, per_px)
    got = view.apply(state)[0]
    want = crystal_target(crystal, size=40, diameter=32)  # type: ignore[arg-type]
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert got[3].sum() > 100


def test_render_view_size_weights_and_orientation() -> None:
    view = render_view((9, 9), 4)
    assert view.size == (36, 36)
    np.testing.assert_allclose(view.weight.sum(axis=1), 1.0, atol=1e-6)
    # one cell lit: the seed cell sits in the middle of the picture, the (0, +1) neighbour straight above it
    for (dr, dq), where in (
        ((0, 0), (18, 18)),
        ((0, 1), (14, 18)),
        ((1, 0), (16, 18 + 4 * 0.866)),
        ((0, -1), (22, 18)),
    ):
        state = np.zeros((1, 4, 9, 9), np.float32)
        state[0, :, 4 + dr, 4 + dq] = 1.0
        alpha = view.apply(state)[0, 3]
        ys, xs = np.nonzero(alpha > 0.99)
        assert abs(ys.mean() - where[0] + 0.5) < 1.0 and abs(xs.mean() - where[1] + 0.5) < 1.0, (dr, dq, ys, xs)
        assert 8 <= (alpha > 0.99).sum() <= 16  # a hexagon about 4 pixels across


def test_a_symmetric_state_gives_a_six_fold_picture() -> None:
    rng = np.random.default_rng(0)
    state = rng.random((1, 4, 15, 15), dtype=np.float32)
    state = state.reshape(1, 4, -1)[..., hex_orbits(15, 15)].reshape(1, 4, 15, 15)
    r, q = np.mgrid[-7:8, -7:8]
    state[:, :, (np.abs(q) + np.abs(r) + np.abs(q + r)) // 2 > 6] = 0.0  # a hexagon inside the array
    alpha = render_view((15, 15), 8).apply(state)[0, 3]
    np.testing.assert_allclose(alpha, alpha[:, ::-1], atol=0.08)  # left-right mirror (pixel rounding only)
    np.testing.assert_allclose(alpha, alpha[::-1, :], atol=0.08)


def test_keep_mask_is_round_in_the_picture_and_square_models_keep_theirs() -> None:
    keep = keep_mask(0.0, 0.0, 0.5, 21, 21)
    down, right = cell_offsets(21, 21)
    erased = keep == 0
    assert erased[10, 10] and keep[0, 0] == 1.0
    radius = np.hypot(down, right)[erased].max()
    assert 4.0 < radius <= 5.0  # r 0.5 of a half-height of 10 spacings
    # every neighbour direction reaches the same distance: round, not a rhombus
    reach = [max(k for k in range(11) if keep[10 + k * dr, 10 + k * dq] == 0) for dr, dq in HEX_OFFSETS]
    assert len(set(reach)) == 1
    d = Damage(0, 0.2, -0.1, 0.3)
    assert d.keep_mask(16, 16).shape == (16, 16)  # the square lattice's own, unchanged


@pytest.mark.parametrize("scale", [1, 3])
def test_views_are_deterministic(scale: int) -> None:
    a = render_view((7, 9), scale)
    b = render_view.__wrapped__((7, 9), scale)
    assert np.array_equal(a.index, b.index) and np.array_equal(a.weight, b.weight)
