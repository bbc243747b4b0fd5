"""Training loop of the Growing NCA: grow, persist (sample pool) and regenerate (pool + damage).

The loop follows the Distill paper: a batch of states (fresh seeds or pool
samples) is rolled out for a random 64-96 steps, the MSE of RGBA against the
padded target is minimised with Adam and per-parameter gradient
normalisation. Rollouts run channels-last and on the bounding box of the
live cells only (exactly the same result, far fewer cells early on).

:func:`train` reads in one sitting: set-up or resume and the pool (:mod:`.run`), then one step
(:func:`_step`) per iteration and a checkpoint (:func:`_save`) every so often. Progress and notices go
to the caller's callbacks; nothing here prints.
"""

from __future__ import annotations

import math
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable, Collection
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from .._version import __version__
from ..errors import NCAError
from ..family.conditioning import FamilyTargets
from .checkpoint import Checkpoint, save_checkpoint, save_pool
from .config import TrainConfig, TrainResult, budget_seconds, resolve_device
from .curve import loss_curve_path, write_loss_curve
from .growth import growth_observer
from .hex import Observer, lattice_damage, train_rollout
from .model import NCAConfig
from .rollout import rollout_cropped, seed_states_nhwc
from .run import Run, fill_pool, set_up

__all__ = ["TrainConfig", "TrainResult", "resolve_device", "rollout_cropped", "train"]

#: A sample this far (RGBA MSE) from its target has blown up: RGBA in [0, 1] can never be further than 1.
BLOWN_UP_MSE = 1.0
#: Iterations in a row with a blown-up rollout before a run stops as diverged.
MAX_SKIPPED = 20


def _program() -> str:
    """The command's name as a user types it: ``ncarender`` also for ``python -m ncarender``."""
    name = Path(sys.argv[0]).name
    return "ncarender" if name == "__main__.py" else name


def _provenance(cfg: TrainConfig, device: torch.device) -> dict[str, object]:
    return {
        "command": " ".join([_program(), *sys.argv[1:]]),
        "seed": cfg.seed,
        "device": str(device),
        "machine": f"{platform.machine()} {platform.processor() or ''} {os.cpu_count()} cores".strip(),
        "versions": {"ncarender": __version__, "torch": str(torch.__version__), "python": platform.python_version()},
    }


def _batch(run: Run, iteration: int) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """The batch's start states, their pool slots (None without a pool) and flakes (None without a family)."""
    config, pool = run.config, run.pool
    idx = None
    labels = None  # the flake of each sample (a family only)
    if run.family is not None:  # grow mode: the flakes take turns
        labels = (torch.arange(config.batch_size) + iteration * config.batch_size) % run.family.k
    if pool is not None:
        idx = torch.randperm(config.pool_size, generator=run.gen)[: config.batch_size].to(run.dev)
        x0 = pool[idx]
        if run.codes is not None:
            labels = run.flake_of[idx.cpu()]
        with torch.no_grad():
            per_sample = ((x0[..., :4] - run.targets_of(labels)) ** 2).mean(dim=(1, 2, 3))
        order = torch.argsort(per_sample, descending=True)
        idx, x0 = idx[order], x0[order]
        if labels is not None:
            labels = labels[order.cpu()]
        fresh = config.growth_seeds if run.growth is not None else 1
        x0[:fresh] = run.seeds(None if labels is None else labels[:fresh])
        if config.mode == "regenerate" and config.damage_count > 0:
            k = min(config.damage_count, config.batch_size - fresh)
            if k > 0:
                x0[-k:] = lattice_damage(run.model, x0[-k:], run.gen)
    elif run.codes is None:
        height, width, channels = run.size
        x0 = seed_states_nhwc(config.batch_size, height, width, channels, run.dev)
    else:
        x0 = run.seeds(labels)
    return x0, idx, labels


