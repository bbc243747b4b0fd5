"""A training run's set-up: a new run or one resumed from its checkpoint, and its sample pool.

:class:`Run` holds what a run keeps between iterations; :func:`set_up` makes it (new, or resumed from the
checkpoint: model, optimiser, generator, losses), :func:`fill_pool` gives it its sample pool. The loop that
steps it is :mod:`.loop`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..errors import NCAError
from ..family.conditioning import FamilyTargets
from .checkpoint import Checkpoint, load_checkpoint
from .config import TrainConfig, resolve_device
from .growth import Growth, growth_of
from .hex import mask_drawer
from .model import NCA, NCAConfig
from .pool import pool_path, read_pool
from .resume import check_kept_model, move_lr_decay, restart_lr, resumed_settings, warm_pool
from .rollout import seed_states_nhwc

__all__ = ["Run", "fill_pool", "set_up"]


@dataclass
class Run:
    """What one run holds between iterations: the model, its optimiser, the targets, the pool and the losses.

    ``tgt`` ``(H, W, 4)`` is the target; a family's targets ``(K, H, W, 4)`` and codes ``(K, D)`` are
    ``family_tgt``/``codes``, pool slot ``i`` keeping flake ``flake_of[i]``.
    """

    out: Path
    config: TrainConfig
    model: NCA
    target: np.ndarray
    target_name: str
    family: FamilyTargets | None
    dev: torch.device
    gen: torch.Generator
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.MultiStepLR
    tgt: torch.Tensor
    family_tgt: torch.Tensor | None
    codes: torch.Tensor | None
    flake_of: torch.Tensor
    losses: list[float] = field(default_factory=list)
    #: A hex run's growth penalty per iteration (the loss stays the RGBA MSE).
    penalties: list[float] = field(default_factory=list)
    #: A growth run's growth loss per iteration (NaN where no sample started as a seed).
    growth_losses: list[float] = field(default_factory=list)
    #: The keyframe snapshots of a growth run (:mod:`.growth`).
    growth: Growth | None = None
    start_iter: int = 0
    seconds_before: float = 0.0
    pool: torch.Tensor | None = None

    @property
    def size(self) -> tuple[int, int, int]:
        """The grid and the state's channels without codes: ``(H, W, C)``."""
        return int(self.tgt.shape[0]), int(self.tgt.shape[1]), self.model.config.channels

    def seeds(self, labels: torch.Tensor | None) -> torch.Tensor:
        """Seed states for the flakes ``labels`` (a family) or ``len == 1`` plain seeds."""
        height, width, channels = self.size
        if self.codes is None or labels is None:
            return seed_states_nhwc(1 if labels is None else len(labels), height, width, channels, self.dev)
        return seed_states_nhwc(len(labels), height, width, channels, self.dev, self.codes[labels])

    def targets_of(self, labels: torch.Tensor | None) -> torch.Tensor:
        """The target ``(H, W, 4)`` (one model) or per-sample targets ``(B, H, W, 4)`` (a family)."""
        return self.tgt if self.family_tgt is None or labels is None else self.family_tgt[labels.to(self.dev)]

    def mask_fn(self, n: int) -> Callable[[], torch.Tensor]:
        """A source of update masks ``(n, H, W, 1)`` drawn from the run's generator: per cell, or per orbit (hex)."""
        height, width, _ = self.size
        return mask_drawer(self.model, n, height, width, self.gen, self.dev)


