"""The shipped snowflake: bundled, the default model, and still within the quality bar (reduced scale)."""

from __future__ import annotations

from pathlib import Path

import onnx

from ncarender.evaluate import BAR, evaluate
from ncarender.runtime import default_model_path, open_model

MODELS = Path(__file__).resolve().parent.parent / "models"


def test_shipped_model_is_the_default_and_honours_the_contract() -> None:
    path = default_model_path()
    assert path.read_bytes() == (MODELS / "snowflake.onnx").read_bytes()
    session = open_model(None, provider="cpu")
    assert session.info.has_metadata and session.info.grid == (72, 72)
    assert session.info.target_name == "snowflake" and session.info.target() is not None
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)


def test_shipped_model_meets_the_bar_at_step_200() -> None:
    # Reduced scale of `ncarender eval models/snowflake.onnx` (16 seeds, steps to 1000):
    # 4 seeds, step 200 only, so a regression of the model or the runtime is caught in CI.
    report = evaluate(None, seeds=range(4), steps=[200], regen=False, provider="cpu")
    assert report.non_finite is None
    assert report.mse[200] <= BAR["mse_200"], report.mse
    assert report.live_cells[200] > 500
