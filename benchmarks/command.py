"""The rollout of a fresh process, as a command times it, against the plain loop in a fresh process.

    python benchmarks/command.py [--quick] [--device cpu|cuda] [--json command.json]

Per ``(batch, size)`` (1 and 8 on 72x72 and 128x128): ``plain_loop.py`` (the plain loop), ``plain_loop.py
--ncarender`` (:func:`~ncarender.runtime.rollout.roll_out` with a frame at the end; ``--full-grid`` too in a full
run) and, at batch 1, ``ncarender frames --steps STEPS --every STEPS`` itself (its ``seconds.rollout``; with
``NCARENDER_LIVE_REGION=0`` too in a full run), each 400 steps (200 with ``--quick``). Interleaved rounds; medians.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
from harness import FULL_GRID_ENV, HERE, Result, ncarender_cmd, run_measured, table
from workload import Workload, scenario_main

NAME = "command"
PAIRS = [(1, 72), (8, 72), (1, 128), (8, 128)]


def run(work: Workload) -> Result:
    steps, full = (200, False) if work.quick else (400, True)
    script = [sys.executable, str(HERE / "plain_loop.py"), str(work.onnx_path), "--device", work.device]
    script += ["--steps", str(steps)]
    rows = []
    for n, size in PAIRS:
        geometry = ["--size", str(size), "--batch", str(n)]
        cmds: dict[str, tuple[list[str], dict[str, str]]] = {
            "plain": ([*script, *geometry], {}),
            "api": ([*script, *geometry, "--ncarender"], {}),
        }
        if full:
            cmds["api full grid"] = ([*script, *geometry, "--ncarender", "--full-grid"], {})
        if n == 1:
            frames = ncarender_cmd(
                "frames", str(work.tmp / "frames"), "-m", str(work.onnx_path), "--steps", str(steps),
                "--every", str(steps), "--size", str(size), "--provider", work.provider, "--json", "-q",
            )  # fmt: skip
            cmds["command"] = (frames, {})
            if full:
                cmds["command full grid"] = (frames, FULL_GRID_ENV)
        seconds: dict[str, list[float]] = {name: [] for name in cmds}
        for r in range(work.rounds):
            for name in cmds if r % 2 == 0 else list(cmds)[::-1]:
                cmd, env = cmds[name]
                proc = run_measured(cmd, cwd=work.tmp, env=env)
                if proc.rc != 0:
                    raise RuntimeError(f"{name} failed ({proc.rc}): {proc.stderr.strip()[-400:]}")
                line = proc.json_line()
                seconds[name].append(float(line["rollout_s"] if "rollout_s" in line else line["seconds"]["rollout"]))
        row: dict[str, Any] = {"batch": n, "grid": size, "steps": steps}
        row.update({name: float(np.median(v)) for name, v in seconds.items()})
        for name in seconds:
            if name != "plain":
                row[f"{name} vs plain"] = row["plain"] / row[name]
        rows.append(row)
        note = ", ".join(f"{k} {v:.2f}x" for k, v in row.items() if k.endswith("vs plain"))
        print(f"  command vs plain loop, batch {n} {size}x{size}: {note}", file=sys.stderr)
    return {"steps": steps, "rows": rows}


def figures(res: Result) -> dict[str, object]:
    """Per row ``[batch x grid]``: the command's rollout (batch 1) or the API's (others) against the plain loop."""
    out: dict[str, object] = {}
    for r in res["rows"]:
        name = "command" if "command" in r else "api"
        out[f"{name}_vs_plain[{r['batch']}x{r['grid']}]"] = r[f"{name} vs plain"]
    return out


def report(res: Result) -> list[str]:
    rows = []
    for r in res["rows"]:
        for name in [k for k in r if k not in ("batch", "grid", "steps") and not k.endswith("vs plain")]:
            ratio = r.get(f"{name} vs plain")
            rows.append([f"{r['batch']} x {r['grid']}x{r['grid']}", name, f"{r[name]:.3f}",
                         f"{ratio:.2f}x" if ratio else ""])  # fmt: skip
    steps = res["steps"]
    return [
        f"Fresh processes, {steps} steps, a frame at the end: the rollout as a command times it (first mask to "
        "final state) against the plain loop (benchmarks/plain_loop.py); command = ncarender frames --every "
        f"{steps}, api = runtime.roll_out.",
        "",
        table(["batch x grid", "rollout", "seconds", "vs plain loop"], rows),
    ]


if __name__ == "__main__":
    sys.exit(scenario_main(sys.modules[__name__]))
