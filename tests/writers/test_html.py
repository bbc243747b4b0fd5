"""The live HTML page: the Python side (reading the step, building, refusing) and the page in headless Chromium.

The browser tests compare the page's step with onnxruntime's on the same update masks, and drive the page
as a visitor would (pointer, keyboard), through its hook ``window.ncarender``.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from conftest import tiny_target
from onnx import TensorProto, helper, numpy_helper

from ncarender.errors import NCAError
from ncarender.metadata import parse_metadata
from ncarender.runtime import initial_states
from ncarender.writers.html import build_page, read_step, write_page

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

SHIPPED = Path(__file__).resolve().parents[2] / "ncarender" / "models" / "snowflake.onnx"
DOCS_PNG = Path(__file__).resolve().parents[2] / "docs" / "page.png"
MAX_PAGE_BYTES = 150_000


# ---------------------------------------------------------------- models and references


@pytest.fixture(scope="module")
def generic_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model with other channel and hidden counts (8, 24), trained briefly and exported."""
    torch = pytest.importorskip("torch")
    from ncarender.train.export import export_checkpoint
    from ncarender.train.loop import TrainConfig, train
    from ncarender.train.model import NCAConfig

    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("generic")
    cfg = TrainConfig(
        mode="grow", iterations=20, batch_size=4, steps_min=12, steps_max=16, seed=5, checkpoint_every=100
    )
    train(tiny_target(), folder / "g.pt", config=cfg, model_config=NCAConfig(channels=8, hidden=24), target_name="plus")
    return export_checkpoint(folder / "g.pt", folder / "g.onnx", steps=16).path


def ort_rollout(model: Path, state: np.ndarray, masks: np.ndarray) -> list[np.ndarray]:
    """onnxruntime's states ``(C, H, W)`` after each of the masks ``(T, H, W)``, from ``state`` ``(C, H, W)``."""
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    x, out = state[None].astype(np.float32), []
    for mask in masks:
        x = session.run(["next_state"], {"state": x, "mask": mask[None, None].astype(np.float32)})[0]
        out.append(x[0])
    return out


def random_masks(steps: int, height: int, width: int, *, seed: int = 0, rate: float = 0.5) -> np.ndarray:
    return (np.random.default_rng(seed).random((steps, height, width)) < rate).astype(np.uint8)


def as_strings(masks: np.ndarray) -> list[str]:
    """Masks ``(T, H, W)`` of 0/1 as the page's compact form: one string of '0'/'1' per step."""
    return ["".join("1" if v else "0" for v in m.reshape(-1)) for m in masks]


def alive(state: np.ndarray, threshold: float = 0.1) -> np.ndarray:
    """Boolean ``(H, W)``: 3x3 max-pool of alpha above the threshold."""
    a = np.pad(state[3], 1, constant_values=-np.inf)
    h, w = state.shape[1:]
    return np.max([a[dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3)], axis=0) > threshold


def foreign_graph(path: Path, *, metadata: dict[str, str] | None = None) -> Path:
    """A valid step model (state, mask -> next_state) that is not an NCA, optionally with metadata."""
    state = helper.make_tensor_value_info("state", TensorProto.FLOAT, ["N", 16, "H", "W"])
    mask = helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["N", 1, "H", "W"])
    out = helper.make_tensor_value_info("next_state", TensorProto.FLOAT, ["N", 16, "H", "W"])
    nodes = [
        helper.make_node("Mul", ["state", "mask"], ["sm"]),
        helper.make_node("Sub", ["state", "sm"], ["next_state"]),
    ]
    model = helper.make_model(
        helper.make_graph(nodes, "foreign", [state, mask], [out]), opset_imports=[helper.make_opsetid("", 17)]
    )
    for key, value in (metadata or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))
    return path


def shipped_metadata() -> dict[str, str]:
    return {p.key: p.value for p in onnx.load(str(SHIPPED)).metadata_props}


# ---------------------------------------------------------------- Python side


