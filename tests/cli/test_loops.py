"""Loops for the web: renders default to the model's growth time plus a hold, ``--start`` trims the beginning,
``--loop pingpong`` plays forward then back; the command line, the API and ``batch`` alike."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_error, run
from PIL import Image, ImageSequence

from ncarender.api import Renderer
from ncarender.errors import NCAError
from ncarender.runtime.catalog import builtin_path
from ncarender.spec import DEFAULT_STEPS, RenderSpec, default_steps, frame_steps, growth_hold

#: The growth time written into the test model (the default family's 40x40 grid: quick).
T = 16


@pytest.fixture(scope="module")
def grown(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default built-in model with a growth time ``T`` in its metadata (as ``train --growth-steps`` writes)."""
    import onnx

    model = onnx.load(str(builtin_path("snowflakes")))
    entry = model.metadata_props.add()
    entry.key, entry.value = "ncarender.growth_steps", str(T)
    path = tmp_path_factory.mktemp("grown") / "grown.onnx"
    onnx.save(model, str(path))
    return path


def gif_frames(path: Path) -> list[np.ndarray]:
    """The decoded frames of a GIF, RGB uint8 ``(H, W, 3)`` each."""
    with Image.open(path) as im:
        return [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)]


def test_default_steps_are_the_growth_time_plus_a_quarter() -> None:
    assert [growth_hold(t) for t in (1, 4, 16, 64, 65)] == [1, 1, 4, 16, 17]
    assert default_steps(64) == 80 and default_steps(None) == DEFAULT_STEPS == 200


