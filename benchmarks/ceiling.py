"""The practical fp32 ceiling of this machine: the two update layers as plain matrix products.

    python benchmarks/ceiling.py [--quick] [--device cpu|cuda] [--json ceiling.json]

A matrix product shaped like the update layers (cells x 48 @ 48 x 128, then cells x 128 @ 128 x 16) on one 72x72
grid (5,184 cells) and eight (41,472), in onnxruntime (MLAS, CPU only) and torch, with 1 thread and all usable
cores (CPU): the best combination is the ceiling the rollouts are measured against.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import numpy as np
import onnxruntime as ort
import torch
from harness import Result, best_of
from workload import GRID, Workload, scenario_main, sync

from ncarender.train.export import OPSET

NAME = "ceiling"
SHAPES = [(48, 128), (128, 16)]


def step_timer(sess: ort.InferenceSession, binding: ort.IOBinding, reps: int) -> Callable[[], float]:
    """Seconds per run of ``sess`` on ``binding``, over ``reps`` runs."""

    def run() -> float:
        t0 = time.perf_counter()
        for _ in range(reps):
            sess.run_with_iobinding(binding)
        return (time.perf_counter() - t0) / reps

    return run


def _ort_matmuls(cells: int, threads: int, rng: np.random.Generator) -> list[Callable[[], object]]:
    """The two products in onnxruntime on the CPU, each a one-node graph on bound buffers."""
    from onnx import TensorProto, helper, numpy_helper

    calls: list[Callable[[], object]] = []
    for k, n in SHAPES:
        w = numpy_helper.from_array(rng.standard_normal((k, n), dtype=np.float32), "w")
        graph = helper.make_graph(
            [helper.make_node("MatMul", ["x", "w"], ["y"])],
            "mm",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [cells, k])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [cells, n])],
            [w],
        )
        proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
        proto.ir_version = 8
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        sess = ort.InferenceSession(proto.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        binding = sess.io_binding()
        binding.bind_cpu_input("x", rng.standard_normal((cells, k), dtype=np.float32))
        binding.bind_ortvalue_output("y", ort.OrtValue.ortvalue_from_numpy(np.empty((cells, n), np.float32)))
        calls.append(step_timer(sess, binding, 1))
    return calls


def _torch_matmuls(cells: int, device: str) -> list[Callable[[], object]]:
    dev = torch.device(device)
    mats = [
        (torch.randn(cells, k, device=dev), torch.randn(k, n, device=dev), torch.empty(cells, n, device=dev))
        for k, n in SHAPES
    ]
    return [(lambda a=a, b=b, c=c: torch.matmul(a, b, out=c)) for a, b, c in mats]


def run(work: Workload) -> Result:
    """Best GFLOP/s over backends, rows and thread counts (``rounds + 2`` interleaved rounds, best of 5 each)."""
    device, threads = work.device, work.threads
    rng = np.random.default_rng(0)
    thread_counts = sorted({1, threads}) if device == "cpu" else [threads]
    runs: dict[str, Callable[[], float]] = {}
    flops: dict[str, int] = {}

    def timed(pairs: list[Callable[[], object]], n_threads: int) -> Callable[[], float]:
        def once() -> float:
            torch.set_num_threads(n_threads)
            best = float("inf")
            for _ in range(5):
                sync(device)
                t0 = time.perf_counter()
                for fn in pairs:
                    fn()
                sync(device)
                best = min(best, time.perf_counter() - t0)
            torch.set_num_threads(threads)
            return best

        return once

    for cells in (GRID * GRID, 8 * GRID * GRID):
        for n_threads in thread_counts:
            backends = {"onnxruntime": _ort_matmuls(cells, n_threads, rng)} if device == "cpu" else {}
            backends["torch"] = _torch_matmuls(cells, device)
            for backend, calls in backends.items():
                name = f"{backend} rows={cells} threads={n_threads}"
                runs[name] = timed(calls, n_threads)
                flops[name] = sum(2 * cells * k * n for k, n in SHAPES)
    for fn in runs.values():
        fn()  # warm up
    results = best_of(work.rounds + 2, runs)
    gflops = {name: flops[name] / min(times) / 1e9 for name, times in results.items()}
    best = max(gflops, key=lambda name: gflops[name])
    shapes = ["cells x 48 @ 48 x 128", "cells x 128 @ 128 x 16"]
    return {"shapes": shapes, "gflops": gflops[best], "best": best, "all_gflops": gflops}


def figures(res: Result) -> dict[str, object]:
    return {"gflops": res["gflops"]}


def report(res: Result) -> list[str]:
    return [
        f"Matmul ceiling ({' + '.join(res['shapes'])}): {res['gflops']:.0f} GFLOP/s, "
        "best of: " + ", ".join(f"{k} {v:.0f}" for k, v in res["all_gflops"].items())
    ]


if __name__ == "__main__":
    sys.exit(scenario_main(sys.modules[__name__]))