def _step(run: Run, iteration: int, skipped: int, notify: Callable[[str], None]) -> tuple[float, int]:
    """Iteration ``iteration + 1``: roll a batch out, take an optimiser step, put the states back in the pool.

    A rollout that blew up takes no step (its gradient would be all explosion) and its pool slots start again
    from seeds, so the blow-up cannot spread through the pool; more than :data:`MAX_SKIPPED` in a row is an
    :class:`NCAError`. Returns the iteration's loss and the blown-up iterations in a row.
    """
    config, model = run.config, run.model
    x0, idx, labels = _batch(run, iteration)
    steps = int(torch.randint(config.steps_min, config.steps_max + 1, (1,), generator=run.gen))
    growth = run.growth
    observer = None
    if growth is not None and labels is not None:
        grid = (run.size[0], run.size[1])

        def observer(seeds: torch.Tensor, terms: list[torch.Tensor]) -> Observer:
            return growth_observer(growth, labels, seeds, grid, terms)

    # hex: the whole axial array, symmetrised, with the growth penalty; square: the live box (+ palette penalty,
    # + the growth loss of the samples that started as seeds)
    x, penalty, grown = train_rollout(
        model, x0, steps, run.mask_fn(config.batch_size), palette_weight=config.palette_weight, growth=observer
    )
    err = (x[..., :4] - run.targets_of(labels)) ** 2
    loss = err.mean()
    objective = loss if penalty is None else loss + penalty
    if config.flake_focus and labels is not None:
        objective = objective - loss + _focused(run, err.mean(dim=(1, 2, 3)), labels)
    if grown is not None:
        objective = objective + config.growth_weight * grown
    if growth is not None:
        run.growth_losses.append(float("nan") if grown is None else float(grown.detach()))
    with torch.no_grad():
        per_sample = err.mean(dim=(1, 2, 3))
        blown = ~torch.isfinite(per_sample) | (per_sample > BLOWN_UP_MSE)
    if bool(blown.any()):
        skipped += 1
        if skipped > MAX_SKIPPED:
            raise NCAError(
                f"training diverged at iteration {iteration + 1}: rollouts blew up {skipped} iterations "
                f"in a row; the checkpoint written last ({run.out}) is kept; try a lower --lr"
            )
        count = int(blown.sum())
        notify(
            f"notice: iteration {iteration + 1}: {count} of {len(blown)} rollouts blew up "
            "(their pool slots are reset to seeds; no step)"
        )
        x = x.detach().clone()
        bad = torch.nonzero(blown).flatten()
        x[bad] = run.seeds(None if labels is None else labels[bad.cpu()]).expand(count, -1, -1, -1)
        losses = run.losses
        value = float(per_sample[~blown].mean()) if count < len(blown) else (losses[-1] if losses else 1.0)
        with warnings.catch_warnings():  # the scheduler counts iterations, stepped or not
            warnings.simplefilter("ignore", UserWarning)
            run.sched.step()
    else:
        skipped = 0
        run.opt.zero_grad(set_to_none=True)
        objective.backward()
        with torch.no_grad():
            for p in model.parameters():
                if p.grad is not None:
                    p.grad /= p.grad.norm() + 1e-8
        run.opt.step()
        run.sched.step()
        value = float(loss.detach())
    if run.pool is not None and idx is not None:
        run.pool[idx] = x.detach()
    if penalty is not None:
        run.penalties.append(float(penalty.detach()))
    return value, skipped


def _save(run: Run, iteration: int, seconds: float) -> None:
    """Write the checkpoint (model, optimiser, generator, losses), the pool beside it and the loss curve."""
    losses = run.losses
    train_state = {
        "iteration": iteration,
        "losses": losses,
        "seconds": seconds,
        "config": _recorded(run.config),
        "optimizer": run.opt.state_dict(),
        "scheduler": run.sched.state_dict(),
        "generator": run.gen.get_state(),
    }
    if run.penalties:
        train_state["penalties"] = run.penalties
    if run.growth_losses:
        train_state["growth_losses"] = run.growth_losses
    prov = _provenance(run.config, run.dev)
    prov.update(iterations=iteration, final_loss=losses[-1] if losses else float("nan"), seconds=seconds)
    save_checkpoint(
        run.out,
        Checkpoint(
            model_config=run.model.config,
            state_dict={k: v.detach().cpu() for k, v in run.model.state_dict().items()},
            target=np.asarray(run.target, dtype=np.float32),
            target_name=run.target_name,
            train_state=train_state,
            provenance=prov,
            family=run.family,
        ),
    )
    if run.pool is not None:
        save_pool(run.out, run.pool.detach().cpu())
    write_loss_curve(losses, loss_curve_path(run.out), title=f"{run.target_name}: {iteration} iterations")


def _recorded(config: TrainConfig) -> dict[str, object]:
    """The run's settings as the checkpoint records them: ``palette_weight`` and growth only where set (bytes kept)."""
    out = asdict(config)
    if not config.palette_weight:
        del out["palette_weight"]
    if not config.growth_steps:
        for name in ("growth_steps", "growth_weight", "growth_every", "growth_seeds"):
            del out[name]
    if not config.flake_focus:
        del out["flake_focus"]
    return out


#: How fast a flake's running loss follows its samples' (per sample seen) for ``flake_focus``.
FOCUS_RATE = 0.05


