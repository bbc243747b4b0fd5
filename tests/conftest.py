"""Shared fixtures and helpers: a tiny trained model (16x16 grid) made once per test session, a toy contract
model, a small training config and the CLI runner."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

    from ncarender.train.loop import TrainConfig

# Tiny models gain nothing from threads; one thread keeps the suite light on a 2-core machine.
os.environ.setdefault("OMP_NUM_THREADS", "1")


def run(*args: str | Path) -> tuple[int, str, str]:
    """``ncarender ARGS`` through typer's runner: (exit code, stdout, stderr)."""
    from typer.testing import CliRunner

    from ncarender.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def ctrl_c_ready() -> None:
    """``preexec_fn`` for a child that a test stops with SIGINT: Ctrl-C as in a terminal's foreground job.

    A runner started in the background (``pytest ... &``) passes SIGINT on ignored, and Python then installs
    no KeyboardInterrupt handler; the tests are about the foreground case.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def assert_error(code: int, out: str, err: str, fragment: str) -> None:
    """A refused command: exit 1 and one ``Error:`` line on stderr that contains ``fragment``, no traceback."""
    assert code == 1, (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), err
    assert fragment in lines[0], lines[0]
    assert "Traceback" not in err + out


def affine_model(path: Path, scale: float, offset: float) -> Path:
    """A contract model computing ``next_state = state * scale + mask * offset`` (no ncarender metadata)."""
    import onnx
    from onnx import TensorProto, helper

    state = helper.make_tensor_value_info("state", TensorProto.FLOAT, ["N", 16, "H", "W"])
    mask = helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["N", 1, "H", "W"])
    out = helper.make_tensor_value_info("next_state", TensorProto.FLOAT, ["N", 16, "H", "W"])
    consts = [
        helper.make_tensor("scale", TensorProto.FLOAT, [], [scale]),
        helper.make_tensor("offset", TensorProto.FLOAT, [], [offset]),
    ]
    nodes = [
        helper.make_node("Mul", ["state", "scale"], ["a"]),
        helper.make_node("Mul", ["mask", "offset"], ["b"]),
        helper.make_node("Add", ["a", "b"], ["next_state"]),
    ]
    graph = helper.make_graph(nodes, "toy", [state, mask], [out], initializer=consts)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def train_cfg(**kw: object) -> TrainConfig:
    """A few-iteration grow-mode :class:`~ncarender.train.loop.TrainConfig` (torch), ``kw`` overriding."""
    from ncarender.train.loop import TrainConfig

    base: dict[str, object] = dict(
        mode="grow", iterations=6, batch_size=2, steps_min=8, steps_max=12, seed=1, checkpoint_every=100
    )
    base.update(kw)
    return TrainConfig(**base)  # type: ignore[arg-type]


def tiny_target() -> np.ndarray:
    """A 16x16 premultiplied RGBA target: a small blue plus sign, padded by 4."""
    t = np.zeros((4, 16, 16), dtype=np.float32)
    t[:, 6:10, 7:9] = 1.0
    t[:, 7:9, 6:10] = 1.0
    t[0] *= 0.2
    t[1] *= 0.5
    return t


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkpoint trained for a few iterations on :func:`tiny_target` (grow mode)."""
    torch = pytest.importorskip("torch")
    from ncarender.train.loop import TrainConfig, train

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("tiny") / "tiny.pt"
    cfg = TrainConfig(
        mode="grow", iterations=30, batch_size=4, steps_min=16, steps_max=24, seed=3, checkpoint_every=100
    )
    train(tiny_target(), out, config=cfg, target_name="plus", device="cpu")
    return out


