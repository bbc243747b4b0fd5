"""Several seeds growing side by side in one animation (``gif --seeds``, ``mp4 --seeds``, ``Renderer.write``)."""

from __future__ import annotations

import json
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from typer.testing import CliRunner

from ncarender.api import Renderer
from ncarender.cli import app
from ncarender.spec import RenderSpec
from ncarender.writers.formats import output_spec

runner = CliRunner()


def _frames(folder: Path) -> np.ndarray:
    return np.stack([iio.imread(p) for p in sorted(folder.glob("frame-*.png"))])


def test_each_tile_is_that_seeds_own_render(tiny_onnx: Path, tmp_path: Path) -> None:
    renderer = Renderer(tiny_onnx, provider="cpu", quiet=True)
    frames = output_spec("frames", scale=1, background="transparent")
    spec = RenderSpec(seeds=(0, 1, 2), steps=12, outputs=(frames,))
    result = renderer.write(tmp_path / "tiled", spec, columns=2)
    tiled = _frames(tmp_path / "tiled")
    h, w = renderer.grid
    assert tiled.shape == (13, 2 * h, 2 * w, 4) and result.to_json()["seeds"] == [0, 1, 2]
    for i, seed in enumerate((0, 1, 2)):
        renderer.write(tmp_path / f"seed{seed}", spec.with_seeds([seed]))
        own = _frames(tmp_path / f"seed{seed}")
        y, x = (i // 2) * h, (i % 2) * w
        np.testing.assert_array_equal(tiled[:, y : y + h, x : x + w], own)
    assert not tiled[:, h:, w:].any()  # the fourth cell is blank (transparent)
    # the seeds differ, so the tiles do (a tiling that repeated one seed would pass the loop above only by chance)
    assert not np.array_equal(tiled[-1, :h, :w], tiled[-1, :h, w:])


def test_gif_seeds_writes_one_animation_of_a_grid(tiny_onnx: Path, tmp_path: Path) -> None:
    out = tmp_path / "grid.gif"
    args = ["gif", str(out), "--model", str(tiny_onnx), "--steps", "10", "--scale", "2", "--seeds", "0-5"]
    result = runner.invoke(app, [*args, "--columns", "3", "--json"])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    frames = iio.imread(out, index=None)
    assert frames.shape[:3] == (11, 2 * 16 * 2, 3 * 16 * 2)
    assert summary["seeds"] == [0, 1, 2, 3, 4, 5] and "seed" not in summary


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--seeds", "0-3", "--seed", "2"], "not both"),
        (["--columns", "2"], "--columns goes with --seeds"),
        (["--seeds", "0-64"], "at most 64"),
        (["--seeds", "0-3", "--columns", "0"], "--columns must be a whole number from 1"),
        (["--seeds", "3-1"], "seed"),
    ],
)
def test_bad_tiled_seeds_are_refused(tiny_onnx: Path, tmp_path: Path, extra: list[str], fragment: str) -> None:
    out = tmp_path / "x.gif"
    result = runner.invoke(app, ["gif", str(out), "--model", str(tiny_onnx), "--steps", "5", *extra])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and fragment in lines[0], result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_family_models_tiles_say_which_flake_each_seed_grew(tiny_family_onnx: Path, tmp_path: Path) -> None:
    out = tmp_path / "family.gif"
    args = ["gif", str(out), "--model", str(tiny_family_onnx), "--steps", "4", "--seeds", "0-2", "--json", "-q"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["seeds"] == [0, 1, 2] and summary["flakes"] == [0, 1, 0] and "flake" not in summary
