"""Checkpoints: one ``.pt`` file with weights, config, target, training state and provenance.

Files are read with ``torch.load(weights_only=True)``: opening a checkpoint
never runs code from the file. The sample pool of a pool-based run lives
beside it (``NAME.pool.pt``, :mod:`.pool`) so the checkpoint itself stays small.
"""

from __future__ import annotations

import pickle
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..atomic import atomic_path
from ..errors import NCAError
from ..family.conditioning import FamilyTargets
from .model import NCAConfig
from .pool import pool_path, save_pool

__all__ = ["FORMAT", "Checkpoint", "load_checkpoint", "pool_path", "save_checkpoint", "save_pool"]

FORMAT = "ncarender-checkpoint"
FORMAT_VERSION = 1
_REQUIRED = ("format", "format_version", "model_config", "state_dict", "target", "target_name")


@dataclass
class Checkpoint:
    """The contents of a checkpoint. ``target`` is premultiplied RGBA ``(4, H, W)`` float32.

    A family run also has ``family`` (its K targets and codes); ``target`` is then its first flake.
    """

    model_config: NCAConfig
    state_dict: dict[str, torch.Tensor]
    target: np.ndarray
    target_name: str
    train_state: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    family: FamilyTargets | None = None

    @property
    def iterations(self) -> int:
        """Training iterations done so far."""
        return int(self.train_state.get("iteration", self.provenance.get("iterations", 0)))

    @property
    def final_loss(self) -> float:
        """Loss of the last training iteration (NaN if untrained)."""
        losses = self.train_state.get("losses") or []
        return float(losses[-1]) if losses else float("nan")


