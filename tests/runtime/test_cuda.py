"""The CUDA execution provider: skipped unless onnxruntime-gpu sees a GPU (CI has none).

Run on a GPU machine with onnxruntime-gpu installed: ``python -m pytest tests/test_cuda.py``.
The CUDA rollout is checked against the CPU one, run to run, batch against single seed, CUDA graphs
against plain runs, and the half-precision export against the quality bar.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from ncarender.evaluate.target import BAR, evaluate
from ncarender.render import to_rgba8
from ncarender.runtime import NCASession, default_model_path, open_model, roll_out
from ncarender.spec import Damage, RenderSpec

pytestmark = pytest.mark.skipif(
    "CUDAExecutionProvider" not in ort.get_available_providers(), reason="needs onnxruntime-gpu and a GPU"
)
MODELS = Path(__file__).resolve().parents[2] / "models"


def final_state(session: NCASession, seeds: list[int], steps: int, size: int = 72) -> np.ndarray:
    """The state ``(N, C, size, size)`` after ``steps`` steps."""
    frames = list(roll_out(session, RenderSpec(tuple(seeds), steps, steps, (size, size)), include_seed_frame=False))
    return frames[-1][1]


def test_cuda_provider_really_runs_on_cuda() -> None:
    session = open_model(None, provider="cuda")
    assert session.session.get_providers()[0] == "CUDAExecutionProvider"
    assert session.device == "cuda"


def test_cuda_rollout_matches_the_cpu_one() -> None:
    cpu = final_state(open_model(None, provider="cpu"), list(range(8)), 200)
    gpu = final_state(open_model(None, provider="cuda"), list(range(8)), 200)
    diff = np.abs(cpu - gpu).max()
    frames_cpu, frames_gpu = to_rgba8(cpu[:, :4]), to_rgba8(gpu[:, :4])
    pixel = np.abs(frames_cpu.astype(int) - frames_gpu.astype(int))
    print(
        f"CUDA vs CPU after 200 steps: max abs state diff {diff:.3g}, uint8 pixels differing {np.mean(pixel > 0):.2%}"
    )
    assert np.isfinite(gpu).all()
    assert pixel.mean() < 1.0  # visually the same snowflake; single cells may flip the alive test


def test_cuda_frames_equal_the_cpu_frames() -> None:
    # CUDA_PROVIDER_OPTIONS turns TF32 off; the convolutions then gave the CPU's floats exactly (H100,
    # onnxruntime-gpu 1.31.1), so a render is the same on both. With TF32, 5% of the pixels differed.
    for seeds, size in (([0], 72), (list(range(8)), 72), ([1, 2], 128)):
        cpu = final_state(open_model(None, provider="cpu"), seeds, 200, size)
        gpu = final_state(open_model(None, provider="cuda"), seeds, 200, size)
        print(f"CUDA vs CPU, {len(seeds)} seed(s) {size}x{size}: max abs diff {np.abs(cpu - gpu).max():.3g}")
        assert np.array_equal(to_rgba8(cpu[:, :4]), to_rgba8(gpu[:, :4]))


def test_cuda_same_seed_same_state_in_a_new_session() -> None:
    a = final_state(open_model(None, provider="cuda"), list(range(8)), 100)
    b = final_state(open_model(None, provider="cuda"), list(range(8)), 100)
    assert np.array_equal(a, b)


def test_cuda_batch_equals_single_seed() -> None:
    session = open_model(None, provider="cuda")
    batch = final_state(session, list(range(8)), 100)
    single = final_state(session, [3], 100)
    print(f"CUDA batch vs single: max abs diff {np.abs(batch[3] - single[0]).max():.3g}")
    assert np.array_equal(batch[3], single[0])


def test_cuda_graph_rollout_equals_the_plain_one_and_reuses_its_buffers() -> None:
    plain = open_model(None, provider="cuda", cuda_graph=False)
    graph = open_model(None, provider="cuda", cuda_graph=True)
    shapes: list[list[tuple[int, int, int]]] = []
    for seeds, size in (([0, 1], 72), ([5], 72), ([0, 1], 72), ([2, 3, 4], 40)):
        expected = final_state(plain, seeds, 60, size)
        got = final_state(graph, seeds, 60, size)
        assert np.array_equal(expected, got), (seeds, size, np.abs(expected - got).max())
        shapes.append(graph.graphs.shapes)
    # One graph per window shape (bucket): the repeated rollout captured nothing new.
    assert shapes[2] == shapes[1] and len(shapes[0]) >= 2
    assert {n for n, _, _ in shapes[-1]} == {1, 2, 3}


def test_cuda_graph_with_damage_and_every() -> None:
    plain = open_model(None, provider="cuda", cuda_graph=False)
    graph = open_model(None, provider="cuda", cuda_graph=True)
    spec = RenderSpec(seeds=(7,), steps=50, every=7, damage=(Damage(30, 0.2, 0.0, 0.3),))
    a = [f for _, f in roll_out(plain, spec)]
    b = [f for _, f in roll_out(graph, spec)]
    assert len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_default_session_mixes_graph_and_plain_rollouts() -> None:
    # Default: graphs for small rollouts, plain runs (gpu_graph_id -1) for large ones, on one session.
    plain = open_model(None, provider="cuda", cuda_graph=False)
    auto = open_model(None, provider="cuda")
    assert auto.graphs.active
    for seeds in ([0], list(range(64)), [0], list(range(8)), list(range(64))):
        assert np.array_equal(final_state(plain, seeds, 40), final_state(auto, seeds, 40)), len(seeds)
    assert {n for n, _, _ in auto.graphs.shapes} == {1, 8}  # graphs per window shape of the small rollouts only


def test_cuda_live_region_gives_the_full_grid_frames() -> None:
    """Windows on the device: graphs per bucket (batch 1, 8), masks cut from uploaded blocks (batch 64), damage."""

    session = open_model(None, provider="cuda")
    specs = [
        RenderSpec(seeds=(0,), steps=200, every=10),
        RenderSpec(seeds=tuple(range(8)), steps=120, every=30, damage=(Damage(60, 0.2, -0.1, 0.3),)),
        RenderSpec(seeds=tuple(range(64)), steps=100, every=50, damage=(Damage(70, 0.0, 0.0, 0.4),)),
        RenderSpec(seeds=(1, 2), steps=150, every=50, size=(128, 128)),
    ]
    for spec in specs:
        full = list(roll_out(session, spec, live=False))
        live = list(roll_out(session, spec, live=True))
        assert [t for t, _ in live] == [t for t, _ in full]
        for (t, a), (_, b) in zip(full, live, strict=True):
            assert np.array_equal(a, b), (len(spec.seeds), t, np.abs(a - b).max())


def test_half_export_meets_the_bar_on_cuda(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from ncarender.train.export import export_checkpoint

    half = export_checkpoint(MODELS / "snowflake.pt", tmp_path / "snowflake.fp16.onnx", half=True).path
    session = open_model(half, provider="cuda")
    assert session.graphs.enabled and not session.graphs.active  # no graphs for float16 unless asked
    report = evaluate(half, seeds=range(8), steps=[200, 1000], regen=True, provider="cuda")
    print(f"fp16 on CUDA: MSE {report.mse}, regeneration {report.regen_mse}")
    assert report.non_finite is None
    assert report.mse[200] <= BAR["mse_200"] and report.mse[1000] <= BAR["mse_1000"]


def test_cli_gif_on_cuda(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ncarender.cli import app

    out = tmp_path / "cuda.gif"
    result = CliRunner().invoke(app, ["gif", str(out), "--steps", "50", "--provider", "cuda", "-q"])
    assert result.exit_code == 0, result.output
    from PIL import Image

    with Image.open(out) as im:
        assert im.n_frames > 1
    assert default_model_path().exists()
