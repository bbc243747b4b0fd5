"""``train --minutes`` and ``--quick``: a budget that stops with a resumable checkpoint, a preset the user's options
override, and progress with an ETA."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import assert_error, run

from ncarender.cli.train_progress import TrainProgress, clock, eta
from ncarender.cli.train_setup import QUICK, QUICK_MINUTES, apply_quick

TINY = ["--size", "8", "--pad", "4", "--hidden", "16", "--batch-size", "2", "--pool-size", "8", "--device", "cpu"]
TINY += ["--steps-min", "8", "--steps-max", "8"]


@pytest.mark.parametrize("minutes", ["nan", "inf", "-inf", "0", "-2"])
def test_a_bad_budget_is_one_error_line_and_the_checkpoint_is_untouched(tmp_path: Path, minutes: str) -> None:
    out = tmp_path / "m.pt"
    out.write_bytes(b"a run worth keeping")
    code, stdout, err = run("train", "-o", out, "--resume", "--minutes", minutes)
    assert_error(code, stdout, err, "--minutes must be a number above 0")
    assert out.read_bytes() == b"a run worth keeping"
    code, stdout, err = run("train", "snowflake", "-o", tmp_path / "new.pt", "--quick", "--minutes", minutes)
    assert_error(code, stdout, err, "--minutes must be a number above 0")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt"]


def test_a_budget_stops_with_a_checkpoint_and_resume_goes_on_to_the_runs_total(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from ncarender.train.checkpoint import load_checkpoint

    out = tmp_path / "m.pt"
    budget = ["--iterations", "100000", "--minutes", "0.01", "--json"]
    code, stdout, err = run("train", "snowflake", "-o", out, *TINY, *budget)
    assert code == 0, err
    first = json.loads(stdout)
    assert first["stopped"] == "budget" and not first["interrupted"] and 1 <= first["iterations"] < 100_000
    assert f"time budget reached: wrote {out} at iteration {first['iterations']} of 100000" in err
    assert "--resume --minutes" in err
    # No --iterations: a run stopped short goes on to its own total, not the option's default (4000).
    code, stdout, err = run("train", "-o", out, "--resume", "--minutes", "0.01", "--json")
    assert code == 0, err
    more = json.loads(stdout)
    assert more["stopped"] == "budget" and more["iterations"] > first["iterations"]
    ckpt = load_checkpoint(out)
    assert ckpt.iterations == more["iterations"] and ckpt.train_state["config"]["iterations"] == 100_000
    # A run that reached its total is refused as before, unless --iterations asks for more.
    code, stdout, err = run("train", "-o", out, "--resume", "--iterations", str(more["iterations"] + 1), "--json")
    assert code == 0 and json.loads(stdout)["stopped"] == "iterations", err
    code, stdout, err = run("train", "-o", out, "--resume", "--iterations", str(more["iterations"] + 1))
    assert_error(code, stdout, err, f"already has {more['iterations'] + 1} iterations")


def test_quick_sets_a_small_run_and_the_users_options_win(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from ncarender.train.checkpoint import load_checkpoint

    out = tmp_path / "q.pt"
    given = ["--size", "8", "--pad", "4", "--hidden", "16", "--iterations", "2", "--steps-max", "52", "--device", "cpu"]
    code, stdout, err = run("train", "snowflake", "-o", out, "--quick", *given, "--json")
    assert code == 0, err
    assert json.loads(stdout)["stopped"] == "iterations"
    ckpt = load_checkpoint(out)
    saved = ckpt.train_state["config"]
    assert (saved["iterations"], saved["steps_max"], ckpt.model_config.hidden) == (2, 52, 16)  # the user's
    assert ckpt.target.shape == (4, 16, 16)
    for name in ("batch_size", "steps_min", "pool_size", "lr_decay_at"):  # the preset's
        assert saved[name] == QUICK[name], name


def test_quick_fills_in_only_what_was_not_given() -> None:
    params: dict[str, object] = {"resume": False, "minutes": None, **dict.fromkeys(QUICK, 0)}
    apply_quick(params, {"hidden"})
    assert params["hidden"] == 0 and params["size"] == QUICK["size"] and params["minutes"] == QUICK_MINUTES
    resumed: dict[str, object] = {"resume": True, "minutes": 3.0, **dict.fromkeys(QUICK, 0)}
    apply_quick(resumed, set())
    assert resumed["minutes"] == 3.0 and all(resumed[name] == 0 for name in QUICK)  # a resumed run keeps its own


@pytest.mark.parametrize(
    ("left", "per_iteration", "budget_left", "expect"),
    [
        (100, 0.5, None, (50.0, False)),  # no budget: the iterations left
        (100, 0.5, 60.0, (50.0, False)),  # the iterations end first
        (100, 0.5, 20.0, (20.0, True)),  # the budget ends first
        (100, 0.5, -3.0, (0.0, True)),  # a budget already spent
    ],
)
def test_the_eta_is_whichever_ends_first(
    left: int, per_iteration: float, budget_left: float | None, expect: tuple[float, bool]
) -> None:
    assert eta(left, per_iteration, budget_left) == expect


@pytest.mark.parametrize(("seconds", "text"), [(0, "0:00"), (59.6, "1:00"), (61, "1:01"), (3725, "1:02:05")])
def test_clock(seconds: float, text: str) -> None:
    assert clock(seconds) == text


def test_the_progress_line_outside_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    with TrainProgress(quiet=False, minutes=0.5, every=0.0) as progress:
        progress(1, 10, 0.25)
        progress(2, 10, 0.125)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("iteration 1/10  loss 0.25000  elapsed 0:")
    assert "ETA" in lines[1] and lines[1].startswith("iteration 2/10  loss 0.12500")
    with TrainProgress(quiet=False, minutes=1e-6, every=0.0) as progress:
        progress(1, 10_000_000, 0.5)
    assert capsys.readouterr().err.strip().endswith("ETA 0:00 (time budget)")
    with TrainProgress(quiet=True) as progress:
        progress(1, 10, 0.5)
    assert capsys.readouterr().err == ""
