"""The torch NCA: perception, alive masking and the step against hand-computed values."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from ncarender.train.model import NCA, seed_state  # noqa: E402


def test_perception_identity_and_sobel_of_a_single_cell() -> None:
    model = NCA(channels=4, hidden=8)
    x = torch.zeros(1, 4, 5, 5)
    x[0, 2, 2, 2] = 8.0  # one cell, channel 2
    p = model.perceive(x)  # (1, 12, 5, 5): channel 3c+k
    assert p.shape == (1, 12, 5, 5)
    ident, sx, sy = p[0, 6], p[0, 7], p[0, 8]
    assert ident[2, 2] == 8.0 and ident.abs().sum() == 8.0
    # Sobel-x/8 is cross-correlation with [[-1,0,1],[-2,0,2],[-1,0,1]]/8: a lone cell at
    # column 2 gives -1 to its right neighbour's left tap -> value at column 1 is +..., column 3 is -...
    expected_sx = torch.tensor(
        [
            [0, 0, 0, 0, 0],
            [0, 1, 0, -1, 0],
            [0, 2, 0, -2, 0],
            [0, 1, 0, -1, 0],
            [0, 0, 0, 0, 0],
        ],
        dtype=torch.float32,
    )
    torch.testing.assert_close(sx, expected_sx)
    torch.testing.assert_close(sy, expected_sx.T)
    assert p[0, :6].abs().sum() == 0 and p[0, 9:].abs().sum() == 0


def test_perception_zero_pads_the_border() -> None:
    model = NCA(channels=4, hidden=8)
    x = torch.ones(1, 4, 3, 3)
    sx = model.perceive(x)[0, 1]
    # Left column sees a zero to its left: (0*-1 + 1*1)*(1+2+1)/8 -> 0.5 in the middle row.
    assert sx[1, 0].item() == pytest.approx(0.5)
    assert sx[1, 1].item() == pytest.approx(0.0)
    assert sx[1, 2].item() == pytest.approx(-0.5)


@pytest.mark.parametrize(
    ("alpha", "alive"),
    [
        (0.05, False),  # below the threshold: the cell and its neighbours are dead
        (0.1, False),  # the comparison is strict
        (0.11, True),
    ],
)
def test_alive_mask_is_maxpool_of_alpha_over_threshold(alpha: float, alive: bool) -> None:
    model = NCA(channels=4, hidden=8)
    x = torch.zeros(1, 4, 5, 5)
    x[0, 3, 2, 2] = alpha
    mask = model.alive(x)[0, 0]
    assert bool(mask[1:4, 1:4].all()) is alive  # the 3x3 neighbourhood
    assert not bool(mask[0].any()) and not bool(mask[:, 4].any())  # beyond it: dead


def test_step_of_untrained_model_keeps_seed_and_kills_far_cells() -> None:
    model = NCA()
    x = seed_state(1, 9)
    x[0, 0, 0, 0] = 0.7  # a stray colour far from any alpha
    y = model(x, torch.ones(1, 1, 9, 9))
    # Zero-initialised last layer: no update; the seed is alive, the stray cell is dead.
    torch.testing.assert_close(y[0, :, 4, 4], x[0, :, 4, 4])
    assert y[0, :, 0, 0].abs().sum() == 0


def test_masked_cells_do_not_update() -> None:
    torch.manual_seed(0)
    model = NCA()
    torch.nn.init.normal_(model.w2.weight, std=0.1)
    x = seed_state(1, 9)
    none = model(x, torch.zeros(1, 1, 9, 9))
    torch.testing.assert_close(none, x)
    full = model(x, torch.ones(1, 1, 9, 9))
    assert (full - x).abs().sum() > 0


def test_channels_last_step_matches_the_exported_step() -> None:
    torch.manual_seed(1)
    model = NCA()
    torch.nn.init.normal_(model.w2.weight, std=0.05)
    gen = torch.Generator().manual_seed(0)
    x = seed_state(2, 20)
    xl = x.permute(0, 2, 3, 1).contiguous()
    for _ in range(40):
        m = model.random_mask(x, gen)
        x = model(x, m)
        xl = model.forward_nhwc(xl, m.permute(0, 2, 3, 1))
    assert (x[:, 3] > 0.1).sum() > 1  # it grew
    torch.testing.assert_close(xl.permute(0, 3, 1, 2), x, atol=1e-5, rtol=1e-5)


def test_config_is_recorded_and_validated() -> None:
    model = NCA(channels=12, hidden=32, fire_rate=0.25)
    assert model.config.to_dict() == {"channels": 12, "hidden": 32, "fire_rate": 0.25, "alive_threshold": 0.1}
    assert model.w1.weight.shape == (32, 36, 1, 1)
    with pytest.raises(ValueError):
        NCA(channels=3)