@pytest.fixture(scope="session")
def tiny_onnx(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny checkpoint exported to ONNX (parity-checked)."""
    from ncarender.train.export import export_checkpoint

    out = tmp_path_factory.mktemp("tiny-onnx") / "tiny.onnx"
    export_checkpoint(tiny_checkpoint, out, steps=100)
    return out


def tiny_family_targets() -> np.ndarray:
    """Two 16x16 premultiplied RGBA flakes ``(2, 4, 16, 16)``: a blue disc and a red plus."""
    yy, xx = np.mgrid[:16, :16] - 7.5
    r = np.hypot(yy, xx)
    disc = (r < 5).astype(np.float32)
    plus = (((np.abs(yy) < 1.5) | (np.abs(xx) < 1.5)) & (r < 6)).astype(np.float32)
    out = np.zeros((2, 4, 16, 16), np.float32)
    for i, (shape, colour) in enumerate(((disc, (0.2, 0.4, 0.9)), (plus, (0.9, 0.3, 0.2)))):
        out[i, 3] = shape
        out[i, :3] = np.asarray(colour, np.float32)[:, None, None] * shape
    return out


@pytest.fixture(scope="session")
def tiny_family_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seed-conditioned model (2 flakes, 4 code channels, hidden 32) trained for 300 iterations (~10 s)."""
    torch = pytest.importorskip("torch")
    from ncarender.family.conditioning import FamilyTargets, make_codes
    from ncarender.train.loop import TrainConfig, train
    from ncarender.train.model import NCAConfig

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("tiny-family") / "family.pt"
    family = FamilyTargets(tiny_family_targets(), make_codes(2, 4), "test:2", ({"size": 5.0}, {"size": 6.0}))
    cfg = TrainConfig(
        iterations=300, batch_size=4, pool_size=32, steps_min=24, steps_max=32, lr_decay_at=200, checkpoint_every=10**6
    )
    model_config = NCAConfig(hidden=32, code_channels=4)
    train(
        family.targets[0], out, config=cfg, model_config=model_config, family=family, target_name="test:2", device="cpu"
    )
    return out


@pytest.fixture(scope="session")
def tiny_family_onnx(tiny_family_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny family model exported to ONNX (parity-checked)."""
    from ncarender.train.export import export_checkpoint

    out = tmp_path_factory.mktemp("tiny-family-onnx") / "family.onnx"
    export_checkpoint(tiny_family_checkpoint, out, steps=100)
    return out


def reference_masks(seeds: list[int], steps: int, height: int, width: int, fire: float) -> np.ndarray:
    """The masks' definition: step t of seed s is the t-th ``(H, W)`` float32 draw of ``default_rng(s)`` < fire.

    Returns ``(steps, N, 1, H, W)`` float32 0/1.
    """
    rngs = [np.random.default_rng(s) for s in seeds]
    per_step = [
        np.stack([rng.random((height, width), dtype=np.float32) < np.float32(fire) for rng in rngs])
        for _ in range(steps)
    ]
    return np.stack(per_step)[:, :, None].astype(np.float32)


def write_frames(fmt: str, path: Path, frames: list[np.ndarray], **options: object) -> dict[str, object]:
    """Write ``frames`` with a plain writer and return its summary."""
    from ncarender.writers.options import WriterOptions
    from ncarender.writers.output import open_writer

    grid = frames[0].shape[:2]
    with open_writer(fmt, path, n_frames=len(frames), grid=(grid[0], grid[1]), options=WriterOptions(**options)) as w:
        for frame in frames:
            w.add(frame)
    assert w.summary is not None
    return w.summary


# ---- the page tests: one headless Chromium per module and a fresh tab per test


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that takes the ``browser`` or ``page`` fixture is a ``browser`` test (the few that start their own
    Chromium are marked where they stand)."""
    for item in items:
        if {"browser", "page"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="module")
def browser() -> Iterator[BrowserContext]:
    from browser import chromium

    with chromium() as context:
        yield context


@pytest.fixture
def page(browser: BrowserContext) -> Iterator[Page]:
    """A new tab; fails the test on any script error in the page."""
    tab = browser.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    tab.close()
    assert not errors, errors
