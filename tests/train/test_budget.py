"""A time budget (``minutes``): the run stops before it with a checkpoint that resumes; bad budgets are refused."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from conftest import tiny_target  # noqa: E402
from conftest import train_cfg as _cfg  # noqa: E402

from ncarender.errors import NCAError  # noqa: E402
from ncarender.train.checkpoint import load_checkpoint  # noqa: E402
from ncarender.train.loop import _Clock, train  # noqa: E402
from ncarender.train.model import NCAConfig  # noqa: E402

TINY = NCAConfig(hidden=16)


def test_a_time_budget_stops_with_a_checkpoint_that_resumes(tmp_path: Path) -> None:
    out = tmp_path / "m.pt"
    cfg = _cfg(mode="persist", pool_size=8, iterations=100_000)
    first = train(tiny_target(), out, config=cfg, model_config=TINY, device="cpu", minutes=0.01)
    assert first.stopped == "budget" and not first.interrupted
    assert 1 <= first.iterations < 100_000
    assert load_checkpoint(out).iterations == first.iterations
    more = train(tiny_target(), out, config=cfg, device="cpu", resume=True, minutes=0.01)
    assert more.stopped == "budget" and more.iterations > first.iterations
    ckpt = load_checkpoint(out)
    assert ckpt.iterations == more.iterations and len(ckpt.train_state["losses"]) == more.iterations


def test_a_budget_that_outlasts_the_iterations_ends_by_them(tmp_path: Path) -> None:
    result = train(tiny_target(), tmp_path / "m.pt", config=_cfg(iterations=3), model_config=TINY, minutes=30.0)
    assert result.stopped == "iterations" and result.iterations == 3


@pytest.mark.parametrize("minutes", [math.nan, math.inf, -math.inf, 0.0, -1.0, True, "5"])
def test_a_budget_that_is_not_a_finite_positive_number_is_refused(tmp_path: Path, minutes: object) -> None:
    with pytest.raises(NCAError, match="--minutes must be a finite number of minutes above 0"):
        train(tiny_target(), tmp_path / "m.pt", config=_cfg(), minutes=minutes)  # type: ignore[arg-type]
    assert not list(tmp_path.iterdir())


def test_the_clock_stops_before_an_iteration_that_would_end_past_the_budget() -> None:
    clock = _Clock(budget=60.0)
    assert not clock.spent()  # never before one iteration
    clock.lap(1.0)
    assert not clock.spent()
    clock.started = time.perf_counter() - 58.5  # 58.5 s gone: one more 1 s iteration still fits
    assert not clock.spent()
    clock.save = 1.0  # ... but not with a 1 s checkpoint after it
    assert clock.spent()
    unlimited = _Clock(budget=None)
    unlimited.lap(1e9)
    assert not unlimited.spent()
