"""Resuming a run: what it may change, what it keeps (refused with one line), and the warmed fresh pool."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from conftest import assert_error, run, tiny_target, train_cfg  # noqa: E402

from ncarender.errors import NCAError  # noqa: E402
from ncarender.train.checkpoint import load_checkpoint, pool_path  # noqa: E402
from ncarender.train.loop import TrainConfig, train  # noqa: E402
from ncarender.train.model import NCA  # noqa: E402
from ncarender.train.pool import read_pool  # noqa: E402
from ncarender.train.resume import warm_pool  # noqa: E402
from ncarender.train.rollout import seed_states_nhwc  # noqa: E402


def _cfg(**kw: object) -> TrainConfig:
    """test_train's tiny run, in persist mode with a pool of 8, 3 iterations unless told."""
    return train_cfg(**{"mode": "persist", "pool_size": 8, "iterations": 3, "checkpoint_every": 200, **kw})


def _lr(path: Path) -> float:
    return float(load_checkpoint(path).train_state["optimizer"]["param_groups"][0]["lr"])


def test_resume_takes_batch_steps_and_a_later_lr_drop(tmp_path: Path) -> None:
    out = tmp_path / "m.pt"
    train(tiny_target(), out, config=_cfg(lr_decay_at=100), device="cpu")
    assert _lr(out) == pytest.approx(2e-3)
    changed = _cfg(iterations=6, batch_size=4, steps_min=5, steps_max=6, lr_decay_at=5)
    train(
        tiny_target(),
        out,
        config=changed,
        device="cpu",
        resume=True,
        changes={"batch_size", "lr_decay_at"} | {"steps_min", "steps_max"},
    )
    saved = load_checkpoint(out).train_state["config"]
    assert (saved["batch_size"], saved["steps_min"], saved["steps_max"], saved["lr_decay_at"]) == (4, 5, 6, 5)
    assert _lr(out) == pytest.approx(2e-4)  # the drop moved from 100 to 5
    # A run that has dropped already drops once more at a later iteration.
    train(
        tiny_target(), out, config=_cfg(iterations=8, lr_decay_at=7), device="cpu", resume=True, changes={"lr_decay_at"}
    )
    assert _lr(out) == pytest.approx(2e-5)


def test_resume_with_lr_restarts_the_rate_after_its_drops(tmp_path: Path) -> None:
    out = tmp_path / "m.pt"
    train(tiny_target(), out, config=_cfg(lr_decay_at=2), device="cpu")
    assert _lr(out) == pytest.approx(2e-4)  # dropped at 2
    train(tiny_target(), out, config=_cfg(iterations=5, lr=5e-4), device="cpu", resume=True, changes={"lr"})
    assert _lr(out) == pytest.approx(5e-4) and load_checkpoint(out).train_state["config"]["lr"] == 5e-4
    # ... and a drop scheduled from the new rate.
    later = _cfg(iterations=8, lr=1e-3, lr_decay_at=7)
    train(tiny_target(), out, config=later, device="cpu", resume=True, changes={"lr", "lr_decay_at"})
    assert _lr(out) == pytest.approx(1e-4)


def test_resume_without_changes_keeps_the_saved_settings(tmp_path: Path) -> None:
    out = tmp_path / "m.pt"
    train(tiny_target(), out, config=_cfg(batch_size=3), device="cpu")
    # Options left at their defaults (batch 2 here) do not override the run's own.
    train(tiny_target(), out, config=_cfg(iterations=4), device="cpu", resume=True)
    assert load_checkpoint(out).train_state["config"]["batch_size"] == 3


def test_an_lr_drop_before_the_checkpoint_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "m.pt"
    train(tiny_target(), out, config=_cfg(lr_decay_at=100), device="cpu")
    with pytest.raises(NCAError, match="not after the checkpoint's iteration 3"):
        train(
            tiny_target(),
            out,
            config=_cfg(iterations=6, lr_decay_at=2),
            device="cpu",
            resume=True,
            changes={"lr_decay_at"},
        )


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--lr", "-0.01"], "--lr must be a number above 0"),
        (["--seed", "9"], "--seed 9 differs from the checkpoint's 3"),
        (["--mode", "regenerate"], "--mode regenerate differs from the checkpoint's grow"),
        (["--pool-size", "64"], "--pool-size 64 differs"),
        (["--hidden", "64"], "--hidden 64 differs from the checkpoint's 128"),
        (["--channels", "12"], "--channels 12 differs"),
        (["--fire-rate", "0.25"], "--fire-rate 0.25 differs"),
        (["--lr-decay-at", "10"], "not after the checkpoint's iteration 30"),
        (["--batch-size", "0"], "--batch-size must be a whole number from 1"),
        (["--warm-rounds", "-1"], "--warm-rounds must be a whole number from 0"),
    ],
)
def test_resume_refuses_a_change_to_what_it_keeps(
    tiny_checkpoint: Path, tmp_path: Path, extra: list[str], fragment: str
) -> None:
    ckpt = tmp_path / "tiny.pt"
    shutil.copy(tiny_checkpoint, ckpt)
    before = ckpt.read_bytes()
    code, out, err = run("train", "-o", str(ckpt), "--resume", "--iterations", "40", *extra)
    assert_error(code, out, err, fragment)
    assert ckpt.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["tiny.pt"]


