"""Writers: decode what was written with an independent reader and check it."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from conftest import write_frames
from PIL import GifImagePlugin, Image

from ncarender.errors import NCAError
from ncarender.writers import (
    FrameWriter,
    ThreadedWriter,
    WriterOptions,
    gif_frame_ms,
    open_writer,
    sheet_indices,
)

GRID = (5, 7)  # (H, W): odd on purpose, so MP4 needs padding at odd scales


def make_frames(n: int, grid: tuple[int, int] = GRID, *, transparent: bool = False, seed: int = 0) -> list[np.ndarray]:
    """``n`` distinct uint8 ``(H, W, 4)`` frames with few colours (so a GIF palette is exact)."""
    rng = np.random.default_rng(seed)
    colours = rng.integers(0, 256, size=(12, 3), dtype=np.uint8)
    frames = []
    for i in range(n):
        frame = np.empty((*grid, 4), dtype=np.uint8)
        frame[..., :3] = colours[rng.integers(0, len(colours), size=grid)]
        frame[0, 0, :3] = colours[i % len(colours)]
        frame[..., 3] = 255
        if transparent:
            frame[..., 3] = np.where(rng.random(grid) < 0.4, 0, 255)
            frame[0, 0, 3] = 255
        frame[-1, -1, 0] = i  # every frame differs
        frames.append(frame)
    return frames


def upscale(frame: np.ndarray, scale: int) -> np.ndarray:
    return frame.repeat(scale, axis=0).repeat(scale, axis=1)


def gif_frames(path: Path) -> tuple[list[Image.Image], list[int]]:
    """Every stored GIF frame (mode kept as "P" while the palette does not change) and its delay in ms."""
    images, durations = [], []
    with Image.open(path) as im:
        for i in range(im.n_frames):
            im.seek(i)
            images.append(im.copy())
            durations.append(im.info["duration"])
    return images, durations


@pytest.fixture
def keep_p_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pillow keeps GIF frames in mode "P" unless a frame brings a different palette."""
    monkeypatch.setattr(
        GifImagePlugin, "LOADING_STRATEGY", GifImagePlugin.LoadingStrategy.RGB_AFTER_DIFFERENT_PALETTE_ONLY
    )


