"""Shared fixtures: a tiny trained model (16x16 grid) made once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

# Tiny models gain nothing from threads; one thread keeps the suite light on a 2-core machine.
os.environ.setdefault("OMP_NUM_THREADS", "1")


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