def test_resume_refuses_another_target_and_accepts_the_same_settings(tiny_checkpoint: Path, tmp_path: Path) -> None:
    ckpt = tmp_path / "tiny.pt"
    shutil.copy(tiny_checkpoint, ckpt)
    code, out, err = run("train", "snowflake", "-o", str(ckpt), "--resume", "--iterations", "40")
    assert_error(code, out, err, "TARGET 'snowflake' differs from the checkpoint's 'plus'")
    # The command that started a run, with --resume added, goes on (the same values are no change).
    args = ["train", "plus", "-o", str(ckpt), "--resume", "--iterations", "32", "--hidden", "128", "--seed", "3"]
    code, out, err = run(*args, "--mode", "grow", "--batch-size", "2", "-q")
    assert code == 0, err
    saved = load_checkpoint(ckpt)
    assert saved.iterations == 32 and saved.train_state["config"]["batch_size"] == 2


def test_warm_pool_ages_every_seed_and_repeats(tiny_checkpoint: Path) -> None:
    ckpt = load_checkpoint(tiny_checkpoint)
    model = NCA.from_config(ckpt.model_config)
    model.load_state_dict(ckpt.state_dict)
    h, w = ckpt.target.shape[1:]

    def warmed(rounds: int) -> tuple[torch.Tensor, int]:
        gen = torch.Generator().manual_seed(5)
        draws = 0

        def mask_fn(n: int):  # type: ignore[no-untyped-def]
            def draw() -> torch.Tensor:
                nonlocal draws
                draws += 1
                return (torch.rand((n, h, w, 1), generator=gen) < 0.5).float()

            return draw

        pool = seed_states_nhwc(12, h, w, 16, torch.device("cpu"))
        return warm_pool(model, pool, rounds=rounds, steps=(4, 4), gen=gen, mask_fn=mask_fn, chunk=5), draws

    seed = seed_states_nhwc(1, h, w, 16, torch.device("cpu"))[0]
    a, draws = warmed(3)
    assert all(not torch.equal(slot, seed) for slot in a)
    # Round r rolls the slots with share >= r in chunks of 5 for 4 steps: 12 slots, 4 per share.
    assert draws == 4 * (3 + 2 + 1)
    assert torch.equal(a, warmed(3)[0])


@pytest.mark.parametrize(
    ("rounds", "notice"), [(4, "warming a fresh one with the model"), (0, "starting a fresh pool")]
)
def test_a_resume_without_its_pool_says_what_it_does(
    tmp_path: Path, rounds: int, notice: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "m.pt"
    train(tiny_target(), out, config=_cfg(), device="cpu")
    pool_path(out).unlink()
    said: list[str] = []
    train(
        tiny_target(), out, config=_cfg(iterations=5), device="cpu", resume=True, warm_rounds=rounds, notify=said.append
    )
    assert any(notice in line for line in said)
    assert capsys.readouterr().err == ""  # the library prints nothing: the caller's callback has the notices
    assert load_checkpoint(out).iterations == 5 and pool_path(out).exists()


def test_a_blown_up_rollout_is_skipped_and_leaves_the_pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ncarender.train.loop as loop

    calls = 0
    real = loop.train_rollout

    def blow_up_once(model, state, steps, mask_fn, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        out, penalty, grown = real(model, state, steps, mask_fn, **kwargs)
        if calls == 3:  # iteration 3: one sample explodes
            out = out.clone()
            out[1] = out[1] * 1e6 + 1.0
        return out, penalty, grown

    monkeypatch.setattr(loop, "train_rollout", blow_up_once)
    out = tmp_path / "m.pt"
    weights: dict[int, dict[str, torch.Tensor]] = {}

    def progress(i: int, total: int, loss: float) -> None:
        if i > 1:  # the checkpoint on disk is the one after iteration i - 1
            weights[i - 1] = load_checkpoint(out).state_dict

    said: list[str] = []
    config = _cfg(iterations=5, checkpoint_every=1)
    result = train(tiny_target(), out, config=config, device="cpu", progress=progress, notify=said.append)
    assert any("iteration 3: 1 of 2 rollouts blew up" in line for line in said)
    assert result.iterations == 5 and len(result.losses) == 5 and all(v < 1.0 for v in result.losses)
    # No step at iteration 3; steps again at 2 and 4.
    assert all(torch.equal(weights[2][k], weights[3][k]) for k in weights[2])
    assert not all(torch.equal(weights[3][k], weights[4][k]) for k in weights[3])
    assert not all(torch.equal(weights[1][k], weights[2][k]) for k in weights[1])
    pool = read_pool(out)
    assert pool is not None and torch.isfinite(pool).all() and float(pool.abs().max()) < 10.0


def test_rollouts_that_keep_blowing_up_stop_the_run_as_diverged(tmp_path: Path) -> None:
    from ncarender.train.checkpoint import save_checkpoint

    out = tmp_path / "m.pt"
    train(tiny_target(), out, config=_cfg(iterations=3), device="cpu")
    ckpt = load_checkpoint(out)
    ckpt.state_dict["w2.weight"].fill_(50.0)  # a model whose every rollout blows up
    save_checkpoint(out, ckpt)
    doctored = out.read_bytes()
    said: list[str] = []
    with pytest.raises(NCAError, match=r"diverged at iteration 24: rollouts blew up 21 iterations in a row"):
        config = _cfg(iterations=40, checkpoint_every=100)
        train(tiny_target(), out, config=config, device="cpu", resume=True, notify=said.append)
    assert sum("blew up" in line for line in said) == 20  # the 21st is the error
    assert out.read_bytes() == doctored  # nothing written over the last checkpoint
