"""``ncarender eval``: a good, a dying and an exploding model are told apart; --check sets the exit code."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import affine_model as _model
from conftest import tiny_target
from typer.testing import CliRunner

from ncarender.cli import app
from ncarender.evaluate.target import evaluate

runner = CliRunner()


def test_dying_model_is_reported_dead(tmp_path: Path) -> None:
    report = evaluate(_model(tmp_path / "d.onnx", 0.0, 0.0), target=tiny_target(), seeds=[0, 1], steps=[10, 20])
    assert report.live_cells[20] == 0
    assert report.verdict.startswith("dies")
    assert report.mse[20] == pytest.approx(float((tiny_target() ** 2).mean()))
    assert not report.passed


@pytest.mark.filterwarnings("error::RuntimeWarning")  # an exploded state is reported, not warned about
def test_exploding_model_is_reported_non_finite(tmp_path: Path) -> None:
    report = evaluate(_model(tmp_path / "e.onnx", 10.0, 1.0), target=tiny_target(), seeds=[0], steps=[100, 200])
    assert report.non_finite is not None and report.non_finite <= 100
    assert report.verdict.startswith("explodes")
    assert report.mse[200] == float("inf") and report.checks["finite"] is False


def test_trained_tiny_model_is_measured(tiny_onnx: Path) -> None:
    report = evaluate(tiny_onnx, seeds=range(3), steps=[20, 40], regen=True)
    assert set(report.mse) == {20, 40}
    # Trained on 16-24 steps: at step 20 it is closer to the target than an empty grid.
    assert 0 < report.mse[20] < float((tiny_target() ** 2).mean())
    assert report.mse_worst[40] >= report.mse[40]
    assert report.regen_mse is not None and np.isfinite(report.regen_mse)


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize(("scale", "offset", "verdict"), [(0.0, 0.0, "dies"), (10.0, 1.0, "explodes")])
def test_check_exit_code(tmp_path: Path, scale: float, offset: float, verdict: str) -> None:
    model = _model(tmp_path / "m.onnx", scale, offset)
    from PIL import Image

    Image.new("RGBA", (8, 8), (255, 0, 0, 255)).save(tmp_path / "t.png")
    args = ["eval", str(model), "--target", str(tmp_path / "t.png"), "--target-size", "40", "-k", "2"]
    result = runner.invoke(app, [*args, "--steps", "100,200", "--check", "--json"])
    assert result.exit_code == 2, result.stderr
    data = json.loads(result.stdout)
    assert data["verdict"].startswith(verdict) and data["passed"] is False
    assert "FAIL" in result.stderr
    without_check = runner.invoke(app, [*args, "--steps", "100"])
    assert without_check.exit_code == 0


def test_eval_needs_a_target_for_foreign_models(tmp_path: Path) -> None:
    result = runner.invoke(app, ["eval", str(_model(tmp_path / "m.onnx", 1.0, 0.0))])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"Error: {tmp_path / 'm.onnx'} stores no target image; pass --target IMAGE"