@pytest.mark.parametrize("which", ["shipped", "generic"])
def test_read_step_reproduces_onnxruntime(which: str, request: pytest.FixtureRequest) -> None:
    """The weights read from the graph, run by the numpy reference step, give onnxruntime's rollout."""
    model = SHIPPED if which == "shipped" else request.getfixturevalue("generic_onnx")
    weights = read_step(model)
    height, width = weights.grid
    masks = random_masks(40, height, width, seed=1)
    state = initial_states(1, weights.channels, height, width)[0]
    expected = ort_rollout(model, state, masks)[-1]
    x = state[None]
    for m in masks:
        x = weights.step(x, m[None, None].astype(np.float32))
    assert np.abs(x[0] - expected).max() < 1e-5
    assert weights.w1.shape == (weights.hidden, 3 * weights.channels)


def test_page_is_self_contained_and_small(tmp_path: Path) -> None:
    result = write_page(SHIPPED, tmp_path / "s.html")
    text = result.path.read_text(encoding="utf-8")
    assert result.bytes == result.path.stat().st_size <= MAX_PAGE_BYTES
    assert result.grid == (72, 72) and (result.channels, result.hidden) == (16, 128)
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/|@import|url\(", text, re.IGNORECASE)
    assert not re.search(r"<(script|img|iframe|link|source)[^>]*\ssrc=", text, re.IGNORECASE)
    assert "default-src 'none'" in text  # the Content-Security-Policy forbids any request


def test_existing_page_replaced_only_when_complete(tmp_path: Path) -> None:
    out = tmp_path / "page.html"
    out.write_text("old")
    with pytest.raises(NCAError):
        write_page(foreign_graph(tmp_path / "f.onnx"), out)
    assert out.read_text() == "old"
    write_page(SHIPPED, out)
    assert out.read_text(encoding="utf-8").startswith("<!doctype html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.onnx", "page.html"]  # no temporary left


def _computed_weights(path: Path) -> Path:
    """The shipped graph with its first layer's weights computed (Mul of two constants), not stored."""
    model = onnx.load(str(SHIPPED))
    conv = next(n for n in model.graph.node if n.op_type == "Conv" and len(n.input) == 3)
    one = helper.make_tensor("one_", TensorProto.FLOAT, [], [1.0])
    model.graph.initializer.append(one)
    model.graph.node.insert(0, helper.make_node("Mul", [conv.input[1], "one_"], ["w1_computed"]))
    conv.input[1] = "w1_computed"
    onnx.save(model, str(path))
    return path


def _nan_weights(path: Path) -> Path:
    model = onnx.load(str(SHIPPED))
    w2 = next(t for t in model.graph.initializer if t.name == "model.w2.weight")
    values = numpy_helper.to_array(w2).copy()
    values[0, 0] = np.nan
    w2.CopyFrom(numpy_helper.from_array(values, w2.name))
    onnx.save(model, str(path))
    return path


def _other_threshold(path: Path) -> Path:
    model = onnx.load(str(SHIPPED))
    for entry in model.metadata_props:
        if entry.key == "ncarender.alive_threshold":
            entry.value = "0.2"
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: foreign_graph(p), "no ncarender metadata"),
        (lambda p: foreign_graph(p, metadata=shipped_metadata()), "uses Sub"),
        (_computed_weights, "computed in the graph"),
        (_other_threshold, "alive threshold"),
        (_nan_weights, "NaN or infinity"),
        (lambda p: p.with_name("missing.onnx"), "does not exist"),
        (lambda p: (p.write_bytes(b"not onnx"), p)[1], "not a readable ONNX model"),
    ],
)
def test_models_the_page_cannot_run_are_refused(make: Callable[[Path], Path], message: str, tmp_path: Path) -> None:
    model = make(tmp_path / "m.onnx")
    with pytest.raises(NCAError, match=message) as err:
        write_page(model, tmp_path / "out.html")
    assert "\n" not in str(err.value)
    assert not (tmp_path / "out.html").exists()