# --------------------------------------------------------------------------- options and paths


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"scale": 0}, "scale must be a whole number"),
        ({"scale": 1.5}, "scale must be a whole number"),
        ({"fps": 0}, "--fps must be a number from 0.001 to 1,000, got 0"),
        ({"fps": float("nan")}, "--fps must be a number from 0.001 to 1,000, got nan"),
        ({"fps": float("inf")}, "got inf"),
        ({"fps": 10**400}, "--fps must be a number"),
        ({"hold": 65_536.0}, "--hold must be a number from 0 to 65,535, got 65536.0"),
        ({"hold": -1.0}, "hold must be"),
        ({"crf": 52}, "crf must be a whole number from 0 to 51"),
        ({"columns": 0}, "columns must be"),
        ({"sheet_frames": 0}, "--frames must be"),
        ({"sheet_frames": 4, "sheet_every": 2}, "not both"),
    ],
)
def test_bad_options_raise(options: dict[str, object], message: str) -> None:
    with pytest.raises(NCAError, match=message):
        WriterOptions(**options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fmt", "name", "kwargs", "message"),
    [
        ("gif", "out.png", {}, r"needs a \.gif file name"),
        ("mp4", "out.gif", {}, r"needs a \.mp4 file name"),
        ("sheet", "out.gif", {}, r"needs a \.png file name"),
        ("frames", "out.png", {}, "go into a folder"),
        ("webm", "out.webm", {}, "unknown output format"),
        ("webp", "out.png", {}, r"needs a \.webp file name"),
        ("apng", "out.png", {}, r"needs a \.apng file name"),
        ("gif", "missing/out.gif", {}, "does not exist"),
        ("frames", "missing/frames", {}, "does not exist"),
        ("mp4", "out.mp4", {"transparent": True}, "MP4 has no alpha"),
        ("sheet", "out.png", {"sheet_frames": 11}, "only 10 frames"),
        ("gif", "out.gif", {"hold": 700.0}, r"--hold must be at most 655\.3 s for GIF"),
        ("gif", "out.gif", {"fps": 0.0015}, "--fps must be at least 0.0015259 for GIF"),
        ("webp", "out.webp", {"hold": 16_777.2}, r"--hold must be at most 16,777\.165 s for WebP"),
    ],
)
def test_bad_outputs_raise(tmp_path: Path, fmt: str, name: str, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(NCAError, match=message):
        open_writer(fmt, tmp_path / name, n_frames=10, grid=GRID, options=WriterOptions(**kwargs))  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_zero_frames_and_folder_target_raise(tmp_path: Path) -> None:
    with pytest.raises(NCAError, match="at least 1 frame"):
        open_writer("gif", tmp_path / "a.gif", n_frames=0, grid=GRID)
    (tmp_path / "a.gif").mkdir()
    with pytest.raises(NCAError, match="is a folder"):
        open_writer("gif", tmp_path / "a.gif", n_frames=1, grid=GRID)


@pytest.mark.parametrize(("fps", "ms"), [(20, 50), (30, 30), (24, 40), (10, 100), (0.5, 2000), (60, 20), (1000, 20)])
def test_gif_frame_ms(fps: float, ms: int) -> None:
    assert gif_frame_ms(fps) == ms


@pytest.mark.parametrize(
    ("n", "options", "expected"),
    [
        (10, {}, list(range(10))),
        (200, {}, [int(i * 199 / 63 + 0.5) for i in range(64)]),
        (10, {"sheet_frames": 4}, [0, 3, 6, 9]),
        (10, {"sheet_frames": 1}, [9]),
        (5, {"sheet_frames": 5}, [0, 1, 2, 3, 4]),
        (10, {"sheet_every": 4}, [0, 4, 8]),
    ],
)
def test_sheet_indices(n: int, options: dict[str, int], expected: list[int]) -> None:
    assert sheet_indices(n, WriterOptions(**options)) == expected  # type: ignore[arg-type]


# --------------------------------------------------------------------------- GIF


@pytest.mark.usefixtures("keep_p_mode")
@pytest.mark.parametrize(("transparent", "loop"), [(False, True), (True, False)])
def test_gif_frames_palette_loop_and_pixels(tmp_path: Path, transparent: bool, loop: bool) -> None:
    frames = make_frames(7, transparent=transparent)
    summary = write_frames("gif", tmp_path / "a.gif", frames, scale=3, fps=20, loop=loop, transparent=transparent)
    assert summary["frames"] == summary["rendered_frames"] == 7
    assert (summary["width"], summary["height"]) == (21, 15)

    images, durations = gif_frames(tmp_path / "a.gif")
    assert len(images) == 7 and durations == [50] * 7
    assert all(im.size == (21, 15) and im.mode == "P" for im in images)  # "P" throughout: one palette
    assert (tmp_path / "a.gif").read_bytes().count(b"GIF8") == 1
    with Image.open(tmp_path / "a.gif") as im:
        assert ("loop" in im.info) is loop and im.info.get("loop", 0) == 0
        assert ("transparency" in im.info) is transparent
    for image, frame in zip(images, frames, strict=True):
        rgba = np.asarray(image.convert("RGBA"))
        expected = upscale(frame, 3)
        opaque = expected[..., 3] >= 128
        assert np.array_equal(rgba[..., 3] == 255, opaque)
        assert np.array_equal(rgba[opaque][:, :3], expected[opaque][:, :3])  # few colours: exact


def test_gif_is_deterministic(tmp_path: Path) -> None:
    frames = make_frames(6)
    write_frames("gif", tmp_path / "a.gif", frames)
    write_frames("gif", tmp_path / "b.gif", frames)
    assert (tmp_path / "a.gif").read_bytes() == (tmp_path / "b.gif").read_bytes()


def test_gif_merges_repeats_and_keeps_total_duration(tmp_path: Path) -> None:
    a, b = make_frames(2)
    frames = [a, a, b, b, b]
    summary = write_frames("gif", tmp_path / "a.gif", frames, fps=30, hold=0.256)
    images, durations = gif_frames(tmp_path / "a.gif")
    assert summary["frames"] == len(images) == 2
    assert durations == [60, 3 * 30 + 260]
    assert sum(durations) == summary["duration_ms"] == len(frames) * gif_frame_ms(30) + 260


def test_gif_empty_frame_after_transparent_frame(tmp_path: Path) -> None:
    """Pillow writes a second file header before such a frame; the writer removes it."""
    first, last = make_frames(2, transparent=True)
    empty = np.zeros_like(first)
    write_frames("gif", tmp_path / "a.gif", [first, empty, last], scale=2, transparent=True)
    assert (tmp_path / "a.gif").read_bytes().count(b"GIF8") == 1
    images, durations = gif_frames(tmp_path / "a.gif")
    assert len(images) == 3 and durations == [50, 50, 50]
    alphas = [np.asarray(im.convert("RGBA"))[..., 3] for im in images]
    assert not alphas[1].any()
    assert np.array_equal(alphas[2] == 255, upscale(last, 2)[..., 3] == 255)


def test_gif_single_frame_and_all_transparent(tmp_path: Path) -> None:
    summary = write_frames("gif", tmp_path / "a.gif", [np.zeros((*GRID, 4), np.uint8)] * 3, transparent=True, hold=1.0)
    assert summary["frames"] == 1
    images, durations = gif_frames(tmp_path / "a.gif")
    assert len(images) == 1 and durations == [3 * 50 + 1000]
    assert not np.asarray(images[0].convert("RGBA"))[..., 3].any()


def test_gif_many_colours_map_to_nearest(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 256, size=(16, 16, 4), dtype=np.uint8) for _ in range(3)]
    for frame in frames:
        frame[..., 3] = 255
    summary = write_frames("gif", tmp_path / "a.gif", frames, scale=1)
    assert summary["colors"] == 256
    images, _ = gif_frames(tmp_path / "a.gif")
    with Image.open(tmp_path / "a.gif") as im:
        palette = np.asarray(im.getpalette(), dtype=np.int64).reshape(-1, 3)
    for image, frame in zip(images, frames, strict=True):
        got = np.asarray(image.convert("RGB")).reshape(-1, 3).astype(np.int64)
        want = frame[..., :3].reshape(-1, 3).astype(np.int64)
        nearest = ((want[:, None, :] - palette[None]) ** 2).sum(-1).min(1)
        assert np.array_equal(((want - got) ** 2).sum(-1), nearest)


