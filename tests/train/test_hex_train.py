"""Training on the hex lattice: targets per hex cell, growth penalties, masks and damage, the train command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from typer.testing import CliRunner  # noqa: E402

from ncarender.cli import app  # noqa: E402
from ncarender.errors import NCAError  # noqa: E402
from ncarender.family.hex_targets import crystal_cells, hex_family_targets, ice_radius  # noqa: E402
from ncarender.family.reiter import ReiterParams, grow_crystal  # noqa: E402
from ncarender.lattice import hex_orbits  # noqa: E402
from ncarender.train.checkpoint import load_checkpoint  # noqa: E402
from ncarender.train.hex import (  # noqa: E402
    from_seed,
    lattice_damage,
    mask_drawer,
    overflow_penalty,
    palette_penalty,
    train_rollout,
)
from ncarender.train.model import NCA  # noqa: E402
from ncarender.train.rollout import rollout_cropped, seed_states_nhwc  # noqa: E402


@pytest.fixture(scope="module")
def family4() -> object:
    return hex_family_targets("reiter:4@16")


def test_hex_targets_are_the_crystal_per_cell_symmetric_and_on_the_palette(family4: object) -> None:
    fam = family4
    k, four, h, w = fam.targets.shape  # type: ignore[attr-defined]
    assert (k, four) == (4, 4) and h == w and h % 2 == 1
    rep = hex_orbits(h, w)
    flat = fam.targets.reshape(k, 4, -1)  # type: ignore[attr-defined]
    assert (flat == flat[..., rep]).all()  # exactly six-fold symmetric about the seed cell
    assert set(np.unique(fam.targets[:, 3])) == {0.0, 1.0}  # type: ignore[attr-defined]  # no resampling
    assert (fam.targets[:, 3, h // 2, w // 2] == 1).all()  # type: ignore[attr-defined]  # the seed cell is ice
    x = torch.from_numpy(np.moveaxis(np.array(fam.targets), 1, -1).copy())  # type: ignore[attr-defined]
    assert float(palette_penalty(x)) < 1e-10
    assert fam.spec == "reiter:4@16" and fam.codes.shape == (4, 8)  # type: ignore[attr-defined]


def test_crystal_cells_keep_the_field_and_refuse_to_cut_ice() -> None:
    crystal = grow_crystal(ReiterParams(1.0, 0.4, 0.001), domain=12)
    radius = ice_radius(crystal)
    cells = crystal_cells(crystal, radius + 1)
    d, r = crystal.domain, radius + 1
    assert np.array_equal(cells[3] > 0, crystal.ice[d - r : d + r + 1, d - r : d + r + 1])
    assert crystal_cells(crystal, d + 3).shape == (4, 2 * d + 7, 2 * d + 7)  # padded beyond the domain
    with pytest.raises(NCAError, match="cuts it"):
        crystal_cells(crystal, radius - 1)


def test_palette_penalty_sees_off_palette_colour_and_overflow() -> None:
    x = torch.zeros(1, 1, 3, 16)
    x[0, 0, 0, :4] = torch.tensor([0.4, 0.62, 0.9, 1.0])  # the rim colour, opaque: on the palette
    x[0, 0, 1, :4] = torch.tensor([0.2, 0.31, 0.45, 0.5])  # the same, half covered: on the palette
    assert float(palette_penalty(x)) < 1e-12
    magenta = x.clone()
    magenta[0, 0, 2, :4] = torch.tensor([1.0, 0.0, 1.0, 1.0])
    assert float(palette_penalty(magenta)) > 0.05
    faint = x.clone()  # a faint magenta speck counts by its alpha, not its alpha squared
    faint[0, 0, 2, :4] = torch.tensor([0.2, 0.0, 0.2, 0.2])
    assert float(palette_penalty(faint)) == pytest.approx(0.2 * float(palette_penalty(magenta)), rel=1e-5)
    darker = x.clone()
    darker[0, 0, 2, :4] = torch.tensor([0.2, 0.31, 0.45, 1.0])  # on the line, past the rim end
    assert float(palette_penalty(darker)) > 1e-3
    big = x.clone()
    big[0, 0, 0, 5] = 10.0  # a hidden channel past its range
    assert float(overflow_penalty(big, 16)) > 0 and float(overflow_penalty(x, 16)) == 0


def test_square_masks_are_the_draws_square_training_always_made() -> None:
    model = NCA(channels=8, hidden=8)
    got = mask_drawer(model, 2, 6, 5, torch.Generator().manual_seed(3), torch.device("cpu"))()
    u = torch.rand((2, 6, 5, 1), generator=torch.Generator().manual_seed(3))
    assert torch.equal(got, (u < 0.5).to(torch.float32))
    x = seed_states_nhwc(2, 6, 5, 8, torch.device("cpu"))
    state, penalty, _ = train_rollout(model, x, 3, lambda: torch.ones(2, 6, 5, 1))
    assert penalty is None and state.shape == x.shape


def test_hex_damage_is_a_round_disc_in_the_flakes_geometry() -> None:
    model = NCA(channels=4, hidden=8, lattice="hex")
    x = torch.ones(64, 21, 21, 4)
    out = lattice_damage(model, x, torch.Generator().manual_seed(0))
    erased = (out[..., 0] == 0).sum(dim=(1, 2)).float()
    assert float(erased.min()) > 0 and float(erased.max()) < 21 * 21
    # A disc of radius r (in half-widths of 10 cells) covers about pi (10 r)^2 / (sqrt(3) / 2) cells.
    assert 0.5 * np.pi * 100 * 0.01 / 0.866 < float(erased.min())


def test_train_hex_family_on_the_command_line_then_export(tmp_path: Path) -> None:
    runner = CliRunner()
    ckpt = tmp_path / "h.pt"
    args = ["train", "reiter:2@16", "--lattice", "hex", "-o", str(ckpt), "--iterations", "3", "--hidden", "8"]
    args += ["--pool-size", "8", "--batch-size", "4", "--steps-min", "4", "--steps-max", "6", "--json", "-q"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    loaded = load_checkpoint(ckpt)
    assert (loaded.model_config.lattice, loaded.model_config.mask) == ("hex", "orbit")
    assert loaded.family is not None and loaded.family.targets.shape[1:] == (4, 23, 23)
    assert len(loaded.train_state["penalties"]) == 3
    result = runner.invoke(app, ["export", str(ckpt), "--parity-steps", "20", "--json", "-q"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["max_abs_diff"] < 1e-4


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["reiter:2", "--lattice", "triangle"], "unknown lattice 'triangle'"),
        (["reiter:2", "--lattice", "hex", "--mask", "stripes"], "unknown mask kind 'stripes'"),
        (["reiter:2", "--mask", "orbit"], "needs the hex lattice"),
        (["snowflake", "--lattice", "hex"], "trains a family"),
    ],
)
def test_bad_lattice_or_mask_is_one_error_line(tmp_path: Path, extra: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["train", *extra, "-o", str(tmp_path / "x.pt")])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:") and message in lines[0]
    assert not (tmp_path / "x.pt").exists()


def test_a_hex_run_resumes_without_its_pool(tmp_path: Path) -> None:
    from ncarender.train.checkpoint import pool_path
    from ncarender.train.loop import TrainConfig, train
    from ncarender.train.model import NCAConfig

    fam = hex_family_targets("reiter:2@12")
    out = tmp_path / "h.pt"
    cfg = TrainConfig(iterations=2, batch_size=2, pool_size=4, steps_min=3, steps_max=4, checkpoint_every=1)
    model_cfg = NCAConfig(channels=8, hidden=8, code_channels=8, lattice="hex", mask="orbit")
    train(fam.targets[0], out, config=cfg, model_config=model_cfg, family=fam, device="cpu")
    pool_path(out).unlink()
    cfg.iterations = 3
    result = train(np.zeros((4, 1, 1), np.float32), out, config=cfg, device="cpu", resume=True, warm_rounds=1)
    assert result.iterations == 3 and load_checkpoint(out).model_config.lattice == "hex"


def test_a_continuous_family_trains_on_the_lattice_and_reloads(tmp_path: Path) -> None:
    ckpt = tmp_path / "p.pt"
    args = ["train", "reiter:params:3@12", "--lattice", "hex", "-o", str(ckpt), "--iterations", "1", "--hidden", "8"]
    args += ["--pool-size", "4", "--batch-size", "2", "--steps-min", "3", "--steps-max", "3", "-q"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    loaded = load_checkpoint(ckpt)  # the checkpoint keeps only the spec: the targets regrow on the lattice
    assert loaded.family is not None and len(loaded.family.draws) == 3
    assert loaded.family.targets.shape[2] == loaded.family.targets.shape[3] == loaded.target.shape[1]
    assert set(np.unique(loaded.family.targets[:, 3])) == {0.0, 1.0}


def test_the_palette_weight_is_recorded_only_when_set(tmp_path: Path) -> None:
    ckpt = tmp_path / "w.pt"
    args = ["train", "reiter:2@12", "--lattice", "hex", "-o", str(ckpt), "--iterations", "1", "--hidden", "8"]
    args += ["--pool-size", "4", "--batch-size", "2", "--steps-min", "9", "--steps-max", "9", "-q"]
    assert CliRunner().invoke(app, [*args, "--palette-weight", "0.5"]).exit_code == 0
    assert load_checkpoint(ckpt).train_state["config"]["palette_weight"] == 0.5
    assert CliRunner().invoke(app, [*args, "--force"]).exit_code == 0
    assert "palette_weight" not in load_checkpoint(ckpt).train_state["config"]
    result = CliRunner().invoke(app, [*args, "--palette-weight", "-1"])
    assert result.exit_code == 1 and "--palette-weight must be a number from 0 to" in result.stderr


def test_the_lap_gain_is_a_model_setting(tmp_path: Path) -> None:
    ckpt = tmp_path / "g.pt"
    args = ["train", "reiter:2@12", "--lattice", "hex", "-o", str(ckpt), "--iterations", "1", "--hidden", "8"]
    args += ["--pool-size", "4", "--batch-size", "2", "--steps-min", "3", "--steps-max", "3", "-q"]
    assert CliRunner().invoke(app, [*args, "--lap-gain", "6"]).exit_code == 0
    assert load_checkpoint(ckpt).model_config.lap_gain == 6.0
    resumed = ["train", "-o", str(ckpt), "--resume", "--iterations", "2", "-q", "--lap-gain"]
    result = CliRunner().invoke(app, [*resumed, "1"])
    assert result.exit_code == 1 and "--lap-gain 1.0 differs from the checkpoint's 6.0" in result.stderr
    assert CliRunner().invoke(app, [*resumed, "6"]).exit_code == 0  # the same value goes on
    assert load_checkpoint(ckpt).iterations == 2
    square = CliRunner().invoke(app, ["train", "reiter:2", "--lap-gain", "6", "-o", str(tmp_path / "s.pt")])
    assert square.exit_code == 1 and len(square.stderr.strip().splitlines()) == 1
    assert "needs --lattice hex" in square.stderr and not (tmp_path / "s.pt").exists()


def test_a_square_family_rollout_takes_the_palette_penalty_over_the_whole_grid() -> None:
    from ncarender.train.hex import PENALTY_EVERY, PENALTY_FROM

    torch.manual_seed(0)
    model = NCA(channels=8, hidden=16, code_channels=2)
    torch.nn.init.normal_(model.w2.weight, std=0.05)
    x0 = seed_states_nhwc(2, 21, 21, 8, torch.device("cpu"), torch.rand(2, 2))
    steps = 20

    def masks() -> object:
        return mask_drawer(model, 2, 21, 21, torch.Generator().manual_seed(5), torch.device("cpu"))

    with torch.no_grad():  # sample 1 grows for a while first: not a seed, so not in the palette penalty
        x0[1:] = rollout_cropped(model, x0[1:], 9, mask_drawer(model, 1, 21, 21, torch.Generator(), x0.device))
    assert from_seed(x0).tolist() == [True, False]
    plain, none, _ = train_rollout(model, x0, steps, masks())
    assert none is None  # no weight: the square rollout as it always was
    x, penalty, _ = train_rollout(model, x0, steps, masks(), palette_weight=0.5)
    assert torch.equal(x, plain)
    draw, full, want = masks(), x0, []
    for t in range(steps):  # the same rollout on the whole grid, the penalty counted by hand
        full = model.forward_nhwc(full, draw())
        if t >= PENALTY_FROM and (steps - 1 - t) % PENALTY_EVERY == 0:
            want.append(palette_penalty(full[:1]))
    torch.testing.assert_close(full, x)
    assert penalty is not None and float(penalty.detach()) > 0
    torch.testing.assert_close(penalty, 0.5 * torch.stack(want).mean())
    penalty.backward()  # it trains the model
    assert model.w2.weight.grad is not None and float(model.w2.weight.grad.abs().sum()) > 0


def test_the_palette_weight_needs_a_family(tmp_path: Path) -> None:
    ckpt = tmp_path / "one.pt"
    args = ["train", "snowflake", "-o", str(ckpt), "--iterations", "1", "--hidden", "8", "--palette-weight", "0.1"]
    result = CliRunner().invoke(app, [*args, "--pool-size", "4", "--batch-size", "2", "--steps-min", "3"])
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "'snowflake' is one image, not a family" in result.stderr and not ckpt.exists()
    fam = tmp_path / "sq.pt"
    args = ["train", "reiter:2@12", "-o", str(fam), "--iterations", "2", "--hidden", "8", "--palette-weight", "0.2"]
    args += ["--pool-size", "4", "--batch-size", "2", "--steps-min", "12", "--steps-max", "12", "-q"]
    assert CliRunner().invoke(app, args).exit_code == 0
    saved = load_checkpoint(fam).train_state
    assert saved["config"]["palette_weight"] == 0.2 and len(saved["penalties"]) == 2
