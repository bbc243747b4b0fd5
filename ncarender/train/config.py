"""What decides a training run (:class:`TrainConfig`), what it reports (:class:`TrainResult`) and its device."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch

from ..checks import is_number
from ..errors import NCAError
from ..limits import TRAIN

__all__ = ["MODES", "STOPPED", "TrainConfig", "TrainResult", "budget_seconds", "resolve_device"]

#: Measured defaults of the growth loss (issue 30; models/README.md): weight, keyframe spacing, fresh seeds per batch.
GROWTH_WEIGHT = 0.3
GROWTH_EVERY = 4
GROWTH_SEEDS = 2
#: The longest growth time a run may ask for (model steps).
MAX_GROWTH_STEPS = 1000

Mode = Literal["grow", "persist", "regenerate"]
MODES: tuple[str, ...] = ("grow", "persist", "regenerate")
#: Why a run stopped (:attr:`TrainResult.stopped`): its iterations done, its time budget spent, or Ctrl-C/SIGTERM.
STOPPED: tuple[str, ...] = ("iterations", "budget", "interrupted")


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
    #: A family model's palette penalty along the rollout (:func:`.hex.palette_penalty`); 0: off. Recorded only if set.
    palette_weight: float = 0.0
    #: A family model's growth time ``T`` in model steps (:mod:`.growth`); 0: no growth loss. Recorded only if set.
    growth_steps: int = 0
    #: Weight of the growth loss in the objective (only with ``growth_steps``).
    growth_weight: float = GROWTH_WEIGHT
    #: A growth keyframe every this many steps (only with ``growth_steps``).
    growth_every: int = GROWTH_EVERY
    #: Samples of each batch started afresh from a seed (a pool mode; only with ``growth_steps``; else one).
    growth_seeds: int = GROWTH_SEEDS

    def validate(self) -> None:
        """Raise :class:`NCAError` on a setting that cannot train."""
        if self.mode not in MODES:
            raise NCAError(f"unknown training mode {self.mode!r}; choose one of {', '.join(MODES)}")
        for name, limit in TRAIN.items():  # finite and in range (ncarender.limits), then how they fit together
            if hasattr(self, name):
                limit.check(getattr(self, name))
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
        if not 0 <= self.growth_steps <= MAX_GROWTH_STEPS:
            raise NCAError(f"--growth-steps must be from 0 (off) to {MAX_GROWTH_STEPS}, got {self.growth_steps}")
        if not 0.0 <= self.growth_weight < math.inf:
            raise NCAError(f"--growth-weight must be a finite number, 0 or more, got {self.growth_weight}")
        if not self.growth_steps:
            return
        if not 1 <= self.growth_every <= self.growth_steps:
            raise NCAError(
                f"--growth-every must be from 1 to the growth time ({self.growth_steps}), got {self.growth_every}"
            )
        if not 1 <= self.growth_seeds <= self.batch_size:
            raise NCAError(
                f"--growth-seeds must be from 1 to the batch size ({self.batch_size}), got {self.growth_seeds}"
            )
        if self.growth_steps > self.steps_max:
            raise NCAError(
                f"--growth-steps {self.growth_steps} is longer than the longest rollout ({self.steps_max} steps): "
                "the keyframes past it would never be seen; raise --steps-max or lower --growth-steps"
            )


@dataclass
class TrainResult:
    """What a finished (or interrupted) run reports."""

    checkpoint: Path
    iterations: int
    final_loss: float
    seconds: float
    interrupted: bool = False
    losses: list[float] = field(default_factory=list)
    #: Why it stopped: one of :data:`STOPPED`.
    stopped: str = "iterations"


def budget_seconds(minutes: float | None) -> float | None:
    """A time budget of ``minutes`` in seconds (None: no budget); anything but a finite positive number is an error."""
    if minutes is None:
        return None
    if not is_number(minutes) or not minutes > 0:
        raise NCAError(f"--minutes must be a finite number of minutes above 0, got {minutes!r}")
    return float(minutes) * 60.0


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
