"""``--loop pingpong`` in the writers: decoded, each animated format plays frames 0..F-1 then F-2..1, holds the
turn, and sprite sheets and PNG frames keep each frame once."""

from __future__ import annotations

from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image, ImageSequence

from ncarender.writers import WriterOptions, write_output
from ncarender.writers.pingpong import played_frames

GRID = (4, 6)  # (H, W)
#: One solid, opaque colour per rendered frame, far apart so that no encoder mixes them up.
COLOURS = [(250, 10, 10), (10, 250, 10), (10, 10, 250), (250, 250, 10), (10, 250, 250)]


def solid_frames(n: int = len(COLOURS)) -> list[np.ndarray]:
    """``n`` opaque uint8 ``(H, W, 4)`` frames, frame ``i`` all ``COLOURS[i]``."""
    return [np.broadcast_to(np.array([*COLOURS[i], 255], np.uint8), (*GRID, 4)).copy() for i in range(n)]


def which(image: Image.Image) -> int:
    """The index of the colour a decoded frame shows (its centre pixel, nearest of :data:`COLOURS`)."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.int32)[image.height // 2, image.width // 2]
    return int(np.argmin([np.abs(rgb - np.array(c)).sum() for c in COLOURS]))


def write(tmp_path: Path, fmt: str, name: str, n: int = len(COLOURS), **options: object) -> dict[str, object]:
    kw: dict[str, object] = {"scale": 2, "fps": 20.0, "hold": 0.5, "pingpong": True}
    kw.update(options)
    opts = WriterOptions(**kw)  # type: ignore[arg-type]
    return write_output(fmt, tmp_path / name, solid_frames(n), n_frames=n, grid=GRID, options=opts)


def test_played_frames() -> None:
    assert [played_frames(n) for n in (1, 2, 3, 5)] == [1, 2, 4, 8]


@pytest.mark.parametrize(("fmt", "name"), [("gif", "a.gif"), ("webp", "a.webp"), ("apng", "a.apng")])
def test_animations_play_forward_then_back_and_hold_the_turn(tmp_path: Path, fmt: str, name: str) -> None:
    summary = write(tmp_path, fmt, name)
    assert summary["pingpong"] is True and summary["rendered_frames"] == 5 and summary["frames"] == 8
    with Image.open(tmp_path / name) as im:
        order, durations = [], []
        for frame in ImageSequence.Iterator(im):
            order.append(which(frame))
            durations.append(frame.info["duration"])
    assert order == [0, 1, 2, 3, 4, 3, 2, 1]
    assert durations == [50, 50, 50, 50, 550, 50, 50, 50]  # the hold where it turns, not on the last frame
    assert summary["duration_ms"] == pytest.approx(8 * 50 + 500)


def test_mp4_plays_forward_then_back_and_holds_the_turn(tmp_path: Path) -> None:
    summary = write(tmp_path, "mp4", "a.mp4", hold=0.25)  # 5 frames held at 20 fps
    assert summary["frames"] == 8 + 5 and summary["rendered_frames"] == 5
    reader = imageio_ffmpeg.read_frames(str(tmp_path / "a.mp4"))
    meta = next(reader)
    width, height = meta["size"]
    order = [which(Image.frombytes("RGB", (width, height), bytes(buf))) for buf in reader]
    assert order == [0, 1, 2, 3, 4, 4, 4, 4, 4, 4, 3, 2, 1]


def test_forward_is_unchanged_and_one_frame_stays_one(tmp_path: Path) -> None:
    forward = write(tmp_path, "gif", "f.gif", pingpong=False)
    assert forward["frames"] == 5 and "pingpong" not in forward
    with Image.open(tmp_path / "f.gif") as im:
        assert [which(f) for f in ImageSequence.Iterator(im)] == [0, 1, 2, 3, 4]
    one = write(tmp_path, "gif", "one.gif", n=1)
    assert one["frames"] == 1 and one["rendered_frames"] == 1


def test_smooth_scaling_plays_the_same_order(tmp_path: Path) -> None:
    write(tmp_path, "webp", "s.webp", resample="smooth", scale=3)
    with Image.open(tmp_path / "s.webp") as im:
        assert im.size == (18, 12)
        assert [which(f) for f in ImageSequence.Iterator(im)] == [0, 1, 2, 3, 4, 3, 2, 1]


@pytest.mark.parametrize(("fmt", "name"), [("frames", "f"), ("sheet", "s.png")])
def test_sheets_and_frames_keep_each_frame_once(tmp_path: Path, fmt: str, name: str) -> None:
    summary = write(tmp_path, fmt, name, hold=0.0)
    assert summary["rendered_frames"] == 5 and "pingpong" not in summary
    if fmt == "frames":
        assert len(list((tmp_path / name).glob("frame-*.png"))) == 5


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    frames = solid_frames()
    opts = WriterOptions(pingpong=True)
    with pytest.raises(ValueError, match="expected 5 frames, got 4"):
        write_output("gif", tmp_path / "a.gif", frames[:4], n_frames=5, grid=GRID, options=opts)
    assert list(tmp_path.iterdir()) == []
