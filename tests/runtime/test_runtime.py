"""onnxruntime rollout: matches torch with the same masks, batches exactly, and converts frames right."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ncarender.api import Renderer, frame_steps, parse_size
from ncarender.errors import NCAError
from ncarender.render import parse_background, to_rgba8
from ncarender.runtime import open_model, roll_out
from ncarender.spec import Damage, RenderSpec, parse_damage


def test_rollout_matches_torch_with_the_same_masks(tiny_onnx: Path, tiny_checkpoint: Path) -> None:
    torch = pytest.importorskip("torch")
    from ncarender.train.checkpoint import load_checkpoint
    from ncarender.train.export import model_from_checkpoint
    from ncarender.train.model import seed_state

    session = open_model(tiny_onnx, provider="cpu")
    frames = dict(roll_out(session, RenderSpec(seeds=(7, 8), steps=100, every=25)))
    model = model_from_checkpoint(load_checkpoint(tiny_checkpoint))
    rngs = [np.random.default_rng(7), np.random.default_rng(8)]
    x = seed_state(2, 16)
    with torch.no_grad():
        for step in range(1, 101):
            masks = np.stack([(r.random((16, 16), dtype=np.float32) < 0.5)[None] for r in rngs]).astype(np.float32)
            x = model(x, torch.from_numpy(masks))
            if step % 25 == 0:
                # Same float32 arithmetic up to summation order: ~1e-6 per step, compounding over
                # 100 steps; 1e-3 is far below any real mismatch (a wrong mask or channel is O(0.1)).
                np.testing.assert_allclose(frames[step], x.numpy(), atol=1e-3)
    assert sorted(frames) == [0, 25, 50, 75, 100]


def test_batched_rollout_equals_single_rollouts(tiny_onnx: Path) -> None:
    r = Renderer(tiny_onnx, provider="cpu")
    together = r.rollout([0, 1, 2, 3], steps=30, every=10)
    for i in range(4):
        alone = r.rollout([i], steps=30, every=10)
        np.testing.assert_array_equal(together[:, i], alone[:, 0])
    assert not np.array_equal(together[-1, 0], together[-1, 1])  # seeds differ


@pytest.mark.parametrize(
    ("steps", "every", "expected"),
    [(10, 1, list(range(11))), (10, 3, [0, 3, 6, 9, 10]), (10, 10, [0, 10]), (5, 20, [0, 5])],
)
def test_frame_steps(steps: int, every: int, expected: list[int], tiny_onnx: Path) -> None:
    assert frame_steps(steps, every) == expected
    got = [s for s, _ in roll_out(open_model(tiny_onnx), RenderSpec(steps=steps, every=every))]
    assert got == expected


def test_larger_grid_renders(tiny_onnx: Path) -> None:
    frames = Renderer(tiny_onnx).rollout([0], steps=10, size=(40, 24), every=10)
    assert frames.shape == (2, 1, 40, 24, 4)


def test_damage_zeroes_the_disc() -> None:
    keep = Damage(0, 0.0, 0.0, 0.5).keep_mask(9, 9)
    assert keep[4, 4] == 0 and keep[0, 0] == 1 and keep.dtype == np.float32
    assert parse_damage("100:0.2,-0.1,0.3") == Damage(100, 0.2, -0.1, 0.3)
    for bad in ["", "10", "10:1,2", "a:1,2,3", "-1:0,0,0.3", "5:0,0,0", "5:0,0,nan"]:
        with pytest.raises(NCAError, match="--damage"):
            parse_damage(bad)


def test_non_finite_state_stops_the_rollout(tmp_path: Path) -> None:
    from conftest import affine_model as _model

    session = open_model(_model(tmp_path / "e.onnx", 1e30, 1e30), quiet=True)
    with pytest.raises(NCAError, match=r"non-finite \(NaN/inf\) at step \d+ for seed\(s\) 3"):
        list(roll_out(session, RenderSpec(seeds=(3,), steps=50, size=(8, 8))))


def test_grid_too_large_is_refused_before_allocating(tiny_onnx: Path) -> None:
    with pytest.raises(NCAError, match="GiB"):
        open_model(tiny_onnx).check_grid(1, 100_000, 100_000)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("white", (255, 255, 255)),
        ("Black", (0, 0, 0)),
        ("#ff8000", (255, 128, 0)),
        ("0a0b0c", (10, 11, 12)),
        ("#fff", (255, 255, 255)),
        ("transparent", None),
    ],
)
def test_parse_background(text: str, expected: tuple[int, int, int] | None) -> None:
    assert parse_background(text) == expected


@pytest.mark.parametrize("text", ["plaid", "#12345", "#gggggg", ""])
def test_bad_background(text: str) -> None:
    with pytest.raises(NCAError, match="unknown background"):
        parse_background(text)


@pytest.mark.parametrize(("text", "expected"), [("72", (72, 72)), ("96x128", (96, 128)), (None, None), (40, (40, 40))])
def test_parse_size(text: str | int | None, expected: tuple[int, int] | None) -> None:
    assert parse_size(text) == expected


def test_to_rgba8_composites_premultiplied_colour() -> None:
    state = np.zeros((1, 16, 1, 3), np.float32)
    state[0, :4, 0, 0] = [0.25, 0.0, 0.0, 0.5]  # premultiplied: straight red 0.5 at alpha 0.5
    state[0, :4, 0, 1] = [2.0, -1.0, 0.5, 1.5]  # out of range: clipped
    white = to_rgba8(state, (255, 255, 255))[0, 0]
    assert white[0].tolist() == [191, 128, 128, 255]  # 0.25 + 0.5 * 1
    assert white[1].tolist() == [255, 0, 128, 255]
    assert white[2].tolist() == [255, 255, 255, 255]  # empty cell shows the background
    clear = to_rgba8(state, None)[0, 0]
    assert clear[0].tolist() == [128, 0, 0, 128]  # straight alpha
    assert clear[2].tolist() == [0, 0, 0, 0]
