"""The rollout's own overhead: microseconds a step that ncarender's Python spends around onnxruntime's runs.

A rollout (``ncarender.runtime.rollout.roll_out``, CPU, live region) is timed whole while every
``run_with_iobinding`` of the model's session is timed alone; the overhead is the difference per step (mask draws,
the live box, binding, frame copies), in CPU time of the calling thread (``time.thread_time``: a busy machine
that takes the core away does not count; its median and its best round) and in wall time. Rows: the run's model
on its grid and on 72x72, batch 1 and 8, a frame every step (as ``gif``) and only at the end. This checkout and
the ``--baseline`` one (if given) each run in a fresh process, in turns; every figure is over the rounds.

    python benchmarks/rollout_overhead.py [--quick] [--baseline DIR] [--json overhead.json]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from harness import REPO, Result, table

if TYPE_CHECKING:
    from workload import Workload

NAME = "overhead"
#: (name, seeds, grid side or 0 for the model's, frame every step)
ROWS = [
    ("model grid, batch 1, every step", 1, 0, True),
    ("model grid, batch 1, last frame", 1, 0, False),
    ("72x72, batch 1, every step", 1, 72, True),
    ("72x72, batch 8, last frame", 8, 72, False),
]


def measure(model: str, steps: int) -> dict[str, dict[str, float]]:
    """In this process (the ncarender on ``sys.path``): per row, total and onnxruntime microseconds a step."""
    from ncarender.runtime import open_model
    from ncarender.runtime.rollout import roll_out
    from ncarender.spec import RenderSpec

    nca = open_model(model, provider="cpu", quiet=True)
    run = nca.session.run_with_iobinding
    spent = [0.0, 0.0]  # wall, thread CPU inside the runs

    def timed(*args: object) -> None:
        t0, c0 = time.perf_counter(), time.thread_time()
        run(*args)  # type: ignore[arg-type]
        spent[0] += time.perf_counter() - t0
        spent[1] += time.thread_time() - c0

    nca.session.run_with_iobinding = timed  # type: ignore[method-assign]
    out: dict[str, dict[str, float]] = {}
    for name, n, side, every_step in ROWS:
        size = (side, side) if side else None
        spec = RenderSpec(seeds=tuple(range(n)), steps=steps, every=1 if every_step else steps, size=size)
        for _ in range(2):  # the second is timed: buffers and the session warmed up
            spent[:] = [0.0, 0.0]
            t0, c0 = time.perf_counter(), time.thread_time()
            for _step, _state in roll_out(nca, spec):
                pass
            total, cpu = time.perf_counter() - t0, time.thread_time() - c0
        out[name] = {
            "total": 1e6 * total / steps,
            "ort": 1e6 * spent[0] / steps,
            "cpu_overhead": 1e6 * (cpu - spent[1]) / steps,
        }
    return out


def run(work: Workload) -> Result:
    trees = {"this": REPO, **({"baseline": work.baseline.resolve()} if work.baseline else {})}
    rounds, steps = (3, 100) if work.quick else (7, 200)
    got: dict[str, list[dict[str, dict[str, float]]]] = {name: [] for name in trees}
    for r in range(rounds):
        for name in list(trees) if r % 2 == 0 else list(trees)[::-1]:
            env = {**os.environ, "PYTHONPATH": str(trees[name]), "OMP_NUM_THREADS": "1"}
            cmd = [sys.executable, __file__, "--measure", str(work.onnx_path), str(steps)]
            done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
            got[name].append(json.loads(done.stdout))
    rows: dict[str, dict[str, dict[str, float]]] = {}
    for row, *_ in ROWS:
        rows[row] = {}
        for name in trees:
            rs = [g[row] for g in got[name]]
            rows[row][name] = {
                "total_us": statistics.median(r["total"] for r in rs),
                "ort_us": statistics.median(r["ort"] for r in rs),
                "wall_overhead_us": statistics.median(r["total"] - r["ort"] for r in rs),
                "cpu_overhead_us": statistics.median(r["cpu_overhead"] for r in rs),
                "best_cpu_overhead_us": min(r["cpu_overhead"] for r in rs),
            }
    return {"rounds": rounds, "steps": steps, "rows": rows}


def figures(res: Result) -> dict[str, object]:
    """CPU overhead a step of this checkout per row, and its ratio to the baseline's (where one ran)."""
    out: dict[str, object] = {}
    for i, (row, *_) in enumerate(ROWS):
        this = res["rows"][row]["this"]["cpu_overhead_us"]
        out[f"cpu_overhead_us[{i}]"] = this
        if "baseline" in res["rows"][row]:
            out[f"cpu_overhead_vs_baseline[{i}]"] = this / res["rows"][row]["baseline"]["cpu_overhead_us"]
    return out


def report(res: Result) -> list[str]:
    head = ["row", "code", "wall total", "wall onnxruntime", "wall overhead", "CPU overhead", "best CPU overhead"]
    lines = []
    for row, by in res["rows"].items():
        for name, f in by.items():
            lines.append(
                [
                    row,
                    name,
                    f"{f['total_us']:.0f}",
                    f"{f['ort_us']:.0f}",
                    f"{f['wall_overhead_us']:.1f}",
                    f"{f['cpu_overhead_us']:.1f}",
                    f"{f['best_cpu_overhead_us']:.1f}",
                ]
            )
    title = (
        f"rollout overhead: us/step, median of {res['rounds']} rounds ({res['steps']} steps; "
        "overhead = total - onnxruntime's runs)"
    )
    return [title, table(head, lines)]


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:  # the child: no torch, the ncarender on PYTHONPATH
        print(json.dumps(measure(sys.argv[2], int(sys.argv[3]))))
        sys.exit(0)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from workload import scenario_main

    sys.exit(scenario_main(sys.modules[__name__]))
