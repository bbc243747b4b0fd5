"""Peak RSS of a long MP4 (5,000 steps, 1,000 with ``--quick``; every step a frame) against a 200-step one: the
frames stream, so memory must not grow with the length.

    python benchmarks/memory.py [--quick] [--long-steps N] [--json memory.json]
"""

from __future__ import annotations

import sys

from harness import Result, ncarender_cmd, run_measured
from workload import Workload, scenario_main

NAME = "memory"


def run(work: Workload) -> Result:
    long_steps = work.long_steps or (1000 if work.quick else 5000)
    out: Result = {}
    for steps in (200, long_steps):
        cmd = ncarender_cmd(
            "mp4", str(work.tmp / f"mem{steps}.mp4"), "-m", str(work.onnx_path), "--steps", str(steps),
            "--every", "1", "--provider", work.provider, "-q", "--json",
        )  # fmt: skip
        proc = run_measured(cmd, cwd=work.tmp)
        if proc.rc != 0:  # e.g. a model that is not stable for that long
            lines = proc.stderr.strip().splitlines()
            return {"error": f"mp4 --steps {steps}: {lines[-1] if lines else f'exit {proc.rc}'}"}
        out[f"mp4_{steps}"] = {"steps": steps, "peak_mib": proc.peak_mib, "wall_s": proc.wall}
    out["ratio"] = out[f"mp4_{long_steps}"]["peak_mib"] / out["mp4_200"]["peak_mib"]
    return out


def figures(res: Result) -> dict[str, object]:
    return {} if "error" in res else {"long_over_short": res["ratio"]}


def report(res: Result) -> list[str]:
    if "error" in res:
        return [f"memory: failed ({res['error']})"]
    parts = [f"{v['steps']} steps {v['peak_mib']:.0f} MiB ({v['wall_s']:.1f} s)" for v in res.values()
             if isinstance(v, dict)]  # fmt: skip
    return [f"memory (mp4, every step a frame): {', '.join(parts)}: {res['ratio']:.2f}x"]


if __name__ == "__main__":
    sys.exit(scenario_main(sys.modules[__name__]))
