"""Export: the ONNX file honours the contract, matches torch, carries its metadata and runs at other shapes."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

torch = pytest.importorskip("torch")

from ncarender.errors import NCAError  # noqa: E402
from ncarender.family.targets import target_from_png_bytes  # noqa: E402
from ncarender.train.checkpoint import Checkpoint, load_checkpoint, save_checkpoint  # noqa: E402
from ncarender.train.export import OPSET, export_checkpoint, model_from_checkpoint, parity_check  # noqa: E402
from ncarender.train.model import NCA, NCAConfig, seed_state  # noqa: E402


def test_contract_inputs_outputs_and_opset(tiny_onnx: Path) -> None:
    proto = onnx.load(str(tiny_onnx))
    onnx.checker.check_model(proto, full_check=True)
    assert [i.name for i in proto.graph.input] == ["state", "mask"]
    assert [o.name for o in proto.graph.output] == ["next_state"]
    dims = [d.dim_param or d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["N", 16, "H", "W"]
    assert next(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) == OPSET >= 17


def test_metadata_records_training_and_target(tiny_onnx: Path, tiny_checkpoint: Path) -> None:
    props = {p.key: p.value for p in onnx.load(str(tiny_onnx)).metadata_props}
    assert props["ncarender.channels"] == "16"
    assert float(props["ncarender.fire_rate"]) == 0.5
    assert float(props["ncarender.alive_threshold"]) == 0.1
    assert (props["ncarender.grid_height"], props["ncarender.grid_width"]) == ("16", "16")
    assert props["ncarender.target_name"] == "plus"
    assert props["ncarender.training_iterations"] == "30"
    ckpt = load_checkpoint(tiny_checkpoint)
    assert float(props["ncarender.final_loss"]) == pytest.approx(ckpt.final_loss)
    target = target_from_png_bytes(base64.b64decode(props["ncarender.target_png_base64"]))
    np.testing.assert_allclose(target, ckpt.target, atol=1 / 255)


def _ort_rollout(path: Path, x: np.ndarray, masks: list[np.ndarray]) -> np.ndarray:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for m in masks:
        x = sess.run(["next_state"], {"state": x, "mask": m})[0]
    return x


@pytest.mark.parametrize(("n", "h", "w"), [(1, 16, 16), (3, 24, 40), (2, 9, 33)])
def test_runs_at_other_batch_and_grid_sizes(tiny_onnx: Path, tiny_checkpoint: Path, n: int, h: int, w: int) -> None:
    model = model_from_checkpoint(load_checkpoint(tiny_checkpoint))
    rng = np.random.default_rng(0)
    masks = [(rng.random((n, 1, h, w)) < 0.5).astype(np.float32) for _ in range(40)]
    x = seed_state(n, (h, w)).numpy()
    got = _ort_rollout(tiny_onnx, x, masks)
    want = torch.from_numpy(x)
    with torch.no_grad():
        for m in masks:
            want = model(want, torch.from_numpy(m))
    assert got.shape == (n, 16, h, w)
    np.testing.assert_allclose(got, want.numpy(), atol=1e-4)


def test_parity_of_a_random_model(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = NCA()
    torch.nn.init.normal_(model.w2.weight, std=0.02)
    target = np.zeros((4, 20, 20), np.float32)
    ckpt = Checkpoint(
        model_config=model.config,
        state_dict={k: v.detach() for k, v in model.state_dict().items()},
        target=target,
        target_name="none",
    )
    save_checkpoint(tmp_path / "r.pt", ckpt)
    result = export_checkpoint(tmp_path / "r.pt", steps=100)
    assert result.path == tmp_path / "r.onnx" and result.path.exists()
    assert result.max_abs_diff < 1e-4
    # The check sees a real difference: compare against a model with other weights.
    other = NCA()
    torch.nn.init.normal_(other.w2.weight, std=0.02)
    assert parity_check(other, result.path, steps=20, size=(20, 20)) > 1e-2


def test_failed_parity_leaves_no_file(tiny_checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.onnx"
    out.write_bytes(b"old")
    with pytest.raises(NCAError, match="parity check failed"):
        export_checkpoint(tiny_checkpoint, out, steps=10, tolerance=-1.0)
    assert out.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]


@pytest.mark.parametrize("channels", [8, 16])
def test_configurable_channels_and_hidden_export(tmp_path: Path, channels: int) -> None:
    model = NCA(channels=channels, hidden=32)
    ckpt = Checkpoint(
        model_config=NCAConfig(channels=channels, hidden=32),
        state_dict={k: v.detach() for k, v in model.state_dict().items()},
        target=np.zeros((4, 12, 12), np.float32),
        target_name="none",
    )
    save_checkpoint(tmp_path / "c.pt", ckpt)
    result = export_checkpoint(tmp_path / "c.pt", steps=10)
    props = {p.key: p.value for p in onnx.load(str(result.path)).metadata_props}
    assert props["ncarender.channels"] == str(channels) and props["ncarender.hidden"] == "32"


def test_half_export_keeps_the_contract_and_computes_in_float16(tiny_checkpoint: Path, tmp_path: Path) -> None:
    copy = tmp_path / "tiny.pt"
    copy.write_bytes(tiny_checkpoint.read_bytes())
    result = export_checkpoint(copy, half=True)
    assert result.path == tmp_path / "tiny.fp16.onnx" and result.precision == "float16"
    assert result.metric == "RGBA MSE" and result.max_abs_diff <= result.tolerance
    proto = onnx.load(str(result.path))
    props = {p.key: p.value for p in proto.metadata_props}
    assert props["ncarender.precision"] == "float16"
    float_type = onnx.TensorProto.FLOAT
    assert all(v.type.tensor_type.elem_type == float_type for v in [*proto.graph.input, *proto.graph.output])
    weights = [a.t for n in proto.graph.node if n.op_type == "Constant" for a in n.attribute if len(a.t.dims) == 4]
    weights += [init for init in proto.graph.initializer if len(init.dims) == 4]
    assert len(weights) == 5 and all(w.data_type == onnx.TensorProto.FLOAT16 for w in weights)
    # Renders like the float32 export: same seed, visually the same state.
    from ncarender.runtime import open_model, roll_out
    from ncarender.spec import RenderSpec

    full = export_checkpoint(copy, tmp_path / "tiny32.onnx").path
    states = [
        list(roll_out(open_model(p, provider="cpu"), RenderSpec(steps=40, every=40), include_seed_frame=False))[-1][1]
        for p in (full, result.path)
    ]
    rgba = [np.clip(s[:, :4], 0, 1) for s in states]
    assert float(((rgba[0] - rgba[1]) ** 2).mean()) < 1e-4
    assert not np.array_equal(states[0], states[1])  # it really is another arithmetic


def test_half_parity_check_catches_a_wrong_model(tiny_checkpoint: Path, tmp_path: Path) -> None:
    ckpt = load_checkpoint(tiny_checkpoint)
    model = model_from_checkpoint(ckpt)
    half = export_checkpoint(tiny_checkpoint, tmp_path / "h.onnx", half=True).path
    with torch.no_grad():
        model.w1.bias.add_(0.5)  # the torch side now differs from the file
    assert parity_check(model, half, size=(16, 16), rgba_mse=True) > 1e-3


@pytest.mark.parametrize(
    ("measured", "passes"),
    [
        ((2e-5, 2e-12, 1e-12), "max abs diff"),
        ((1.03, 2e-7, 1e-8), "alive threshold flipped"),
        ((0.4, 3e-3, 3e-3), None),
    ],
)
def test_a_cell_flipped_at_the_alive_threshold_is_judged_on_what_shows(
    tiny_checkpoint: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    measured: tuple[float, float, float],
    passes: str | None,
) -> None:
    import ncarender.train.export as export

    real = export.parity_measures
    seen: list[tuple[float, float, float]] = []

    def measures(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(real(*args, **kwargs))  # the real rollout runs, then reports the case's figures
        return measured

    monkeypatch.setattr(export, "parity_measures", measures)
    out = tmp_path / "m.onnx"
    if passes is None:
        with pytest.raises(NCAError, match=r"differ by 0.4 \(max abs diff\).*RGBA MSE 0.003 at worst"):
            export.export_checkpoint(tiny_checkpoint, out, steps=10)
        assert not out.exists()
    else:
        result = export.export_checkpoint(tiny_checkpoint, out, steps=10)
        assert passes in result.metric and result.pointwise == measured[0] and out.exists()
    assert seen and seen[0][0] < 1e-3  # the tiny model itself has no such cell


def test_parity_measures_see_the_visible_difference(tiny_checkpoint: Path, tiny_onnx: Path) -> None:
    from ncarender.train.export import parity_measures

    other = NCA()
    torch.nn.init.normal_(other.w2.weight, std=0.05)
    pointwise, visible, final = parity_measures(other, tiny_onnx, steps=20, size=(16, 16))
    assert pointwise > 1e-2 and visible >= final and visible > 1e-5
