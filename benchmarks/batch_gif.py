"""``ncarender batch`` of 64 seeds x 200 steps to GIF, on the live region, on the full grid and with another
checkout's code (``--baseline``), against one rollout of those seeds with no frames (live region).

    python benchmarks/batch_gif.py [--quick] [--device cpu|cuda] [--baseline DIR] [--json batch.json]

Interleaved rounds (1 with ``--quick``, else 2), the median wall of each.
"""

from __future__ import annotations

import shutil
import sys
from typing import Any

import numpy as np
from harness import FULL_GRID_ENV, Result, ncarender_cmd, run_measured, seconds_of
from workload import GRID, Workload, ort_rollout, scenario_main

NAME = "batch"
SEEDS, STEPS = 64, 200


def run(work: Workload) -> Result:
    tmp, seeds, steps = work.tmp, SEEDS, STEPS
    cmd = ncarender_cmd(
        "batch", str(tmp / "batch"), "--seeds", f"0-{seeds - 1}", "--format", "gif", "--steps", str(steps),
        "-m", str(work.onnx_path), "--provider", work.provider, "-q",
    )  # fmt: skip
    envs: dict[str, dict[str, str]] = {"live": {}, "full": FULL_GRID_ENV}
    if work.baseline:
        envs["baseline"] = {"PYTHONPATH": str(work.baseline)}
    walls: dict[str, list[float]] = {name: [] for name in envs}
    out: dict[str, Any] = {"seeds": seeds, "steps": steps}
    for r in range(1 if work.quick else 2):
        for name in list(envs) if r % 2 == 0 else list(envs)[::-1]:
            shutil.rmtree(tmp / "batch", ignore_errors=True)
            proc = run_measured(cmd, cwd=tmp, env=envs[name])
            if proc.rc != 0:
                out["error"] = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.rc}"
                return out
            walls[name].append(proc.wall)
            out[f"peak_mib_{name}"] = proc.peak_mib
    ort_rollout(work.session, list(range(seeds)), 2, GRID)  # warm up at this batch (GPU: algorithm choice, arena)
    rollout = seconds_of(lambda: ort_rollout(work.session, list(range(seeds)), steps, GRID))
    live, full = float(np.median(walls["live"])), float(np.median(walls["full"]))
    out.update(
        rollout_alone_s=rollout,
        batch_wall_s=live,
        batch_wall_full_grid_s=full,
        walls_s=walls,
        seeds_per_s=seeds / live,
        seeds_per_s_full_grid=seeds / full,
        live_vs_full=live / full,
        ratio=live / rollout,
        peak_mib=out["peak_mib_live"],
    )
    if work.baseline:
        base = float(np.median(walls["baseline"]))
        out.update(batch_wall_baseline_s=base, seeds_per_s_baseline=seeds / base, live_vs_baseline=live / base)
    return out


def figures(res: Result) -> dict[str, object]:
    """The batch's wall against the full grid's, the baseline's and the rollout alone (none after an error)."""
    keys = {"live_vs_full": "wall_vs_full_grid", "live_vs_baseline": "wall_vs_baseline", "ratio": "wall_vs_rollout"}
    return {name: res[key] for key, name in keys.items() if key in res}


def report(res: Result) -> list[str]:
    if "error" in res:
        return [f"batch: failed ({res['error']})"]
    lines = [
        f"batch: {res['seeds']} seeds x {res['steps']} steps to GIF {res['batch_wall_s']:.2f} s wall "
        f"({res['seeds_per_s']:.2f} seeds/s, peak {res['peak_mib']:.0f} MiB) against "
        f"{res['batch_wall_full_grid_s']:.2f} s ({res['seeds_per_s_full_grid']:.2f} seeds/s) on the full grid: "
        f"{res['live_vs_full']:.2f}x; rollout alone {res['rollout_alone_s']:.2f} s: {res['ratio']:.2f}x"
    ]
    if "live_vs_baseline" in res:
        lines.append(
            f"batch, baseline code: {res['batch_wall_baseline_s']:.2f} s ({res['seeds_per_s_baseline']:.2f} "
            f"seeds/s): live region {res['live_vs_baseline']:.2f}x"
        )
    return lines


if __name__ == "__main__":
    sys.exit(scenario_main(sys.modules[__name__]))
