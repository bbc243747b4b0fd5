"""Training: the loss goes down, runs repeat, resume continues, Ctrl-C checkpoints, checkpoints load safely."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conftest import tiny_target  # noqa: E402
from conftest import train_cfg as _cfg  # noqa: E402

from ncarender.errors import NCAError  # noqa: E402
from ncarender.train.checkpoint import load_checkpoint, pool_path  # noqa: E402
from ncarender.train.loop import rollout_cropped, train  # noqa: E402
from ncarender.train.model import NCA  # noqa: E402
from ncarender.train.pool import read_pool  # noqa: E402


def test_short_training_lowers_the_loss(tiny_checkpoint: Path) -> None:
    ckpt = load_checkpoint(tiny_checkpoint)
    losses = ckpt.train_state["losses"]
    assert len(losses) == 30
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])


def test_same_seed_repeats_the_run(tmp_path: Path) -> None:
    a = train(tiny_target(), tmp_path / "a.pt", config=_cfg(), device="cpu")
    b = train(tiny_target(), tmp_path / "b.pt", config=_cfg(), device="cpu")
    assert a.losses == b.losses
    wa, wb = load_checkpoint(a.checkpoint).state_dict, load_checkpoint(b.checkpoint).state_dict
    for key in wa:
        assert torch.equal(wa[key], wb[key])


def test_resume_continues_from_the_saved_iteration(tmp_path: Path) -> None:
    full = train(
        tiny_target(), tmp_path / "full.pt", config=_cfg(mode="persist", pool_size=8, iterations=6), device="cpu"
    )
    part = tmp_path / "part.pt"
    first = train(tiny_target(), part, config=_cfg(mode="persist", pool_size=8, iterations=3), device="cpu")
    assert first.iterations == 3 and pool_path(part).exists()
    resumed = train(
        tiny_target(), part, config=_cfg(mode="persist", pool_size=8, iterations=6), device="cpu", resume=True
    )
    assert resumed.iterations == 6
    ckpt = load_checkpoint(part)
    assert ckpt.iterations == 6 and len(ckpt.train_state["losses"]) == 6
    # Optimiser, RNG and pool are restored, so the resumed run repeats the uninterrupted one.
    assert resumed.losses == pytest.approx(full.losses, rel=1e-4)


def test_resume_past_the_end_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "m.pt"
    train(tiny_target(), out, config=_cfg(iterations=2), device="cpu")
    with pytest.raises(NCAError, match="already has 2 iterations"):
        train(tiny_target(), out, config=_cfg(iterations=2), device="cpu", resume=True)


def test_ctrl_c_writes_a_checkpoint(tmp_path: Path) -> None:
    calls = []

    def interrupt(i: int, n: int, loss: float) -> None:
        calls.append(i)
        if i == 2:
            raise KeyboardInterrupt

    result = train(tiny_target(), tmp_path / "m.pt", config=_cfg(iterations=50), device="cpu", progress=interrupt)
    assert result.interrupted and result.iterations == 2
    assert load_checkpoint(tmp_path / "m.pt").iterations == 2


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT"])
def test_a_background_run_stopped_by_a_signal_checkpoints(tmp_path: Path, how: str) -> None:
    # As `nohup ncarender train ... &` is stopped by `kill` (SIGTERM) or `kill -INT`: a shell starts background
    # jobs with SIGINT ignored, and the command restores it; either way the run checkpoints and exits 130.
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "run.pt"
    argv = [sys.executable, "-m", "ncarender", "train", "snowflake", "-o", str(out), "--size", "8", "--pad", "4"]
    argv += ["--mode", "grow", "--iterations", "100000", "--batch-size", "2", "--steps-min", "8", "--steps-max", "8"]
    argv += ["--checkpoint-every", "5", "--device", "cpu", "--hidden", "16"]

    def ignore_sigint() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, preexec_fn=ignore_sigint)
    deadline = time.time() + 120
    while time.time() < deadline and not out.exists():
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(getattr(signal, how))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted: checkpoint at iteration" in err
    stopped_at = int(err.split("interrupted: checkpoint at iteration ")[1].split()[0])
    assert load_checkpoint(out).iterations == stopped_at > 5


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (torch)")
@pytest.mark.parametrize("family", [False, True], ids=["one-target", "family"])
def test_regenerate_training_runs_on_cuda_and_resumes(tmp_path: Path, family: bool) -> None:
    # The run's generator lives on the CPU (checkpoints restore it anywhere); every draw that feeds the device
    # (masks, damage discs, pool indices) must be made there and moved. Run by benchmarks/gpu/checks.sh.
    from conftest import tiny_family_targets

    from ncarender.family.conditioning import FamilyTargets, make_codes
    from ncarender.train.model import NCAConfig

    kw: dict[str, object] = {}
    target = tiny_target()
    if family:
        fam = FamilyTargets(tiny_family_targets(), make_codes(2, 4), "test:2", ({"size": 5.0}, {"size": 6.0}))
        kw = {"family": fam, "model_config": NCAConfig(hidden=32, code_channels=4), "target_name": "test:2"}
        target = fam.targets[0]
    cfg = _cfg(mode="regenerate", iterations=6, batch_size=4, pool_size=16, damage_count=2)
    out = tmp_path / "cuda.pt"
    first = train(target, out, config=cfg, device="cuda", **kw)  # type: ignore[arg-type]
    assert first.iterations == 6 and np.isfinite(first.losses).all()
    more = train(
        target,
        out,
        config=_cfg(mode="regenerate", iterations=9, batch_size=4, pool_size=16),
        device="cuda",
        resume=True,
        **kw,
    )  # type: ignore[arg-type]
    assert more.iterations == 9 and load_checkpoint(out).iterations == 9


@pytest.mark.parametrize("mode", ["persist", "regenerate"])
def test_pool_modes_train(tmp_path: Path, mode: str) -> None:
    result = train(tiny_target(), tmp_path / "m.pt", config=_cfg(mode=mode, pool_size=8, batch_size=4), device="cpu")
    assert result.iterations == 6 and np.isfinite(result.final_loss)
    pool = read_pool(tmp_path / "m.pt")
    assert pool is not None and pool.shape == (8, 16, 16, 16)


def test_cropped_rollout_equals_full_rollout() -> None:
    torch.manual_seed(0)
    model = NCA()
    torch.nn.init.normal_(model.w2.weight, std=0.05)
    x0 = torch.zeros(2, 24, 24, 16)
    x0[:, 12, 12, 3:] = 1.0

    def masks(seed: int):  # type: ignore[no-untyped-def]
        gen = torch.Generator().manual_seed(seed)
        return lambda: (torch.rand((2, 24, 24, 1), generator=gen) < 0.5).float()

    cropped = rollout_cropped(model, x0, 30, masks(5))
    full, draw = x0, masks(5)
    for _ in range(30):
        full = model.forward_nhwc(full, draw())
    assert (full[..., 3] > 0.1).sum() > 4
    torch.testing.assert_close(cropped, full, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"mode": "explode"}, "unknown training mode"),
        ({"iterations": 0}, "--iterations"),
        ({"steps_min": 10, "steps_max": 5}, "steps"),
        ({"mode": "persist", "pool_size": 1, "batch_size": 2}, "--pool-size"),
        ({"lr": 0.0}, "--lr"),
    ],
)
def test_bad_training_settings(kw: dict[str, object], message: str, tmp_path: Path) -> None:
    with pytest.raises(NCAError, match=message):
        train(tiny_target(), tmp_path / "m.pt", config=_cfg(**kw), device="cpu")


# ---- checkpoints ---------------------------------------------------------------------------------------------


class _Evil:
    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (print, ("pwned",))


def _write_png(path: Path) -> None:
    from PIL import Image

    Image.new("RGBA", (4, 4)).save(path, format="PNG")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(np.random.default_rng(0).bytes(300)), "not a readable torch checkpoint"),
        (_write_png, "not a readable torch checkpoint"),
        (lambda p: p.write_bytes(pickle.dumps(_Evil())), "not a readable torch checkpoint|safe load refuses"),
        (lambda p: torch.save({"evil": _Evil()}, p), "safe load refuses"),
        (lambda p: torch.save({"weights": torch.zeros(3)}, p), "not an ncarender checkpoint"),
        (lambda p: None, "does not exist"),
    ],
)
def test_bad_checkpoints_are_refused(tmp_path: Path, make, message: str, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.pt"
    make(path)
    with pytest.raises(NCAError, match=message):
        load_checkpoint(path)
    assert "pwned" not in capsys.readouterr().out


def test_checkpoint_with_missing_keys(tiny_checkpoint: Path, tmp_path: Path) -> None:
    data = torch.load(tiny_checkpoint, weights_only=True)
    del data["target"]
    torch.save(data, tmp_path / "m.pt")
    with pytest.raises(NCAError, match="missing target"):
        load_checkpoint(tmp_path / "m.pt")
    data = torch.load(tiny_checkpoint, weights_only=True)
    del data["state_dict"]["w2.weight"]
    torch.save(data, tmp_path / "m.pt")
    with pytest.raises(NCAError, match="does not hold NCA weights"):
        load_checkpoint(tmp_path / "m.pt")


def test_save_load_gives_identical_outputs(tiny_checkpoint: Path) -> None:
    from ncarender.train.export import model_from_checkpoint
    from ncarender.train.model import seed_state

    a = model_from_checkpoint(load_checkpoint(tiny_checkpoint))
    b = model_from_checkpoint(load_checkpoint(tiny_checkpoint))
    x = seed_state(1, 16)
    mask = torch.ones(1, 1, 16, 16)
    assert torch.equal(a(x, mask), b(x, mask))
    ckpt = load_checkpoint(tiny_checkpoint)
    assert ckpt.model_config.channels == 16 and ckpt.target.shape == (4, 16, 16)
    assert ckpt.provenance["seed"] == 3 and "torch" in ckpt.provenance["versions"]


def test_random_bytes_are_refused_with_one_message(tmp_path: Path) -> None:
    # ~6% of random 200-byte files once made torch's unpickler raise IndexError past the error boundary.
    rng = np.random.default_rng(7)
    path = tmp_path / "junk.pt"
    for _ in range(300):
        path.write_bytes(rng.bytes(200))
        with pytest.raises(NCAError, match="not a readable torch checkpoint"):
            load_checkpoint(path)