def _focused(run: Run, per_sample: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The batch's end-state loss with each sample ``(B,)`` weighted by its flake's running loss to the power
    ``flake_focus``, over the flakes' mean weight (so a batch of average flakes weighs as before). The running
    losses start equal at each sitting and follow the samples seen."""
    k = run.family.k if run.family is not None else int(labels.max()) + 1
    if run.flake_loss is None or len(run.flake_loss) != k:
        start = float(per_sample.detach().mean())
        run.flake_loss = torch.full((k,), start if math.isfinite(start) and start > 0 else 1.0, dtype=torch.float64)
    for flake, value in zip(labels.tolist(), per_sample.detach().double().cpu().tolist(), strict=True):
        if math.isfinite(value):
            run.flake_loss[flake] += FOCUS_RATE * (value - run.flake_loss[flake])
    weights = (run.flake_loss / run.flake_loss.mean()).clamp_min(1e-6) ** run.config.flake_focus
    weights = (weights / weights.mean()).to(per_sample.dtype).to(per_sample.device)
    return (per_sample * weights[labels.to(per_sample.device)]).mean()


def _silent(message: str) -> None:
    """The default ``notify``: the library prints nothing."""


class _Clock:
    """A sitting's time budget: whether one more iteration (and the checkpoint after it) still fits."""

    def __init__(self, budget: float | None) -> None:
        self.started = time.perf_counter()
        self.budget = budget
        self.recent: list[float] = []  # the last iterations' durations (s)
        self.save = 0.0  # the last checkpoint's write time (s)

    def lap(self, seconds: float) -> None:
        """One iteration took ``seconds``."""
        self.recent = [*self.recent[-9:], seconds]

    def spent(self) -> bool:
        """True when the next iteration and the final checkpoint would end past the budget (never before one lap)."""
        if self.budget is None or not self.recent:
            return False
        expected = sum(self.recent) / len(self.recent) + self.save
        return time.perf_counter() - self.started + expected > self.budget


def train(
    target: np.ndarray,
    out: Path,
    *,
    config: TrainConfig,
    model_config: NCAConfig | None = None,
    target_name: str = "custom",
    device: str = "auto",
    resume: bool = False,
    progress: Callable[[int, int, float], None] | None = None,
    family: FamilyTargets | None = None,
    changes: Collection[str] = (),
    warm_rounds: int = 4,
    notify: Callable[[str], None] = _silent,
    minutes: float | None = None,
) -> TrainResult:
    """Train an NCA to grow ``target`` ``(4, H, W)`` (premultiplied RGBA) and write checkpoints to ``out``.

    With ``family`` (K targets and codes) one seed-conditioned model learns to
    grow flake k from a seed carrying code k (``model_config.code_channels``
    must be the code width); ``target`` is then ignored. Each pool slot keeps
    one flake (slot i: flake ``i % K``), so the pool stores every state with
    its code and damage training works as for one target.

    With ``resume`` the run continues from the checkpoint at ``out`` (its
    model, optimiser, random state and, if its ``.pool.pt`` is beside it, the
    sample pool). ``changes`` names the settings the caller gives on purpose:
    of ``config`` those in :data:`RESUMABLE` are taken (``iterations``
    always), a different value for any other, for a model setting of
    ``model_config`` or for ``target_name`` is an :class:`NCAError`. Without
    the pool a fresh one is warmed: seeds aged 1 to ``warm_rounds`` rollouts by
    the model. ``progress(iteration, total, loss)`` is called after each
    iteration and ``notify(message)`` with each notice (a fresh pool, a
    blown-up rollout). Ctrl-C writes a checkpoint and returns with ``interrupted``.

    ``minutes`` is this sitting's time budget (set-up included; finite and above 0): before an iteration that
    would end past it, with the checkpoint written after it, the run writes its checkpoint and returns with
    ``stopped == "budget"`` (after one iteration at least); ``resume`` goes on from there, with a new budget.
    """
    clock = _Clock(budget_seconds(minutes))
    run, pool_state = set_up(target, out, config, model_config, target_name, device, resume, family, changes)
    fill_pool(run, pool_state, resume=resume, warm_rounds=warm_rounds, notify=notify)
    config = run.config
    t0 = time.perf_counter()
    iteration = run.start_iter
    skipped = 0  # iterations in a row whose rollouts blew up
    stopped = "iterations"
    try:
        while iteration < config.iterations:
            if clock.spent():
                stopped = "budget"
                break
            began = time.perf_counter()
            value, skipped = _step(run, iteration, skipped, notify)
            run.losses.append(value)
            iteration += 1
            clock.lap(time.perf_counter() - began)
            if progress is not None:
                progress(iteration, config.iterations, value)
            if iteration % config.checkpoint_every == 0 and iteration < config.iterations:
                began = time.perf_counter()
                _save(run, iteration, run.seconds_before + began - t0)
                clock.save = time.perf_counter() - began
    except KeyboardInterrupt:
        stopped = "interrupted"
    seconds = run.seconds_before + time.perf_counter() - t0
    _save(run, iteration, seconds)
    return TrainResult(
        checkpoint=out,
        iterations=iteration,
        final_loss=run.losses[-1] if run.losses else float("nan"),
        seconds=seconds,
        interrupted=stopped == "interrupted",
        losses=run.losses,
        stopped=stopped,
    )
