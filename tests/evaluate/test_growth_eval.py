"""eval's growth figure and growth strip: a family model's frames against the automaton's growth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from ncarender.cli import app
from ncarender.evaluate.growth import growth_figure
from ncarender.family.growth import GROWTH_FRACTIONS
from ncarender.runtime import open_model

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def growth_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny reiter:2@16 model taught growth over 16 steps (a few iterations: its figures are poor, but real)."""
    from ncarender.family.conditioning import family_targets
    from ncarender.train.export import export_checkpoint
    from ncarender.train.loop import TrainConfig, train
    from ncarender.train.model import NCAConfig

    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("growth-model")
    family = family_targets("reiter:2@16", 4)
    cfg = TrainConfig(iterations=3, batch_size=4, pool_size=8, steps_min=16, steps_max=20, growth_steps=16)
    out = folder / "g.pt"
    train(family.targets[0], out, config=cfg, model_config=NCAConfig(hidden=16, code_channels=4), family=family)
    return export_checkpoint(out, folder / "g.onnx", steps=8).path


def test_the_growth_figure_compares_the_declared_steps_with_the_automaton(growth_model: Path) -> None:
    session = open_model(growth_model, provider="cpu", quiet=True)
    figure = growth_figure(session, mask_seeds=2)
    assert figure.declared and figure.growth_steps == 16
    assert figure.steps() == [max(1, int(np.floor(f * 16 + 0.5))) for f in GROWTH_FRACTIONS]
    assert figure.snapshots.shape == figure.frames.shape == (2, len(GROWTH_FRACTIONS), 4, 16, 16)
    assert len(figure.per_flake) == 2 and all(0.0 < v < 1.0 for v in figure.per_flake)
    # the figure is the frames' own MSE where one mask seed per flake: recompute it from the kept frames
    one = growth_figure(session, mask_seeds=1)
    clipped = np.clip(one.frames.astype(np.float64), 0.0, 1.0)
    assert np.allclose(one.per_flake, ((clipped - one.snapshots) ** 2).mean(axis=(1, 2, 3, 4)))


def test_eval_reports_growth_and_draws_the_strip(growth_model: Path, tmp_path: Path) -> None:
    picture = tmp_path / "strip.png"
    args = ["eval", str(growth_model), "--steps", "200", "-k", "1", "--regrowth", "0", "--picture", str(picture)]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["growth"]["growth_steps"] == 16 and report["growth"]["declared"] is True
    assert "growth_mean" in report["floor_checks"] and "growth_worst" in report["checks"]
    with Image.open(picture) as im:
        assert im.format == "PNG" and im.width > 2 * len(GROWTH_FRACTIONS) * 32 and im.height > 2 * 2 * 16


def test_picture_is_refused_up_front_where_there_is_no_growth(tiny_onnx: Path, tmp_path: Path) -> None:
    for model, name in ((str(tiny_onnx), "x.png"), ("snowflakes", "x.gif")):
        result = CliRunner().invoke(app, ["eval", model, "--picture", str(tmp_path / name)])
        assert result.exit_code == 1
        assert result.stderr.count("\n") == 1 and "--picture" in result.stderr
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("declared", [False, True])
def test_the_growth_floor_is_owed_only_by_a_model_that_declares_its_growth_time(declared: bool) -> None:
    from ncarender.evaluate.family import FAMILY_FLOOR, FamilyReport
    from ncarender.evaluate.growth import GrowthFigure

    empty = np.zeros((0, 0, 4, 1, 1), np.float32)
    figure = GrowthFigure(64, declared, GROWTH_FRACTIONS, (1e-3,), (1e-3,) * len(GROWTH_FRACTIONS), empty, empty)
    floor = {name: True for name in FAMILY_FLOOR if name != "growth_mean"}
    report = FamilyReport(model="m", spec="reiter:1", grid=(40, 40), steps=[200], floor=floor, growth=figure)
    # measured but not judged: a model without a declared time is not held to it; one with it must be judged
    assert report.unmeasured == (["growth_mean"] if declared else [])
    assert report.shippable is (not declared)
