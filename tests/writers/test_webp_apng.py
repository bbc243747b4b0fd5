"""WebP and APNG writers: decoded with Pillow (frames, size, 8-bit alpha, durations, loop), and played in Chromium."""

from __future__ import annotations

import errno
import struct
import time
from fractions import Fraction
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from browser import chromium
from conftest import write_frames
from PIL import Image

from ncarender.errors import NCAError
from ncarender.writers import WriterOptions, open_writer
from ncarender.writers.animation import apng_delay, frame_times_ms

GRID = (6, 9)  # (H, W)


def soft_frames(n: int, grid: tuple[int, int] = GRID, *, seed: int = 0) -> list[np.ndarray]:
    """``n`` distinct straight-alpha frames: random colours, alpha 0 on the left third, 255 on the right third and
    strictly between in the middle (a soft edge)."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n):
        frame = rng.integers(0, 256, size=(*grid, 4), dtype=np.uint8)
        third = grid[1] // 3
        frame[:, :third] = 0  # transparent: colour 0 too, as the renderer makes it
        frame[:, third : 2 * third, 3] = rng.integers(1, 255, size=(grid[0], third), dtype=np.uint8)
        frame[:, 2 * third :, 3] = 255
        frame[0, -1, :3] = (i, 255 - i, 7)  # every frame differs
        frames.append(frame)
    return frames


def decode(path: Path) -> tuple[list[np.ndarray], list[float], dict[str, object]]:
    """Every frame as RGBA, its duration in ms, and the first frame's info."""
    frames, durations = [], []
    with Image.open(path) as im:
        info = dict(im.info)
        for i in range(getattr(im, "n_frames", 1)):
            im.seek(i)
            im.load()
            frames.append(np.asarray(im.convert("RGBA")))
            durations.append(im.info["duration"])
    return frames, durations, info


def upscale(frame: np.ndarray, scale: int) -> np.ndarray:
    return frame.repeat(scale, axis=0).repeat(scale, axis=1)


def apng_delays(path: Path) -> list[tuple[int, int]]:
    """``(numerator, denominator)`` of every fcTL chunk, read from the bytes."""
    data, pos, delays = path.read_bytes(), 8, []
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"fcTL":
            delays.append(struct.unpack(">HH", data[pos + 8 + 20 : pos + 8 + 24]))
        pos += 12 + length
    return delays


# --------------------------------------------------------------------------- decoded with Pillow


@pytest.mark.parametrize("fmt", ["webp", "apng"])
@pytest.mark.parametrize("loop", [True, False])
def test_frames_size_alpha_and_loop(tmp_path: Path, fmt: str, loop: bool) -> None:
    frames = soft_frames(7)
    path = tmp_path / f"a.{fmt}"
    summary = write_frames(fmt, path, frames, scale=3, fps=20, hold=0.5, loop=loop, transparent=True)
    assert summary["frames"] == summary["rendered_frames"] == 7
    assert (summary["width"], summary["height"]) == (27, 18)
    assert summary["duration_ms"] == 7 * 50 + 500
    decoded, durations, info = decode(path)
    assert len(decoded) == 7 and all(d.shape == (18, 27, 4) for d in decoded)
    assert info["loop"] == (0 if loop else 1)  # 0: forever; 1: one play
    assert durations == [50.0] * 6 + [550.0]
    for got, frame in zip(decoded, frames, strict=True):
        want = upscale(frame, 3)
        edge = (got[..., 3] > 0) & (got[..., 3] < 255)
        assert edge.sum() == 18 * 9  # the soft middle third keeps its 8-bit alpha
        np.testing.assert_array_equal(got, want)  # lossless, every colour (transparent ones are 0 here)


def test_webp_timing_is_exact_to_the_millisecond(tmp_path: Path) -> None:
    frames = soft_frames(7)
    summary = write_frames("webp", tmp_path / "a.webp", frames, fps=30, hold=0.25, transparent=True)
    _, durations, _ = decode(tmp_path / "a.webp")
    assert durations == [33, 34, 33, 33, 34, 33, 33 + 250]  # frame i starts at round(i * 1000 / 30)
    assert sum(durations) == summary["duration_ms"] == round(7 * 1000 / 30) + 250


