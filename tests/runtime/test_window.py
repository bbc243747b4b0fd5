"""The live-region rollout: the window holds what a step can reach, and its frames are the full grid's, exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ncarender.render import to_rgba8
from ncarender.runtime import MaskStream, NCASession, initial_states, open_model
from ncarender.runtime import buffers as buffers_module
from ncarender.runtime.buffers import BoundRollout
from ncarender.runtime.rollout import live_region, roll_out
from ncarender.runtime.window import REACH, Window, WindowPlanner, grow, nonzero_box
from ncarender.spec import Damage, RenderSpec

# --------------------------------------------------------------------------- models


@pytest.fixture(scope="module")
def shipped() -> NCASession:
    return open_model("snowflake", provider="cpu", quiet=True)


def _bias_model(path: Path, *, gain: float = 1.0) -> Path:
    """A random 6-channel NCA (with ncarender metadata) whose update of an all-zero neighbourhood (the bias path)
    has alpha 0.5, above the threshold 0.1: a dead cell that fires is alive-looking between update and masking.
    ``gain`` scales the update; 20 makes the state blow up within a few dozen steps."""
    torch = pytest.importorskip("torch")
    from ncarender.train.checkpoint import Checkpoint, save_checkpoint
    from ncarender.train.export import export_checkpoint
    from ncarender.train.model import NCA

    torch.manual_seed(0)
    model = NCA(channels=6, hidden=16)
    with torch.no_grad():
        model.w1.weight.normal_(0.0, 1.0)
        model.w1.bias.uniform_(0.0, 1.0)
        model.w2.weight.normal_(0.0, 0.3)
        zero_update = model.w2(torch.relu(model.w1.bias.view(1, -1, 1, 1))).flatten()
        model.w2.weight[3] *= 0.5 / float(zero_update[3])
        model.w2.weight *= gain
    ckpt = Checkpoint(
        model_config=model.config,
        state_dict={k: v.detach().clone() for k, v in model.state_dict().items()},
        target=np.zeros((4, 20, 20), dtype=np.float32),
        target_name="bias (test)",
    )
    save_checkpoint(path.with_suffix(".pt"), ckpt)
    return export_checkpoint(path.with_suffix(".pt"), path, steps=2).path


@pytest.fixture(scope="module")
def bias(tmp_path_factory: pytest.TempPathFactory) -> NCASession:
    return open_model(_bias_model(tmp_path_factory.mktemp("bias") / "bias.onnx"), provider="cpu", quiet=True)


# --------------------------------------------------------------------------- the window's geometry


@pytest.mark.parametrize(
    ("grid", "box", "quantum", "slack"),
    [
        ((72, 72), (36, 37, 36, 37), 8, 2),  # the seed
        ((72, 72), (0, 3, 60, 72), 8, 2),  # at the corner
        ((72, 72), (10, 50, 20, 30), 8, 0),
        ((72, 72), (0, 72, 0, 72), 8, 2),  # everywhere: the grid
        ((40, 97), (5, 35, 1, 90), 16, 4),
        ((25, 13), (12, 13, 6, 7), 8, 2),
        ((9, 9), (4, 5, 4, 5), 1, 0),
    ],
)
def test_planned_window_holds_the_reach_in_buckets_inside_the_grid(
    grid: tuple[int, int], box: tuple[int, int, int, int], quantum: int, slack: int
) -> None:
    planner = WindowPlanner(grid, quantum=quantum, slack=slack)
    w = planner.plan(box)
    assert w.holds(grow(box, REACH, grid))
    assert w.top >= 0 and w.bottom <= grid[0] and w.left >= 0 and w.right <= grid[1]
    for side, limit in ((w.height, grid[0]), (w.width, grid[1])):
        assert side == limit or side % quantum == 0
    need_h, need_w = box[1] - box[0] + 2 * (REACH + slack), box[3] - box[2] + 2 * (REACH + slack)
    assert w.height < min(grid[0], need_h) + quantum and w.width < min(grid[1], need_w) + quantum


def test_nonzero_box_counts_every_nonzero_value() -> None:
    x = np.zeros((2, 5, 10, 12), dtype=np.float32)
    assert nonzero_box(x) is None
    x[0, 0, 3, 3] = -0.0  # a zero of either sign is zero
    assert nonzero_box(x) is None
    x[1, 4, 2, 7] = -1e-30  # a hidden channel, another sample
    x[0, 2, 6, 1] = np.nan
    x[1, 1, 8, 5] = np.inf
    assert nonzero_box(x) == (2, 9, 1, 8)
    assert nonzero_box(x, (10, 20)) == (12, 19, 21, 28)


# --------------------------------------------------------------------------- the margin


def _windowed_step(session: NCASession, state: np.ndarray, mask: np.ndarray, margin: int) -> np.ndarray:
    """One step on the nonzero box grown by ``margin``, the rest of the grid left at zero."""
    box = nonzero_box(state)
    assert box is not None
    top, bottom, left, right = grow(box, margin, state.shape[2:])
    out = np.zeros_like(state)
    crop = np.ascontiguousarray
    out[:, :, top:bottom, left:right] = session.step(
        crop(state[:, :, top:bottom, left:right]), crop(mask[:, :, top:bottom, left:right])
    )
    return out


def _random_states(channels: int, trials: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Random sparse states of 2 samples on 20x20 grids (a blob anywhere, edges included) and random masks."""
    rng = np.random.default_rng(seed)
    cases = []
    for _ in range(trials):
        x = np.zeros((2, channels, 20, 20), dtype=np.float32)
        top, left = rng.integers(0, 19, 2)
        h, w = rng.integers(1, 7, 2)
        part = x[:, :, top : top + h, left : left + w]  # clipped at the grid's edge
        part[...] = rng.random(part.shape, dtype=np.float32) * (rng.random(part.shape) < 0.6)
        part[:, 3] *= rng.choice([0.2, 1.0])
        part[0, 3, 0, 0] = 0.5  # never all zero
        mask = (rng.random((2, 1, 20, 20)) < 0.5).astype(np.float32)
        cases.append((x, mask))
    return cases