# --------------------------------------------------------------------------- MP4


def read_mp4(path: Path) -> tuple[dict[str, object], list[np.ndarray]]:
    reader = imageio_ffmpeg.read_frames(str(path))
    meta: dict[str, object] = next(reader)
    width, height = meta["size"]  # type: ignore[misc]
    frames = [np.frombuffer(raw, np.uint8).reshape(height, width, 3) for raw in reader]
    return meta, frames


@pytest.mark.parametrize(("scale", "hold", "size", "count"), [(3, 0.0, (22, 16), 6), (2, 0.25, (14, 10), 8)])
def test_mp4_metadata(tmp_path: Path, scale: int, hold: float, size: tuple[int, int], count: int) -> None:
    frames = make_frames(6)
    summary = write_frames("mp4", tmp_path / "a.mp4", frames, scale=scale, fps=8, hold=hold)
    assert (summary["width"], summary["height"], summary["frames"]) == (*size, count)
    meta, decoded = read_mp4(tmp_path / "a.mp4")
    assert meta["codec"] == "h264"
    assert str(meta["pix_fmt"]).startswith("yuv420p")
    assert meta["fps"] == 8 and meta["size"] == size
    assert len(decoded) == count


def test_mp4_pixels_padding_and_determinism(tmp_path: Path) -> None:
    frames = [np.full((*GRID, 4), (40 * i, 200, 120 - 20 * i, 255), dtype=np.uint8) for i in range(4)]
    write_frames("mp4", tmp_path / "a.mp4", frames, scale=3, crf=0)
    write_frames("mp4", tmp_path / "b.mp4", frames, scale=3, crf=0)
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()
    _, decoded = read_mp4(tmp_path / "a.mp4")
    for got, frame in zip(decoded, frames, strict=True):
        assert got.shape == (16, 22, 3)  # 15x21 padded to even with the edge pixels
        assert np.abs(got.astype(int) - frame[0, 0, :3]).max() <= 3


