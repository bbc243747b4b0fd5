"""How far a lower-precision step (int8) drifts from its float32 model, and writing an int8 step that holds it.

Both models roll the same seeds out with the same masks, as a render does; at each measured step the frames'
premultiplied RGBA is compared seed by seed (MSE); every seed alive in the reference must be alive in the
candidate; a family model's candidate frame must also be nearest its own reference frame among the batch's
(identity: it still grows each seed's flake; a one-target model's seeds all grow the same flake, so there is no
identity to keep). The ship floor: the worst frame MSE at most :data:`DRIFT_FLOOR` (the family floor's
``drift_worst``: a lower-precision step may move a frame from float32 no further than a shipped model may drift
between steps 200 and 1000), alive, and identity where it applies. :func:`write_int8` quantises a float32 step
(:mod:`ncarender.runtime.int8`), measures its drift and writes it only if it holds the floor. No torch.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import onnx

from ..atomic import atomic_path
from ..errors import NCAError
from ..metadata import META
from ..runtime import NCASession, NonFiniteStateError, open_model, roll_out
from ..spec import RenderSpec
from .family import FAMILY_FLOOR, _rgba_mse
from .report import Judged

__all__ = ["DRIFT_FLOOR", "DRIFT_SEEDS", "DRIFT_STEPS", "DriftReport", "evaluate_drift", "write_int8"]

#: The worst frame MSE against the float32 model a lower-precision step may reach (identity and alive: checks
#: without a number).
DRIFT_FLOOR = {"frame_mse_worst": FAMILY_FLOOR["drift_worst"]}
#: The steps the drift is measured at (the last: the 1000 steps of the issue).
DRIFT_STEPS = (100, 200, 500, 1000)
#: The seeds the drift is measured on (``eval --against`` and ``export --int8``): 0..7.
DRIFT_SEEDS = range(8)


@dataclass
class DriftReport(Judged):
    """Per measured step, the frames' RGBA MSE against the reference (mean and worst over seeds); identity, alive."""

    seeds: list[int]
    mse: dict[int, float] = field(default_factory=dict)
    mse_worst: dict[int, float] = field(default_factory=dict)
    #: Seeds whose candidate frame was nearer another seed's reference frame, by step.
    lost: dict[int, list[int]] = field(default_factory=dict)
    #: Seeds alive in the reference and dead in the candidate at the last step.
    died: list[int] = field(default_factory=list)
    non_finite: int | None = None

    bar: ClassVar[dict[str, float]] = DRIFT_FLOOR
    floor_bar: ClassVar[dict[str, float]] = DRIFT_FLOOR
    limit_format: ClassVar[str] = ".1e"

    def body_lines(self) -> list[str]:
        lines = [f"drift against float32 over {len(self.seeds)} seeds (RGBA MSE of frames, mean / worst):"]
        lines += [f"  step {t:>5}: {self.mse[t]:.2e} / {self.mse_worst[t]:.2e}" for t in self.mse]
        if self.non_finite is not None:
            lines.append(f"non-finite state at step {self.non_finite}")
        return lines

    def check_lines(self) -> list[str]:
        """The floor's checks and verdict (the floor is the whole bar: float32 is the goal)."""
        return [*self._lines(self.floor, self.floor_bar), f"floor: {self.floor_verdict}"]

    def body_json(self) -> dict[str, object]:
        return {
            "seeds": self.seeds,
            "mse": {str(k): v for k, v in self.mse.items()},
            "mse_worst": {str(k): v for k, v in self.mse_worst.items()},
            "identity_lost": {str(k): v for k, v in self.lost.items()},
            "died": self.died,
            "non_finite_at": self.non_finite,
        }


