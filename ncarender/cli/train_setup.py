"""The ``train`` command's options made into a run: the ``--quick`` preset, the checks, a resumed run's total.

Nothing here imports torch at import time; :func:`planned_total` reads a checkpoint (only with ``--resume``).
The time budget is checked by the library's own rule (:func:`ncarender.train.config.budget_seconds`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..errors import NCAError

__all__ = ["QUICK", "QUICK_MINUTES", "apply_quick", "check_options", "planned_total", "quick_help"]

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