def test_float16_model_is_refused(tiny_checkpoint: Path, tmp_path: Path) -> None:
    from ncarender.train.export import export_checkpoint

    half = export_checkpoint(tiny_checkpoint, tmp_path / "tiny.fp16.onnx", steps=8, half=True).path
    with pytest.raises(NCAError, match="float16 model; the page runs float32 models only"):
        write_page(half, tmp_path / "out.html")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"out": "page.txt"}, "should end in .html"),
        ({"out": "missing/page.html"}, "does not exist"),
        ({"out": "."}, "should end in .html"),
        ({"out": "folder.html"}, "is a folder"),
        ({"seed": -1}, "seed"),
        ({"scale": 0}, "scale"),
        ({"size": (2, 72)}, "grid size"),
        ({"steps_per_second": 0}, "--speed must be a number above 0 and at most 1,000, got 0"),
        ({"background": "plaid"}, "unknown background"),
        ({"flake": 3}, "family model"),
    ],
)
def test_bad_options_are_one_line(kwargs: dict[str, object], message: str, tmp_path: Path) -> None:
    (tmp_path / "folder.html").mkdir()
    out = tmp_path / str(kwargs.pop("out", "page.html"))
    with pytest.raises(NCAError, match=message) as err:
        write_page(SHIPPED, out, **kwargs)  # type: ignore[arg-type]
    assert "\n" not in str(err.value)


#: Target names that hold the template's placeholders, or text that must be escaped in the title or the config.
AWKWARD_NAMES = ["/*@CONFIG@*/", "<!--@TITLE@--> /*@BACKGROUND@*/ /*@NCA_JS@*/ /*@PAGE_JS@*/", "a </script> & <b>"]


def page_config(text: str) -> dict[str, object]:
    """The page's inlined config (``<script type="application/json" id="nca-config">``)."""
    found = re.search(r'<script type="application/json" id="nca-config">(.*?)</script>', text, re.DOTALL)
    assert found is not None
    config: dict[str, object] = json.loads(found.group(1))
    return config


@pytest.mark.parametrize("name", AWKWARD_NAMES)
def test_a_target_name_is_inserted_as_it_is(name: str) -> None:
    """Placeholders are substituted in one pass: a name that holds one is text, never a place to fill."""
    text = build_page(replace(read_step(SHIPPED), target_name=name))
    assert page_config(text)["title"] == name
    assert f"<title>{html.escape(name)} — a live neural cellular automaton</title>" in text
    plain = build_page(replace(read_step(SHIPPED), target_name="x"))
    assert text.count("class NCA") == plain.count("class NCA") == 1  # nca.js once
    assert text.count("--bg: #ffffff;") == 1


# ---------------------------------------------------------------- in the browser


@pytest.fixture(scope="module")
def shipped_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_page(SHIPPED, tmp_path_factory.mktemp("page") / "snowflake.html").path


def open_page(page: Page, path: Path) -> None:
    """Load the page, stop the clock and go back to step 0 (the animation may have stepped already)."""
    page.goto(path.as_uri())
    page.wait_for_function("() => window.ncarender !== undefined")
    page.evaluate("() => { ncarender.pause(); ncarender.reset(); }")


def page_state(page: Page) -> np.ndarray:
    info = page.evaluate("() => ncarender.info")
    flat = page.evaluate("() => Array.from(ncarender.state())")
    return np.asarray(flat, dtype=np.float32).reshape(
        info["channels"] + info["codeChannels"], info["height"], info["width"]
    )


def test_page_matches_onnxruntime_for_20_steps(page: Page, shipped_page: Path) -> None:
    open_page(page, shipped_page)
    masks = random_masks(20, 72, 72, seed=2)
    expected = ort_rollout(SHIPPED, initial_states(1, 16, 72, 72)[0], masks)[-1]
    page.evaluate("(m) => ncarender.setMasks(m)", as_strings(masks))
    assert page.evaluate("() => ncarender.step(20)") == 20
    got = page_state(page)
    assert np.abs(got - expected).max() <= 1e-4
    assert alive(expected).sum() > 20  # it grew: the comparison is not of two empty grids


def test_generic_model_matches_onnxruntime(page: Page, generic_onnx: Path, tmp_path: Path) -> None:
    """Other channel and hidden counts; from a dense random state, so every cell and the borders are exercised."""
    path = write_page(generic_onnx, tmp_path / "g.html", size=(12, 20)).path
    open_page(page, path)
    assert page.evaluate("() => ncarender.info")["channels"] == 8
    rng = np.random.default_rng(4)
    state = rng.uniform(-0.3, 0.6, size=(8, 12, 20)).astype(np.float32)
    state[:, 5:7, :] = 0.0  # a dead band: cells that must stay zero
    masks = random_masks(20, 12, 20, seed=3)
    expected = ort_rollout(generic_onnx, state, masks)
    page.evaluate("(s) => ncarender.setState(s)", state.reshape(-1).tolist())
    page.evaluate("(m) => ncarender.setMasks(m)", as_strings(masks))
    page.evaluate("() => ncarender.step(20)")
    got = page_state(page)
    scale = max(1.0, float(np.abs(expected[-1]).max()))
    assert np.abs(got - expected[-1]).max() <= 1e-4 * scale


