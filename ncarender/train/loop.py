"""Training loop of the Growing NCA: grow, persist (sample pool) and regenerate (pool + damage).

The loop follows the Distill paper: a batch of states (fresh seeds or pool
samples) is rolled out for a random 64-96 steps, the MSE of RGBA against the
padded target is minimised with Adam and per-parameter gradient
normalisation. Rollouts run channels-last and on the bounding box of the
live cells only (exactly the same result, far fewer cells early on).
"""

from __future__ import annotations

import math
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from .. import __version__
from ..errors import NCAError
from .checkpoint import Checkpoint, load_checkpoint, pool_path, save_checkpoint, save_pool
from .conditioning import FamilyTargets
from .curve import loss_curve_path, write_loss_curve
from .hex import lattice_damage, mask_drawer, rollout_hex
from .model import NCA, NCAConfig
from .resume import check_kept_model, move_lr_decay, resumed_settings, warm_pool
from .rollout import rollout_cropped, seed_states_nhwc

__all__ = ["TrainConfig", "TrainResult", "resolve_device", "rollout_cropped", "train"]

Mode = Literal["grow", "persist", "regenerate"]
MODES: tuple[str, ...] = ("grow", "persist", "regenerate")
#: A sample this far (RGBA MSE) from its target has blown up: RGBA in [0, 1] can never be further than 1.
BLOWN_UP_MSE = 1.0
#: Iterations in a row with a blown-up rollout before a run stops as diverged.
MAX_SKIPPED = 20


@dataclass
class TrainConfig:
    """Everything that decides a training run (recorded in the checkpoint)."""

    mode: str = "regenerate"
    iterations: int = 4000
    batch_size: int = 8
    pool_size: int = 1024
    steps_min: int = 64
    steps_max: int = 96
    lr: float = 2e-3
    lr_decay_at: int = 2000
    lr_decay: float = 0.1
    damage_count: int = 3
    seed: int = 0
    checkpoint_every: int = 200
    #: A hex model's palette penalty along the rollout (:func:`.hex.palette_penalty`); 0: off. Recorded only if set.
    palette_weight: float = 0.0

    def validate(self) -> None:
        """Raise :class:`NCAError` on a setting that cannot train."""
        if self.mode not in MODES:
            raise NCAError(f"unknown training mode {self.mode!r}; choose one of {', '.join(MODES)}")
        if self.iterations < 1:
            raise NCAError(f"--iterations must be at least 1, got {self.iterations}")
        if self.batch_size < 1:
            raise NCAError(f"--batch-size must be at least 1, got {self.batch_size}")
        if self.mode != "grow" and self.pool_size < self.batch_size:
            raise NCAError(f"--pool-size ({self.pool_size}) must be at least the batch size ({self.batch_size})")
        if not 1 <= self.steps_min <= self.steps_max:
            raise NCAError(f"steps must satisfy 1 <= min <= max, got {self.steps_min}-{self.steps_max}")
        if self.lr <= 0:
            raise NCAError(f"--lr must be positive, got {self.lr}")
        if self.checkpoint_every < 1:
            raise NCAError(f"--checkpoint-every must be at least 1, got {self.checkpoint_every}")
        if not 0.0 <= self.palette_weight < math.inf:
            raise NCAError(f"--palette-weight must be 0 or more, got {self.palette_weight}")


@dataclass
class TrainResult:
    """What a finished (or interrupted) run reports."""

    checkpoint: Path
    iterations: int
    final_loss: float
    seconds: float
    interrupted: bool = False
    losses: list[float] = field(default_factory=list)