def test_margin_two_gives_the_full_grid_and_margin_one_does_not(shipped: NCASession, bias: NCASession) -> None:
    """The proof's two halves on random states: margin 2 (REACH) always gives the full grid's step, value for value;
    margin 1 misses the updated alpha of dead neighbours, which the bias model pushes above the threshold."""
    assert REACH == 2
    for session, channels in ((shipped, 16), (bias, 6)):
        differs = 0
        for x, mask in _random_states(channels, 200, seed=channels):
            full = session.step(x, mask)
            assert np.array_equal(_windowed_step(session, x, mask, 2), full)
            differs += not np.array_equal(_windowed_step(session, x, mask, 1), full)
        if session is bias:
            assert differs >= 10  # 24 of these 200 cases
    zero = bias.step(np.zeros((1, 6, 3, 3), np.float32), np.ones((1, 1, 3, 3), np.float32))
    assert zero.max() == 0.0  # dead cells stay zero all the same


@pytest.mark.parametrize(("reach", "equal"), [(2, True), (1, False)])
def test_rollout_margin(bias: NCASession, monkeypatch: pytest.MonkeyPatch, reach: int, equal: bool) -> None:
    """The rollout's window (tight: no slack, no buckets) gives the full grid's frames with REACH, not with 1."""
    monkeypatch.setattr(buffers_module, "WINDOW_REACH", reach)
    monkeypatch.setitem(buffers_module.WINDOW_QUANTUM, "cpu", 1)
    monkeypatch.setitem(buffers_module.WINDOW_SLACK, "cpu", 0)
    spec = RenderSpec(seeds=(0, 1), steps=6, size=(24, 24))
    full = [f for _, f in roll_out(bias, spec, live=False)]
    live = [f for _, f in roll_out(bias, spec, live=True)]
    assert all(np.array_equal(a, b) for a, b in zip(full, live, strict=True)) is equal