def evaluate_drift(
    reference: NCASession,
    candidate: NCASession,
    *,
    seeds: Sequence[int] = DRIFT_SEEDS,
    steps: Sequence[int] = DRIFT_STEPS,
    floor: float | None = None,
) -> DriftReport:
    """Roll ``seeds`` out on both sessions (same masks) for ``max(steps)`` steps and judge ``candidate``'s drift
    from ``reference`` at ``steps`` (``floor``: the worst frame MSE it may reach; default :data:`DRIFT_FLOOR`'s)."""
    wanted = sorted(set(int(t) for t in steps))
    report = DriftReport(seeds=[int(s) for s in seeds])
    spec = RenderSpec(seeds=tuple(report.seeds), steps=wanted[-1], every=math.gcd(*wanted))
    threshold = reference.info.alive_threshold
    ref_frames = ((t, s) for t, s in roll_out(reference, spec, include_seed_frame=False) if t in wanted)
    try:
        cand_frames = ((t, s) for t, s in roll_out(candidate, spec, include_seed_frame=False) if t in wanted)
        for (t, ref), (_, cand) in zip(ref_frames, cand_frames, strict=True):
            pairs = _rgba_mse(np.clip(cand[:, :4], 0.0, 1.0), np.clip(ref[:, :4], 0.0, 1.0))  # (N, N): cand i, ref j
            own = np.diag(pairs)
            report.mse[t], report.mse_worst[t] = float(own.mean()), float(own.max())
            report.lost[t] = [report.seeds[i] for i in np.flatnonzero(pairs.argmin(axis=1) != np.arange(len(own)))]
            if t == wanted[-1]:
                alive_ref = (ref[:, 3] > threshold).any(axis=(1, 2))
                alive_cand = (cand[:, 3] > threshold).any(axis=(1, 2))
                report.died = [report.seeds[i] for i in np.flatnonzero(alive_ref & ~alive_cand)]
    except NonFiniteStateError as exc:
        report.non_finite = exc.step
    worst = max(report.mse_worst.values(), default=float("inf"))
    report.values["frame_mse_worst"] = worst
    floor = DRIFT_FLOOR["frame_mse_worst"] if floor is None else floor
    finite = report.non_finite is None
    report.checks = report.floor = {"frame_mse_worst": finite and worst <= floor, "alive": finite and not report.died}
    if reference.info.family is not None:
        report.checks["identity"] = finite and not any(report.lost.values())
    else:
        report.lost = {}
    report.judge(report.non_finite)
    return report


def write_int8(
    source: Path,
    output: Path,
    *,
    seeds: Sequence[int] = DRIFT_SEEDS,
    floor: float | None = None,
    on_step: Callable[[int], None] | None = None,
) -> DriftReport:
    """Write ``source``'s float32 step with its update network in int8 to ``output`` if its drift from
    ``source`` over :data:`DRIFT_STEPS` on ``seeds`` holds the floor (the report goes into its metadata,
    ``ncarender.drift``); otherwise raise :class:`NCAError` and write nothing. ``on_step``: the rollouts'
    progress (samples stepped)."""
    from ..runtime.int8 import calibration_states, quantize_step

    if output.suffix != ".onnx":
        raise NCAError(f"output {str(output)!r} should end in .onnx")
    reference = open_model(source, provider="cpu", quiet=True)
    if reference.info.precision != "float32":
        raise NCAError(f"{source} is a {reference.info.precision} step; int8 is made from a float32 one")
    reference.on_step = on_step
    floor = DRIFT_FLOOR["frame_mse_worst"] if floor is None else floor
    with atomic_path(output) as tmp:
        quantize_step(source, tmp, calibration_states(reference), fire_rate=reference.info.fire_rate)
        candidate = open_model(tmp, provider="cpu", quiet=True)
        candidate.on_step = on_step
        report = evaluate_drift(reference, candidate, seeds=seeds, floor=floor)
        if not report.shippable:
            failed = ", ".join(name for name, ok in report.floor.items() if not ok)
            raise NCAError(
                f"the int8 step drifts from float32 past the ship floor ({failed}: worst frame MSE "
                f"{report.values['frame_mse_worst']:.2e}, floor {floor:.1e}, over {max(DRIFT_STEPS)} steps); "
                "no file written"
            )
        proto = onnx.load(str(tmp))
        entry = proto.metadata_props.add()
        entry.key = META.drift
        entry.value = json.dumps(
            {"seeds": report.seeds, "steps": max(DRIFT_STEPS), "frame_mse_worst": report.values["frame_mse_worst"]}
        )
        onnx.save(proto, str(tmp))
    return report
