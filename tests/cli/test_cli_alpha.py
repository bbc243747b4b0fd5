"""``webp``, ``apng`` and ``--resample`` through every path a format takes: its command, ``--seeds``, ``batch``
(names, manifest, resume, the single command's bytes), the Python API, the live page, and refused input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from browser import chromium
from PIL import Image
from typer.testing import CliRunner

from ncarender import Renderer, render_batch
from ncarender.batch.manifest import MANIFEST_NAME, read_manifest
from ncarender.cli import app
from ncarender.writers.formats import output_spec

runner = CliRunner()
SMALL = ["--size", "16", "--steps", "10"]
SHIPPED = Path(__file__).resolve().parents[2] / "ncarender" / "models" / "snowflake.onnx"


def run(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def frames_of(path: Path) -> list[np.ndarray]:
    with Image.open(path) as im:
        out = []
        for i in range(getattr(im, "n_frames", 1)):
            im.seek(i)
            out.append(np.asarray(im.convert("RGBA")))
    return out


def pngs(folder: Path) -> list[np.ndarray]:
    out = []
    for path in sorted(folder.glob("frame-*.png")):
        with Image.open(path) as im:
            out.append(np.asarray(im.convert("RGBA")))
    return out


def visible(frame: np.ndarray) -> np.ndarray:
    """The frame as it shows: fully transparent pixels all ``(0, 0, 0, 0)`` (WebP drops their colour)."""
    out = frame.copy()
    out[out[..., 3] == 0] = 0
    return out


@pytest.mark.parametrize("fmt", ["webp", "apng"])
def test_first_and_last_frames_are_the_png_frames_of_the_same_render(tiny_onnx: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"a.{fmt}"
    code, stdout, err = run(fmt, out, "--model", tiny_onnx, *SMALL, "--seed", "3", "--json")
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["format"] == fmt and summary["transparent"] is True and summary["loop"] is True
    assert summary["rendered_frames"] == 11 and summary["duration_ms"] == 11 * 50 + 1000  # 20 fps, 1 s hold
    assert f"wrote {out}" in err
    code, _, err = run("frames", tmp_path / "f", "--model", tiny_onnx, *SMALL, "--seed", "3")
    assert code == 0, err
    decoded, png = frames_of(out), pngs(tmp_path / "f")
    assert len(decoded) == summary["frames"] and decoded[0].shape == png[0].shape == (64, 64, 4)
    for got, want in ((decoded[0], png[0]), (decoded[-1], png[-1])):
        if fmt == "apng":
            np.testing.assert_array_equal(got, want)
        else:
            np.testing.assert_array_equal(visible(got), visible(want))
    soft = (png[-1][..., 3] > 0) & (png[-1][..., 3] < 255)
    assert soft.any() and np.array_equal(decoded[-1][..., 3][soft], png[-1][..., 3][soft])  # 8-bit alpha


def test_options_reach_the_file(tiny_onnx: Path, tmp_path: Path) -> None:
    out = tmp_path / "q.webp"
    args = ["--fps", "30", "--hold", "0", "--no-loop", "--quality", "70", "--scale", "2", "-b", "black", "--json"]
    code, stdout, err = run("webp", out, "--model", tiny_onnx, *SMALL, *args)
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["lossless"] is False and summary["quality"] == 70 and summary["transparent"] is False
    with Image.open(out) as im:
        assert im.size == (32, 32) and im.info["loop"] == 1
    code, stdout, err = run("apng", tmp_path / "a.apng", "--model", tiny_onnx, *SMALL, "--fps", "30", "--json")
    assert code == 0, err
    assert json.loads(stdout)["frame_delay"] == [1, 30]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["webp", "{tmp}/x.webp", "--quality", "101"], "quality must be a whole number from 0 to 100"),
        (["webp", "{tmp}/x.webp", "--quality", "-1"], "quality must be a whole number from 0 to 100"),
        (["gif", "{tmp}/x.gif", "--resample", "cubic"], "resample must be nearest or smooth, got 'cubic'"),
        (["apng", "{tmp}/x.apng", "--resample", "Smooth"], "resample must be nearest or smooth"),
        (["webp", "{tmp}/x.webp", "--scale", "1024"], "WebP stores at most 16,383 pixels a side"),
        (["webp", "{tmp}/x.webp", "--scale", "1024", "--resample", "smooth"], "(16x16 cells at scale 1024)"),
        (["webp", "{tmp}/x.png"], "needs a .webp file name"),
        (["apng", "{tmp}/x.png"], "needs a .apng file name"),
        (["sheet", "{tmp}/g.png", "--seeds", "0-3", "--resample", "bicubic"], "resample must be"),
        (["html", "{tmp}/p.html", "--resample", "bicubic"], "resample must be"),
        (["batch", "{tmp}/b", "--seeds", "0-1", "--format", "webp", "--quality", "500"], "quality must be"),
        (["batch", "{tmp}/b", "--seeds", "0-1", "--format", "gif", "--resample", "x"], "resample must be"),
        (["batch", "{tmp}/b", "--seeds", "0-1", "--format", "webp,apng", "--scale", "2000"], "WebP stores at most"),
    ],
)
def test_bad_input_is_one_line_before_the_rollout(
    tiny_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], fragment: str
) -> None:
    from ncarender import api

    def no_rollout(*args: object, **kwargs: object) -> None:
        raise AssertionError("the rollout started")

    monkeypatch.setattr(api, "roll_out", no_rollout)
    code, stdout, err = run(*[a.format(tmp=tmp_path) for a in args], "--model", tiny_onnx, "--size", "16")
    assert code == 1, (code, stdout, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and fragment in lines[0], err
    assert [p.name for p in tmp_path.iterdir() if p.name != "b"] == []
    assert not any((tmp_path / "b").glob("seed-*"))


@pytest.mark.parametrize("fmt", ["webp", "apng"])
def test_seeds_side_by_side(tiny_onnx: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"s.{fmt}"
    code, stdout, err = run(fmt, out, "--model", tiny_onnx, *SMALL, "--seeds", "0-2", "--scale", "1", "--json")
    assert code == 0, err
    assert json.loads(stdout)["seeds"] == [0, 1, 2]
    code, _, err = run(fmt, tmp_path / f"one.{fmt}", "--model", tiny_onnx, *SMALL, "--seed", "1", "--scale", "1")
    assert code == 0, err
    tiled, own = frames_of(out)[-1], frames_of(tmp_path / f"one.{fmt}")[-1]
    assert tiled.shape == (32, 32, 4)
    np.testing.assert_array_equal(visible(tiled[:16, 16:]), visible(own))  # seed 1: second tile of the first row


def test_smooth_seeds_side_by_side_scale_each_tile_on_its_own(tiny_onnx: Path, tmp_path: Path) -> None:
    smooth = [*SMALL, "--resample", "smooth", "--scale", "2", "--model", str(tiny_onnx)]
    assert run("apng", tmp_path / "s.apng", "--seeds", "0-2", *smooth)[0] == 0
    assert run("apng", tmp_path / "one.apng", "--seed", "2", *smooth)[0] == 0
    tiled, own = frames_of(tmp_path / "s.apng")[-1], frames_of(tmp_path / "one.apng")[-1]
    assert tiled.shape == (64, 64, 4)
    np.testing.assert_array_equal(tiled[32:, :32], own)  # seed 2: first tile of the second row, exactly
    assert not tiled[32:, 32:].any()  # the blank fourth tile stays transparent


def test_batch_names_manifest_resume_and_the_single_commands_bytes(tiny_onnx: Path, tmp_path: Path) -> None:
    out = tmp_path / "b"
    base = ["batch", out, "--model", tiny_onnx, *SMALL, "--jobs", "1", "--seeds", "0-1"]
    code, stdout, err = run(*base, "--format", "webp,apng", "--json")
    assert code == 0, err
    records = read_manifest(out / MANIFEST_NAME)
    assert sorted(r["path"] for r in records) == [
        "seed-0000.apng",
        "seed-0000.webp",
        "seed-0001.apng",
        "seed-0001.webp",
    ]
    for record in records:
        options = record["options"]
        assert isinstance(options, dict)
        assert options["background"] == "transparent" and options["hold"] == 1.0 and options["loop"] is True
        assert "quality" not in options and "resample" not in options  # at their defaults: left out
    for fmt in ("webp", "apng"):
        single = tmp_path / f"single.{fmt}"
        assert run(fmt, single, "--model", tiny_onnx, *SMALL, "--seed", "1")[0] == 0
        assert single.read_bytes() == (out / f"seed-0001.{fmt}").read_bytes(), fmt
    code, stdout, err = run(*base, "--format", "webp,apng", "--resume", "--json")
    assert code == 0 and stdout == "" and "4 already done" in err, err
    # other options: a new record, the single command's bytes again
    code, stdout, err = run(*base, "--format", "webp", "--quality", "60", "--resample", "smooth", "--resume", "--json")
    assert code == 0, err
    lines = [json.loads(line) for line in stdout.splitlines()]
    assert len(lines) == 2 and all(r["options"]["quality"] == 60 for r in lines)
    assert all(r["options"]["resample"] == "smooth" for r in lines)
    single = tmp_path / "smooth.webp"
    assert (
        run("webp", single, "--model", tiny_onnx, *SMALL, "--seed", "0", "--quality", "60", "--resample", "smooth")[0]
        == 0
    )
    assert single.read_bytes() == (out / "seed-0000.webp").read_bytes()


def test_python_api(tiny_onnx: Path, tmp_path: Path) -> None:
    renderer = Renderer(tiny_onnx, provider="cpu", quiet=True)
    result = renderer.render(tmp_path / "a.apng", steps=10, size=(16, 16), background="transparent")
    assert result.format == "apng" and result.summary["transparent"] is True
    batch = render_batch(
        renderer,
        tmp_path / "b",
        [2],
        outputs=[output_spec("webp", quality=80), output_spec("apng", resample="smooth", scale=2)],
        steps=10,
        size=(16, 16),
        executor="thread",
    )
    assert sorted(r["path"] for r in batch.written) == ["seed-0002.apng", "seed-0002.webp"]
    code, _, err = run(
        "apng", tmp_path / "c.apng", "--model", tiny_onnx, *SMALL, "--seed", "2", "--resample", "smooth", "--scale", "2"
    )
    assert code == 0, err
    assert (tmp_path / "c.apng").read_bytes() == (tmp_path / "b" / "seed-0002.apng").read_bytes()


def test_smooth_gif_and_gallery(tiny_onnx: Path, tmp_path: Path) -> None:
    for resample in ("nearest", "smooth"):
        code, _, err = run("gif", tmp_path / f"{resample}.gif", "--model", tiny_onnx, *SMALL, "--resample", resample)
        assert code == 0, err
    assert (tmp_path / "nearest.gif").read_bytes() != (tmp_path / "smooth.gif").read_bytes()
    last = [frames_of(tmp_path / f"{r}.gif")[-1] for r in ("nearest", "smooth")]
    assert len(np.unique(last[1].reshape(-1, 4), axis=0)) > len(np.unique(last[0].reshape(-1, 4), axis=0))
    gallery = ["sheet", "--model", tiny_onnx, *SMALL, "--seeds", "0-1", "-b", "transparent"]
    assert run(*gallery[:1], tmp_path / "n.png", *gallery[1:])[0] == 0
    assert run(*gallery[:1], tmp_path / "s.png", *gallery[1:], "--resample", "smooth")[0] == 0
    with Image.open(tmp_path / "n.png") as n, Image.open(tmp_path / "s.png") as s:
        assert n.size == s.size
        alphas = [np.unique(np.asarray(im)[..., 3]) for im in (n, s)]
    assert len(alphas[1]) > len(alphas[0])  # in-between alphas at the edges


@pytest.mark.browser
def test_the_page_smooths_in_the_browser(tmp_path: Path) -> None:
    pages = {}
    for resample in ("nearest", "smooth"):
        path = tmp_path / f"{resample}.html"
        code, _, err = run("html", path, "--model", SHIPPED, "--resample", resample, "--size", "24")
        assert code == 0, err
        pages[resample] = path
    assert "smooth.js" in pages["smooth"].read_text() and "smooth.js" not in pages["nearest"].read_text()
    with chromium() as context:
        page = context.new_page()
        for resample, want in (("nearest", "pixelated"), ("smooth", "auto")):
            page.goto(pages[resample].as_uri())
            assert page.evaluate("getComputedStyle(document.getElementById('grid')).imageRendering") == want
        page.close()
