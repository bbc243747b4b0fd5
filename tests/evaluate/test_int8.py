"""The opt-in int8 step: export --int8 writes a step whose update network is int8, which runs in onnxruntime, says
int8 in its metadata and carries its measured drift from float32; one that breaks the floor is refused, no file.

The tiny model (30 iterations) is no snowflake: its states grow without bound, so whether its int8 step holds
the real floor says nothing. The tests set the floor (the dict both the command and the API read) to let every
drift pass, or none."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from conftest import assert_error, run

from ncarender.errors import NCAError
from ncarender.evaluate.drift import DRIFT_FLOOR, DRIFT_STEPS, evaluate_drift, write_int8
from ncarender.runtime import open_model


@pytest.fixture(scope="module")
def tiny_int8(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict]]:
    """``export --int8 --json`` of the tiny checkpoint with a floor every drift holds: the file and the summary."""
    out = tmp_path_factory.mktemp("int8") / "tiny.int8.onnx"
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(DRIFT_FLOOR, "frame_mse_worst", float("inf"))
        code, stdout, stderr = run("export", tiny_checkpoint, "-o", out, "--int8", "--json", "--parity-steps", "32")
    assert code == 0, stderr
    yield out, json.loads(stdout)


def test_int8_step_runs_in_onnxruntime_and_says_int8(tiny_int8: tuple[Path, dict]) -> None:
    path, summary = tiny_int8
    proto = onnx.load(str(path))
    ops = Counter(n.op_type for n in proto.graph.node)
    assert ops["QuantizeLinear"] >= 2 and ops["DequantizeLinear"] >= 2  # the update network is int8 (QDQ)
    props = {p.key: p.value for p in proto.metadata_props}
    assert props["ncarender.precision"] == "int8"
    assert open_model(path, provider="cpu", quiet=True).info.precision == "int8"
    drift = json.loads(props["ncarender.drift"])
    assert drift["steps"] == max(DRIFT_STEPS) == 1000 and drift["seeds"] == list(range(8))
    assert 0.0 <= drift["frame_mse_worst"] <= 1.0  # frames' RGBA in [0, 1]
    assert summary["precision"] == "int8" and summary["path"] == str(path)
    assert set(summary["drift"]["mse_worst"]) == {"100", "200", "500", "1000"}
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    state = np.zeros((2, 16, 16, 16), np.float32)
    state[:, 3:, 8, 8] = 1.0
    (nxt,) = sess.run(None, {"state": state, "mask": np.ones((2, 1, 16, 16), np.float32)})
    assert nxt.shape == state.shape and np.isfinite(nxt).all()


def test_eval_against_measures_the_drift(tiny_int8: tuple[Path, dict], tiny_onnx: Path) -> None:
    path, _ = tiny_int8
    code, out, err = run("eval", path, "--against", tiny_onnx, "--json", "--steps", "100,1000", "-k", "4")
    assert code == 0, err
    report = json.loads(out)
    assert set(report["mse_worst"]) == {"100", "1000"} and report["seeds"] == [0, 1, 2, 3]
    assert "drift against float32" in err


def test_a_drift_past_the_floor_is_refused_and_nothing_is_written(
    tiny_checkpoint: Path, tiny_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(NCAError, match=r"past the ship floor.*no file written"):
        write_int8(tiny_onnx, tmp_path / "refused.onnx", seeds=range(2), floor=-1.0)  # no drift holds it
    monkeypatch.setitem(DRIFT_FLOOR, "frame_mse_worst", -1.0)
    code, out, err = run("export", tiny_checkpoint, "-o", tmp_path / "cli.onnx", "--int8", "--parity-steps", "8")
    assert code == 1 and err.strip().splitlines()[-1].startswith("Error: the int8 step drifts"), err
    assert "Traceback" not in err + out
    assert list(tmp_path.iterdir()) == []


def test_same_model_has_no_drift(tiny_onnx: Path) -> None:
    a = open_model(tiny_onnx, provider="cpu", quiet=True)
    b = open_model(tiny_onnx, provider="cpu", quiet=True)
    report = evaluate_drift(a, b, seeds=range(2), steps=(50, 100))
    assert set(report.mse_worst) == {50, 100} and max(report.mse_worst.values()) < 1e-12 and report.shippable


def test_int8_option_errors(tiny_checkpoint: Path, tiny_onnx: Path, tmp_path: Path) -> None:
    assert_error(*run("export", tiny_checkpoint, "--int8", "--half"), "--half and --int8")
    assert_error(*run("export", tiny_checkpoint, "--int8", "-o", tmp_path / "x.bin"), "should end in .onnx")
    assert_error(*run("eval", tiny_onnx, "--against", tmp_path / "missing.onnx"), "missing.onnx")
    for extra in (["--regrowth", "4"], ["--no-regen"], ["--target", "snowflake"]):
        assert_error(*run("eval", tiny_onnx, "--against", tiny_onnx, *extra), f"{extra[0]} does not apply")
    assert list(tmp_path.iterdir()) == []