def save_checkpoint(path: Path, ckpt: Checkpoint) -> None:
    """Write ``ckpt`` to ``path`` atomically (temporary file, then rename)."""
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model_config": ckpt.model_config.to_dict(),
        "state_dict": ckpt.state_dict,
        "target": torch.from_numpy(np.ascontiguousarray(ckpt.target, dtype=np.float32)),
        "target_name": ckpt.target_name,
        "train_state": ckpt.train_state,
        "provenance": ckpt.provenance,
    }
    if ckpt.family is not None:
        family: dict[str, Any] = {
            "spec": ckpt.family.spec,
            "codes": torch.from_numpy(np.ascontiguousarray(ckpt.family.codes, dtype=np.float32)),
            "params": [dict(p) for p in ckpt.family.params],
        }
        if ckpt.family.seed_map.stores_targets:
            family["targets"] = torch.from_numpy(np.ascontiguousarray(ckpt.family.targets, np.float32))
        else:  # its N targets are regrown from the spec on load
            family["draws"] = list(ckpt.family.draws)
        payload["family"] = family
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: Path) -> Checkpoint:
    """Read and validate a checkpoint; any problem is an :class:`NCAError` naming the file."""
    path = Path(path)
    if not path.exists():
        raise NCAError(f"checkpoint {str(path)!r} does not exist")
    if path.is_dir():
        raise NCAError(f"checkpoint {str(path)!r} is a folder, not a file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's pickle-protocol notes are noise to a user
            data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "Unsupported global" in str(exc) or "Unsupported class" in str(exc):
            raise NCAError(
                f"{path} holds objects a safe load refuses (it may contain code); not an ncarender checkpoint"
            ) from None
        raise NCAError(f"{path} is not a readable torch checkpoint") from None
    except Exception as exc:  # a malformed file can make the unpickler raise anything (IndexError, ...)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NCAError(f"{path} is not a readable torch checkpoint ({first})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise NCAError(f"{path} is not an ncarender checkpoint (no '{FORMAT}' marker)")
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise NCAError(f"checkpoint {path} is missing {', '.join(missing)}")
    if int(data["format_version"]) > FORMAT_VERSION:
        raise NCAError(f"checkpoint {path} has format version {data['format_version']}; upgrade ncarender")
    try:
        config = NCAConfig(**data["model_config"])
    except (TypeError, NCAError) as exc:  # NCAError: a lattice or mask kind this ncarender does not know
        raise NCAError(f"checkpoint {path} has a bad model config: {exc}") from None
    target = data["target"]
    if not isinstance(target, torch.Tensor) or target.ndim != 3 or target.shape[0] != 4:
        raise NCAError(f"checkpoint {path} has no (4, H, W) target image")
    state_dict = data["state_dict"]
    expected = {"w1.weight", "w1.bias", "w2.weight"}
    if not isinstance(state_dict, dict) or set(state_dict) != expected:
        raise NCAError(f"checkpoint {path} does not hold NCA weights (want {', '.join(sorted(expected))})")
    shapes = {
        "w1.weight": (config.hidden, config.perception_channels + config.code_channels, 1, 1),
        "w1.bias": (config.hidden,),
        "w2.weight": (config.channels, config.hidden, 1, 1),
    }
    for key, shape in shapes.items():
        if tuple(state_dict[key].shape) != shape:
            raise NCAError(f"checkpoint {path}: {key} has shape {tuple(state_dict[key].shape)}, config says {shape}")
    family = _load_family(data.get("family"), config, target.shape, path)
    return Checkpoint(
        family=family,
        model_config=config,
        state_dict=state_dict,
        target=target.numpy().astype(np.float32),
        target_name=str(data["target_name"]),
        train_state=dict(data.get("train_state") or {}),
        provenance=dict(data.get("provenance") or {}),
    )


def _regrown_targets(spec: str, count: int, path: Path, *, hex_lattice: bool = False) -> torch.Tensor:
    """A continuous family's targets ``(N, 4, H, W)``, regrown from its spec (the checkpoint keeps only the spec)."""
    from ..family.family import make_family

    try:
        if hex_lattice:  # on the crystals' own lattice (the targets of a --lattice hex run)
            from ..family.hex_targets import hex_family_targets

            targets = hex_family_targets(spec, None).targets
        else:
            targets = make_family(spec).targets
    except NCAError as exc:
        raise NCAError(f"checkpoint {path}: cannot regrow its family: {exc}") from None
    if len(targets) != count:
        raise NCAError(f"checkpoint {path}: its family {spec!r} regrows {len(targets)} flakes, it lists {count}")
    return torch.from_numpy(np.array(targets))


def _load_family(raw: object, config: NCAConfig, target_shape: tuple[int, ...], path: Path) -> FamilyTargets | None:
    """The family part of a checkpoint, validated against the model config and the target's shape."""
    if raw is None:
        if config.code_channels:
            raise NCAError(f"checkpoint {path}: a model with {config.code_channels} code channels but no family")
        return None
    bad = NCAError(f"checkpoint {path} has a malformed family")
    if not isinstance(raw, dict):
        raise bad
    targets, codes, params = raw.get("targets"), raw.get("codes"), raw.get("params") or []
    spec, draws = str(raw.get("spec", "family")), raw.get("draws") or []
    if targets is None and isinstance(draws, list) and draws:  # a family whose targets are regrown (its draws kept)
        targets = _regrown_targets(spec, len(draws), path, hex_lattice=config.hex)
    if not isinstance(targets, torch.Tensor) or not isinstance(codes, torch.Tensor) or not isinstance(params, list):
        raise bad
    try:
        family = FamilyTargets(
            targets.numpy().astype(np.float32),
            codes.numpy().astype(np.float32),
            spec,
            tuple({str(k): float(v) for k, v in dict(p).items()} for p in params),
            tuple(int(i) for i in draws),
        )
    except (TypeError, ValueError):
        raise bad from None
    if family.code_channels != config.code_channels:
        raise NCAError(
            f"checkpoint {path}: codes have {family.code_channels} channels, the model {config.code_channels}"
        )
    if tuple(family.targets.shape[2:]) != tuple(target_shape[1:]):
        raise NCAError(
            f"checkpoint {path}: family targets are {family.targets.shape[2:]}, the target {target_shape[1:]}"
        )
    return family
