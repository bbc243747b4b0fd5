"""The hex NCA in torch and its ONNX export: lap6 perception, the six-neighbour max, exact symmetry, the contract."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hexmodel import hex_checkpoint, random_hex  # noqa: E402

from ncarender.errors import NCAError  # noqa: E402
from ncarender.lattice import HEX, HEX_OFFSETS, hex_orbits  # noqa: E402
from ncarender.metadata import META  # noqa: E402
from ncarender.train.checkpoint import Checkpoint, load_checkpoint, save_checkpoint  # noqa: E402
from ncarender.train.export import export_checkpoint  # noqa: E402
from ncarender.train.hex import is_symmetric, mask_drawer, orbit_index, rollout_hex  # noqa: E402
from ncarender.train.hex_ops import hex_max  # noqa: E402
from ncarender.train.model import NCA, NCAConfig, seed_state  # noqa: E402
from ncarender.train.rollout import seed_states_nhwc  # noqa: E402


def grown_step(path: Path, x: torch.Tensor, steps: int, *, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grow ``x`` ``(N, C, H, W)`` ``steps`` steps with the checkpoint's torch model; ``(state, mask, next state)``."""
    model = NCA.from_config(load_checkpoint(path).model_config)
    model.load_state_dict(load_checkpoint(path).state_dict)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _ in range(steps):
            x = model(x, model.random_mask(x, gen))
        mask = model.random_mask(x, gen)
        return x.numpy(), mask.numpy(), model(x, mask).numpy()


def test_hex_max_is_the_max_over_the_cell_and_its_six() -> None:
    x = torch.randn(2, 3, 7, 9)
    got = hex_max(x)
    p = torch.nn.functional.pad(x, (1, 1, 1, 1), value=-float("inf"))
    want = x.clone()
    for dr, dq in HEX_OFFSETS:
        want = torch.maximum(want, p[..., 1 + dr : 8 + dr, 1 + dq : 10 + dq])
    assert torch.equal(got, want)


def test_hex_perception_is_identity_and_lap6() -> None:
    model = NCA(channels=4, hidden=8, lattice="hex")
    x = torch.zeros(1, 4, 5, 5)
    x[0, 2, 2, 2] = 6.0
    p = model.perceive(x)  # (1, 8, 5, 5): channel 2c + k
    assert p.shape == (1, 8, 5, 5) and model.w1.in_channels == 8
    lap = p[0, 5]
    assert lap[2, 2] == -6.0
    for dr, dq in HEX_OFFSETS:
        assert lap[2 + dr, 2 + dq] == 1.0
    assert lap[1, 1] == 0.0 and lap[3, 3] == 0.0  # the two corners are not neighbours
    assert float(lap.sum()) == 0.0


