"""The pool file keeps each slot's live box only: exact, far smaller than the grid, and older files still load."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from conftest import tiny_target  # noqa: E402
from conftest import train_cfg as _cfg  # noqa: E402

from ncarender.train.loop import train  # noqa: E402
from ncarender.train.pool import pack_pool, pool_path, read_pool, save_pool, unpack_pool  # noqa: E402
from ncarender.train.rollout import seed_states_nhwc  # noqa: E402


def _pool() -> torch.Tensor:
    """64 slots of 48x48x16: seeds, a dead slot, a grown blob, a blob on the border, one odd value."""
    pool = seed_states_nhwc(64, 48, 48, 16, torch.device("cpu"))
    pool[1] = 0.0
    pool[2, 10:30, 12:40] = torch.rand(20, 28, 16)
    pool[3, 0:5, 40:48] = -torch.rand(5, 8, 16)
    pool[4, 47, 0, 7] = 1e-3
    return pool.half().float()  # what the file keeps is float16


def test_the_packed_pool_is_exact_and_a_seed_costs_one_cell(tmp_path: Path) -> None:
    pool = _pool()
    packed = pack_pool(pool)
    assert packed["boxes"][0].tolist() == [24, 25, 24, 25] and packed["boxes"][1].tolist() == [0, 0, 0, 0]
    back = unpack_pool(packed)
    assert back is not None and back.dtype == torch.float32 and torch.equal(back, pool)
    save_pool(tmp_path / "m.pt", pool)
    full = pool.numel() * 2  # the whole pool as float16 (the file before version 2)
    assert pool_path(tmp_path / "m.pt").stat().st_size < full / 20
    reread = read_pool(tmp_path / "m.pt")
    assert reread is not None and torch.equal(reread, pool)


def test_an_older_pool_file_still_loads(tmp_path: Path) -> None:
    pool = _pool()
    torch.save(pool.half(), pool_path(tmp_path / "m.pt"))  # the bare float16 tensor of older versions
    reread = read_pool(tmp_path / "m.pt")
    assert reread is not None and torch.equal(reread, pool)


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d.update(cells=d["cells"][:-1]),  # a cell short
        lambda d: d.update(boxes=d["boxes"][:-1]),  # a box short
        lambda d: d["boxes"][2].copy_(torch.tensor([0, 60, 0, 4])),  # a box past the grid
        lambda d: d.update(format="something else"),
    ],
)
def test_a_pool_that_does_not_add_up_is_not_used(damage) -> None:  # type: ignore[no-untyped-def]
    packed = pack_pool(_pool())
    damage(packed)
    assert unpack_pool(packed) is None


def test_resume_uses_an_older_pool_and_warms_over_a_damaged_one(tmp_path: Path) -> None:
    out = tmp_path / "m.pt"
    cfg = _cfg(mode="persist", pool_size=8, iterations=2)
    train(tiny_target(), out, config=cfg, device="cpu")
    saved = read_pool(out)
    assert saved is not None and saved.shape == (8, 16, 16, 16)
    torch.save(saved.half(), pool_path(out))  # as an older version wrote it
    said: list[str] = []
    cfg.iterations = 3
    train(tiny_target(), out, config=cfg, device="cpu", resume=True, notify=said.append)
    assert said == []  # the pool was taken, nothing warmed
    pool_path(out).write_bytes(b"not a pool")
    cfg.iterations = 4
    train(tiny_target(), out, config=cfg, device="cpu", resume=True, warm_rounds=1, notify=said.append)
    assert any("m.pool.pt is unreadable or does not fit the run; warming a fresh one" in line for line in said)
    assert read_pool(out) is not None
