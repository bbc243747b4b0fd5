"""``--resample smooth``: premultiplied bicubic scaling (no dark fringe), through every format, deterministic."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ncarender.writers import WriterOptions, open_writer
from ncarender.writers.resample import smooth_upscale


def soft_disc(size: int = 16, colour: tuple[int, int, int] = (200, 230, 255)) -> np.ndarray:
    """uint8 ``(size, size, 4)``: one flat light colour, alpha 1 inside a disc falling to 0 over two cells."""
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    alpha = np.clip((size / 2 - 2 - np.hypot(yy, xx)) / 2, 0.0, 1.0)
    frame = np.zeros((size, size, 4), np.uint8)
    frame[..., 3] = np.rint(alpha * 255)
    frame[frame[..., 3] > 0, :3] = colour
    return frame


def luminance(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def dark_fringe(image: np.ndarray) -> int:
    """Pixels of a transparent edge (alpha strictly between 0 and 255) darker than both neighbours in a row or
    a column (neighbours with some alpha): the rim a filter on straight colour leaves."""
    lum, alpha = luminance(image), image[..., 3]
    edge = (alpha > 0) & (alpha < 255)
    count = 0
    for axis in (0, 1):
        before, after = np.roll(lum, 1, axis=axis), np.roll(lum, -1, axis=axis)
        seen = (np.roll(alpha, 1, axis=axis) > 0) & (np.roll(alpha, -1, axis=axis) > 0)
        inner = np.ones_like(edge)
        if axis == 0:
            inner[[0, -1], :] = False
        else:
            inner[:, [0, -1]] = False
        count += int((edge & seen & inner & (lum < before - 1) & (lum < after - 1)).sum())
    return count


def straight_bicubic(frame: np.ndarray, scale: int) -> np.ndarray:
    """The wrong way: each channel of straight RGBA scaled alone (transparent black bleeds into the edge)."""
    size = (frame.shape[1] * scale, frame.shape[0] * scale)
    channels = [np.asarray(Image.fromarray(frame[..., c]).resize(size, Image.Resampling.BICUBIC)) for c in range(4)]
    return np.stack(channels, axis=-1)


@pytest.mark.parametrize("scale", [2, 4, 7])
def test_smooth_has_no_dark_fringe_on_a_transparent_edge(scale: int) -> None:
    frame = soft_disc()
    smooth = smooth_upscale(frame, scale)
    assert smooth.shape == (16 * scale, 16 * scale, 4)
    edge = (smooth[..., 3] > 0) & (smooth[..., 3] < 255)
    assert edge.sum() > 50 * scale  # a soft edge, and a wide one
    assert dark_fringe(smooth) == 0
    assert np.abs(smooth[smooth[..., 3] > 0][:, :3].astype(int) - (200, 230, 255)).max() <= 1  # one colour
    assert dark_fringe(straight_bicubic(frame, scale)) > 0  # what the check catches


def test_smooth_is_smooth_and_keeps_the_picture() -> None:
    frame = soft_disc()
    smooth, nearest = smooth_upscale(frame, 4), frame.repeat(4, 0).repeat(4, 1)
    assert len(np.unique(smooth[..., 3])) > 3 * len(np.unique(nearest[..., 3]))  # in-between alphas
    assert np.abs(smooth[..., 3].astype(int) - nearest[..., 3]).mean() < 20  # the same disc
    np.testing.assert_array_equal(smooth_upscale(frame, 1), frame)


def test_smooth_opaque_stays_opaque_and_flat_stays_flat() -> None:
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, size=(9, 11, 4), dtype=np.uint8)
    frame[..., 3] = 255
    smooth = smooth_upscale(frame, 3)
    assert (smooth[..., 3] == 255).all()
    flat = np.full((5, 5, 4), (10, 20, 30, 255), np.uint8)
    np.testing.assert_array_equal(smooth_upscale(flat, 4), np.full((20, 20, 4), (10, 20, 30, 255), np.uint8))
    empty = np.zeros((5, 5, 4), np.uint8)
    assert not smooth_upscale(empty, 4).any()


def test_smooth_is_deterministic() -> None:
    frame = soft_disc(24)
    assert smooth_upscale(frame, 5).tobytes() == smooth_upscale(frame.copy(), 5).tobytes()


def _decoded(fmt: str, path: Path) -> np.ndarray:
    """The last frame of an output, RGBA."""
    if fmt == "frames":
        path = sorted(path.glob("frame-*.png"))[-1]
    if fmt == "sheet":  # one cell per frame: the last cell
        with Image.open(path) as im:
            return np.asarray(im.convert("RGBA"))[:, -64:]
    with Image.open(path) as im:
        im.seek(getattr(im, "n_frames", 1) - 1)
        return np.asarray(im.convert("RGBA"))


@pytest.mark.parametrize(
    ("fmt", "name"), [("gif", "a.gif"), ("sheet", "a.png"), ("frames", "f"), ("webp", "a.webp"), ("apng", "a.apng")]
)
def test_smooth_through_every_format(tmp_path: Path, fmt: str, name: str) -> None:
    frames = [np.roll(soft_disc(), shift, axis=1) for shift in range(3)]
    options = WriterOptions(scale=4, transparent=True, resample="smooth", columns=3)
    with open_writer(fmt, tmp_path / name, n_frames=3, grid=(16, 16), options=options) as writer:
        for frame in frames:
            writer.add(frame)
    assert writer.summary is not None
    want = smooth_upscale(frames[-1], 4)
    got = _decoded(fmt, tmp_path / name)
    if fmt == "gif":  # one bit of alpha, a palette
        assert writer.summary["width"] == 64 and got.shape == (64, 64, 4)
        np.testing.assert_array_equal(got[..., 3] == 255, want[..., 3] >= 128)
    else:
        np.testing.assert_array_equal(got, want)


def test_smooth_mp4_is_the_smooth_frame(tmp_path: Path) -> None:
    import imageio_ffmpeg

    frame = soft_disc()
    frame[..., :3] = np.where(frame[..., 3:] > 0, frame[..., :3], 255)
    frame[..., 3] = 255  # over white
    options = WriterOptions(scale=4, resample="smooth", crf=0)
    with open_writer("mp4", tmp_path / "a.mp4", n_frames=2, grid=(16, 16), options=options) as writer:
        writer.add(frame)
        writer.add(frame)
    reader = imageio_ffmpeg.read_frames(str(tmp_path / "a.mp4"))
    next(reader)
    got = np.frombuffer(next(reader), np.uint8).reshape(64, 64, 3)
    assert np.abs(got.astype(int) - smooth_upscale(frame, 4)[..., :3]).mean() < 2


def test_nearest_is_the_default_and_unchanged(tmp_path: Path) -> None:
    frames = [soft_disc(), np.roll(soft_disc(), 2, axis=0)]
    for name, options in (("a.apng", WriterOptions(scale=3, transparent=True)), ("b.apng", None)):
        opts = options or WriterOptions(scale=3, transparent=True, resample="nearest")
        with open_writer("apng", tmp_path / name, n_frames=2, grid=(16, 16), options=opts) as writer:
            for frame in frames:
                writer.add(frame)
    assert (tmp_path / "a.apng").read_bytes() == (tmp_path / "b.apng").read_bytes()
    with Image.open(tmp_path / "a.apng") as im:
        np.testing.assert_array_equal(np.asarray(im.convert("RGBA")), frames[0].repeat(3, 0).repeat(3, 1))