def test_a_model_with_a_growth_time_renders_it_plus_the_hold(grown: Path, tmp_path: Path) -> None:
    code, out, err = run("gif", tmp_path / "a.gif", "--model", grown, "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["steps"] == T + growth_hold(T) == 20 and summary["rendered_frames"] == 21
    assert Renderer(grown).default_steps == 20
    code, out, _ = run("info", grown, "--json")
    assert code == 0 and (json.loads(out)["growth_steps"], json.loads(out)["default_steps"]) == (T, 20)
    assert Renderer(builtin_path("snowflakes")).default_steps == DEFAULT_STEPS  # no growth time: as before
    code, out, _ = run("gif", tmp_path / "b.gif", "--model", grown, "--steps", "7", "--json")
    assert code == 0 and json.loads(out)["steps"] == 7  # --steps given: as given


def test_start_trims_the_frames_before_it(grown: Path, tmp_path: Path) -> None:
    assert frame_steps(12, 3, 5) == [5, 8, 11, 12] and RenderSpec(steps=12, every=3, start=5).n_frames == 4
    code, _, err = run("frames", tmp_path / "all", "--model", grown, "--steps", "12", "-b", "white", "--scale", "1")
    assert code == 0, err
    code, _, err = run("frames", tmp_path / "cut", "--model", grown, "--steps", "12", "-b", "white", "--scale", "1",
                       "--start", "5", "--every", "3")  # fmt: skip
    assert code == 0, err
    cut = sorted((tmp_path / "cut").glob("frame-*.png"))
    assert len(cut) == 4
    for png, step in zip(cut, (5, 8, 11, 12), strict=True):  # the same frames as the full render's
        assert np.array_equal(
            np.asarray(Image.open(png)), np.asarray(Image.open(tmp_path / "all" / f"frame-{step:05d}.png"))
        )


def test_pingpong_gif_plays_forward_then_back(grown: Path, tmp_path: Path) -> None:
    args = ["--model", grown, "--steps", "12", "--start", "2", "--every", "2", "--scale", "1", "--json"]
    code, out, err = run("gif", tmp_path / "p.gif", *args, "--loop", "pingpong")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["pingpong"] is True and summary["rendered_frames"] == 6 and "forward and back" in err
    frames = gif_frames(tmp_path / "p.gif")
    assert len(frames) == 2 * 6 - 2
    assert all(np.array_equal(frames[k], frames[10 - k]) for k in range(1, 5))  # back the way it came
    assert not np.array_equal(frames[0], frames[5])  # a dot at the start, the flake at the turn
    with Image.open(tmp_path / "p.gif") as im:
        durations = [f.info["duration"] for f in ImageSequence.Iterator(im)]
    assert durations[5] == 50 + 1000 and set(durations[:5] + durations[6:]) == {50}  # the hold at the turn
    again = tmp_path / "q.gif"
    assert run("gif", again, *args, "--loop", "pingpong")[0] == 0
    assert again.read_bytes() == (tmp_path / "p.gif").read_bytes()  # same options, same bytes


def test_the_api_renders_the_cli_bytes(grown: Path, tmp_path: Path) -> None:
    code, _, err = run("webp", tmp_path / "cli.webp", "--model", grown, "--start", "4", "--loop", "pingpong")
    assert code == 0, err
    result = Renderer(grown).render(tmp_path / "api.webp", start=4, loop="pingpong")  # the command's defaults
    assert result.steps == 20 and result.summary["pingpong"] is True
    assert (tmp_path / "api.webp").read_bytes() == (tmp_path / "cli.webp").read_bytes()


def test_batch_takes_the_same_options(grown: Path, tmp_path: Path) -> None:
    out = tmp_path / "b"
    code, stdout, err = run("batch", out, "--model", grown, "--seeds", "0-1", "--format", "gif,frames",
                            "--start", "10", "--loop", "pingpong", "--jobs", "1", "--json")  # fmt: skip
    assert code == 0, err
    records = {(r["seed"], r["format"]): r for r in map(json.loads, stdout.splitlines())}
    gif = records[(0, "gif")]["options"]
    assert gif["steps"] == 20 and gif["start"] == 10 and gif["pingpong"] is True
    assert "pingpong" not in records[(0, "frames")]["options"]  # a folder of frames keeps each frame once
    assert len(gif_frames(out / "seed-0000.gif")) <= 2 * 11 - 2
    assert len(list((out / "seed-0001-frames").glob("frame-*.png"))) == 11
    single = tmp_path / "one.gif"
    assert run("gif", single, "--model", grown, "--seed", "1", "--start", "10", "--loop", "pingpong")[0] == 0
    assert (out / "seed-0001.gif").read_bytes() == single.read_bytes()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--steps", "30", "--start", "31"], "--start 31 is past the last step (30)"),
        (["--start", "21"], "--start 21 is past the last step (20)"),  # the model's default: 20
        (["--start", "-1"], "--start must be a whole number from 0 to 10,000,000, got -1"),
        (["--loop", "zigzag"], "--loop must be forward or pingpong, got 'zigzag'"),
    ],
)
def test_bad_start_or_loop_is_one_error_line(grown: Path, tmp_path: Path, args: list[str], fragment: str) -> None:
    assert_error(*run("gif", tmp_path / "a.gif", "--model", grown, *args), fragment)
    assert_error(*run("batch", tmp_path / "b", "--model", grown, "--seeds", "0", *args), fragment)
    assert not (tmp_path / "a.gif").exists() and not list((tmp_path / "b").glob("seed-*"))


def test_a_gallery_refuses_start_and_the_api_refuses_bad_values(grown: Path, tmp_path: Path) -> None:
    assert_error(*run("sheet", tmp_path / "g.png", "--model", grown, "--seeds", "0-3", "--start", "3"), "--at STEP")
    renderer = Renderer(grown)
    for kw, fragment in [
        ({"start": math.nan}, "--start must be a whole number"),
        ({"start": 2.5}, "--start must be a whole number"),
        ({"start": 99}, r"past the last step \(20\)"),
        ({"loop": "back"}, "--loop must be forward or pingpong"),
        ({"loop": 1}, "loop must be .forward., .pingpong. or False"),
    ]:
        with pytest.raises(NCAError, match=fragment):
            renderer.render(tmp_path / "x.gif", **kw)  # type: ignore[arg-type]
    assert not list(tmp_path.glob("*.gif"))
