"""One step's time for onnxruntime's intra-op threads x spinning, at batch 1 and 8 on 72x72 (bound buffers, a fixed
input; CPU only): what :data:`ncarender.runtime.ALLOW_SPINNING` was chosen from.

    python benchmarks/session_options.py [--json session_options.json]
"""

from __future__ import annotations

import sys

import numpy as np
import onnxruntime as ort
from ceiling import step_timer
from harness import Result, best_of, table
from workload import GRID, Workload, scenario_main

from ncarender.train.model import seed_state

NAME = "session"


def run(work: Workload) -> Result:
    if work.device != "cpu":
        return {"rows": [], "skipped": "CPU only"}
    thread_counts = sorted({1, work.threads})
    rows = []
    for n in (1, 8):
        x = seed_state(n, GRID, 16).numpy()
        x[:, :4, GRID // 2 - 8 : GRID // 2 + 8, GRID // 2 - 8 : GRID // 2 + 8] = 0.5
        mask = (np.random.default_rng(0).random((n, 1, GRID, GRID), dtype=np.float32) < 0.5).astype(np.float32)
        reps = 100 // n
        runs = {}
        for threads in thread_counts:
            for spin in (True, False):
                opts = ort.SessionOptions()
                opts.intra_op_num_threads = threads
                opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
                opts.log_severity_level = 3
                sess = ort.InferenceSession(str(work.onnx_path), opts, providers=["CPUExecutionProvider"])
                binding = sess.io_binding()
                binding.bind_cpu_input("state", x)
                binding.bind_cpu_input("mask", mask)
                binding.bind_ortvalue_output("next_state", ort.OrtValue.ortvalue_from_numpy(np.empty_like(x)))
                sess.run_with_iobinding(binding)
                runs[f"threads={threads} spin={'on' if spin else 'off'}"] = step_timer(sess, binding, reps)
        for name, times in best_of(work.rounds, runs).items():
            rows.append({"batch": n, "options": name, "ms_per_step": min(times) * 1e3,
                         "ms_per_step_median": float(np.median(times)) * 1e3})  # fmt: skip
    return {"rows": rows}


def figures(res: Result) -> dict[str, object]:
    return {}


def report(res: Result) -> list[str]:
    if not res["rows"]:
        return []
    rows = [[str(r["batch"]), r["options"], f"{r['ms_per_step']:.2f}", f"{r['ms_per_step_median']:.2f}"]
            for r in res["rows"]]  # fmt: skip
    return [table(["batch", "session options", "best ms/step", "median ms/step"], rows)]


if __name__ == "__main__":
    sys.exit(scenario_main(sys.modules[__name__]))
