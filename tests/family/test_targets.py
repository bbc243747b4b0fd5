"""Targets: any image becomes a premultiplied, padded (4, H, W) grid; the built-in snowflake ships."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ncarender.errors import NCAError
from ncarender.family.targets import load_target, target_from_png_bytes, target_to_png_bytes


def test_builtin_snowflake() -> None:
    t = load_target("snowflake")
    assert t.shape == (4, 72, 72) and t.dtype == np.float32
    assert t[3, :16].max() == 0 and t[3, 56:].max() == 0  # the 16-cell padding is empty
    assert 500 < (t[3] > 0.5).sum() < 1600  # a real shape, not a blob or nothing
    assert (t[:3] <= t[3:4] + 1e-6).all()  # premultiplied: colour never exceeds alpha
    blue_minus_red = (t[2] - t[0])[t[3] > 0.5].mean()
    assert blue_minus_red > 0.05  # icy blue


@pytest.mark.parametrize(("fmt", "mode"), [("JPEG", "RGB"), ("PNG", "RGBA"), ("WEBP", "RGBA"), ("PNG", "L")])
def test_image_formats(tmp_path: Path, fmt: str, mode: str) -> None:
    colour = {"RGB": (255, 0, 0), "RGBA": (255, 0, 0, 128), "L": 255}[mode]
    path = tmp_path / f"t.{fmt.lower()}"
    Image.new(mode, (20, 10), colour).save(path, format=fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    t = load_target(path, size=8, pad=2)
    assert t.shape == (4, 12, 12)
    # Wider than tall: 8x4 cells, centred vertically in the 8x8 square.
    assert t[3, 2:4].max() == 0 and t[3, 9:].max() == 0
    alpha = t[3, 6, 6]
    assert alpha == pytest.approx(1.0 if mode != "RGBA" else 128 / 255, abs=0.02)
    if mode != "L":
        assert t[0, 6, 6] == pytest.approx(alpha, abs=0.02) and t[1, 6, 6] == pytest.approx(0, abs=0.02)


def test_png_round_trip_of_the_stored_target() -> None:
    t = load_target("snowflake")
    back = target_from_png_bytes(target_to_png_bytes(t))
    np.testing.assert_allclose(back, t, atol=2 / 255)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "neither an existing file nor a built-in target"),
        (lambda p: p.write_bytes(b"\x89PNG not really"), "cannot read target image"),
        (lambda p: p.mkdir(), "is a folder"),
    ],
)
def test_bad_targets(tmp_path: Path, make, message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "t.png"
    make(path)
    with pytest.raises(NCAError, match=message):
        load_target(path)


def test_bad_sizes() -> None:
    with pytest.raises(NCAError, match="at least 4"):
        load_target("snowflake", size=2)
    with pytest.raises(NCAError, match="negative"):
        load_target("snowflake", pad=-1)
