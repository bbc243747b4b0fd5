"""The rollout's own overhead: microseconds a step that ncarender's Python spends around onnxruntime's runs.

A rollout (``ncarender.runtime.rollout.roll_out``, CPU, live region) is timed whole while every
``run_with_iobinding`` of the model's session is timed alone; the overhead is the difference per step (mask draws,
the live box, binding, frame copies), in CPU time of the calling thread (``time.thread_time``: a busy machine
that takes the core away does not count; its median and its best round) and in wall time. Rows: the shipped
model on its grid and on 72x72, batch 1 and 8, a frame every step (as ``gif``) and only at the end. Each
checkout runs in its own process, the checkouts take turns, and every figure is over the rounds.

    python benchmarks/rollout_overhead.py /work/wt-speed-base . [--rounds 7] [--steps 200]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

#: (name, seeds, grid side or 0 for the model's, frame every step)
ROWS = [
    ("model grid, batch 1, every step", 1, 0, True),
    ("model grid, batch 1, last frame", 1, 0, False),
    ("72x72, batch 1, every step", 1, 72, True),
    ("72x72, batch 8, last frame", 8, 72, False),
]


def measure(steps: int) -> dict[str, dict[str, float]]:
    """In this process (the ncarender on ``sys.path``): per row, total and onnxruntime microseconds a step."""
    from ncarender.runtime import open_model
    from ncarender.runtime.rollout import roll_out
    from ncarender.spec import RenderSpec

    nca = open_model(quiet=True)
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


def main() -> None:
    """Run the checkouts in turns and print the table (or, with ``--measure``, one process's figures as JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", type=Path, nargs="*", help="checkouts (folders holding ncarender/)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.steps)))
        return
    trees = [t.resolve() for t in args.trees] or [Path(__file__).resolve().parent.parent]
    got: dict[Path, list[dict[str, dict[str, float]]]] = {t: [] for t in trees}
    for _ in range(args.rounds):
        for tree in trees:
            env = {**os.environ, "PYTHONPATH": str(tree)}
            cmd = [sys.executable, __file__, "--measure", "--steps", str(args.steps)]
            done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
            got[tree].append(json.loads(done.stdout))
    print(f"us/step, median of {args.rounds} rounds ({args.steps} steps; overhead = total - onnxruntime's runs)")
    print("| row | checkout | wall total | wall onnxruntime | wall overhead | CPU overhead | best CPU overhead |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, *_ in ROWS:
        for tree in trees:
            total = statistics.median(r[name]["total"] for r in got[tree])
            ort_us = statistics.median(r[name]["ort"] for r in got[tree])
            over = statistics.median(r[name]["total"] - r[name]["ort"] for r in got[tree])
            cpu = statistics.median(r[name]["cpu_overhead"] for r in got[tree])
            best = min(r[name]["cpu_overhead"] for r in got[tree])
            print(f"| {name} | {tree.name} | {total:.0f} | {ort_us:.0f} | {over:.1f} | {cpu:.1f} | {best:.1f} |")


if __name__ == "__main__":
    main()
