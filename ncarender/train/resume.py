"""What a resumed run may change, and a fresh sample pool warmed by the model.

A resumed run keeps what decides the model and its data (target, widths, fire
rate, mode, pool, seed) and may change how it goes on: the
number of iterations, the batch, the rollout lengths, the learning rate and when it
drops, damage per batch, how often it checkpoints, the palette weight and the growth
loss's settings; it may add a growth time to a run without one, never change one. Asking to change a kept
setting is an error, never silently ignored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import fields
from typing import Any

import torch

from ..errors import NCAError
from .hex import rollout_hex
from .model import NCA, NCAConfig
from .rollout import rollout_cropped

__all__ = ["RESUMABLE", "check_kept_model", "move_lr_decay", "resumed_settings", "warm_pool"]

#: Training settings a resumed run takes from the caller (all others come from the checkpoint).
RESUMABLE: tuple[str, ...] = (
    "iterations",
    "lr",
    "batch_size",
    "steps_min",
    "steps_max",
    "lr_decay_at",
    "damage_count",
    "checkpoint_every",
    "palette_weight",
    "growth_steps",
    "growth_weight",
    "growth_every",
    "growth_seeds",
    "flake_focus",
)

#: Model settings that can be compared with a checkpoint's (a resumed run keeps all of them).
MODEL_SETTINGS: tuple[str, ...] = ("channels", "hidden", "fire_rate", "code_channels", "lattice", "mask", "lap_gain")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def resumed_settings(saved: Mapping[str, Any], given: Any, changes: Collection[str], start_iter: int) -> dict[str, Any]:
    """The settings of a resumed run: ``saved`` (the checkpoint's) with the ``changes`` taken from ``given``.

    ``given`` is the caller's ``TrainConfig``; ``changes`` names the fields the
    caller set on purpose. ``iterations`` is always taken. A change to a kept
    setting, or a learning-rate drop moved to or before ``start_iter``, is an
    :class:`NCAError`.
    """
    out = dict(saved)
    for f in fields(given):
        name = f.name
        if name != "iterations" and name not in changes:
            continue
        value = getattr(given, name)
        if name in RESUMABLE:
            if name == "lr_decay_at" and value != saved.get(name) and value <= start_iter:
                raise NCAError(
                    f"--lr-decay-at {value} is not after the checkpoint's iteration {start_iter}; "
                    "a resumed run can only schedule the drop later"
                )
            if name == "growth_steps" and saved.get(name) and value != saved[name]:
                raise NCAError(
                    f"--growth-steps {value} differs from the checkpoint's {saved[name]}; the growth time is part "
                    "of the model once set (drop --growth-steps, or start a new run)"
                )
            out[name] = value
        elif name in saved and value != saved[name]:
            raise NCAError(
                f"{_flag(name)} {value} differs from the checkpoint's {saved[name]}; a resumed run keeps it "
                f"(drop {_flag(name)}, or start a new run)"
            )
    return out


def check_kept_model(
    saved: NCAConfig, given: NCAConfig | None, changes: Collection[str], *, saved_target: str, given_target: str
) -> None:
    """Refuse a resume whose explicitly given model settings or target differ from the checkpoint's."""
    if "target" in changes and given_target and given_target != saved_target:
        raise NCAError(
            f"TARGET {given_target!r} differs from the checkpoint's {saved_target!r}; a resumed run keeps its "
            "target (drop TARGET, or start a new run)"
        )
    if given is None:
        return
    for name in MODEL_SETTINGS:
        if name == "code_channels" and not saved.code_channels:
            continue  # the option is ignored for one target, so it cannot disagree
        if name in changes and getattr(given, name) != getattr(saved, name):
            raise NCAError(
                f"{_flag(name)} {getattr(given, name)} differs from the checkpoint's {getattr(saved, name)}; "
                f"a resumed run keeps its model (drop {_flag(name)}, or start a new run)"
            )


def restart_lr(opt: torch.optim.Optimizer, sched: torch.optim.lr_scheduler.MultiStepLR, lr: float) -> None:
    """Make the (restored) optimiser run at ``lr`` from here on, whatever drops it took (``--resume --lr``)."""
    for group in opt.param_groups:
        group["lr"] = group["initial_lr"] = lr
    sched.base_lrs = [lr] * len(opt.param_groups)
    sched._last_lr = [lr] * len(opt.param_groups)


def move_lr_decay(sched: torch.optim.lr_scheduler.MultiStepLR, at: int) -> None:
    """Make the (restored) scheduler drop the learning rate at iteration ``at`` (once more, if it already dropped)."""
    sched.milestones = Counter([at])


def warm_pool(
    model: NCA,
    pool: torch.Tensor,
    *,
    rounds: int,
    steps: tuple[int, int],
    gen: torch.Generator,
    mask_fn: Callable[[int], Callable[[], torch.Tensor]],
    chunk: int = 64,
) -> torch.Tensor:
    """Age a pool of seeds ``(P, H, W, C)`` with the model, in place; returns it.

    Each slot is rolled out 1 to ``rounds`` times (a random share, drawn from
    ``gen``), each for a random ``steps[0]..steps[1]`` steps, so the pool
    holds states of many ages, as a long run's pool does, rather than seeds. ``mask_fn(n)`` gives the
    per-step fire-mask draw for ``n`` samples (the run's own random stream).
    """
    size = pool.shape[0]
    share = torch.randperm(size, generator=gen) % rounds  # slot i is rolled out share[i] + 1 times
    with torch.no_grad():
        for r in range(rounds):
            slots = torch.nonzero(share >= r).flatten()
            for start in range(0, len(slots), chunk):
                idx = slots[start : start + chunk].to(pool.device)
                n = int(torch.randint(steps[0], steps[1] + 1, (1,), generator=gen))
                if model.config.hex:  # symmetrised like training's rollouts (see .hex)
                    pool[idx] = rollout_hex(model, pool[idx], n, mask_fn(len(idx)))[0]
                else:
                    pool[idx] = rollout_cropped(model, pool[idx], n, mask_fn(len(idx)))
    return pool