def test_apng_delays_are_exact_fractions(tmp_path: Path) -> None:
    frames = soft_frames(5)
    summary = write_frames("apng", tmp_path / "a.apng", frames, fps=29.97, hold=1.0, transparent=True)
    assert apng_delays(tmp_path / "a.apng") == [(100, 2997)] * 4 + [(3097, 2997)]  # 1/29.97 s, and + 1 s
    assert summary["frame_delay"] == [100, 2997]
    write_frames("apng", tmp_path / "b.apng", frames, fps=30, hold=0.0, transparent=True)
    assert apng_delays(tmp_path / "b.apng") == [(1, 30)] * 5


@pytest.mark.parametrize("fmt", ["webp", "apng"])
def test_repeated_frames_merge_and_keep_the_total_duration(tmp_path: Path, fmt: str) -> None:
    a, b = soft_frames(2)
    summary = write_frames(fmt, tmp_path / f"a.{fmt}", [a, a, a, b, b], fps=10, hold=0.1, transparent=True)
    decoded, durations, _ = decode(tmp_path / f"a.{fmt}")
    assert summary["frames"] == len(decoded) == 2 and summary["rendered_frames"] == 5
    assert durations == [300.0, 300.0]


def test_frame_times_and_apng_delays() -> None:
    assert frame_times_ms([0, 1, 2], 3, Fraction(30), 0) == [33, 34, 33]
    assert frame_times_ms([0, 2], 3, Fraction(30), 1000) == [67, 1033]
    assert apng_delay(Fraction(1, 30)) == Fraction(1, 30)
    assert apng_delay(Fraction(80001, 20)) == Fraction(64001, 16)  # too long for /20: the nearest that fits
    with pytest.raises(NCAError, match="at most 65,535 s"):
        apng_delay(Fraction(70000))


def test_fps_above_50_plays_at_50_as_a_gif_does(tmp_path: Path) -> None:
    summary = write_frames("apng", tmp_path / "a.apng", soft_frames(3), fps=120, hold=0, transparent=True)
    assert summary["fps"] == 50 and apng_delays(tmp_path / "a.apng") == [(1, 50)] * 3


def test_webp_lossy_keeps_alpha_and_is_close(tmp_path: Path) -> None:
    frames = soft_frames(4, grid=(24, 30))
    summary = write_frames("webp", tmp_path / "q.webp", frames, scale=2, quality=90, transparent=True)
    assert summary["lossless"] is False and summary["quality"] == 90
    decoded, _, _ = decode(tmp_path / "q.webp")
    for got, frame in zip(decoded, frames, strict=True):
        want = upscale(frame, 2)
        assert np.abs(got[..., 3].astype(int) - want[..., 3]).max() <= 2  # alpha at alpha_quality 100
        visible = want[..., 3] == 255
        assert np.abs(got[visible][:, :3].astype(int) - want[visible][:, :3]).mean() < 40  # noise is hard
    write_frames("webp", tmp_path / "l.webp", frames, scale=2, transparent=True)
    assert (tmp_path / "q.webp").read_bytes() != (tmp_path / "l.webp").read_bytes()


@pytest.mark.parametrize("fmt", ["webp", "apng"])
def test_opaque_frames_and_determinism(tmp_path: Path, fmt: str) -> None:
    frames = [f.copy() for f in soft_frames(4)]
    for f in frames:
        f[..., 3] = 255
    write_frames(fmt, tmp_path / f"a.{fmt}", frames, scale=2)
    write_frames(fmt, tmp_path / f"b.{fmt}", frames, scale=2)
    assert (tmp_path / f"a.{fmt}").read_bytes() == (tmp_path / f"b.{fmt}").read_bytes()
    decoded, _, _ = decode(tmp_path / f"a.{fmt}")
    for got, frame in zip(decoded, frames, strict=True):
        np.testing.assert_array_equal(got, upscale(frame, 2))