# --------------------------------------------------------------------------- sprite sheet


def test_sheet_and_atlas(tmp_path: Path) -> None:
    frames = make_frames(10, transparent=True)
    summary = write_frames("sheet", tmp_path / "s.png", frames, scale=2, fps=10, hold=0.5, sheet_frames=4, columns=3)
    assert summary["atlas"] == str(tmp_path / "s.json")
    assert summary["source_frames"] == [0, 3, 6, 9]
    with Image.open(tmp_path / "s.png") as im:
        assert im.mode == "RGBA" and im.size == (3 * 14, 2 * 10)
        sheet = np.asarray(im)
    atlas = json.loads((tmp_path / "s.json").read_text())
    assert atlas["meta"]["image"] == "s.png" and atlas["meta"]["size"] == {"w": 42, "h": 20}
    assert atlas["meta"]["app"] == "ncarender" and atlas["meta"]["format"] == "RGBA8888"
    assert list(atlas["frames"]) == ["frame-0000", "frame-0001", "frame-0002", "frame-0003"]
    assert list(atlas) == ["frames", "animations", "meta"]
    assert atlas["animations"] == {"s": list(atlas["frames"])}  # TexturePacker's: every frame, in order
    assert [f["duration"] for f in atlas["frames"].values()] == [300, 300, 300, 100 + 500]
    for entry, index in zip(atlas["frames"].values(), summary["source_frames"], strict=True):  # type: ignore[call-overload]
        rect = entry["frame"]
        assert rect["x"] + rect["w"] <= 42 and rect["y"] + rect["h"] <= 20
        assert entry["sourceSize"] == {"w": 14, "h": 10} and not entry["rotated"] and not entry["trimmed"]
        cell = sheet[rect["y"] : rect["y"] + rect["h"], rect["x"] : rect["x"] + rect["w"]]
        assert np.array_equal(cell, upscale(frames[index], 2))
    assert not sheet[10:, 28:].any()  # the unused sixth cell stays transparent


# --------------------------------------------------------------------------- PNG frames


