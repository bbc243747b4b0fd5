"""What the performance work must not change: the step's function, the masks of a seed, the frame bytes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from conftest import reference_masks

from ncarender.render import Background, to_rgba8
from ncarender.runtime import MaskStream, open_model, roll_out
from ncarender.spec import RenderSpec


@pytest.mark.parametrize(
    ("block", "workers", "prefetch", "dtype"),
    [
        (1, 1, False, np.float32),
        (4, 1, False, np.float32),
        (3, 2, True, np.float32),
        (5, 3, False, np.float32),
        (13, 1, True, np.float32),
        (3, 2, True, np.uint8),
    ],
)
def test_mask_blocks_threads_and_prefetch_give_the_same_masks(
    block: int, workers: int, prefetch: bool, dtype: type[np.generic]
) -> None:
    seeds, steps, height, width = [0, 7, 3], 13, 9, 7  # odd sizes: float32 draws split 64-bit words
    stream = MaskStream(seeds, height, width, 0.5, block=block, workers=workers, prefetch=prefetch, dtype=dtype)
    try:
        got = np.concatenate([stream.next().copy() for _ in range(-(-steps // block))])[:steps]
    finally:
        stream.close()
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, reference_masks(seeds, steps, height, width, 0.5))


def test_rollout_uses_the_reference_masks(tiny_onnx: Path) -> None:
    """Frames equal a plain loop of ``session.step`` fed the reference masks (bit for bit)."""
    session = open_model(tiny_onnx, provider="cpu", quiet=True)
    height, width = session.info.grid
    seeds, steps = [5, 1], 12
    masks = reference_masks(seeds, steps, height, width, session.info.fire_rate)
    x = np.zeros((2, session.info.channels, height, width), dtype=np.float32)
    x[:, 3:, height // 2, width // 2] = 1.0
    expected = []
    for t in range(steps):
        x = session.step(x, masks[t])
        expected.append(x)
    frames = [f for _, f in roll_out(session, RenderSpec(tuple(seeds), steps), include_seed_frame=False)]
    assert len(frames) == steps
    for got, want in zip(frames, expected, strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(("block", "workers", "dtype"), [(1, 1, np.float32), (5, 2, np.float32), (4, 2, np.uint8)])
def test_staged_path_gives_the_frames_of_the_direct_path(
    tiny_onnx: Path, block: int, workers: int, dtype: type[np.generic]
) -> None:
    """The CUDA code path (state in onnxruntime buffers, mask blocks uploaded and bound by address) on the CPU.

    ``uint8``: masks uploaded as bytes and widened by the Cast session, as on CUDA by default.
    """
    from ncarender.runtime import initial_states
    from ncarender.runtime.buffers import BoundRollout

    session = open_model(tiny_onnx, provider="cpu", quiet=True)
    height, width = session.info.grid
    seeds, steps, c = [2, 9], 11, session.info.channels
    direct = [f for _, f in roll_out(session, RenderSpec(tuple(seeds), steps), include_seed_frame=False)]
    masks = MaskStream(
        seeds, height, width, session.info.fire_rate, block=block, workers=workers, prefetch=True, dtype=dtype
    )
    try:
        runner = BoundRollout(session, len(seeds), c, height, width, masks, staged=True)
        runner.set_state(initial_states(len(seeds), c, height, width))
        for want in direct:
            runner.run()
            np.testing.assert_array_equal(runner.get_state(), want)
    finally:
        masks.close()


def test_graph_path_bookkeeping_gives_the_frames_of_the_direct_path(tiny_onnx: Path) -> None:
    """The CUDA-graph code path (fixed buffers per shape, one mask buffer refilled each step) run on the CPU."""
    plain = open_model(tiny_onnx, provider="cpu", quiet=True)
    graph = open_model(tiny_onnx, provider="cpu", quiet=True)
    graph.graphs.active = True  # on the CPU the run options' graph ids are ignored; the bookkeeping is the same
    shapes = []
    for _ in range(2):
        for seeds, size, every in (([2, 9], 16, 1), ([4], 16, 3), ([2, 9], 16, 5), ([1], 12, 2)):
            spec = RenderSpec(seeds=tuple(seeds), steps=13, every=every, size=(size, size))
            want, got = list(roll_out(plain, spec)), list(roll_out(graph, spec))
            assert [t for t, _ in got] == [t for t, _ in want]
            for (_, g), (_, w) in zip(got, want, strict=True):
                np.testing.assert_array_equal(g, w)
        shapes.append(sorted(graph.graphs.shapes))
    # One set of buffers per (N, window shape), reused: the second pass made none.
    assert shapes[1] == shapes[0] and {n for n, _, _ in shapes[0]} == {1, 2}
    assert all(h <= 16 and w <= 16 for _, h, w in shapes[0]) and len(shapes[0]) > 2  # windows of the live region


def test_exported_perception_is_three_single_filter_depthwise_convs(tiny_onnx: Path) -> None:
    """onnxruntime runs these in its blocked kernels; a 3-filters-per-channel conv would fall back (slow)."""
    proto = onnx.load(str(tiny_onnx))
    weights = {i.name: tuple(i.dims) for i in proto.graph.initializer}
    for node in proto.graph.node:  # the exporter may write constant weights as Constant nodes
        if node.op_type == "Constant":
            weights[node.output[0]] = tuple(next(a.t.dims for a in node.attribute if a.name == "value"))
    convs = [n for n in proto.graph.node if n.op_type == "Conv"]
    spatial = [n for n in convs if weights.get(n.input[1], (0, 0, 1, 1))[2:] == (3, 3)]
    assert len(spatial) == 3
    for node in spatial:
        group = next(a.i for a in node.attribute if a.name == "group")
        assert weights[node.input[1]] == (group, 1, 3, 3)


@pytest.mark.parametrize(("channels", "hidden"), [(16, 128), (6, 24)])
def test_export_layout_computes_the_model_step(channels: int, hidden: int) -> None:
    torch = pytest.importorskip("torch")
    from ncarender.train.export import OnnxStep
    from ncarender.train.model import NCA

    torch.manual_seed(0)
    model = NCA(channels=channels, hidden=hidden).eval()
    with torch.no_grad():
        model.w2.weight.normal_(0.0, 0.1)
    state = torch.rand(3, channels, 11, 9)
    mask = (torch.rand(3, 1, 11, 9) < 0.5).float()
    with torch.no_grad():
        torch.testing.assert_close(OnnxStep(model)(state, mask), model(state, mask), rtol=1e-5, atol=1e-6)


def reference_rgba8(state: np.ndarray, background: Background) -> np.ndarray:
    """The frame formula on whole ``(N, H, W, 4)`` arrays (what :func:`to_rgba8` computes plane by plane)."""
    rgba = np.moveaxis(state[:, :4], 1, -1)
    alpha = np.clip(rgba[..., 3:4], 0.0, 1.0)
    rgb = np.minimum(np.clip(rgba[..., :3], 0.0, None), alpha)
    if background is None:
        out = np.concatenate([np.divide(rgb, alpha, out=np.zeros_like(rgb), where=alpha > 0), alpha], axis=-1)
    else:
        bg = np.asarray(background, dtype=np.float32) / 255.0
        out = np.concatenate([rgb + bg * (1.0 - alpha), np.ones_like(alpha)], axis=-1)
    return np.rint(out * 255.0).astype(np.uint8)


@pytest.mark.parametrize("background", [(255, 255, 255), (12, 16, 32), (1, 254, 128), None])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_to_rgba8_bytes_equal_the_formula(background: Background, dtype: type) -> None:
    rng = np.random.default_rng(2)
    state = (rng.standard_normal((2, 16, 13, 10)) * 0.7 + 0.3).astype(dtype)  # out of range both ways
    state[:, :, :3] = 0.0
    state[:, 3, 3:5] = -0.0
    np.testing.assert_array_equal(to_rgba8(state, background), reference_rgba8(state, background))