@pytest.mark.parametrize(
    ("fmt", "options", "grid", "message"),
    [
        ("webp", {"quality": 101}, GRID, "quality must be a whole number from 0 to 100"),
        ("webp", {"quality": -1}, GRID, "quality must be a whole number from 0 to 100"),
        ("webp", {"resample": "cubic"}, GRID, "resample must be nearest or smooth"),
        ("webp", {"scale": 2}, (4, 8_192), "WebP stores at most 16,383 pixels a side"),
        ("webp", {"scale": 2, "resample": "smooth"}, (4, 8_192), r"\(4x8192 cells at scale 2\)"),
        ("apng", {"hold": 65_535.0}, GRID, r"--hold must be at most 65,534.95 s for APNG .* got 65,535"),
    ],
)
def test_bad_options_are_refused_on_open(
    tmp_path: Path, fmt: str, options: dict[str, object], grid: tuple[int, int], message: str
) -> None:
    with pytest.raises(NCAError, match=message):
        open_writer(fmt, tmp_path / f"a.{fmt}", n_frames=3, grid=grid, options=WriterOptions(**options))  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", ["webp", "apng"])
def test_a_full_disk_is_one_error_and_leaves_nothing(tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(self: Image.Image, fp: object, *args: object, **kwargs: object) -> None:
        Path(str(fp)).write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", full)
    with pytest.raises(NCAError, match=r"cannot write .*No space left on device"):
        write_frames(fmt, tmp_path / f"a.{fmt}", soft_frames(3), transparent=True)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", ["webp", "apng"])
def test_an_exception_keeps_the_existing_file(tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"a.{fmt}"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="stop"), open_writer(fmt, target, n_frames=4, grid=GRID) as writer:
        writer.add(soft_frames(1)[0])
        raise RuntimeError("stop")
    assert [p.name for p in tmp_path.iterdir()] == [target.name] and target.read_bytes() == b"old"


# --------------------------------------------------------------------------- played by Chromium


def _blinking(n: int = 6) -> list[np.ndarray]:
    """Frames of one flat colour each, alternating blue and green, at alpha 128 (half see-through)."""
    frames = []
    for i in range(n):
        frame = np.zeros((8, 8, 4), np.uint8)
        frame[...] = (0, 0, 255, 128) if i % 2 == 0 else (0, 255, 0, 128)
        frames.append(frame)
    return frames


@pytest.mark.browser
@pytest.mark.parametrize("fmt", ["webp", "apng"])
def test_chromium_plays_it_with_its_alpha(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"a.{fmt}"
    write_frames(fmt, path, _blinking(), scale=8, fps=5, transparent=True)  # 200 ms a frame, 64x64 pixels
    page_path = tmp_path / "page.html"
    page_path.write_text(
        f'<!doctype html><body style="margin:0;background:#ff0000"><img id="a" src="{path.name}"></body>'
    )
    with chromium() as context:
        page = context.new_page()
        page.goto(page_path.as_uri())
        page.wait_for_function("document.getElementById('a').complete && document.getElementById('a').naturalWidth")
        assert page.evaluate("document.getElementById('a').naturalWidth") == 64
        shots = []
        for _ in range(6):
            shot = page.screenshot(clip={"x": 16, "y": 16, "width": 1, "height": 1})
            shots.append(shot)
            time.sleep(0.13)
        page.close()
    colours = set()
    for shot in shots:
        with Image.open(BytesIO(shot)) as im:
            colours.add(im.convert("RGB").getpixel((0, 0)))
    assert len(colours) >= 2, colours  # it moved on from the first frame
    blended = [(127, 0, 128), (127, 128, 0)]  # half blue, half green over the red page: 8-bit alpha
    for colour in colours:
        assert any(max(abs(a - b) for a, b in zip(colour, want, strict=True)) <= 3 for want in blended), colours