def test_png_frames(tmp_path: Path) -> None:
    frames = make_frames(3, transparent=True)
    summary = write_frames("frames", tmp_path / "seq", frames, scale=2)
    names = sorted(p.name for p in (tmp_path / "seq").iterdir())
    assert names == ["frame-00000.png", "frame-00001.png", "frame-00002.png"]
    assert summary["frames"] == 3 and summary["pattern"] == "frame-%05d.png"
    for name, frame in zip(names, frames, strict=True):
        with Image.open(tmp_path / "seq" / name) as im:
            assert im.mode == "RGBA"
            assert np.array_equal(np.asarray(im), upscale(frame, 2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seq"]  # no temporary folders left


def test_png_frames_replace_an_earlier_render_only(tmp_path: Path) -> None:
    folder = tmp_path / "seq"
    write_frames("frames", folder, make_frames(5))
    write_frames("frames", folder, make_frames(2))
    assert sorted(p.name for p in folder.iterdir()) == ["frame-00000.png", "frame-00001.png"]
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(NCAError, match="holds other files"):
        open_writer("frames", folder, n_frames=2, grid=GRID)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seq"]


def test_png_frame_names_grow_past_five_digits(tmp_path: Path) -> None:
    writer = open_writer("frames", tmp_path / "seq", n_frames=123_457, grid=GRID)
    writer.abort()
    assert writer.name(7) == "frame-000007.png"  # type: ignore[attr-defined]
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- abort and state


@pytest.mark.parametrize(("fmt", "name"), [("gif", "a.gif"), ("mp4", "a.mp4"), ("sheet", "a.png"), ("frames", "a")])
def test_exception_aborts_and_keeps_existing_output(tmp_path: Path, fmt: str, name: str) -> None:
    target = tmp_path / name
    if fmt == "frames":
        target.mkdir()
        (target / "frame-00000.png").write_bytes(b"old")
    else:
        target.write_bytes(b"old")
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(RuntimeError, match="stop"), open_writer(fmt, target, n_frames=4, grid=GRID) as writer:
        for frame in make_frames(2):
            writer.add(frame)
        raise RuntimeError("stop")
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    old = target / "frame-00000.png" if fmt == "frames" else target
    assert old.read_bytes() == b"old"


def test_close_checks_count_and_state(tmp_path: Path) -> None:
    writer = open_writer("gif", tmp_path / "a.gif", n_frames=2, grid=GRID)
    with pytest.raises(ValueError, match="shape"):
        writer.add(np.zeros((3, 3, 4), np.uint8))
    writer.add(make_frames(1)[0])
    with pytest.raises(ValueError, match="expected 2 frames, got 1"):
        writer.close()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="aborted"):
        writer.add(make_frames(1)[0])


def test_close_is_idempotent(tmp_path: Path) -> None:
    writer = open_writer("gif", tmp_path / "a.gif", n_frames=1, grid=GRID)
    writer.add(make_frames(1)[0])
    assert writer.close() is writer.close()
    writer.abort()  # after close: does nothing
    assert (tmp_path / "a.gif").exists()


# --------------------------------------------------------------------------- threaded writer


class FailingWriter(FrameWriter):
    """Fails on the third frame; records whether it was aborted."""

    def __init__(self, path: Path) -> None:
        self.path, self.format, self.added, self.aborted = path, "test", 0, False

    def add(self, frame: np.ndarray) -> None:
        self.added += 1
        if self.added == 3:
            raise RuntimeError("encoder broke")

    def close(self) -> dict[str, object]:
        return {"path": str(self.path)}

    def abort(self) -> None:
        self.aborted = True


def test_threaded_writer_matches_plain_writer(tmp_path: Path) -> None:
    frames = make_frames(5)
    write_frames("gif", tmp_path / "a.gif", frames)
    with ThreadedWriter(open_writer("gif", tmp_path / "b.gif", n_frames=5, grid=GRID), maxsize=2) as writer:
        for frame in frames:
            writer.add(frame)
            frame[...] = 0  # the producer may reuse its buffer
    assert writer.summary is not None and writer.summary["frames"] == 5
    assert (tmp_path / "a.gif").read_bytes() == (tmp_path / "b.gif").read_bytes()


def test_threaded_writer_propagates_worker_error(tmp_path: Path) -> None:
    inner = FailingWriter(tmp_path / "x")
    writer = ThreadedWriter(inner, maxsize=1)
    with pytest.raises(RuntimeError, match="encoder broke"):
        for frame in make_frames(6):
            writer.add(frame)
        writer.close()
    assert inner.aborted


def test_threaded_writer_abort(tmp_path: Path) -> None:
    target = tmp_path / "a.mp4"
    target.write_bytes(b"old")
    writer = ThreadedWriter(open_writer("mp4", target, n_frames=10, grid=GRID))
    for frame in make_frames(3):
        writer.add(frame)
    writer.abort()
    assert [p.name for p in tmp_path.iterdir()] == ["a.mp4"] and target.read_bytes() == b"old"


def test_options_accept_numpy_scalars() -> None:
    options = WriterOptions(scale=np.int64(3), fps=np.float32(12.5))  # type: ignore[arg-type]
    assert type(options.scale) is int and type(options.fps) is float


@pytest.mark.usefixtures("keep_p_mode")
def test_opaque_gif_stores_only_the_changed_rectangle(tmp_path: Path) -> None:
    grid = (12, 10)
    base = np.full((*grid, 4), 255, np.uint8)
    base[..., :3] = (20, 40, 200)
    changed = base.copy()
    changed[3:5, 6:9, :3] = (250, 10, 10)  # rows 3-4, columns 6-8
    frames = [base, changed, base]
    write_frames("gif", tmp_path / "a.gif", frames, scale=2, fps=10)
    data = (tmp_path / "a.gif").read_bytes()
    descriptors = []
    pos = data.find(b"\x21\xf9\x04")
    while pos != -1:  # each frame: graphic control extension, then its image descriptor
        left, top, width, height = struct.unpack("<HHHH", data[pos + 9 : pos + 17])
        descriptors.append((left, top, width, height))
        pos = data.find(b"\x21\xf9\x04", pos + 17)
    assert descriptors == [(0, 0, 20, 24), (12, 6, 6, 4), (12, 6, 6, 4)]
    images, durations = gif_frames(tmp_path / "a.gif")
    assert durations == [100, 100, 100]
    for image, frame in zip(images, frames, strict=True):
        assert np.array_equal(np.asarray(image.convert("RGB")), upscale(frame, 2)[..., :3])


# --------------------------------------------------------------------------- the table of formats


def test_every_format_in_the_table_has_its_writer() -> None:
    from ncarender.writers.formats import FORMATS, TABLE, format_from_path, output_name

    for record in TABLE:
        assert record.writer_class().format == record.name
    assert FORMATS == ("gif", "mp4", "sheet", "frames", "webp", "apng")
    assert [format_from_path(Path(f"x{f.suffix}")) for f in TABLE if f.name in FORMATS] == list(FORMATS)
    assert [output_name(42, f) for f in FORMATS] == [
        "seed-0042.gif",
        "seed-0042.mp4",
        "seed-0042.png",
        "seed-0042-frames",
        "seed-0042.webp",
        "seed-0042.apng",
    ]


@pytest.mark.parametrize(
    ("fmt", "grid", "scale", "fragment"),
    [
        ("gif", (1, 65_536), 1, "GIF stores at most 65,535 pixels a side"),
        ("gif", (2, 21_846), 3, "GIF stores at most 65,535 pixels a side"),
        ("mp4", (2, 16_385), 1, "MP4 stores at most 16,384 pixels a side"),  # padded to 16,386
        ("webp", (2, 8_192), 2, "WebP stores at most 16,383 pixels a side"),
        ("apng", (4, 4), 2**20, "GiB; only"),
        ("sheet", (4, 4), 2**20, "sheet stores at most 16,384 pixels a side"),
        ("sheet", (40, 40), 100, "sheet stores at most 16,384 pixels a side"),  # 8x8 frames: 32,000 px
        ("png", (40, 40), 410, "PNG still stores at most 16,384 pixels a side"),
        ("frames", (4, 4), 2**20, "GiB; only"),
        ("gallery", (4, 4), 1, "unknown output format 'gallery'"),  # tiles, not one seed's frames
        ("html", (4, 4), 1, "unknown output format 'html'"),  # runs the model itself, no frames
    ],
)
def test_outputs_the_format_cannot_hold_are_refused_on_open(
    tmp_path: Path, fmt: str, grid: tuple[int, int], scale: int, fragment: str
) -> None:
    suffixes = {"gif": ".gif", "mp4": ".mp4", "sheet": ".png", "png": ".png", "gallery": ".png", "html": ".html"}
    suffix = {**suffixes, "webp": ".webp", "apng": ".apng"}.get(fmt, "")
    with pytest.raises(NCAError, match=fragment):
        open_writer(fmt, tmp_path / f"o{suffix}", n_frames=201, grid=grid, options=WriterOptions(scale=scale))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", ["gif", "frames"])
def test_a_full_disk_is_one_error_and_keeps_what_was_there(
    tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    target = tmp_path / ("out.gif" if fmt == "gif" else "out")
    if fmt == "gif":
        target.write_bytes(b"old")
    else:
        target.mkdir()
        (target / "frame-0000.png").write_bytes(b"old")

    def full(self: object, fp: object, *args: object, **kwargs: object) -> None:
        Path(str(fp)).write_text("partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    if fmt == "gif":
        monkeypatch.setattr(Path, "write_bytes", lambda self, data: full(self, self))
    else:
        monkeypatch.setattr(Image.Image, "save", full)
    frames = [np.full((6, 5, 4), 40 * i, np.uint8) for i in range(3)]
    with pytest.raises(NCAError, match=rf"cannot write '{target}': No space left on device"):
        write_frames(fmt, target, frames)
    kept = target.read_bytes() if fmt == "gif" else (target / "frame-0000.png").read_bytes()
    assert kept == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]
