"""The live page of a hex model: the graph read (six-neighbour max), the JS step against onnxruntime in Chromium,
exact symmetry with orbit masks, the picture drawn with the one mapping, and the erase round in the picture."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from ncarender.lattice import hex_orbits
from ncarender.lattice.hex_view import cell_offsets, render_view
from ncarender.runtime import MaskStream, open_model, roll_out
from ncarender.spec import RenderSpec
from ncarender.writers.html import read_step, write_page

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytest.importorskip("torch")
GRID = (21, 21)


def _export(folder: Path, code_channels: int) -> Path:
    """A random hex model of the hex trainer (alpha grows), exported with its metadata (lattice hex, orbit masks)."""
    from hexmodel import hex_checkpoint

    from ncarender.train.export import export_checkpoint

    folder.mkdir(parents=True, exist_ok=True)
    return export_checkpoint(hex_checkpoint(folder, code_channels), folder / "hex.onnx", steps=10).path


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    root = tmp_path_factory.mktemp("hexpage")
    return {d: _export(root / f"d{d}", d) for d in (0, 3)}


@pytest.mark.parametrize("codes", [0, 3])
def test_read_step_reproduces_onnxruntime(models: dict[int, Path], codes: int) -> None:
    weights = read_step(models[codes])
    assert weights.lattice == "hex" and weights.mask_kind == "orbit" and weights.code_channels == codes
    session = open_model(models[codes], provider="cpu", quiet=True)
    rng = np.random.default_rng(1)
    x = rng.random((2, session.info.channels, 13, 11), dtype=np.float32)
    mask = (rng.random((2, 1, 13, 11)) < 0.5).astype(np.float32)
    np.testing.assert_allclose(weights.step(x, mask), session.step(x, mask), atol=1e-5)


def _open(page: Page, model: Path, folder: Path, background: str = "transparent") -> None:
    path = write_page(model, folder / "hex.html", size=GRID, background=background).path
    page.goto(path.as_uri())
    page.wait_for_function("() => window.ncarender !== undefined")
    page.evaluate("() => { ncarender.pause(); ncarender.reset(); }")


def _state(page: Page, channels: int) -> np.ndarray:
    flat = page.evaluate("() => Array.from(ncarender.state())")
    return np.asarray(flat, dtype=np.float32).reshape(channels, *GRID)


@pytest.mark.parametrize("codes", [0, 3])
def test_page_grows_as_the_runtime_with_orbit_masks(
    page: Page, models: dict[int, Path], codes: int, tmp_path: Path
) -> None:
    """The host's orbit masks of seed 0 fed to the page: its state after 30 steps is the runtime's (which gathers
    each step too), and exactly symmetric."""
    session = open_model(models[codes], provider="cpu", quiet=True)
    channels = session.info.channels
    _open(page, models[codes], tmp_path)
    stream = MaskStream([0], *GRID, session.info.fire_rate, orbits=hex_orbits(*GRID))
    masks = ["".join("1" if v else "0" for v in stream.next()[0, 0].reshape(-1)) for _ in range(30)]
    page.evaluate("(m) => ncarender.setMasks(m)", masks)
    assert page.evaluate("() => ncarender.step(30)") == 30
    got = _state(page, channels)
    *_, (_, want) = roll_out(session, RenderSpec(seeds=(0,), steps=30, every=30, size=GRID), include_seed_frame=False)
    assert (want[0, 3] > 0.1).sum() > 7  # it grew past the seed's neighbours
    assert np.abs(got - want[0]).max() <= 1e-4
    flat = got.reshape(channels, -1)
    assert np.array_equal(flat, flat[:, hex_orbits(*GRID)])  # six-fold, bit for bit


def test_page_step_from_a_dense_state_matches_onnxruntime(page: Page, models: dict[int, Path], tmp_path: Path) -> None:
    """Every cell and the borders: a random state and per-cell masks (a set state is not symmetrised)."""
    session = open_model(models[3], provider="cpu", quiet=True)
    channels = session.info.channels
    _open(page, models[3], tmp_path)
    rng = np.random.default_rng(4)
    x = rng.uniform(-0.3, 0.6, size=(1, channels, *GRID)).astype(np.float32)
    x[:, -3:] = np.abs(x[:, -3:])
    x[:, :, 8:10] = 0.0  # a dead band
    masks = (rng.random((12, 1, 1, *GRID)) < 0.5).astype(np.float32)
    page.evaluate("(s) => ncarender.setState(s)", x[0].reshape(-1).tolist())
    page.evaluate("(m) => ncarender.setMasks(m)", ["".join("1" if v else "0" for v in m.reshape(-1)) for m in masks])
    page.evaluate("() => ncarender.step(12)")
    want = x
    for m in masks:
        want = session.step(want, m)
    got = _state(page, channels)
    assert np.abs(got - want[0]).max() <= 1e-4 * max(1.0, float(np.abs(want).max()))


def test_page_draws_the_picture_and_erases_a_round_disc(page: Page, models: dict[int, Path], tmp_path: Path) -> None:
    session = open_model(models[0], provider="cpu", quiet=True)
    _open(page, models[0], tmp_path)
    page.evaluate("() => ncarender.step(40)")
    state = _state(page, session.info.channels)
    pixels = page.evaluate(
        "() => { const c = document.getElementById('grid'); ncarender.draw();"
        " return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); }"
    )
    drawn = np.asarray(pixels, dtype=np.int16).reshape(*GRID, 4)
    want = render_view(GRID, 1).rgba(state[None], None)[0].astype(np.int16)
    seen = want[..., 3] > 0  # the canvas stores premultiplied colour: compare where it is not clear
    assert seen.sum() > 10
    assert np.abs(drawn[..., 3] - want[..., 3]).max() <= 1
    assert np.abs(drawn[seen & (want[..., 3] > 128)] - want[seen & (want[..., 3] > 128)]).max() <= 2
    # erase a disc of radius 3 around picture point (12, 9): exactly the cells whose centre lies within it
    before = state[3] != 0
    erased = page.evaluate("() => ncarender.damage(12, 9, 3)")
    after = _state(page, session.info.channels)[3] != 0
    down, right = cell_offsets(*GRID)
    inside = np.hypot(right + 10.0 - 12, down + 10.0 - 9) <= 3  # the seed cell's centre is picture point (10, 10)
    assert erased >= (before & inside).sum() > 0  # (it counts the cells of its box in the disc, live or not)
    assert not (after & inside).any() and np.array_equal(after & ~inside, before & ~inside)
    # round in the picture: as many cells across as down
    rows, cols = np.nonzero(inside)
    ys = (down + 10.0)[rows, cols]
    xs = (right + 10.0)[rows, cols]
    assert abs((ys.max() - ys.min()) - (xs.max() - xs.min())) < 1.5