def test_alive_mask_after_300_steps(page: Page, shipped_page: Path) -> None:
    open_page(page, shipped_page)
    masks = random_masks(300, 72, 72, seed=5)
    expected = alive(ort_rollout(SHIPPED, initial_states(1, 16, 72, 72)[0], masks)[-1])
    page.evaluate("(m) => ncarender.setMasks(m)", as_strings(masks))
    page.evaluate("() => ncarender.step(300)")
    got = alive(page_state(page))
    iou = (got & expected).sum() / (got | expected).sum()
    assert iou >= 0.95, iou


def test_erased_flake_regrows(page: Page, shipped_page: Path) -> None:
    """Grow 200 steps, erase a disc, 200 more: the RGBA error to the target is within 2x the undamaged run's."""
    target = parse_metadata(shipped_metadata(), source="shipped").target()
    assert target is not None

    def mse(state: np.ndarray) -> float:
        return float(((np.clip(state[:4], 0.0, 1.0) - target) ** 2).mean())

    open_page(page, shipped_page)
    page.evaluate("() => ncarender.step(400)")
    undamaged = mse(page_state(page))
    page.evaluate("() => { ncarender.reset(); ncarender.step(200); }")
    erased = page.evaluate("() => ncarender.damage(44, 30, 10)")
    assert erased > 250
    damaged = mse(page_state(page))
    page.evaluate("() => ncarender.step(200)")
    regrown = mse(page_state(page))
    assert damaged > 2 * undamaged  # the damage was real
    assert regrown <= 2 * undamaged, (undamaged, damaged, regrown)


def test_page_makes_no_requests(browser: BrowserContext, shipped_page: Path) -> None:
    tab = browser.new_page()
    urls: list[str] = []
    tab.on("request", lambda r: urls.append(r.url))
    tab.goto(shipped_page.as_uri())
    tab.wait_for_timeout(600)  # it runs: steps, draws, resizes
    tab.set_viewport_size({"width": 420, "height": 380})
    box = tab.locator("canvas").bounding_box()
    assert box is not None
    tab.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    tab.get_by_role("button", name="Reset").click()
    tab.wait_for_timeout(300)
    running = tab.evaluate("() => ncarender.stepCount")
    tab.close()
    assert urls == [shipped_page.as_uri()]
    assert running > 0  # it was live while we listened


def test_pointer_drag_erases_and_double_click_plants(page: Page, shipped_page: Path) -> None:
    open_page(page, shipped_page)
    page.evaluate("() => ncarender.step(150)")
    before = page_state(page)
    box = page.locator("canvas").bounding_box()
    assert box is not None

    def at(x: float, y: float) -> tuple[float, float]:  # cell centre -> page pixel
        return box["x"] + (x + 0.5) * box["width"] / 72, box["y"] + (y + 0.5) * box["height"] / 72

    page.mouse.move(*at(26, 36))
    page.mouse.down()
    page.mouse.move(*at(46, 36), steps=8)
    page.mouse.up()
    after = page_state(page)
    assert np.all(after[:, 36, 26:47] == 0)  # the dragged line is erased ...
    assert alive(before)[36, 28:44].all()
    assert (after[3] > 0.1).sum() < (before[3] > 0.1).sum() - 100  # ... with a brush, not a hairline
    page.evaluate("() => ncarender.setState(new Float32Array(16 * 72 * 72))")
    page.mouse.dblclick(*at(10, 60))
    planted = page_state(page)
    assert planted[3:, 60, 10].tolist() == [1.0] * 13 and planted[:3, 60, 10].tolist() == [0.0] * 3


def test_reduced_motion_starts_paused(browser: BrowserContext, shipped_page: Path) -> None:
    tab = browser.new_page()
    tab.emulate_media(reduced_motion="reduce")
    tab.goto(shipped_page.as_uri())
    tab.wait_for_timeout(400)
    assert tab.evaluate("() => [ncarender.paused, ncarender.stepCount]") == [True, 0]
    assert tab.get_by_role("button", name="Play").get_attribute("aria-pressed") == "true"
    tab.get_by_role("button", name="Play").click()
    tab.wait_for_function("() => ncarender.stepCount > 3")
    tab.close()


