"""The ``train`` command's options made into a run: the ``--quick`` preset, the checks, a resumed run's total,
and :func:`plan_run`, the run decided once (:class:`TrainPlan`: its settings, model, target(s) and name).

Nothing here imports torch at import time; :func:`planned_total` reads a checkpoint (only with ``--resume``) and
:func:`plan_run` builds the trainer's settings. The time budget is checked by the library's own rule
(:func:`ncarender.train.config.budget_seconds`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import NCAError

if TYPE_CHECKING:
    import numpy as np

    from ..family.conditioning import FamilyTargets
    from ..train.loop import TrainConfig
    from ..train.model import NCAConfig

__all__ = [
    "QUICK",
    "QUICK_MINUTES",
    "TrainPlan",
    "apply_quick",
    "check_options",
    "plan_run",
    "planned_total",
    "quick_help",
]

#: ``--quick``: a small model of a user's image, measured to get a recognisable result in about 10 minutes on
#: 2 CPU cores (docs/training.md). A 48x48 grid (32-cell image, 8 cells around), a 64-wide update network,
#: 4 samples of 48-64 steps per iteration, a 128-slot pool; the learning rate drops for the last quarter.
QUICK: dict[str, int] = {
    "size": 32,
    "pad": 8,
    "hidden": 64,
    "batch_size": 4,
    "steps_min": 48,
    "steps_max": 64,
    "pool_size": 128,
    "iterations": 2000,
    "lr_decay_at": 1500,
}
#: ``--quick``'s time budget when no ``--minutes`` is given.
QUICK_MINUTES = 10.0


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def quick_help() -> str:
    """The ``--quick`` option's help: what the preset sets, from :data:`QUICK` itself."""
    preset = " ".join(f"{_flag(name)} {value}" for name, value in QUICK.items())
    return (
        f"A small, fast run for your own image: {preset} and --minutes {QUICK_MINUTES:g} (whichever ends first), "
        "about 10 minutes on 2 CPU cores. Options you give override the preset's. With --resume it sets only the "
        "time budget: the run keeps its own settings."
    )


def apply_quick(params: dict[str, Any], changes: set[str]) -> None:
    """Put :data:`QUICK`'s values into ``params`` where the user gave none (a new run; a resumed one keeps its
    own), and its time budget where no ``--minutes`` is given."""
    for name, value in QUICK.items():
        if name not in changes and not params["resume"]:
            params[name] = value
    if params.get("minutes") is None:
        params["minutes"] = QUICK_MINUTES


def planned_total(output: Path, given: int) -> int:
    """The iterations a resumed run goes to when ``--iterations`` is not given: the checkpoint's own total if it
    stopped short of it (time budget, Ctrl-C), else ``given`` (the option's default, as before)."""
    from ..train.checkpoint import load_checkpoint

    state = load_checkpoint(output).train_state
    saved = state.get("config", {}).get("iterations")
    done = int(state.get("iteration", 0))
    return int(saved) if isinstance(saved, int) and done < saved else given


def check_options(params: dict[str, Any], changes: set[str], *, has_orbits: bool, family: bool) -> None:
    """The checks of ``train``'s options that need no torch; ``has_orbits``: a hex lattice, ``family``: a family
    TARGET. Each failure is one :class:`NCAError` line; nothing is written before them."""
    resume, output = params["resume"], params["output"]
    loose = sorted({"growth_weight", "growth_every", "growth_seeds"} & changes)
    if loose and not params["growth_steps"] and not resume:
        raise NCAError(f"{_flag(loose[0])} sets the growth loss: it needs --growth-steps T")
    if "lap_gain" in changes and not has_orbits and not resume:
        raise NCAError("--lap-gain sets a hex model's Laplacian perception: it needs --lattice hex")
    if not 0.0 < params["lap_gain"] < math.inf:
        raise NCAError(f"--lap-gain must be positive, got {params['lap_gain']}")
    if params["warm_rounds"] < 0:
        raise NCAError(f"--warm-rounds must be 0 or more, got {params['warm_rounds']}")
    if not 0.0 < params["fire_rate"] <= 1.0:
        raise NCAError(f"--fire-rate must be in (0, 1], got {params['fire_rate']}")
    if output.suffix != ".pt":
        raise NCAError(f"checkpoint path {str(output)!r} should end in .pt")
    if resume and not output.exists():
        raise NCAError(f"--resume: no checkpoint at {str(output)!r} to continue")
    if resume and params["force"]:
        raise NCAError("--resume continues the run at --output, --force starts it over: pass one")
    if not resume and output.exists() and not params["force"]:
        raise NCAError(f"{output} exists: pass --resume to continue it or --force to start over")
    if family and not resume and {"size", "pad"} & changes:
        target = params["target"]
        raise NCAError(
            "--size and --pad do not apply to a family: its grid is part of the spec, "
            f"as in {target.split('@')[0]}@{params['size']} (see `ncarender family --help`)"
        )


