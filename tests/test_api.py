"""The Python API equals the command line: the same options give the same bytes, the same refusals the same line.

Every render here uses the built-in default model on a small grid and few steps.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_error, run
from PIL import Image

from ncarender import NCAError, Renderer, WriterOptions
from ncarender.damage import Damage

#: A small render: few steps on a small grid of the default model.
SMALL = ("--steps", "12", "--size", "24", "--seed", "3")
SMALL_KW: dict[str, object] = dict(steps=12, size=24, seed=3)
NAMES = {"gif": "a.gif", "mp4": "a.mp4", "sheet": "a.png", "frames": "a", "webp": "a.webp", "apng": "a.apng"}


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(provider="cpu", quiet=True)


def files(path: Path) -> dict[str, bytes]:
    """The bytes of a file, its companions (a sheet's atlas), or every file of a folder, by name."""
    if path.is_dir():
        return {p.name: p.read_bytes() for p in sorted(path.iterdir())}
    return {p.name: p.read_bytes() for p in sorted(path.parent.glob(f"{path.stem}.*"))}


def cli_and_api(renderer: Renderer, tmp_path: Path, fmt: str, name: str, argv: list[str], **kw: object) -> None:
    """``ncarender FMT`` with ``argv`` and ``Renderer.render`` with ``kw`` write the same bytes."""
    (tmp_path / "cli").mkdir()
    (tmp_path / "api").mkdir()
    code, _, err = run(fmt, tmp_path / "cli" / name, *argv, "--provider", "cpu")
    assert code == 0, err
    result = renderer.render(tmp_path / "api" / name, fmt=fmt, **kw)  # type: ignore[arg-type]
    assert result.format == fmt
    cli, api = files(tmp_path / "cli" / name), files(tmp_path / "api" / name)
    assert cli and cli == api


@pytest.mark.parametrize("fmt", ["gif", "mp4", "sheet", "frames", "webp", "apng", "png"])
def test_each_format_with_its_defaults_gives_the_commands_bytes(renderer: Renderer, tmp_path: Path, fmt: str) -> None:
    name = NAMES.get(fmt, "a.png")
    cli_and_api(renderer, tmp_path, fmt, name, [*SMALL], **SMALL_KW)


def test_the_gif_holds_its_last_frame_a_second_as_the_command_does(renderer: Renderer, tmp_path: Path) -> None:
    renderer.render(tmp_path / "a.gif", **SMALL_KW)  # type: ignore[arg-type]
    with Image.open(tmp_path / "a.gif") as gif:
        gif.seek(gif.n_frames - 1)
        assert gif.info["duration"] == 50 + 1000  # 20 fps, plus the 1 s hold


@pytest.mark.parametrize(
    ("fmt", "argv", "kw"),
    [
        (
            "gif",
            ["--seeds", "0-2", "--columns", "2", "--damage", "6:0,0,0.3", "-b", "navy", "--hold", "0.5"],
            dict(seeds=[0, 1, 2], columns=2, damage="6:0,0,0.3", background="navy", hold=0.5),
        ),
        (
            "webp",
            ["--seeds", "1,4", "--resample", "smooth", "--scale", "3", "--quality", "70", "--no-loop", "--fps", "12"],
            dict(seeds="1,4", resample="smooth", scale=3, quality=70, loop=False, fps=12),
        ),
        (
            "sheet",
            ["--frames", "5", "--columns", "3", "--every", "2", "-b", "#203040", "--flake", "2"],
            dict(sheet_frames=5, columns=3, every=2, background=(0x20, 0x30, 0x40), flake=2),
        ),
        (
            "mp4",
            ["--damage", "4:0.2,0,0.3", "--damage", "8:-0.3,0.1,0.2", "--crf", "28", "--hold", "0"],
            dict(damage=["4:0.2,0,0.3", Damage(8, -0.3, 0.1, 0.2)], crf=28, hold=0),
        ),
        (
            "png",
            ["--seeds", "0-3", "--resample", "smooth", "--scale", "5", "-b", "black"],
            dict(seeds=range(4), resample="smooth", scale=5, background="black"),
        ),
    ],
    ids=["gif-seeds-damage", "webp-smooth", "sheet-flake", "mp4-damage", "png-seeds-smooth"],
)
def test_options_give_the_commands_bytes(
    renderer: Renderer, tmp_path: Path, fmt: str, argv: list[str], kw: dict[str, object]
) -> None:
    name = NAMES.get(fmt, "a.png")
    cli_and_api(renderer, tmp_path, fmt, name, ["--steps", "12", "--size", "24", *argv], steps=12, size=(24, 24), **kw)


@pytest.mark.parametrize("fmt", ["gif", "png", "webp"])
def test_a_binary_file_object_gets_the_files_bytes(renderer: Renderer, tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"a.{fmt}"
    renderer.render(path, fmt=fmt, **SMALL_KW)  # type: ignore[arg-type]
    buf = io.BytesIO()
    result = renderer.render(buf, fmt=fmt, **SMALL_KW)  # type: ignore[arg-type]
    assert buf.getvalue() == path.read_bytes()
    assert result.path is None and result.summary["bytes"] == len(buf.getvalue())
    with open(tmp_path / f"b.{fmt}", "wb") as fh:  # the format from its name (.png alone names a sheet)
        renderer.render(fh, fmt="png" if fmt == "png" else None, **SMALL_KW)  # type: ignore[arg-type]
    assert (tmp_path / f"b.{fmt}").read_bytes() == path.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"a.{fmt}", f"b.{fmt}"]  # no temporaries left


def test_file_objects_that_cannot_take_the_render_are_refused(renderer: Renderer, tmp_path: Path) -> None:
    closed = io.BytesIO()
    closed.close()
    cases: list[tuple[object, str | None, str]] = [
        (io.StringIO(), "gif", "binary file object"),
        (closed, "gif", "closed or not open for writing"),
        (io.BytesIO(), None, "give fmt="),
        (io.BytesIO(), "frames", "go into a folder"),
        (io.BytesIO(), "sheet", "give a path"),
        (42, "gif", "a path or a binary file object"),
    ]
    for target, fmt, fragment in cases:
        with pytest.raises(NCAError, match=fragment):
            renderer.render(target, fmt=fmt, **SMALL_KW)  # type: ignore[arg-type]


def test_a_still_is_the_png_commands_picture_and_the_last_frame(renderer: Renderer, tmp_path: Path) -> None:
    code, _, err = run("png", tmp_path / "s.png", "--step", "12", "--size", "24", "--seed", "3", "--scale", "6")
    assert code == 0, err
    image = renderer.still(12, size=24, seed=3, scale=6)
    assert image.mode == "RGBA" and image.size == (144, 144)
    with Image.open(tmp_path / "s.png") as written:
        assert np.array_equal(np.asarray(image), np.asarray(written))
    # the last frame of the PNG frames of the same render
    renderer.render(tmp_path / "f", fmt="frames", steps=12, size=24, seed=3, scale=6)
    with Image.open(sorted((tmp_path / "f").iterdir())[-1]) as last:
        assert np.array_equal(np.asarray(image), np.asarray(last))
    assert image._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"  # type: ignore[attr-defined]  # inline in a notebook


def test_stills_of_chosen_steps_come_from_one_rollout(renderer: Renderer) -> None:
    stills = renderer.stills([20, 0, 10], size=24, seed=3, scale=2, background="white", resample="smooth")
    assert stills.steps == [20, 0, 10] and len(stills) == 3
    for step, image in zip(stills.steps, stills, strict=True):
        alone = renderer.still(max(step, 1), size=24, seed=3, scale=2, background="white", resample="smooth")
        if step:
            assert np.array_equal(np.asarray(image), np.asarray(alone))
    seed_frame = np.asarray(stills[1])
    assert (seed_frame[..., 3] == 255).all() and 0 < (seed_frame[..., :3] < 255).any(axis=-1).sum() <= 100
    html = stills._repr_html_()
    assert html.count("<img") == 3 and "step 10" in html


def test_only_the_still_is_resampled(renderer: Renderer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ncarender.writers import resample

    calls: list[tuple[int, ...]] = []
    upscale = resample.smooth_upscale

    def counting(frame: np.ndarray, scale: int) -> np.ndarray:
        calls.append(frame.shape)
        return upscale(frame, scale)

    monkeypatch.setattr(resample, "smooth_upscale", counting)
    result = renderer.render(tmp_path / "s.png", fmt="png", steps=40, size=24, scale=26, resample="smooth")
    assert calls == [(24, 24, 4)] and result.summary["step"] == 40
    with Image.open(tmp_path / "s.png") as still:
        assert still.size == (24 * 26, 24 * 26)


def test_a_render_shows_inline_in_a_notebook(renderer: Renderer, tmp_path: Path) -> None:
    result = renderer.render(tmp_path / "a.webp", **SMALL_KW)  # type: ignore[arg-type]
    html = result._repr_html_()
    assert html is not None and html.startswith('<img src="data:image/webp;base64,')
    mp4 = renderer.render(tmp_path / "a.mp4", **SMALL_KW)  # type: ignore[arg-type]
    assert (mp4._repr_html_() or "").startswith("<video")


#: Bad arguments: the keyword, its value, and the start of the one-line NCAError.
BAD: list[tuple[dict[str, object], str]] = [
    (dict(seed=[0, 1, 2]), "seed takes one seed, got [0, 1, 2]; several side by side: seeds=[0, 1, 2]"),
    (dict(seed=-1), "seeds must be a whole number from 0 to"),
    (dict(seed="3"), "seeds must be whole numbers"),
    (dict(seed=1, seeds=[2, 3]), "give --seed (one flake) or --seeds"),
    (dict(seeds="5-1"), "--seeds '5-1': the range"),
    (dict(seeds=range(65)), "at most 64 grow side by side"),
    (dict(columns=2), "--columns goes with --seeds"),
    (dict(seeds=[0, 1], columns=0), "--columns must be at least 1"),
    (dict(steps=0), "--steps must be a whole number from 1 to"),
    (dict(steps=math.nan), "--steps must be a whole number from 1 to"),
    (dict(every=0), "--every must be a whole number from 1 to"),
    (dict(size="2"), "--size '2': the grid must be at least 3x3"),
    (dict(size=4.5), "--size must be N, HxW or (H, W)"),
    (dict(fps=math.nan), "--fps must be a number from 0.001 to 1,000"),
    (dict(fps=math.inf), "--fps must be a number from 0.001 to 1,000"),
    (dict(hold=-1), "--hold must be a number from 0 to"),
    (dict(scale=0), "--scale must be a whole number from 1 to"),
    (dict(scale=2.5), "--scale must be a whole number from 1 to"),
    (dict(loop="no"), "--loop must be forward or pingpong"),
    (dict(resample="cubic"), "resample must be nearest or smooth"),
    (dict(background="plaid"), "unknown background 'plaid'"),
    (dict(background=(300, 0, 0)), "background must be a name, #rrggbb, transparent or (r, g, b)"),
    (dict(damage="1:2"), "--damage '1:2': expected STEP:X,Y,R"),
    (dict(damage=[3]), "damage must be STEP:X,Y,R strings or Damage values"),
    (dict(flake=-1), "--flake must be a whole number from 0 to"),
    (dict(fmt="webm"), "unknown output format 'webm'"),
    (dict(options=WriterOptions(), scale=2), "give options= or the option keywords (scale), not both"),
]


@pytest.mark.parametrize(("kw", "fragment"), BAD, ids=[f"{next(iter(k))}-{i}" for i, (k, _) in enumerate(BAD)])
def test_bad_arguments_are_one_ncaerror_and_keep_what_was_there(
    renderer: Renderer, tmp_path: Path, kw: dict[str, object], fragment: str
) -> None:
    target = tmp_path / "a.gif"
    target.write_bytes(b"before")
    args: dict[str, object] = dict(steps=12, size=24, **kw) if "steps" not in kw and "size" not in kw else dict(kw)
    with pytest.raises(NCAError) as info:
        renderer.render(target, **args)  # type: ignore[arg-type]
    assert fragment in str(info.value) and "\n" not in str(info.value)
    assert target.read_bytes() == b"before" and sorted(tmp_path.iterdir()) == [target]


@pytest.mark.parametrize(
    ("argv", "kw"),
    [
        (["--steps", "0"], dict(steps=0)),
        (["--size", "2"], dict(size="2")),
        (["--fps", "0"], dict(fps=0.0)),
        (["--damage", "1:2"], dict(damage="1:2")),
        (["-b", "plaid"], dict(background="plaid")),
        (["--seeds", "0-1", "--seed", "2"], dict(seeds="0-1", seed=2)),
        (["--columns", "2"], dict(columns=2)),
        (["--resample", "cubic"], dict(resample="cubic")),
    ],
)
def test_the_api_refuses_with_the_commands_line(
    renderer: Renderer, tmp_path: Path, argv: list[str], kw: dict[str, object]
) -> None:
    code, out, err = run("gif", tmp_path / "a.gif", *argv)
    assert_error(code, out, err, "")
    with pytest.raises(NCAError) as info:
        renderer.render(tmp_path / "a.gif", **kw)  # type: ignore[arg-type]
    assert err.strip() == f"Error: {info.value}"


def test_stills_refuse_bad_steps_and_huge_pictures(renderer: Renderer) -> None:
    for steps, fragment in [(5, "steps takes a list"), ([], "steps must be a list"), ([1, -2], "steps must be")]:
        with pytest.raises(NCAError, match=fragment):
            renderer.stills(steps)  # type: ignore[arg-type]
    with pytest.raises(NCAError, match="PNG still stores at most 16,384 pixels a side"):
        renderer.still(10, scale=500)


def test_huge_stills_and_sheets_are_refused_before_the_rollout(tmp_path: Path) -> None:
    code, out, err = run("sheet", tmp_path / "s.png", "--steps", "80", "--scale", "100")
    assert_error(code, out, err, "sheet stores at most 16,384 pixels a side")
    code, out, err = run("sheet", tmp_path / "g.png", "--seeds", "0-63", "--scale", "100")
    assert_error(code, out, err, "gallery stores at most 16,384 pixels a side")
    code, out, err = run("png", tmp_path / "p.png", "--scale", "410")
    assert_error(code, out, err, "PNG still stores at most 16,384 pixels a side")
    code, out, err = run("png", tmp_path / "p.png", "--step", "0")
    assert_error(code, out, err, "--step must be a whole number from 1 to")
    assert list(tmp_path.iterdir()) == []


def test_render_batch_takes_the_commands_forms(renderer: Renderer, tmp_path: Path) -> None:
    from ncarender import render_batch

    options = dict(steps=12, size="24", damage="6:0,0,0.3", flake=1)
    result = render_batch(renderer, tmp_path / "b", "2-3", formats="gif", jobs=1, executor="thread", **options)
    assert sorted(r["path"] for r in result.written) == ["seed-0002.gif", "seed-0003.gif"]
    assert {r["flake"] for r in result.written} == {1}
    for seed in (2, 3):
        single = renderer.render(tmp_path / f"{seed}.gif", seed=seed, **options)  # type: ignore[arg-type]
        assert single.path is not None
        assert single.path.read_bytes() == (tmp_path / "b" / f"seed-{seed:04d}.gif").read_bytes()
