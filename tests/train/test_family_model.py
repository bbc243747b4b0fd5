"""The seed-conditioned NCA: the code is relayed exactly, the export matches torch, training learns flakes apart."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conftest import tiny_family_targets  # noqa: E402

from ncarender.errors import NCAError  # noqa: E402
from ncarender.family.conditioning import FamilyTargets, make_codes  # noqa: E402
from ncarender.metadata import META, parse_metadata  # noqa: E402
from ncarender.train.checkpoint import load_checkpoint  # noqa: E402
from ncarender.train.export import OnnxStep, model_from_checkpoint  # noqa: E402
from ncarender.train.loop import TrainConfig, train  # noqa: E402
from ncarender.train.model import NCA, NCAConfig, seed_state  # noqa: E402
from ncarender.train.pool import read_pool  # noqa: E402


def _random_model(code_channels: int = 4, seed: int = 0) -> NCA:
    torch.manual_seed(seed)
    model = NCA(hidden=32, code_channels=code_channels)
    with torch.no_grad():  # small positive updates on top of noise: the pattern grows and stays finite
        model.w1.bias.fill_(0.5)
        model.w2.weight.normal_(0, 0.005).abs_()
    return model.eval()


def _rollout(model: NCA, x: torch.Tensor, steps: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _ in range(steps):
            x = model(x, model.random_mask(x, gen))
    return x


def test_codes_are_far_apart_and_repeatable() -> None:
    codes = make_codes(16, 8)
    assert codes.shape == (16, 8) and codes.dtype == np.float32
    assert np.array_equal(codes, make_codes(16, 8))
    assert codes.min() >= 0.0 and codes.max() <= 1.0
    dist = np.sqrt(((codes[:, None] - codes[None]) ** 2).sum(-1))
    assert dist[~np.eye(16, dtype=bool)].min() > 0.5
    with pytest.raises(NCAError):
        make_codes(0, 8)


def test_every_live_cell_carries_its_flakes_code_exactly() -> None:
    model = _random_model()
    codes = torch.from_numpy(make_codes(2, 4))
    x = _rollout(model, seed_state(2, 24, 16, codes), 40)
    assert x.shape == (2, 20, 24, 24)
    for i in range(2):
        nonzero = x[i].abs().amax(0) > 0
        code = x[i, 16:]
        assert nonzero.sum() > 9  # it grew beyond the seed
        assert torch.equal(code[:, nonzero], codes[i][:, None].expand(4, int(nonzero.sum())))
        assert torch.count_nonzero(x[i][:, ~nonzero]) == 0


def test_channels_last_step_equals_the_dense_step() -> None:
    model = _random_model()
    codes = torch.from_numpy(make_codes(3, 4))
    x = _rollout(model, seed_state(3, 20, 16, codes), 15)
    mask = (torch.rand((3, 1, 20, 20), generator=torch.Generator().manual_seed(5)) < 0.5).float()
    dense = model(x, mask)
    nhwc = model.forward_nhwc(x.permute(0, 2, 3, 1), mask.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
    assert torch.allclose(dense, nhwc, atol=1e-6)


def test_onnx_step_layout_equals_the_model() -> None:
    model = _random_model()
    x = _rollout(model, seed_state(2, 20, 16, torch.from_numpy(make_codes(2, 4))), 12)
    mask = torch.ones((2, 1, 20, 20))
    assert torch.allclose(OnnxStep(model)(x, mask), model(x, mask), atol=1e-6)


def test_a_small_family_model_grows_each_flake_nearest_its_own_target(tiny_family_checkpoint: Path) -> None:
    ckpt = load_checkpoint(tiny_family_checkpoint)
    assert ckpt.family is not None and ckpt.family.k == 2 and ckpt.model_config.code_channels == 4
    model = model_from_checkpoint(ckpt)
    targets = tiny_family_targets()
    for seed in range(3):
        x = _rollout(model, seed_state(2, 16, 16, torch.from_numpy(ckpt.family.codes)), 60, seed=seed)
        rgba = x[:, :4].clamp(0, 1).numpy()
        mse = ((rgba[:, None] - targets[None]) ** 2).mean(axis=(2, 3, 4))  # (grown, target)
        assert mse[0, 0] < mse[0, 1] and mse[1, 1] < mse[1, 0], mse
        assert mse.diagonal().max() < 0.06, mse


def test_pool_keeps_each_states_code_and_resume_keeps_the_family(tmp_path: Path) -> None:
    family = FamilyTargets(tiny_family_targets(), make_codes(2, 4), "test:2")
    out = tmp_path / "f.pt"
    cfg = TrainConfig(iterations=6, batch_size=4, pool_size=8, steps_min=8, steps_max=12, checkpoint_every=100)
    train(family.targets[0], out, config=cfg, model_config=NCAConfig(hidden=16, code_channels=4), family=family)
    pool = read_pool(out)  # (P, H, W, C + D)
    assert pool is not None and pool.shape == (8, 16, 16, 20)
    checked = 0
    for i in range(8):
        nonzero = pool[i].abs().amax(-1) > 0
        if not nonzero.any():  # a state that died or was erased holds no code
            continue
        checked += 1
        expect = torch.from_numpy(family.codes[i % 2]).half().float()
        assert torch.equal(pool[i][nonzero][:, 16:], expect.expand(int(nonzero.sum()), 4))
    assert checked >= 4
    more = train(np.zeros((4, 1, 1), np.float32), out, config=TrainConfig(iterations=9), resume=True)
    assert more.iterations == 9
    ckpt = load_checkpoint(out)
    assert ckpt.family is not None and np.array_equal(ckpt.family.codes, family.codes)
    assert np.array_equal(ckpt.family.targets, family.targets)
    assert (tmp_path / "f.loss.png").stat().st_size > 0


def test_code_width_must_match_the_model(tmp_path: Path) -> None:
    family = FamilyTargets(tiny_family_targets(), make_codes(2, 3), "test:2")
    cfg = TrainConfig(iterations=1, batch_size=2, pool_size=4, steps_min=2, steps_max=2)
    with pytest.raises(NCAError, match="3 channels"):
        train(family.targets[0], tmp_path / "x.pt", config=cfg, model_config=NCAConfig(code_channels=4), family=family)
    with pytest.raises(NCAError, match="needs a family"):
        train(family.targets[0], tmp_path / "x.pt", config=cfg, model_config=NCAConfig(code_channels=4))


def test_family_export_carries_codes_and_matches_torch(tiny_family_onnx: Path) -> None:
    import onnx
    import onnxruntime as ort

    proto = onnx.load(str(tiny_family_onnx))
    props = {p.key: p.value for p in proto.metadata_props}
    info = parse_metadata(props, source="family.onnx")
    assert info.channels == 20 and info.code_channels == 4
    assert info.family is not None and info.family.flakes == 2 and info.family.spec == "test:2"
    assert info.family.params == ({"size": 5.0}, {"size": 6.0})
    targets = info.family.targets()
    assert targets is not None and np.abs(targets - tiny_family_targets()).max() < 1 / 255 + 1e-6
    assert [info.family.flake_of_seed(s) for s in range(5)] == [0, 1, 0, 1, 0]
    # The file runs in a plain onnxruntime session from both flakes' seeds (parity was checked on export).
    session = ort.InferenceSession(str(tiny_family_onnx), providers=["CPUExecutionProvider"])
    x = seed_state(2, 16, 16, torch.from_numpy(info.family.codes)).numpy()
    rng = np.random.default_rng(0)
    for _ in range(30):
        mask = (rng.random((2, 1, 16, 16)) < 0.5).astype(np.float32)
        x = session.run(["next_state"], {"state": x, "mask": mask})[0]
    assert np.isfinite(x).all() and (x[:, 3] > 0.1).sum() > 4


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({META.family: None}, "incomplete"),
        ({META.family: '{"codes": [], "spec": "x"}'}, "no codes"),
        ({META.code_channels: "3"}, "3 code channels"),
        ({META.family: '{"codes": [[0.1, -1, 0, 0]], "spec": "x"}'}, ">= 0"),
        ({META.family: "{not json"}, "malformed"),
    ],
)
def test_damaged_family_metadata_is_refused(
    tiny_family_onnx: Path, change: dict[str, str | None], message: str
) -> None:
    import onnx

    props = {p.key: p.value for p in onnx.load(str(tiny_family_onnx)).metadata_props}
    for key, value in change.items():
        if value is None:
            del props[key]
        else:
            props[key] = value
    with pytest.raises(NCAError, match=message):
        parse_metadata(props, source="family.onnx")
