"""What decides a training run (:class:`TrainConfig`), what it reports (:class:`TrainResult`) and its device."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch

from ..errors import NCAError

__all__ = ["MODES", "TrainConfig", "TrainResult", "resolve_device"]

Mode = Literal["grow", "persist", "regenerate"]
MODES: tuple[str, ...] = ("grow", "persist", "regenerate")


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