def test_lap_gain_scales_the_laplacian_on_both_paths() -> None:
    model = NCA(channels=4, hidden=8, lattice="hex", lap_gain=6.0)
    x = torch.zeros(1, 4, 5, 5)
    x[0, 2, 2, 2] = 1.0
    lap = model.perceive(x)[0, 5]
    assert lap[2, 2] == -6.0 and all(lap[2 + dr, 2 + dq] == 1.0 for dr, dq in HEX_OFFSETS)
    gained = random_hex(code_channels=2, lap_gain=6.0)
    plain = random_hex(code_channels=2)
    x = seed_state(1, 11, 8, torch.rand(1, 2))
    gen = torch.Generator().manual_seed(0)
    changed = 0
    for _ in range(12):
        mask = gained.random_mask(x, gen)
        want = gained(x, mask)
        got = gained.forward_nhwc(x.permute(0, 2, 3, 1), mask.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
        changed += not torch.allclose(plain(x, mask), want)  # the gain changes the step
        x = want
    assert changed >= 6
    assert NCAConfig(lattice="hex", lap_gain=6.0).to_dict()["lap_gain"] == 6.0
    assert "lap_gain" not in NCAConfig(lattice="hex").to_dict()
    with pytest.raises(ValueError, match="hex model's lap6"):
        NCA(lap_gain=6.0)
    with pytest.raises(ValueError, match="positive"):
        NCAConfig(lattice="hex", lap_gain=0.0)


def test_the_onnx_kernel_carries_the_lap_gain(tmp_path: Path) -> None:
    import onnx
    from onnx import numpy_helper

    from ncarender.runtime import open_model

    path = hex_checkpoint(tmp_path, 0, lap_gain=6.0)
    assert load_checkpoint(path).model_config.lap_gain == 6.0
    result = export_checkpoint(path, steps=40)
    assert result.max_abs_diff < 1e-4
    graph = onnx.load(str(result.path)).graph
    tensors = [numpy_helper.to_array(t) for t in graph.initializer]
    tensors += [numpy_helper.to_array(a.t) for n in graph.node if n.op_type == "Constant" for a in n.attribute]
    laps = [a for a in tensors if a.ndim == 4 and a.shape[1:] == (1, 3, 3) and a[0, 0, 1, 1] < 0]
    assert laps and all(float(a[0, 0, 1, 1]) == -6.0 for a in laps)
    x, mask, want = grown_step(path, seed_state(2, 13, 8), 15, seed=2)
    got = open_model(result.path, provider="cpu", quiet=True).step(x, mask)
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_hex_alive_ignores_the_two_corners() -> None:
    model = NCA(channels=4, hidden=8, lattice="hex")
    x = torch.zeros(1, 4, 5, 5)
    x[0, 3, 2, 2] = 1.0
    alive = model.alive(x)[0, 0]
    assert torch.equal(alive.to(torch.float32)[1:4, 1:4], torch.from_numpy(HEX.neighbourhood))


@pytest.mark.parametrize("code_channels", [0, 3])
def test_forward_and_forward_nhwc_agree(code_channels: int) -> None:
    model = random_hex(code_channels)
    codes = torch.rand(2, code_channels) if code_channels else None
    x = seed_state(2, 13, 8, codes)
    gen = torch.Generator().manual_seed(1)
    for _ in range(30):
        mask = model.random_mask(x, gen)
        want = model(x, mask)
        got = model.forward_nhwc(x.permute(0, 2, 3, 1), mask.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
        x = want
    assert int((x[:, 3] > 0.1).sum()) > 2  # it grew: the comparison saw live cells


def test_config_keys_only_where_not_default_and_bad_names_refused() -> None:
    assert "lattice" not in NCAConfig().to_dict() and "mask" not in NCAConfig().to_dict()
    hexed = NCAConfig(lattice="hex", mask="orbit").to_dict()
    assert hexed["lattice"] == "hex" and hexed["mask"] == "orbit"
    assert NCAConfig(**hexed).perception_channels == 32
    with pytest.raises(NCAError, match="unknown lattice"):
        NCAConfig(lattice="triangle")
    with pytest.raises(NCAError, match="needs the hex lattice"):
        NCAConfig(mask="orbit")


def test_orbit_masks_fire_whole_orbits() -> None:
    model = random_hex()
    draw = mask_drawer(model, 3, 11, 11, torch.Generator().manual_seed(0), torch.device("cpu"))
    m = draw().reshape(3, -1)
    rep = orbit_index(11, 11)
    assert torch.equal(m, m[:, rep]) and 0 < float(m.mean()) < 1


def test_a_grown_flake_stays_exactly_symmetric_for_1000_steps() -> None:
    model = random_hex(code_channels=2, hidden=8)
    gen = torch.Generator().manual_seed(0)
    x0 = seed_states_nhwc(2, 15, 15, 8, torch.device("cpu"), torch.rand(2, 2))
    with torch.no_grad():
        x, _ = rollout_hex(model, x0, 1000, mask_drawer(model, 2, 15, 15, gen, torch.device("cpu")))
    rep = orbit_index(15, 15)
    assert bool(is_symmetric(x, rep).all())
    assert int((x[..., 3] > 0.1).sum()) > 12  # not a trivially symmetric dead grid
    # Without the gather, float rounding alone breaks it (the point of the gather).
    x = x0
    draw = mask_drawer(model, 2, 15, 15, torch.Generator().manual_seed(0), torch.device("cpu"))
    with torch.no_grad():
        for _ in range(200):
            x = model.forward_nhwc(x, draw())
    assert not bool(is_symmetric(x, rep).all())


def test_a_damaged_sample_is_not_symmetrised() -> None:
    model = random_hex(hidden=8)
    x0 = seed_states_nhwc(2, 11, 11, 8, torch.device("cpu"))
    x0[1, 5, 6, 3:] = 1.0  # an extra live cell next to the seed: sample 1 is asymmetric
    draw = mask_drawer(model, 2, 11, 11, torch.Generator().manual_seed(0), torch.device("cpu"))
    with torch.no_grad():
        x, _ = rollout_hex(model, x0, 20, draw)
    assert is_symmetric(x, orbit_index(11, 11)).tolist() == [True, False]


@pytest.mark.parametrize("code_channels", [0, 3])
def test_hex_onnx_matches_torch_and_names_its_lattice(tmp_path: Path, code_channels: int) -> None:
    from ncarender.runtime import open_model

    path = hex_checkpoint(tmp_path, code_channels)
    assert load_checkpoint(path).model_config.lattice == "hex"
    result = export_checkpoint(path, steps=60)
    assert result.max_abs_diff < 1e-4
    session = open_model(result.path, provider="cpu", quiet=True)
    assert session.info.lattice is HEX and session.info.mask_kind == "orbit"
    import onnx

    props = {p.key: p.value for p in onnx.load(str(result.path)).metadata_props}
    assert props[META.lattice] == "hex" and props[META.mask] == "orbit"
    # The step itself, numerically, from a grown state on another grid size.
    codes = torch.rand(3, code_channels) if code_channels else None
    x, mask, want = grown_step(path, seed_state(3, (17, 13), 8, codes), 25, seed=3)
    got = session.step(x, mask)
    np.testing.assert_allclose(got, want, atol=1e-5)
    rep = hex_orbits(17, 13)
    assert (mask.reshape(3, -1) == mask.reshape(3, -1)[:, rep]).all()


def test_square_model_exports_no_lattice_keys(tmp_path: Path) -> None:
    import onnx

    model = NCA(channels=8, hidden=8)
    ckpt = Checkpoint(model.config, {k: v.detach() for k, v in model.state_dict().items()}, np.zeros((4, 9, 9)), "sq")
    save_checkpoint(tmp_path / "s.pt", ckpt)
    assert "lattice" not in torch.load(tmp_path / "s.pt", weights_only=True)["model_config"]
    props = {p.key for p in onnx.load(str(export_checkpoint(tmp_path / "s.pt", steps=5).path)).metadata_props}
    assert META.lattice not in props and META.mask not in props


def test_a_checkpoint_naming_an_unknown_lattice_is_one_error(tmp_path: Path) -> None:
    path = hex_checkpoint(tmp_path, 0)
    data = torch.load(path, weights_only=True)
    data["model_config"]["lattice"] = "triangle"
    torch.save(data, path)
    with pytest.raises(NCAError, match=r"bad model config.*unknown lattice 'triangle'"):
        load_checkpoint(path)


def test_the_parity_rollout_of_an_orbit_model_keeps_it_symmetric(tmp_path: Path) -> None:
    from ncarender.train.export import model_from_checkpoint, parity_measures

    path = hex_checkpoint(tmp_path, 3)
    onnx_path = export_checkpoint(path, steps=1).path
    model = model_from_checkpoint(load_checkpoint(path))
    rep = torch.from_numpy(hex_orbits(15, 15).copy())
    seen: list[bool] = []
    model.register_forward_pre_hook(
        lambda _m, args: seen.append(bool(is_symmetric(args[0].permute(0, 2, 3, 1), rep).all()))
    )
    codes = load_checkpoint(path).family.codes  # type: ignore[union-attr]
    pointwise, _, _ = parity_measures(model, onnx_path, steps=200, size=(15, 15), codes=codes)
    # As the renderers roll it out: every state exactly symmetric (without the gather, rounding breaks it).
    assert len(seen) == 200 and all(seen)
    assert pointwise < 1e-4
