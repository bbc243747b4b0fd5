"""A hex model through every writer: its picture from the one mapping (ncarender.lattice.hex_view), damage discs in it,
the same bytes from a batch as from a single render, and bad input as one ``Error:`` line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_error, run
from hexmodel import write_hex_model
from PIL import Image

from ncarender.api import Renderer
from ncarender.lattice import hex_orbits
from ncarender.lattice.hex_view import keep_mask, render_view
from ncarender.runtime import MaskStream, open_model, roll_out
from ncarender.spec import Damage, RenderSpec


@pytest.fixture(scope="module")
def hex_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_hex_model(tmp_path_factory.mktemp("hexr") / "hex.onnx", seed=0, grid=(21, 21))


def _states(model: Path, spec: RenderSpec) -> list[np.ndarray]:
    return [s for _, s in roll_out(open_model(model, provider="cpu", quiet=True), spec)]


def test_frames_are_the_mapped_states(hex_model: Path, tmp_path: Path) -> None:
    code, _, err = run("frames", str(tmp_path / "f"), "--model", str(hex_model), "--steps", "30", "--scale", "3")
    assert code == 0, err
    states = _states(hex_model, RenderSpec(seeds=(0,), steps=30))
    view = render_view((21, 21), 3)
    for step in (0, 17, 30):
        png = np.asarray(Image.open(tmp_path / "f" / f"frame-{step:05d}.png").convert("RGBA"))
        assert png.shape == (63, 63, 4)  # H * scale x W * scale, scaled once
        np.testing.assert_array_equal(png, view.rgba(states[step], None)[0])
    assert np.asarray(Image.open(tmp_path / "f" / "frame-00030.png"))[..., 3].any()


@pytest.mark.parametrize(
    ("command", "suffix", "size"), [("gif", ".gif", 84), ("mp4", ".mp4", 84), ("sheet", ".png", 42)]
)
def test_every_format_takes_the_picture(hex_model: Path, tmp_path: Path, command: str, suffix: str, size: int) -> None:
    out = tmp_path / f"out{suffix}"
    code, stdout, err = run(command, str(out), "--model", str(hex_model), "--steps", "12", "--json")
    assert code == 0, err
    summary = json.loads(stdout)
    cell = (summary.get("cell_width"), summary.get("cell_height")) if command == "sheet" else None
    assert (cell or (summary["width"], summary["height"])) == (size, size)
    if command == "sheet":
        atlas = json.loads(out.with_suffix(".json").read_text())
        frame = next(iter(atlas["frames"].values()))["frame"]
        assert (frame["w"], frame["h"]) == (size, size)


def test_gallery_and_batch_give_single_render_bytes(hex_model: Path, tmp_path: Path) -> None:
    code, stdout, err = run("sheet", str(tmp_path / "g.png"), "--model", str(hex_model), "--seeds", "0-3", "--json")
    assert code == 0, err
    assert json.loads(stdout)["cell_width"] == 42  # scale 2 of a 21x21 array
    args = ["--model", str(hex_model), "--steps", "15", "--seeds", "0-2", "--format", "gif,sheet"]
    code, _, err = run("batch", str(tmp_path / "b"), *args, "--scale", "3")
    assert code == 0, err
    code, _, err = run("gif", str(tmp_path / "one.gif"), "--model", str(hex_model), "--steps", "15", "--seed", "1")
    assert code == 0, err
    gif = (tmp_path / "b" / "seed-0001.gif").read_bytes()
    assert Image.open(tmp_path / "b" / "seed-0001.gif").size == (63, 63)
    code, _, err = run(
        "gif", str(tmp_path / "one3.gif"), "--model", str(hex_model), "--steps", "15", "--seed", "1", "--scale", "3"
    )
    assert code == 0, err
    assert (tmp_path / "one3.gif").read_bytes() == gif


def test_damage_is_a_disc_of_the_picture(hex_model: Path) -> None:
    """A plain loop: orbit masks, a gather after each step, the disc of the picture erased after step 20, and no
    gather after it; the rollout gives the same states bit for bit."""
    disc = Damage(20, 0.3, -0.2, 0.4)
    session = open_model(hex_model, provider="cpu", quiet=True)
    got = _states(hex_model, RenderSpec(seeds=(0,), steps=24, damage=(disc,)))
    rep = hex_orbits(21, 21)
    masks = MaskStream([0], 21, 21, 0.5, orbits=rep)
    keep = keep_mask(0.3, -0.2, 0.4, 21, 21)
    assert 10 < (keep == 0).sum() < 100
    x = got[0]
    for t in range(1, 25):
        if t == 21:
            x = x * keep
        x = session.step(x, masks.next()[0])
        if t <= 20:
            x = x.reshape(1, -1, 21 * 21)[..., rep].reshape(x.shape)
        np.testing.assert_array_equal(x, got[t])
    assert (got[20][:, 3] * (1 - keep)).any() and not (got[24][:, 3] * (1 - keep)).all()
    renderer = Renderer(hex_model, provider="cpu", quiet=True)
    frames = renderer.rollout([0], steps=21, damage=[disc], background="transparent")
    assert frames.shape == (22, 1, 21, 21, 4)  # the API's frames: the picture at scale 1


def test_unknown_lattice_or_mask_kind_is_one_error_line(tmp_path: Path) -> None:
    bad = write_hex_model(tmp_path / "tri.onnx", lattice="triangle")
    assert_error(*run("gif", str(tmp_path / "x.gif"), "--model", str(bad)), "unknown lattice 'triangle'")
    bad = write_hex_model(tmp_path / "mask.onnx", mask="stripes")
    assert_error(*run("info", str(bad)), "unknown mask kind 'stripes'")
    square = write_hex_model(tmp_path / "sq.onnx", lattice="square", mask="orbit")
    assert_error(*run("eval", str(square)), "needs the hex lattice")
    assert not (tmp_path / "x.gif").exists()


def test_info_names_the_lattice(hex_model: Path) -> None:
    code, out, err = run("info", str(hex_model), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert (data["lattice"], data["mask"]) == ("hex", "orbit")


def test_size_is_the_axial_array(hex_model: Path, tmp_path: Path) -> None:
    code, stdout, err = run("gif", str(tmp_path / "s.gif"), "--model", str(hex_model), "--size", "15x17", "--json")
    assert code == 0, err
    summary = json.loads(stdout)
    assert (summary["width"], summary["height"]) == (17 * 4, 15 * 4)
    assert_error(*run("gif", str(tmp_path / "t.gif"), "--model", str(hex_model), "--size", "2"), "at least 3x3")


@pytest.mark.parametrize("resample", ["nearest", "smooth"])
def test_a_still_is_the_last_frame_of_the_picture(hex_model: Path, tmp_path: Path, resample: str) -> None:
    argv = ["--model", str(hex_model), "--steps", "12", "--scale", "3", "--resample", resample]
    code, _, err = run("png", str(tmp_path / "s.png"), *argv)
    assert code == 0, err
    code, _, err = run("frames", str(tmp_path / "f"), *argv)
    assert code == 0, err
    still = np.asarray(Image.open(tmp_path / "s.png"))
    assert still.shape == (63, 63, 4)
    np.testing.assert_array_equal(still, np.asarray(Image.open(tmp_path / "f" / "frame-00012.png")))
    image = Renderer(hex_model, provider="cpu", quiet=True).still(12, scale=3, resample=resample)
    np.testing.assert_array_equal(np.asarray(image), still)
