"""The shipped models: bundled, picked by built-in name, the default, and within the quality bar (reduced scale)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from PIL import Image
from typer.testing import CliRunner

from ncarender.cli import app
from ncarender.errors import NCAError
from ncarender.evaluate.target import BAR, evaluate
from ncarender.runtime import BUILTIN_MODELS, DEFAULT_MODEL, default_model_path, open_model, resolve_model

MODELS = Path(__file__).resolve().parents[2] / "ncarender" / "models"
RECORDS = Path(__file__).resolve().parents[2] / "models" / "training"


def test_the_snowflake_family_is_the_default_and_honours_the_contract() -> None:
    path = default_model_path()
    assert DEFAULT_MODEL == "snowflakes" and path.read_bytes() == (MODELS / "snowflakes.onnx").read_bytes()
    session = open_model(None, provider="cpu")
    family = session.info.family
    assert session.info.has_metadata and session.info.grid == (40, 40)
    assert family is not None and family.flakes == 16 and family.seed_map.kind == "cycle"
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    emoji = open_model("snowflake", provider="cpu", quiet=True).info
    assert emoji.family is None and emoji.target_name == "snowflake" and emoji.target() is not None


@pytest.mark.parametrize("name", list(BUILTIN_MODELS))
def test_each_builtin_record_says_what_its_file_grows(name: str) -> None:
    record, info = BUILTIN_MODELS[name], open_model(name, provider="cpu", quiet=True).info
    assert info.grid == record.grid
    flakes = 1 if info.family is None else (0 if info.family.seed_map.kind == "reiter-params" else info.family.flakes)
    assert flakes == record.flakes


def test_shipped_model_meets_the_bar_at_step_200() -> None:
    # Reduced scale of `ncarender eval ncarender/models/snowflake.onnx` (16 seeds, steps to 1000):
    # 4 seeds, step 200 only, so a regression of the model or the runtime is caught in CI.
    report = evaluate("snowflake", seeds=range(4), steps=[200], regen=False, provider="cpu")
    assert report.non_finite is None
    assert report.mse[200] <= BAR["mse_200"], report.mse
    assert report.live_cells[200] > 500


def test_shipped_snowflake_meets_the_regrowth_bar_on_a_few_discs() -> None:
    # Reduced scale of the regrowth of `ncarender eval` (24 of Distill's random discs): the first 6, the
    # family's bar (median and 90th percentile), as the issue that made it asks of the emoji snowflake too.
    report = evaluate("snowflake", seeds=range(1), steps=[200], regen=False, provider="cpu", regrowth_samples=6)
    assert report.regrowth is not None and len(report.regrowth.samples) == 6
    assert report.regrowth.checks() == {"regrowth_median": True, "regrowth_p90": True}, report.regrowth.samples


# ---- built-in names -------------------------------------------------------------------------------------------


def test_builtin_names_resolve_to_the_shipped_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, model in BUILTIN_MODELS.items():
        assert resolve_model(name).read_bytes() == (MODELS / model.file).read_bytes()
    assert resolve_model(None) == resolve_model(DEFAULT_MODEL)
    # A file of that name in the current folder is the user's, and wins over the built-in name.
    monkeypatch.chdir(tmp_path)
    Path("snowflake").write_bytes(b"mine")
    assert resolve_model("snowflake") == Path("snowflake")
    with pytest.raises(
        NCAError, match=r"does not exist \(built-in models: snowflakes, snowflakes-per-seed, snowflake\)"
    ):
        resolve_model("snowflak")


def test_info_lists_the_builtin_models_and_describes_one_by_name() -> None:
    result = CliRunner().invoke(app, ["info", "--json"])
    assert result.exit_code == 0, result.stderr
    listing = json.loads(result.stdout)
    assert set(listing["builtin_models"]) == set(BUILTIN_MODELS)
    assert [n for n, m in listing["builtin_models"].items() if m["default"]] == [DEFAULT_MODEL]
    assert all(m["installed"] for m in listing["builtin_models"].values())
    result = CliRunner().invoke(app, ["info", "snowflake", "--json"])
    assert result.exit_code == 0, result.stderr
    described = json.loads(result.stdout)
    assert described["builtin"] == "snowflake" and described["target_name"] == "snowflake"
    result = CliRunner().invoke(app, ["gif", "--help"])
    assert "built-in name" in result.stdout and "snowflake" in result.stdout


def test_an_explicit_builtin_name_renders_the_same_bytes_as_its_file(tmp_path: Path) -> None:
    outputs = []
    for model in ("snowflake", str(MODELS / "snowflake.onnx")):
        out = tmp_path / f"{len(outputs)}.gif"
        result = CliRunner().invoke(app, ["gif", str(out), "--model", model, "--steps", "20", "-q"])
        assert result.exit_code == 0, result.stderr
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


# ---- shipped family models: the ship floor, re-checked at reduced scale ------------------------------------------

#: The built-in discrete families (seed N grows flake N mod K), each held to the ship floor.
FAMILIES = [name for name, m in BUILTIN_MODELS.items() if m.flakes > 1]
#: The built-in continuous families (every seed draws new parameters), held to their own floor.
CONTINUOUS = [name for name, m in BUILTIN_MODELS.items() if m.flakes == 0]


@pytest.mark.parametrize("name", FAMILIES)
def test_shipped_family_holds_the_ship_floor_on_a_reduced_check(name: str) -> None:
    # Reduced scale of `ncarender eval --check` (4 mask seeds per flake, two regrowth discs per flake): one mask
    # seed per flake, steps 200 and 1000 (identity at both, drift 350 -> 1000, alive), 8 discs.
    from ncarender.evaluate.family import FAMILY_FLOOR, evaluate_family

    session = open_model(name, provider="cpu", quiet=True)
    report = evaluate_family(session, mask_seeds=1, regrowth_samples=8)
    judged = set(FAMILY_FLOOR) if session.info.growth_steps else set(FAMILY_FLOOR) - {"growth_mean"}
    assert set(report.floor) == {*judged, "identity", "alive", "finite"}
    assert report.shippable, (report.floor_verdict, report.values)


@pytest.mark.parametrize("name", CONTINUOUS)
def test_shipped_continuous_family_holds_its_floor_on_a_reduced_check(name: str) -> None:
    from ncarender.evaluate.params import evaluate_params

    session = open_model(name, provider="cpu", quiet=True)
    report = evaluate_params(session, train_seeds=4, held_out=12, steps=(200,), regrowth_samples=0)
    judged = {"held_out_mse_200_median", "alive", "finite"} | ({"growth_mean"} if session.info.growth_steps else set())
    assert set(report.floor) == judged
    assert report.growth is not None and len(report.growth.per_flake) == 12  # every held-out seed followed
    assert report.shippable, (report.floor_verdict, report.values)


def test_the_default_gallery_draws_sixteen_different_snowflakes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["sheet", "--seeds", "0-15", "gallery.png", "--scale", "1", "--json", "-q"])
    assert result.exit_code == 0, result.stderr
    tiles = [np.asarray(Image.open(tmp_path / "gallery.png").convert("RGBA"), dtype=np.float64)]
    summary = json.loads(result.stdout)
    assert summary["flakes"] == list(range(16))
    grid = tiles[0]
    h, w = grid.shape[0] // 4, grid.shape[1] // 4
    cells = [grid[r * h : (r + 1) * h, c * w : (c + 1) * w] / 255.0 for r in range(4) for c in range(4)]
    pair = min(((a - b) ** 2).mean() for i, a in enumerate(cells) for b in cells[i + 1 :])
    assert pair > 1e-3  # sixteen different snowflakes (the emoji's seeds differ by 1e-4)


def test_default_outputs_are_named_after_the_default_builtin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["gif", "--steps", "5", "--seed", "3", "-q"])
    assert result.exit_code == 0, result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["snowflakes-seed3.gif"]
    result = CliRunner().invoke(app, ["gif", "--model", "snowflakez", "-q"])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "Error: model 'snowflakez' does not exist (built-in models: snowflakes, snowflakes-per-seed, snowflake)"
    ]


def test_the_shipped_families_are_their_training_records() -> None:
    # models/README.md names the training run behind each built-in family: the files are byte copies.
    assert (MODELS / "snowflakes.onnx").read_bytes() == (RECORDS / "reiter16w.onnx").read_bytes()
    assert (MODELS / "snowflakes-per-seed.onnx").read_bytes() == (RECORDS / "params1024.onnx").read_bytes()