def test_controls_are_labelled_and_keyboard_reachable(page: Page, shipped_page: Path) -> None:
    page.goto(shipped_page.as_uri())
    for name in ("Pause", "Step", "Reset"):
        assert page.get_by_role("button", name=name).is_visible()
    speed = page.get_by_label("Speed")
    assert speed.get_attribute("type") == "range"
    assert page.get_by_role("img").get_attribute("aria-label")
    focused = []
    for _ in range(4):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("() => document.activeElement.id"))
    assert focused[:4] == ["play", "step", "reset", "speed"]
    page.locator("#speed").focus()
    for _ in range(3):
        page.keyboard.press("Shift+Tab")
    assert page.evaluate("() => document.activeElement.id") == "play"
    page.keyboard.press("Enter")  # a focused button works from the keyboard
    assert page.evaluate("() => ncarender.paused") is True
    page.locator("#speed").focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate("() => ncarender.speed") == 31
    assert page.locator("#speed-value").inner_text() == "31/s"
    page.evaluate("() => document.activeElement.blur()")
    count = page.evaluate("() => ncarender.stepCount")
    page.keyboard.press(".")
    assert page.evaluate("() => ncarender.stepCount") == count + 1
    page.keyboard.press("r")
    assert page.evaluate("() => ncarender.stepCount") == 0


def test_screenshot_and_backgrounds(page: Page, tmp_path: Path) -> None:
    """A screenshot of the grown flake (``NCARENDER_WRITE_DOCS=1`` saves it as docs/page.png), and transparency."""
    path = write_page(SHIPPED, tmp_path / "t.html", background="midnight").path
    page.set_viewport_size({"width": 480, "height": 440})
    open_page(page, path)
    page.evaluate("() => ncarender.step(200)")
    shot = tmp_path / "page.png"
    page.screenshot(path=str(shot))
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("RGB"))
    assert (np.abs(pixels.astype(int) - [12, 16, 32]).sum(axis=2) > 60).mean() > 0.03  # the flake shows
    if os.environ.get("NCARENDER_WRITE_DOCS") == "1":
        shutil.copyfile(shot, DOCS_PNG)
    clear = write_page(SHIPPED, tmp_path / "c.html", background="transparent").path
    open_page(page, clear)
    assert page.evaluate("() => document.body.classList.contains('checker')")
    corner = page.evaluate(
        "() => Array.from(document.querySelector('canvas').getContext('2d').getImageData(0, 0, 1, 1).data)"
    )
    assert corner == [0, 0, 0, 0]


def test_a_page_with_an_awkward_target_name_runs(page: Page, tmp_path: Path) -> None:
    name = " ".join(AWKWARD_NAMES)
    path = tmp_path / "awkward.html"
    path.write_text(build_page(replace(read_step(SHIPPED), target_name=name)), encoding="utf-8")
    open_page(page, path)
    assert page.title() == f"{name} — a live neural cellular automaton"
    page.evaluate("() => ncarender.step(5)")  # the page fixture fails the test on any script error


# ---------------------------------------------------------------- family (seed-conditioned) models


def family_seed(onnx_path: Path, flake: int, height: int, width: int) -> np.ndarray:
    """The seed state ``(C+D, H, W)`` of training flake ``flake``, as training makes it (``train.model.seed_state``)."""
    torch = pytest.importorskip("torch")
    from ncarender.train.model import seed_state

    info = parse_metadata({p.key: p.value for p in onnx.load(str(onnx_path)).metadata_props}, source="family")
    assert info.family is not None
    codes = torch.from_numpy(info.family.codes[flake : flake + 1])
    return seed_state(1, (height, width), info.channels - info.code_channels, codes)[0].numpy()


