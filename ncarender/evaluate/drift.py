"""How far a lower-precision step (int8) drifts from its float32 model: the same seeds and masks, frame by frame.

Both models roll the same seeds out with the same masks, as a render does; at each measured step the frames'
premultiplied RGBA is compared seed by seed (MSE), each candidate frame must be nearest its own reference frame
among the batch's (identity: a family model still grows each seed's flake), and every seed alive in the reference
must be alive in the candidate. The ship floor: the worst frame MSE at most :data:`DRIFT_FLOOR` (the family floor's
``drift_worst``: a lower-precision step may move a frame from float32 no further than a shipped model may drift
between steps 200 and 1000), identity and alive. No torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from ..runtime import NCASession, NonFiniteStateError, roll_out
from ..spec import RenderSpec
from .family import FAMILY_FLOOR, _rgba_mse
from .report import Judged

__all__ = ["DRIFT_FLOOR", "DRIFT_STEPS", "DriftReport", "evaluate_drift"]

#: The worst frame MSE against the float32 model a lower-precision step may reach (identity and alive: checks
#: without a number).
DRIFT_FLOOR = {"frame_mse_worst": FAMILY_FLOOR["drift_worst"]}
#: The steps the drift is measured at (the last: the 1000 steps of the issue).
DRIFT_STEPS = (100, 200, 500, 1000)


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
    seeds: Sequence[int] = range(16),
    steps: Sequence[int] = DRIFT_STEPS,
) -> DriftReport:
    """Roll ``seeds`` out on both sessions (same masks) for ``max(steps)`` steps and judge ``candidate``'s drift
    from ``reference`` at ``steps``."""
    wanted = sorted(set(int(t) for t in steps))
    report = DriftReport(seeds=[int(s) for s in seeds])
    spec = RenderSpec(seeds=tuple(report.seeds), steps=wanted[-1], every=1)
    threshold = reference.info.alive_threshold
    ref_frames = ((t, s) for t, s in roll_out(reference, spec, include_seed_frame=False) if t in wanted)
    try:
        cand_frames = ((t, s) for t, s in roll_out(candidate, spec, include_seed_frame=False) if t in wanted)
        for (t, ref), (_, cand) in zip(ref_frames, cand_frames, strict=True):
            pairs = _rgba_mse(cand, np.clip(ref[:, :4], 0.0, None))  # (N, N): candidate i against reference j
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
    report.checks = report.floor = {
        "frame_mse_worst": report.non_finite is None and worst <= DRIFT_FLOOR["frame_mse_worst"],
        "identity": report.non_finite is None and not any(report.lost.values()),
        "alive": report.non_finite is None and not report.died,
    }
    report.judge(report.non_finite)
    return report
