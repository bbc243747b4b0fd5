"""Rollouts from the seed, side by side: ncarender on the live region and on the whole grid, the plain onnxruntime
loop a user would write, and torch eager, with the same weights and masks.

    python benchmarks/rollouts.py [--quick] [--device cpu|cuda] [--json rollouts.json]

Batch 1 and 8 on 72x72, 128x128 and 256x256 (and 64 on 72x72); on CUDA batch 1, 8, 64, 256 on 72x72 and 1 on
128x128. ``live``: ncarender on the live region; ``full``: ncarender on the whole grid; ``plain``: a default
session, numpy in and out, ``session.run`` per step; ``torch``: eager, per-seed numpy masks. Figures per step,
counted on the full grid (cell-steps/s, GFLOP/s, fraction of the :mod:`ceiling`); rounds interleave the
rollouts and each figure is the median round. The final states are compared: live must equal full.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import ceiling
import numpy as np
import onnxruntime as ort
import torch
from harness import Result, best_of, table
from workload import Workload, flop_per_cell, ort_rollout, scenario_main, sync

from ncarender.runtime import NCASession
from ncarender.train.model import NCA, seed_state

NAME = "rollout"
NEEDS = (ceiling,)
#: The rollouts of every row, in table order.
ROLLOUTS = ("live", "full", "plain", "torch")


def configs(device: str, quick: bool) -> list[tuple[int, int, int, int]]:
    """The rows: ``(batch, grid, steps from the seed, torch eager's steps)``."""
    if device == "cuda":
        return [(1, 72, 200, 100), (8, 72, 200, 100), (64, 72, 200, 50), (256, 72, 200, 20), (1, 128, 200, 100)]
    if quick:
        return [(1, 72, 200, 40), (8, 72, 200, 10), (1, 128, 200, 20), (1, 256, 100, 4)]
    return [(1, 72, 200, 100), (8, 72, 200, 20), (64, 72, 100, 4), (1, 128, 200, 40), (8, 128, 200, 8),
            (1, 256, 200, 10), (8, 256, 200, 2)]  # fmt: skip


def plain_session(onnx_path: Path, device: str) -> ort.InferenceSession:
    """The session a user would make: onnxruntime's defaults (threads, spinning), one provider."""
    providers = ["CUDAExecutionProvider"] if device == "cuda" else ["CPUExecutionProvider"]
    return ort.InferenceSession(str(onnx_path), providers=providers)


def plain_rollout(sess: ort.InferenceSession, seeds: Sequence[int], steps: int, size: int) -> np.ndarray:
    """The plain onnxruntime loop (``benchmarks/plain_loop.py``): numpy in and out, ``session.run`` per step."""
    rngs = [np.random.default_rng(int(s)) for s in seeds]
    fire = np.float32(0.5)
    x = np.zeros((len(seeds), 16, size, size), dtype=np.float32)
    x[:, 3:, size // 2, size // 2] = 1.0
    for _ in range(steps):
        mask = np.stack([rng.random((size, size), dtype=np.float32) < fire for rng in rngs])[:, None]
        x = sess.run(["next_state"], {"state": x, "mask": mask.astype(np.float32)})[0]
    return np.asarray(x)


def torch_rollout(model: NCA, seeds: Sequence[int], steps: int, size: int, device: str) -> np.ndarray:
    """The same rollout in torch eager: same masks (one numpy generator per seed), NCHW convolutions."""
    rngs = [np.random.default_rng(int(s)) for s in seeds]
    fire = np.float32(model.config.fire_rate)
    host = np.empty((len(seeds), 1, size, size), dtype=np.float32)
    x = seed_state(len(seeds), size, model.config.channels).to(device)
    with torch.inference_mode():
        for _ in range(steps):
            for i, rng in enumerate(rngs):
                rng.random(dtype=np.float32, out=host[i, 0])
            x = model(x, torch.from_numpy((host < fire).astype(np.float32)).to(device))
    sync(device)
    return x.cpu().numpy()


def run(work: Workload) -> Result:
    """Every row of :func:`configs` (see :func:`rollout_row`)."""
    ceil = work.results["ceiling"]["gflops"]
    plain = plain_session(work.onnx_path, work.device)
    rows = []
    for n, size, steps, torch_steps in configs(work.device, work.quick):
        row = rollout_row(work, plain, n, size, steps, torch_steps, ceil)
        rows.append(row)
        print(
            f"  rollout batch {n} {size}x{size} steps 0-{steps}: live {row['live_vs_full']:.2f}x full grid, "
            f"{row['live_vs_plain']:.2f}x plain loop, {row['live_vs_torch']:.2f}x torch ({row['torch_config']})",
            file=sys.stderr,
        )
    return {"rows": rows}


def rollout_row(
    work: Workload, plain: ort.InferenceSession, n: int, size: int, steps: int, torch_steps: int, ceil: float
) -> dict[str, Any]:
    """``n`` seeds on ``size`` x ``size`` from the seed: ncarender on the live region and on the whole grid and the
    plain onnxruntime loop for ``steps`` steps, torch eager (whose step costs the same at any step) for
    ``torch_steps``; interleaved rounds, each figure the median round (and the best).

    Figures are per step and counted on the full grid (cell-steps/s: N x H x W cells per step, so a live-region
    rollout's rate is what a full-grid rollout would need to match it). torch runs with 1 thread and with all
    usable cores (CPU) and is credited with the faster. The live and full-grid final states must be equal; the
    plain loop's and torch's are compared with the full grid's.
    """
    session: NCASession = work.session
    model, device, cores = work.model, work.device, work.threads
    fpc = flop_per_cell(model.config)
    seeds = list(range(n))
    finals: dict[str, np.ndarray] = {}

    def timed(name: str, fn: Callable[[], np.ndarray], n_steps: int, threads: int = cores) -> Callable[[], float]:
        def once() -> float:
            torch.set_num_threads(threads)
            t0 = time.perf_counter()
            finals[name] = fn()
            elapsed = time.perf_counter() - t0
            torch.set_num_threads(cores)
            return elapsed / n_steps

        return once

    runs = {
        "live": timed("live", lambda: ort_rollout(session, seeds, steps, size, live=True), steps),
        "full": timed("full", lambda: ort_rollout(session, seeds, steps, size, live=False), steps),
        "plain": timed("plain", lambda: plain_rollout(plain, seeds, steps, size), steps),
    }
    for threads in sorted({1, cores}) if device == "cpu" else [cores]:
        runs[f"torch threads={threads}"] = timed(
            "torch", lambda: torch_rollout(model, seeds, torch_steps, size, device), torch_steps, threads
        )
    # Warm up: first-run allocations (every window shape of the live rollout), torch's and the plain session's.
    ort_rollout(session, seeds, steps, size, live=True)
    ort_rollout(session, seeds, 2, size, live=False)
    plain_rollout(plain, seeds, 2, size)
    torch_rollout(model, seeds, 2, size, device)
    res = best_of(work.rounds, runs)
    torch_best = min((k for k in res if k.startswith("torch")), key=lambda k: float(np.median(res[k])))
    cells = n * size * size
    row: dict[str, Any] = {
        "batch": n,
        "grid": size,
        "steps": steps,
        "torch_steps": torch_steps,
        "cells": cells,
        "torch_config": torch_best,
    }
    for name, times in (
        ("live", res["live"]),
        ("full", res["full"]),
        ("plain", res["plain"]),
        ("torch", res[torch_best]),
    ):
        t, best = float(np.median(times)), min(times)
        row[name] = {
            "ms_per_step": t * 1e3,
            "ms_per_step_best": best * 1e3,
            "cell_steps_per_s": cells / t,
            "gflops": fpc * cells / t / 1e9,
            "of_ceiling": fpc * cells / t / 1e9 / ceil,
        }
    row["torch_all_ms"] = {k: float(np.median(v)) * 1e3 for k, v in res.items() if k.startswith("torch")}
    for other in ("full", "plain", "torch"):
        row[f"live_vs_{other}"] = row[other]["ms_per_step"] / row["live"]["ms_per_step"]
    row["full_vs_plain"] = row["plain"]["ms_per_step"] / row["full"]["ms_per_step"]
    row["speedup"] = row["live_vs_torch"]
    row["live_equals_full"] = bool(np.array_equal(finals["live"], finals["full"]))
    row["plain_max_abs_diff"] = float(np.abs(finals["plain"] - finals["full"]).max())
    same_steps = ort_rollout(session, seeds, torch_steps, size, live=False)
    row["max_abs_diff"] = float(np.abs(same_steps - finals["torch"]).max())
    return row


def figures(res: Result) -> dict[str, object]:
    """Per row ``NAME[batch x grid]``: the live region's ratios, the full grid's share of the ceiling, the live
    region's rate; and whether every row's live and full-grid states are equal."""
    out: dict[str, object] = {}
    for r in res["rows"]:
        at = f"[{r['batch']}x{r['grid']}]"
        out.update({
            f"live_vs_full{at}": r["live_vs_full"],
            f"live_vs_torch{at}": r["live_vs_torch"],
            f"live_vs_plain{at}": r["live_vs_plain"],
            f"full_of_ceiling{at}": r["full"]["of_ceiling"],
            f"live_cell_steps_per_s{at}": r["live"]["cell_steps_per_s"],
        })  # fmt: skip
    if res["rows"]:
        out["live_equals_full"] = all(r["live_equals_full"] for r in res["rows"])
    return out


def report(res: Result) -> list[str]:
    rows = []
    for r in res["rows"]:
        for name in ROLLOUTS:
            m = r[name]
            if name == "live":
                vs = f"{r['live_vs_full']:.2f}x / {r['live_vs_plain']:.2f}x / {r['live_vs_torch']:.2f}x"
            elif name == "full":
                vs = f"{r['full_vs_plain']:.2f}x plain; live = full: {r['live_equals_full']}"
            elif name == "plain":
                vs = f"diff {r['plain_max_abs_diff']:.1e}"
            else:
                vs = f"diff {r['max_abs_diff']:.1e} ({r['torch_config']})"
            steps = r["torch_steps"] if name == "torch" else r["steps"]
            rows.append([
                f"{r['batch']} x {r['grid']}x{r['grid']}", name, f"0-{steps}", f"{m['ms_per_step']:.3f}",
                f"{m['cell_steps_per_s'] / 1e6:.1f} M", f"{m['gflops']:.0f}", f"{m['of_ceiling']:.0%}", vs,
            ])  # fmt: skip
    head = ["batch x grid", "rollout", "steps", "ms/step", "cell-steps/s", "GFLOP/s", "of ceiling",
            "live vs full / plain / torch"]  # fmt: skip
    return [
        "Rollouts from the seed; per step and counted on the full grid (N x H x W cells a step); live: ncarender on "
        "the live region, full: ncarender on the whole grid, plain: the plain onnxruntime loop, torch: torch eager "
        "(fewer steps: its step costs the same at any step).",
        "",
        table(head, rows),
    ]


if __name__ == "__main__":
    sys.exit(scenario_main(sys.modules[__name__]))