# --------------------------------------------------------------------------- the rollout


def _assert_same_frames(session: NCASession, spec: RenderSpec) -> list[tuple[int, np.ndarray]]:
    full = list(roll_out(session, spec, live=False))
    live = list(roll_out(session, spec, live=True))
    assert [t for t, _ in live] == [t for t, _ in full]
    for (t, a), (_, b) in zip(full, live, strict=True):
        assert np.array_equal(a, b), f"step {t}"
        assert to_rgba8(a).tobytes() == to_rgba8(b).tobytes()
        assert to_rgba8(a, None).tobytes() == to_rgba8(b, None).tobytes()
    return live


@pytest.mark.parametrize(
    "spec",
    [
        RenderSpec(seeds=(0,), steps=160, every=8),
        RenderSpec(seeds=(3, 0, 11, 4), steps=90, every=3, damage=(Damage(40, 0.2, -0.1, 0.3),)),
        RenderSpec(seeds=(5,), steps=140, every=35, size=(40, 96)),  # grows into the top and bottom edges
        RenderSpec(seeds=(2, 7), steps=60, every=20, size=(128, 128)),
        RenderSpec(seeds=(1,), steps=50, every=5, size=(21, 21)),  # the live region fills the grid
        RenderSpec(seeds=(6,), steps=80, every=10, damage=(Damage(50, 0.0, 0.0, 0.5), Damage(65, 0.3, 0.3, 0.4))),
    ],
    ids=["single", "batch-damage", "edge", "128", "fills", "regrowth"],
)
def test_live_rollout_gives_the_full_grid_frames(shipped: NCASession, spec: RenderSpec) -> None:
    _assert_same_frames(shipped, spec)


def test_a_state_erased_whole_stays_zero_without_steps(shipped: NCASession) -> None:
    spec = RenderSpec(seeds=(0,), steps=40, every=5, damage=(Damage(20, 0.0, 0.0, 3.0),))
    frames = _assert_same_frames(shipped, spec)
    assert not np.any(frames[-1][1])


def test_other_models_give_the_full_grid_frames(bias: NCASession, tiny_onnx: Path) -> None:
    _assert_same_frames(bias, RenderSpec(seeds=(0, 1), steps=8, size=(30, 24)))
    tiny = open_model(tiny_onnx, provider="cpu", quiet=True)
    _assert_same_frames(tiny, RenderSpec(seeds=(0, 1, 2), steps=40, every=4, size=(48, 40)))


def test_a_failed_seed_is_zeroed_as_on_the_full_grid(tmp_path: Path) -> None:
    """A model that blows up: the windowed rollout reports the same seeds at the same steps, and the same frames."""
    session = open_model(_bias_model(tmp_path / "boom.onnx", gain=20.0), provider="cpu", quiet=True)
    spec = RenderSpec(seeds=(0, 1, 2), steps=40, size=(30, 30))
    failed_full: dict[int, int] = {}
    failed_live: dict[int, int] = {}
    full = list(roll_out(session, spec, live=False, failed=failed_full))
    live = list(roll_out(session, spec, live=True, failed=failed_live))
    assert failed_full and failed_live == failed_full
    for (_, a), (_, b) in zip(full, live, strict=True):
        assert np.array_equal(a, b)


def test_a_foreign_model_runs_on_the_full_grid(tmp_path: Path) -> None:
    """No metadata: the full grid. This one gives dead cells values, so a window would change its frames."""
    from conftest import affine_model as _model

    foreign = open_model(_model(tmp_path / "f.onnx", 0.5, 0.25), provider="cpu", quiet=True)
    assert not live_region(foreign)
    spec = RenderSpec(seeds=(0,), steps=5, size=(20, 20))
    default = [f for _, f in roll_out(foreign, spec)]
    full = [f for _, f in roll_out(foreign, spec, live=False)]
    windowed = [f for _, f in roll_out(foreign, spec, live=True)]
    assert all(np.array_equal(a, b) for a, b in zip(default, full, strict=True))
    assert not np.array_equal(windowed[-1], full[-1])


