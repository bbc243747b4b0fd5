"""The opt-in int8 step (``export --int8``) against the float32 step it was made from: time a step, and drift.

The run's float32 export is quantised as ``export --int8`` does (``ncarender.runtime.int8``; written here whether
or not it holds the ship floor, so its speed is measured either way) and both steps roll the same seeds out on
the CPU, batch 1 and 8 on 72x72, on the whole grid (every cell runs the network: the step's own speed) and on the
live region (what a render does), in interleaved rounds. CPU time of the process (all onnxruntime threads) and
wall, per step; then the drift over 1000 steps on seeds 0-7 (``eval --against``), and, for scale, how far the
float32 frames of two seeds lie apart at the same steps.

    python benchmarks/int8_step.py [--quick] [--json int8.json]
"""

from __future__ import annotations

import statistics
import sys
import time
from typing import Any

import numpy as np
from harness import Result, table
from workload import GRID, Workload, scenario_main

from ncarender.evaluate.drift import DRIFT_SEEDS, evaluate_drift
from ncarender.runtime import open_model, roll_out
from ncarender.runtime.int8 import calibration_states, quantize_step
from ncarender.spec import RenderSpec

NAME = "int8"
#: (batch, live region)
ROWS = [(1, False), (8, False), (1, True), (8, True)]


def _seed_spread(session: Any, steps: tuple[int, ...]) -> dict[int, float]:
    """Mean RGBA MSE between the float32 frames of seeds 0-7 taken pairwise (i, i+1), at ``steps``: how far two
    seeds' flakes lie apart, the scale a drift is read against."""
    spec = RenderSpec(seeds=tuple(DRIFT_SEEDS), steps=max(steps), every=min(steps))
    out = {}
    for t, state in roll_out(session, spec, include_seed_frame=False):
        if t in steps:
            rgba = np.clip(state[:, :4], 0.0, 1.0).astype(np.float64)
            out[t] = float(((rgba[1:] - rgba[:-1]) ** 2).mean())
    return out


def run(work: Workload) -> Result:
    fp32 = open_model(work.onnx_path, provider="cpu", quiet=True)
    int8_path = work.tmp / "model.int8.onnx"
    t0 = time.perf_counter()
    quantize_step(work.onnx_path, int8_path, calibration_states(fp32), fire_rate=fp32.info.fire_rate)
    quantize_s = time.perf_counter() - t0
    sessions = {"fp32": fp32, "int8": open_model(int8_path, provider="cpu", quiet=True)}
    steps, rounds = (60, 3) if work.quick else (120, 5)
    rows: dict[str, dict[str, Any]] = {}
    for n, live in ROWS:
        spec = RenderSpec(seeds=tuple(range(n)), steps=steps, every=steps, size=(GRID, GRID))
        cpu: dict[str, list[float]] = {k: [] for k in sessions}
        wall: dict[str, list[float]] = {k: [] for k in sessions}
        for sess in sessions.values():  # warm up
            list(roll_out(sess, RenderSpec(seeds=spec.seeds, steps=2, every=2, size=spec.size), live=live))
        for r in range(rounds):
            for name in list(sessions) if r % 2 == 0 else list(sessions)[::-1]:
                c0, w0 = time.process_time(), time.perf_counter()
                for _ in roll_out(sessions[name], spec, live=live):
                    pass
                cpu[name].append(1e3 * (time.process_time() - c0) / steps)
                wall[name].append(1e3 * (time.perf_counter() - w0) / steps)
        key = f"{n}x{GRID}{' live' if live else ''}"
        rows[key] = {
            "cpu_ms": {k: min(v) for k, v in cpu.items()},
            "wall_ms": {k: statistics.median(v) for k, v in wall.items()},
            "cpu_speedup": min(cpu["fp32"]) / min(cpu["int8"]),
            "wall_speedup": statistics.median(wall["fp32"]) / statistics.median(wall["int8"]),
        }
    drift_steps = (100, 200, 500, 1000)
    report = evaluate_drift(sessions["fp32"], sessions["int8"], steps=drift_steps)
    return {
        "steps": steps,
        "rounds": rounds,
        "quantize_s": quantize_s,
        "rows": rows,
        "drift": report.to_json(),
        "drift_worst": report.values["frame_mse_worst"],
        "drift_holds_floor": report.shippable,
        "seed_spread": _seed_spread(sessions["fp32"], drift_steps),
    }


def figures(res: Result) -> dict[str, object]:
    out: dict[str, object] = {f"int8_vs_fp32[{k}]": r["cpu_speedup"] for k, r in res["rows"].items()}
    out.update(drift_worst=res["drift_worst"], drift_holds_floor=res["drift_holds_floor"])
    return out


def report(res: Result) -> list[str]:
    head = ["batch x grid", "fp32 CPU ms/step", "int8 CPU ms/step", "CPU ratio", "fp32 wall", "int8 wall", "wall ratio"]
    body = [
        [
            k,
            f"{r['cpu_ms']['fp32']:.2f}",
            f"{r['cpu_ms']['int8']:.2f}",
            f"{r['cpu_speedup']:.2f}x",
            f"{r['wall_ms']['fp32']:.2f}",
            f"{r['wall_ms']['int8']:.2f}",
            f"{r['wall_speedup']:.2f}x",
        ]
        for k, r in res["rows"].items()
    ]
    drift = res["drift"]
    steps = list(drift["mse_worst"])
    worst = ", ".join(f"{t}: {drift['mse_worst'][t]:.2e}" for t in steps)
    spread = ", ".join(f"{t}: {res['seed_spread'][int(t)]:.2e}" for t in steps)
    return [
        f"int8 step vs float32 ({res['steps']} steps, best CPU / median wall of {res['rounds']} rounds; "
        f"quantised in {res['quantize_s']:.1f} s)",
        table(head, body),
        f"int8 drift from float32, worst frame MSE over seeds 0-7 by step: {worst}; "
        f"{'holds' if res['drift_holds_floor'] else 'breaks'} the ship floor (export --int8 "
        f"{'writes' if res['drift_holds_floor'] else 'refuses'} it)",
        f"for scale, float32 frames of neighbouring seeds, mean MSE by step: {spread}",
    ]


if __name__ == "__main__":
    sys.exit(scenario_main(sys.modules[__name__]))