def resolve_device(device: str) -> torch.device:
    """Map ``auto|cpu|cuda`` to a torch device, refusing CUDA where there is none."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cpu":
        return torch.device("cpu")
    if device == "cuda":
        if not torch.cuda.is_available():
            raise NCAError("--device cuda asked for, but this torch build sees no CUDA device")
        return torch.device("cuda")
    raise NCAError(f"unknown device {device!r}; choose auto, cpu or cuda")


def _recorded(config: TrainConfig) -> dict[str, object]:
    """The run's settings as the checkpoint records them: ``palette_weight`` only where set (square bytes kept)."""
    out = asdict(config)
    if not config.palette_weight:
        del out["palette_weight"]
    return out


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
    iteration. Ctrl-C writes a checkpoint and returns with ``interrupted``.
    """
    config.validate()
    dev = resolve_device(device)
    start_iter = 0
    losses: list[float] = []
    penalties: list[float] = []  # a hex run's growth penalty per iteration (the loss stays the RGBA MSE)
    seconds_before = 0.0
    gen = torch.Generator(device="cpu")
    gen.manual_seed(config.seed)
    pool_state: torch.Tensor | None = None
    if resume:
        ckpt = load_checkpoint(out)
        check_kept_model(
            ckpt.model_config, model_config, changes, saved_target=ckpt.target_name, given_target=target_name
        )
        model = NCA.from_config(ckpt.model_config)
        model.load_state_dict(ckpt.state_dict)
        target = ckpt.target
        target_name = ckpt.target_name
        family = ckpt.family
        train_state = ckpt.train_state
        start_iter = int(train_state["iteration"])
        losses = [float(v) for v in train_state["losses"]]
        penalties = [float(v) for v in train_state.get("penalties", [])]
        seconds_before = float(train_state.get("seconds", 0.0))
        gen.set_state(train_state["generator"])
        if pool_path(out).exists():
            pool_state = torch.load(pool_path(out), map_location="cpu", weights_only=True)
        saved_cfg = dict(train_state["config"])
        config = TrainConfig(**resumed_settings(saved_cfg, config, changes, start_iter))
        config.validate()
        if start_iter >= config.iterations:
            raise NCAError(f"{out} already has {start_iter} iterations; pass a larger --iterations to continue")
    else:
        model = NCA.from_config(model_config or NCAConfig())
        ckpt = None
        if family is not None:
            target = family.targets[0]
            if model.config.code_channels != family.code_channels:
                raise NCAError(
                    f"the family's codes have {family.code_channels} channels, the model {model.config.code_channels}"
                )
        elif model.config.code_channels:
            raise NCAError("a model with code channels needs a family of targets")
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
    tgt = torch.as_tensor(target, dtype=torch.float32).permute(1, 2, 0).to(dev)  # (H, W, 4)
    height, width = tgt.shape[:2]
    channels = model.config.channels
    state_channels = model.config.state_channels
    # A family: every flake's target (K, H, W, 4) and code (K, D); pool slot i keeps flake i % K.
    family_tgt = codes = None
    flake_of = torch.zeros(0, dtype=torch.long)
    if family is not None:
        family_tgt = torch.as_tensor(family.targets, dtype=torch.float32).permute(0, 2, 3, 1).to(dev)
        codes = torch.as_tensor(family.codes, dtype=torch.float32)
        flake_of = torch.arange(config.pool_size) % family.k

    def seeds(labels: torch.Tensor | None) -> torch.Tensor:
        """Seed states for the flakes ``labels`` (a family) or ``len == 1`` plain seeds."""
        if codes is None or labels is None:
            return seed_states_nhwc(1 if labels is None else len(labels), height, width, channels, dev)
        return seed_states_nhwc(len(labels), height, width, channels, dev, codes[labels])

    def targets_of(labels: torch.Tensor | None) -> torch.Tensor:
        """The target ``(H, W, 4)`` (one model) or per-sample targets ``(B, H, W, 4)`` (a family)."""
        return tgt if family_tgt is None or labels is None else family_tgt[labels.to(dev)]

    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[config.lr_decay_at], gamma=config.lr_decay)
    if ckpt is not None:
        opt.load_state_dict(ckpt.train_state["optimizer"])
        sched.load_state_dict(ckpt.train_state["scheduler"])
        if config.lr_decay_at != ckpt.train_state["config"]["lr_decay_at"]:
            move_lr_decay(sched, config.lr_decay_at)

    use_pool = config.mode in ("persist", "regenerate")
    pool: torch.Tensor | None = None
    warm = False
    if use_pool:
        if pool_state is not None and tuple(pool_state.shape) == (config.pool_size, height, width, state_channels):
            pool = pool_state.to(dev, torch.float32)
        else:
            warm = resume and warm_rounds > 0
            if resume and not warm:
                print("notice: no sample pool beside the checkpoint; starting a fresh pool", file=sys.stderr)
            pool = (
                seeds(flake_of)
                if codes is not None
                else seed_states_nhwc(config.pool_size, height, width, channels, dev)
            )

    def mask_fn(n: int) -> Callable[[], torch.Tensor]:
        return mask_drawer(model, n, height, width, gen, dev)  # per cell, or per orbit (hex)

    if warm and pool is not None:
        print(
            f"notice: no sample pool beside the checkpoint; warming a fresh one with the model "
            f"({config.pool_size} seeds, 1-{warm_rounds} rollouts each)",
            file=sys.stderr,
        )
        started = time.perf_counter()
        warm_pool(model, pool, rounds=warm_rounds, steps=(config.steps_min, config.steps_max), gen=gen, mask_fn=mask_fn)
        seconds_before += time.perf_counter() - started  # the warming is part of the run's cost

    def write(iteration: int, seconds: float) -> None:
        train_state = {
            "iteration": iteration,
            "losses": losses,
            "seconds": seconds,
            "config": _recorded(config),
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(),
            "generator": gen.get_state(),
        }
        if penalties:
            train_state["penalties"] = penalties
        prov = _provenance(config, dev)
        prov.update(iterations=iteration, final_loss=losses[-1] if losses else float("nan"), seconds=seconds)
        save_checkpoint(
            out,
            Checkpoint(
                model_config=model.config,
                state_dict={k: v.detach().cpu() for k, v in model.state_dict().items()},
                target=np.asarray(target, dtype=np.float32),
                target_name=target_name,
                train_state=train_state,
                provenance=prov,
                family=family,
            ),
        )
        if pool is not None:
            save_pool(out, pool.detach().cpu())
        write_loss_curve(losses, loss_curve_path(out), title=f"{target_name}: {iteration} iterations")

    t0 = time.perf_counter()
    iteration = start_iter
    skipped = 0  # iterations in a row whose rollouts blew up
    interrupted = False
    try:
        while iteration < config.iterations:
            idx = None
            labels = None  # the flake of each sample (a family only)
            if family is not None:  # grow mode: the flakes take turns
                labels = (torch.arange(config.batch_size) + iteration * config.batch_size) % family.k
            if pool is not None:
                idx = torch.randperm(config.pool_size, generator=gen)[: config.batch_size].to(dev)
                x0 = pool[idx]
                if codes is not None:
                    labels = flake_of[idx.cpu()]
                with torch.no_grad():
                    per_sample = ((x0[..., :4] - targets_of(labels)) ** 2).mean(dim=(1, 2, 3))
                order = torch.argsort(per_sample, descending=True)
                idx, x0 = idx[order], x0[order]
                if labels is not None:
                    labels = labels[order.cpu()]
                x0[:1] = seeds(None if labels is None else labels[:1])
                if config.mode == "regenerate" and config.damage_count > 0:
                    k = min(config.damage_count, config.batch_size - 1)
                    if k > 0:
                        x0[-k:] = lattice_damage(model, x0[-k:], gen)
            elif codes is None:
                x0 = seed_states_nhwc(config.batch_size, height, width, channels, dev)
            else:
                x0 = seeds(labels)
            steps = int(torch.randint(config.steps_min, config.steps_max + 1, (1,), generator=gen))
            if model.config.hex:  # the whole axial array, symmetrised, with the growth penalty
                x, penalty = rollout_hex(
                    model, x0, steps, mask_fn(config.batch_size), palette_weight=config.palette_weight
                )
            else:
                x, penalty = rollout_cropped(model, x0, steps, mask_fn(config.batch_size)), None
            err = (x[..., :4] - targets_of(labels)) ** 2
            loss = err.mean()
            objective = loss if penalty is None else loss + penalty
            with torch.no_grad():
                per_sample = err.mean(dim=(1, 2, 3))
                blown = ~torch.isfinite(per_sample) | (per_sample > BLOWN_UP_MSE)
            if bool(blown.any()):
                # A rollout blew up: no step (its gradient would be all explosion) and its pool slots start
                # again from seeds, so the blow-up cannot spread through the pool. Many in a row: diverged.
                skipped += 1
                if skipped > MAX_SKIPPED:
                    raise NCAError(
                        f"training diverged at iteration {iteration + 1}: rollouts blew up {skipped} iterations "
                        f"in a row; the checkpoint written last ({out}) is kept; try a lower --lr"
                    )
                count = int(blown.sum())
                print(
                    f"notice: iteration {iteration + 1}: {count} of {len(blown)} rollouts blew up "
                    "(their pool slots are reset to seeds; no step)",
                    file=sys.stderr,
                )
                x = x.detach().clone()
                bad = torch.nonzero(blown).flatten()
                x[bad] = seeds(None if labels is None else labels[bad.cpu()]).expand(count, -1, -1, -1)
                value = float(per_sample[~blown].mean()) if count < len(blown) else (losses[-1] if losses else 1.0)
                with warnings.catch_warnings():  # the scheduler counts iterations, stepped or not
                    warnings.simplefilter("ignore", UserWarning)
                    sched.step()
            else:
                skipped = 0
                opt.zero_grad(set_to_none=True)
                objective.backward()
                with torch.no_grad():
                    for p in model.parameters():
                        if p.grad is not None:
                            p.grad /= p.grad.norm() + 1e-8
                opt.step()
                sched.step()
                value = float(loss.detach())
            if pool is not None and idx is not None:
                pool[idx] = x.detach()
            losses.append(value)
            if penalty is not None:
                penalties.append(float(penalty.detach()))
            iteration += 1
            if progress is not None:
                progress(iteration, config.iterations, value)
            if iteration % config.checkpoint_every == 0 and iteration < config.iterations:
                write(iteration, seconds_before + time.perf_counter() - t0)
    except KeyboardInterrupt:
        interrupted = True
    seconds = seconds_before + time.perf_counter() - t0
    write(iteration, seconds)
    return TrainResult(
        checkpoint=out,
        iterations=iteration,
        final_loss=losses[-1] if losses else float("nan"),
        seconds=seconds,
        interrupted=interrupted,
        losses=losses,
    )