def test_windows_grow_in_buckets_and_reuse_their_buffers(shipped: NCASession) -> None:
    height = width = 72
    seeds = [0, 1]
    masks = MaskStream(seeds, height, width, 0.5)
    runner = BoundRollout(shipped, 2, 16, height, width, masks, live=True)
    runner.set_state(initial_states(2, 16, height, width))
    shapes, moves = [], 0
    for _ in range(120):
        before = runner.window
        runner.run()
        moves += runner.window != before
        shapes.append((runner.window.height, runner.window.width))
    masks.close()
    quantum, slack = buffers_module.WINDOW_QUANTUM["cpu"], buffers_module.WINDOW_SLACK["cpu"]
    first = -(-(1 + 2 * (REACH + slack)) // quantum) * quantum  # the seed cell, its reach and room to grow
    assert shapes[0] == (first, first)
    assert all(h % quantum == 0 and w % quantum == 0 for h, w in shapes)
    assert len(set(shapes)) <= 20 and moves <= 25  # a new window every few steps while it grows, then few
    assert len(set(shapes[60:])) <= 6  # grown: the region barely moves
    assert shapes[-1] != (72, 72)


@pytest.mark.parametrize(("dtype", "graphs"), [(np.uint8, False), (np.float32, False), (np.float32, True)])
def test_device_paths_window_like_the_host(shipped: NCASession, dtype: type[np.generic], graphs: bool) -> None:
    """The CUDA code paths on the CPU: the state in onnxruntime buffers moved by the device helpers, masks
    uploaded in blocks (bytes, widened) and cut on the device, or a graph's buffers per window shape."""
    session = open_model("snowflake", provider="cpu", quiet=True)
    session.graphs.active = graphs  # on the CPU graph ids are ignored; the bookkeeping is the same
    height, width, seeds, steps = 64, 56, [2, 9], 90
    spec = RenderSpec(tuple(seeds), steps, 1, (height, width), damage=(Damage(50, 0.0, 0.1, 0.3),))
    want = [f for _, f in roll_out(shipped, spec, include_seed_frame=False, live=False)]
    for _ in range(2):  # a second rollout reuses the graph buffers of the first
        got = [f for _, f in roll_out(session, spec, include_seed_frame=False, live=True)]
        assert all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))
        shapes = list(session.graphs.shapes)
    masks = MaskStream(seeds, height, width, 0.5, block=7, workers=2, prefetch=True, dtype=dtype)
    try:
        runner = BoundRollout(session, 2, 16, height, width, masks, staged=True, graphs=graphs, live=True)
        runner.set_state(initial_states(2, 16, height, width))
        windows = set()
        for t, state in enumerate(want, start=1):
            if t == 51:
                runner.set_state(runner.get_state() * Damage(50, 0.0, 0.1, 0.3).keep_mask(height, width))
            runner.run()
            windows.add(runner.window)
            assert np.array_equal(runner.get_state(), state), f"step {t}"
    finally:
        masks.close()
    assert len({(w.height, w.width) for w in windows}) >= 4
    if graphs:
        assert shapes and all(s[1:] in {(w.height, w.width) for w in windows} for s in shapes)
        assert session.graphs.shapes == shapes  # the same buckets, no new buffers
    else:
        assert not shapes


def test_window_geometry() -> None:
    w = Window(2, 3, 4, 5)
    assert (w.bottom, w.right, w.cells) == (6, 8, 20)
    assert w.index == (slice(2, 6), slice(3, 8))
    assert w.holds((2, 6, 3, 8)) and not w.holds((1, 6, 3, 8)) and not w.holds((2, 6, 3, 9))
    assert grow((0, 1, 5, 6), 2, (7, 7)) == (0, 3, 3, 7)