def test_read_step_reads_a_family_model(tiny_family_onnx: Path) -> None:
    """Codes, shapes, and the numpy reference step (relay included) against onnxruntime, for both flakes."""
    weights = read_step(tiny_family_onnx)
    info = parse_metadata({p.key: p.value for p in onnx.load(str(tiny_family_onnx)).metadata_props}, source="f")
    assert info.family is not None
    assert (weights.channels, weights.code_channels, weights.flakes, weights.hidden) == (16, 4, 2, 32)
    assert weights.codes is not None and np.array_equal(weights.codes, info.family.codes)
    assert weights.w1.shape == (32, 3 * 16 + 4)
    for flake in (0, 1):
        masks = random_masks(40, 16, 16, seed=10 + flake)
        start = family_seed(tiny_family_onnx, flake, 16, 16)
        expected = ort_rollout(tiny_family_onnx, start, masks)[-1]
        x = start[None]
        for m in masks:
            x = weights.step(x, m[None, None].astype(np.float32))
        assert np.abs(x[0] - expected).max() < 1e-5
        assert np.array_equal(x[0, 16:], expected[16:])


@pytest.mark.parametrize("flake", [0, 1])
def test_family_page_matches_onnxruntime(page: Page, tiny_family_onnx: Path, tmp_path: Path, flake: int) -> None:
    result = write_page(tiny_family_onnx, tmp_path / "f.html", flake=flake)
    assert (result.flake, result.flakes, result.code_channels) == (flake, 2, 4)
    open_page(page, result.path)
    assert page.evaluate("() => [ncarender.flake, ncarender.info.flakes, ncarender.info.codeChannels]") == [flake, 2, 4]
    start = family_seed(tiny_family_onnx, flake, 16, 16)
    assert np.array_equal(page_state(page), start)  # the seed carries flake k's code
    masks = random_masks(20, 16, 16, seed=20 + flake)
    expected = ort_rollout(tiny_family_onnx, start, masks)[-1]
    page.evaluate("(m) => ncarender.setMasks(m)", as_strings(masks))
    page.evaluate("() => ncarender.step(20)")
    got = page_state(page)
    assert np.abs(got - expected).max() <= 1e-4
    assert np.array_equal(got[16:], expected[16:])  # the relayed codes, exactly
    assert alive(expected).sum() > 20 and (expected[16:] > 0).any(axis=0).sum() > 20  # it grew, codes spread


def test_family_relay_is_exact_at_the_edges(page: Page, tiny_family_onnx: Path, tmp_path: Path) -> None:
    """From a dense random state with mostly negative codes: the relay's max-pool leaves the grid's edge out."""
    path = write_page(tiny_family_onnx, tmp_path / "f.html", size=(12, 20)).path
    open_page(page, path)
    rng = np.random.default_rng(6)
    state = rng.uniform(-0.3, 0.6, size=(20, 12, 20)).astype(np.float32)
    state[16:] = rng.uniform(-1.0, 0.1, size=(4, 12, 20))
    state[:, 5:7, :] = 0.0  # a dead band: cells that must stay zero
    masks = random_masks(20, 12, 20, seed=7)
    expected = ort_rollout(tiny_family_onnx, state, masks)
    assert (expected[0][16:, [0, -1]] < 0).any()  # after one step, edge cells whose relay is negative
    page.evaluate("(s) => ncarender.setState(s)", state.reshape(-1).tolist())
    page.evaluate("(m) => ncarender.setMasks(m)", as_strings(masks))
    for step in (1, 20):
        page.evaluate("(n) => ncarender.step(n)", step - page.evaluate("() => ncarender.stepCount"))
        got, want = page_state(page), expected[step - 1]
        assert np.abs(got - want).max() <= 1e-4 * max(1.0, float(np.abs(want).max()))
        assert np.array_equal(got[16:], want[16:])