@dataclass(frozen=True)
class TrainPlan:
    """A training run decided from the ``train`` command's options: the trainer's ``config`` and the
    ``model_config``, the ``target`` premultiplied RGBA float32 ``(4, H, W)`` (a placeholder ``(4, 1, 1)`` when a
    resumed run keeps its own), its ``target_name``, a family's ``family`` targets and codes (None: one target or
    a resumed run) and the time budget in ``minutes``."""

    config: TrainConfig
    model_config: NCAConfig
    target: np.ndarray
    target_name: str
    family: FamilyTargets | None
    minutes: float | None


def _targets(params: dict[str, Any], changes: set[str], has_orbits: bool) -> tuple[np.ndarray | None, Any]:
    """A new run's target ``(4, H, W)`` and, for a family TARGET, its targets and codes (square or hex); a
    resumed run's are its own (None, None)."""
    from ..family.conditioning import family_targets
    from ..family.family import is_family_spec
    from ..family.targets import load_target

    target, width = params["target"], (params["code_channels"] if "code_channels" in changes else None)
    if params["resume"]:
        return None, None
    if not is_family_spec(target):
        return load_target(target, size=params["size"], pad=params["pad"]), None
    if has_orbits:
        from ..family.hex_targets import hex_family_targets

        family = hex_family_targets(target, width)
    else:
        family = family_targets(target, width)
    return family.targets[0], family


def plan_run(params: dict[str, Any], changes: set[str], note: Callable[[str], None]) -> TrainPlan:
    """Check the ``train`` command's options (``params`` by name, ``changes`` those given on the command line)
    and decide the run: each failure one :class:`NCAError` line, before anything is written. ``note`` receives
    the notice that an existing checkpoint will be replaced. Needs torch (the ``[train]`` extra)."""
    from ..atomic import check_writable_dir
    from ..family.family import is_family_spec
    from ..lattice import MASK_CELL, MASK_ORBIT, check_mask_kind, lattice_named
    from ..train.config import budget_seconds
    from ..train.loop import TrainConfig
    from ..train.model import NCAConfig

    target, output, resume = params["target"], params["output"], params["resume"]
    chosen = lattice_named(params["lattice"], source="--lattice")
    default_mask = MASK_ORBIT if chosen.has_orbits else MASK_CELL
    mask_kind = check_mask_kind(params["mask"] or default_mask, chosen, source="--mask")
    if chosen.has_orbits and not resume and not is_family_spec(target):
        raise NCAError(f"--lattice {chosen.name} trains a family (TARGET reiter:..., e.g. reiter:16), not {target!r}")
    budget_seconds(params["minutes"])  # the library's rule, before anything else is read or written
    if params["quick"]:
        apply_quick(params, changes)
    # The run's settings are the options of the same names (the others keep TrainConfig's defaults).
    cfg = TrainConfig(**{f.name: params[f.name] for f in fields(TrainConfig) if f.name in params})
    cfg.validate()
    check_options(params, changes, has_orbits=chosen.has_orbits, family=is_family_spec(target))
    if resume and "iterations" not in changes:
        cfg.iterations = planned_total(output, cfg.iterations)
    if not resume and output.exists():
        note(f"note: {output} exists and will be replaced when the first checkpoint is written")
    tgt, family = _targets(params, changes, chosen.has_orbits)
    check_writable_dir(output.parent if str(output.parent) else Path("."))
    # a family's code width is its own; a resumed run compares what was given; one target has none
    codes = family.code_channels if family is not None else (params["code_channels"] if resume else 0)
    model_config = NCAConfig(
        channels=params["channels"],
        hidden=params["hidden"],
        fire_rate=params["fire_rate"],
        code_channels=codes,
        lattice=chosen.name,
        mask=mask_kind,
        lap_gain=params["lap_gain"],  # a new square run's is 1 (refused above); a resumed run compares what was given
    )
    name = (family.spec if family is not None else target) if tgt is not None else target
    import numpy as np  # not at import: the command line's start-up stays free of numpy (one BLAS thread)

    placeholder = np.zeros((4, 1, 1), np.float32)
    return TrainPlan(cfg, model_config, tgt if tgt is not None else placeholder, name, family, params["minutes"])
