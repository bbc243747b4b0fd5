"""Training with the growth loss: seeds compared with the automaton's growth at keyframes; T kept on resume."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ncarender.errors import NCAError  # noqa: E402
from ncarender.family.conditioning import family_targets  # noqa: E402
from ncarender.family.growth import family_growth  # noqa: E402
from ncarender.train.checkpoint import load_checkpoint  # noqa: E402
from ncarender.train.growth import growth_observer, growth_of  # noqa: E402
from ncarender.train.loop import TrainConfig, train  # noqa: E402
from ncarender.train.model import NCAConfig  # noqa: E402

SPEC = "reiter:2@16"


def _cfg(**kw: object) -> TrainConfig:
    base: dict[str, object] = dict(
        iterations=4, batch_size=4, pool_size=8, steps_min=16, steps_max=20, checkpoint_every=100, growth_every=4
    )
    base.update(kw)
    return TrainConfig(**base)  # type: ignore[arg-type]


def test_keyframes_hold_the_snapshots_at_their_fractions() -> None:
    family = family_targets(SPEC, 4)
    growth = growth_of(family, 16, 4, torch.device("cpu"))
    assert tuple(growth.snapshots.shape) == (2, 4, 16, 16, 4)
    want = family_growth(SPEC, [0.25, 0.5, 0.75, 1.0])
    assert np.array_equal(growth.snapshots.permute(0, 1, 4, 2, 3).numpy(), want)
    assert [growth.keyframe(t) for t in (3, 4, 8, 16, 20)] == [None, 0, 1, 3, None]
    # the observer pads the live window back onto the grid: a perfect window scores 0
    terms: list[torch.Tensor] = []
    labels, fresh = torch.tensor([1, 0]), torch.tensor([True, False])
    observe = growth_observer(growth, labels, fresh, (16, 16), terms)
    snap = growth.snapshots[1, 1]
    x = torch.zeros(2, 10, 10, 20)
    x[0, ..., :4] = snap[3:13, 3:13]
    if float(snap.sum()) == float(snap[3:13, 3:13].sum()):
        observe(7, x, (3, 3))  # after step 8: keyframe 1
        assert float(terms[0]) == 0.0
    observe(5, x, (3, 3))  # step 6 is no keyframe
    assert len(terms) <= 1


def test_a_growth_run_records_its_time_and_losses_and_resume_keeps_them(tmp_path: Path) -> None:
    family = family_targets(SPEC, 4)
    out = tmp_path / "g.pt"
    model = NCAConfig(hidden=16, code_channels=4)
    train(family.targets[0], out, config=_cfg(growth_steps=16, growth_seeds=2), model_config=model, family=family)
    ckpt = load_checkpoint(out)
    saved = ckpt.train_state["config"]
    assert (saved["growth_steps"], saved["growth_weight"], saved["growth_seeds"]) == (16, 0.3, 2)
    grown = ckpt.train_state["growth_losses"]
    assert len(grown) == 4 and all(np.isfinite(grown)) and all(v > 0 for v in grown)
    train(np.zeros((4, 1, 1), np.float32), out, config=_cfg(iterations=6), resume=True)
    assert len(load_checkpoint(out).train_state["growth_losses"]) == 6
    with pytest.raises(NCAError, match="growth time"):
        train(
            np.zeros((4, 1, 1), np.float32),
            out,
            config=_cfg(iterations=8, growth_steps=12),
            resume=True,
            changes={"growth_steps"},
        )
    assert load_checkpoint(out).iterations == 6  # untouched


def test_resume_adds_growth_to_a_run_without_it(tmp_path: Path) -> None:
    family = family_targets(SPEC, 4)
    out = tmp_path / "p.pt"
    model = NCAConfig(hidden=16, code_channels=4)
    train(family.targets[0], out, config=_cfg(iterations=2), model_config=model, family=family)
    assert "growth_steps" not in load_checkpoint(out).train_state["config"]
    cfg = _cfg(iterations=4, growth_steps=16)
    train(np.zeros((4, 1, 1), np.float32), out, config=cfg, resume=True, changes={"growth_steps"})
    state = load_checkpoint(out).train_state
    assert state["config"]["growth_steps"] == 16 and len(state["growth_losses"]) == 2


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"growth_steps": -1}, "--growth-steps"),
        ({"growth_steps": 16, "growth_weight": float("nan")}, "--growth-weight"),
        ({"growth_steps": 16, "growth_weight": -1.0}, "--growth-weight"),
        ({"growth_steps": 16, "growth_every": 0}, "--growth-every"),
        ({"growth_steps": 16, "growth_seeds": 9}, "--growth-seeds"),
        ({"growth_steps": 40}, "longest rollout"),
    ],
)
def test_growth_options_out_of_range_are_refused(kw: dict[str, object], match: str) -> None:
    with pytest.raises(NCAError, match=match):
        _cfg(**kw).validate()


def test_growth_of_one_image_is_refused(tmp_path: Path) -> None:
    target = np.zeros((4, 16, 16), np.float32)
    target[:, 6:10, 6:10] = 1.0
    with pytest.raises(NCAError, match="no automaton"):
        train(target, tmp_path / "x.pt", config=_cfg(growth_steps=16), model_config=NCAConfig(hidden=16))
    assert not (tmp_path / "x.pt").exists()


def test_export_carries_the_growth_time(tmp_path: Path) -> None:
    from ncarender.runtime.session import open_model
    from ncarender.train.export import export_checkpoint

    family = family_targets(SPEC, 4)
    out = tmp_path / "g.pt"
    model = NCAConfig(hidden=16, code_channels=4)
    train(family.targets[0], out, config=_cfg(iterations=1, growth_steps=16), model_config=model, family=family)
    onnx = export_checkpoint(out, tmp_path / "g.onnx", steps=8).path
    assert open_model(onnx).info.growth_steps == 16


def test_flake_focus_weighs_the_flakes_by_their_running_loss_and_is_recorded(tmp_path: Path) -> None:
    from ncarender.train.loop import FOCUS_RATE, _focused

    class _Family:
        k = 2

    class _Run:  # what _focused reads of a run: the family's size, the settings and the running losses
        family = _Family()
        config = _cfg(flake_focus=1.0)
        flake_loss = torch.tensor([1.0, 3.0], dtype=torch.float64)

    run = _Run()
    per_sample = torch.tensor([1.0, 3.0, 3.0, 1.0], requires_grad=True)
    labels = torch.tensor([0, 1, 1, 0])
    loss = _focused(run, per_sample, labels)  # type: ignore[arg-type]
    # the running losses moved towards the samples (flake 0: 1 -> 1; flake 1: 3 -> 3), weights 0.5 and 1.5
    assert run.flake_loss.tolist() == pytest.approx([1.0, 3.0])
    loss.backward()
    assert per_sample.grad is not None
    assert per_sample.grad.tolist() == pytest.approx([0.5 / 4, 1.5 / 4, 1.5 / 4, 0.5 / 4])
    assert float(loss.detach()) == pytest.approx((0.5 + 4.5 + 4.5 + 0.5) / 4)
    _focused(run, torch.tensor([5.0]), torch.tensor([0]))  # type: ignore[arg-type]
    assert float(run.flake_loss[0]) == pytest.approx(1.0 + FOCUS_RATE * 4.0)
    run.flake_loss = None  # a sitting that starts on a blown-up batch: the running losses start at 1, not NaN
    weighted = _focused(run, torch.tensor([float("nan"), 2.0]), torch.tensor([0, 1]))  # type: ignore[arg-type]
    assert run.flake_loss is not None and torch.isfinite(run.flake_loss).all() and not torch.isfinite(weighted)

    family = family_targets(SPEC, 4)
    out = tmp_path / "f.pt"
    model = NCAConfig(hidden=16, code_channels=4)
    train(family.targets[0], out, config=_cfg(iterations=2), model_config=model, family=family)
    assert "flake_focus" not in load_checkpoint(out).train_state["config"]  # off: the checkpoint's bytes as before
    cfg = _cfg(iterations=3, flake_focus=1.0)
    train(np.zeros((4, 1, 1), np.float32), out, config=cfg, resume=True, changes={"flake_focus"})
    state = load_checkpoint(out).train_state
    assert state["config"]["flake_focus"] == 1.0 and len(state["losses"]) == 3 and np.isfinite(state["losses"]).all()


def test_flake_focus_of_one_image_is_refused(tmp_path: Path) -> None:
    target = np.zeros((4, 16, 16), np.float32)
    target[:, 6:10, 6:10] = 1.0
    with pytest.raises(NCAError, match="--flake-focus"):
        train(target, tmp_path / "x.pt", config=_cfg(flake_focus=1.0), model_config=NCAConfig(hidden=16))
    assert not (tmp_path / "x.pt").exists()
    with pytest.raises(NCAError, match="--flake-focus"):
        _cfg(flake_focus=float("nan")).validate()