def test_another_flake_cycles_flakes(page: Page, tiny_family_onnx: Path, tmp_path: Path) -> None:
    """The button (labelled, keyboard reachable), the n key, the hook's setFlake, and double-click planting."""
    codes = read_step(tiny_family_onnx).codes
    assert codes is not None
    path = write_page(tiny_family_onnx, tmp_path / "f.html", seed=4).path  # seed 4: flake 4 mod 2 = 0
    open_page(page, path)

    def centre_code() -> list[float]:
        return page_state(page)[16:, 8, 8].tolist()

    assert page.evaluate("() => ncarender.flake") == 0 and centre_code() == codes[0].tolist()
    button = page.get_by_role("button", name="Another flake")
    assert button.is_visible() and "flake 0" in (button.get_attribute("title") or "")
    page.evaluate("() => ncarender.step(5)")
    button.click()
    assert page.evaluate("() => [ncarender.flake, ncarender.stepCount]") == [1, 0]
    assert centre_code() == codes[1].tolist() and "flake 1" in (button.get_attribute("title") or "")
    assert "flake 1" in (page.get_by_role("img").get_attribute("aria-label") or "")
    page.locator("#reset").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "another"
    page.keyboard.press("Enter")  # cycles back to flake 0
    assert page.evaluate("() => ncarender.flake") == 0
    page.evaluate("() => document.activeElement.blur()")
    page.keyboard.press("n")
    assert page.evaluate("() => ncarender.flake") == 1 and centre_code() == codes[1].tolist()
    assert page.evaluate("() => ncarender.setFlake(0)") == 0 and centre_code() == codes[0].tolist()
    assert "out of range" in page.evaluate("() => { try { ncarender.setFlake(2); } catch (e) { return e.message; } }")
    page.evaluate("() => ncarender.setFlake(1)")
    page.evaluate("() => ncarender.setState(new Float32Array(20 * 16 * 16))")
    box = page.locator("canvas").bounding_box()
    assert box is not None
    page.mouse.dblclick(box["x"] + 3.5 * box["width"] / 16, box["y"] + 12.5 * box["height"] / 16)
    planted = page_state(page)[:, 12, 3]
    assert planted[3:16].tolist() == [1.0] * 13 and planted[16:].tolist() == codes[1].tolist()


def test_family_page_flake_option(tiny_family_onnx: Path, tmp_path: Path) -> None:
    """The default flake is seed mod K; ``flake`` picks one; a bad one is refused in one line, nothing written."""
    for seed in range(4):
        assert write_page(tiny_family_onnx, tmp_path / "f.html", seed=seed).flake == seed % 2
    text = write_page(tiny_family_onnx, tmp_path / "f.html", seed=0, flake=1).path.read_text(encoding="utf-8")
    assert '"flake":1' in text and "class FamilyNCA" in text
    single = write_page(SHIPPED, tmp_path / "s.html")
    assert (single.flake, single.flakes, single.code_channels) == (None, 0, 0)
    assert "FamilyNCA" not in single.path.read_text(encoding="utf-8")  # a single model's page is as before
    for flake, message in (
        (5, "--flake 5 is out of range: this model has 2 flakes (0-1)"),
        (-1, "--flake -1 is out of range"),
        (True, "--flake must be an integer"),
    ):
        with pytest.raises(NCAError, match=re.escape(message)) as err:
            write_page(tiny_family_onnx, tmp_path / "bad.html", flake=flake)
        assert "\n" not in str(err.value)
    with pytest.raises(NCAError, match="--flake needs a family model; this model grows one target"):
        write_page(SHIPPED, tmp_path / "bad.html", flake=0)
    assert not (tmp_path / "bad.html").exists()


def test_family_graphs_the_page_cannot_run(tiny_family_onnx: Path, tmp_path: Path) -> None:
    """Family metadata on a single model's graph, and a family graph that writes its codes back unrelayed."""
    meta = {p.key: p.value for p in onnx.load(str(tiny_family_onnx)).metadata_props}
    grafted = onnx.load(str(SHIPPED))
    for entry in grafted.metadata_props:
        if entry.key == "ncarender.channels":
            entry.value = "20"
    for key in ("ncarender.code_channels", "ncarender.family"):
        entry = grafted.metadata_props.add()
        entry.key, entry.value = key, meta[key]
    onnx.save(grafted, str(tmp_path / "grafted.onnx"))
    unrelayed = onnx.load(str(tiny_family_onnx))
    out_concat = next(n for n in reversed(unrelayed.graph.node) if n.op_type == "Concat")
    pool = next(n for n in unrelayed.graph.node if n.op_type == "MaxPool")
    out_concat.input[1] = pool.input[0]  # the codes as they were, not their relay
    onnx.save(unrelayed, str(tmp_path / "unrelayed.onnx"))
    for name, message in (("grafted", "metadata says 20 channels"), ("unrelayed", "followed by the relayed codes")):
        with pytest.raises(NCAError, match=message):
            read_step(tmp_path / f"{name}.onnx")