def set_up(
    target: np.ndarray,
    out: Path,
    config: TrainConfig,
    model_config: NCAConfig | None,
    target_name: str,
    device: str,
    resume: bool,
    family: FamilyTargets | None,
    changes: Collection[str],
) -> tuple[Run, torch.Tensor | None]:
    """A new run, or the run saved at ``out`` resumed; with the saved pool (None if there is none)."""
    config.validate()
    dev = resolve_device(device)
    start_iter = 0
    losses: list[float] = []
    penalties: list[float] = []
    growth_losses: list[float] = []
    seconds_before = 0.0
    gen = torch.Generator(device="cpu")
    gen.manual_seed(config.seed)
    pool_state: torch.Tensor | None = None
    ckpt: Checkpoint | None = None
    if resume:
        ckpt = load_checkpoint(out)
        check_kept_model(
            ckpt.model_config, model_config, changes, saved_target=ckpt.target_name, given_target=target_name
        )
        model = NCA.from_config(ckpt.model_config)
        model.load_state_dict(ckpt.state_dict)
        target, target_name, family = ckpt.target, ckpt.target_name, ckpt.family
        train_state = ckpt.train_state
        start_iter = int(train_state["iteration"])
        losses = [float(v) for v in train_state["losses"]]
        penalties = [float(v) for v in train_state.get("penalties", [])]
        growth_losses = [float(v) for v in train_state.get("growth_losses", [])]
        seconds_before = float(train_state.get("seconds", 0.0))
        gen.set_state(train_state["generator"])
        pool_state = read_pool(out)
        saved_cfg = dict(train_state["config"])
        config = TrainConfig(**resumed_settings(saved_cfg, config, changes, start_iter))
        config.validate()
        if start_iter >= config.iterations:
            raise NCAError(f"{out} already has {start_iter} iterations; pass a larger --iterations to continue")
    else:
        model = NCA.from_config(model_config or NCAConfig())
        if family is not None:
            target = family.targets[0]
            if model.config.code_channels != family.code_channels:
                raise NCAError(
                    f"the family's codes have {family.code_channels} channels, the model {model.config.code_channels}"
                )
        elif model.config.code_channels:
            raise NCAError("a model with code channels needs a family of targets")
    if config.palette_weight and family is None:
        raise NCAError(
            f"--palette-weight keeps a family's growth on its rim-to-core palette; {target_name!r} is one image, "
            "not a family (reiter:...)"
        )
    growth = None
    if config.growth_steps:
        if family is None:
            raise NCAError(
                f"--growth-steps teaches a family's automaton growth; {target_name!r} is one image with no automaton "
                "(train a family, reiter:..., or leave --growth-steps out)"
            )
        if model.config.hex:
            raise NCAError("--growth-steps is for square models; a hex model learns the end state only")
        growth = growth_of(family, config.growth_steps, config.growth_every, dev)
    torch.manual_seed(config.seed)
    if not resume:
        # Initialise the weights from the run's seed so a run is repeatable.
        init = torch.Generator().manual_seed(config.seed)
        bound = 1.0 / math.sqrt(model.w1.in_channels)  # 3C + D (hex: 2C + D)
        with torch.no_grad():
            model.w1.weight.uniform_(-bound, bound, generator=init)
            if model.w1.bias is not None:
                model.w1.bias.uniform_(-bound, bound, generator=init)
    model.to(dev)
    family_tgt = codes = None
    flake_of = torch.zeros(0, dtype=torch.long)
    if family is not None:
        family_tgt = torch.as_tensor(family.targets, dtype=torch.float32).permute(0, 2, 3, 1).to(dev)
        codes = torch.as_tensor(family.codes, dtype=torch.float32)
        flake_of = torch.arange(config.pool_size) % family.k
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[config.lr_decay_at], gamma=config.lr_decay)
    if ckpt is not None:
        opt.load_state_dict(ckpt.train_state["optimizer"])
        sched.load_state_dict(ckpt.train_state["scheduler"])
        if "lr" in changes:
            restart_lr(opt, sched, config.lr)
        if config.lr_decay_at != ckpt.train_state["config"]["lr_decay_at"]:
            move_lr_decay(sched, config.lr_decay_at)
    run = Run(
        out=out,
        config=config,
        model=model,
        target=target,
        target_name=target_name,
        family=family,
        dev=dev,
        gen=gen,
        opt=opt,
        sched=sched,
        tgt=torch.as_tensor(target, dtype=torch.float32).permute(1, 2, 0).to(dev),  # (H, W, 4)
        family_tgt=family_tgt,
        codes=codes,
        flake_of=flake_of,
        losses=losses,
        penalties=penalties,
        growth_losses=growth_losses,
        start_iter=start_iter,
        seconds_before=seconds_before,
        growth=growth,
    )
    return run, pool_state


def fill_pool(
    run: Run, pool_state: torch.Tensor | None, *, resume: bool, warm_rounds: int, notify: Callable[[str], None]
) -> None:
    """The sample pool of a pool mode: the saved one, else seeds (aged by the model when resuming without one)."""
    config = run.config
    if config.mode not in ("persist", "regenerate"):
        return
    height, width, channels = run.size
    if pool_state is not None and tuple(pool_state.shape) == (
        config.pool_size,
        height,
        width,
        run.model.config.state_channels,
    ):
        run.pool = pool_state.to(run.dev, torch.float32)
        return
    warm = resume and warm_rounds > 0
    why = "no sample pool beside the checkpoint"
    if resume and pool_path(run.out).exists():
        why = f"the sample pool {pool_path(run.out).name} is unreadable or does not fit the run"
    if resume and not warm:
        notify(f"notice: {why}; starting a fresh pool")
    run.pool = (
        run.seeds(run.flake_of)
        if run.codes is not None
        else seed_states_nhwc(config.pool_size, height, width, channels, run.dev)
    )
    if warm:
        notify(
            f"notice: {why}; warming a fresh one with the model "
            f"({config.pool_size} seeds, 1-{warm_rounds} rollouts each)"
        )
        started = time.perf_counter()
        steps = (config.steps_min, config.steps_max)
        warm_pool(run.model, run.pool, rounds=warm_rounds, steps=steps, gen=run.gen, mask_fn=run.mask_fn)
        run.seconds_before += time.perf_counter() - started  # the warming is part of the run's cost
