"""The exported graph (:class:`ncarender.train.export.OnnxStep`) against the model's plain graph (one depthwise
conv with three filters per channel): step time at batch 1 and 8 on 72x72, both through ncarender's rollout.

    python benchmarks/layout.py [--device cpu|cuda] [--json layout.json]
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from harness import Result, best_of, seconds_of, table
from workload import GRID, Workload, ort_rollout, scenario_main

from ncarender.runtime import NCASession, open_model
from ncarender.train.export import OPSET
from ncarender.train.model import NCA, seed_state

NAME = "layout"


def export_plain(model: NCA, path: Path) -> None:
    """Export ``model.forward`` itself (the plain layout, one depthwise conv with three filters per channel)."""
    state, mask = seed_state(2, GRID, model.config.channels), torch.ones((2, 1, GRID, GRID))
    axes = {"N": 0, "H": 2, "W": 3}
    dyn = {name: {i: a for a, i in axes.items()} for name in ("state", "mask", "next_state")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (state, mask),
            str(path),
            input_names=["state", "mask"],
            output_names=["next_state"],
            dynamic_axes=dyn,
            opset_version=OPSET,
            dynamo=False,
        )


def run(work: Workload) -> Result:
    """Best ms/step of each graph over interleaved rounds."""
    plain = work.tmp / "plain.onnx"
    export_plain(work.model.cpu(), plain)
    work.model.to(work.device)
    sessions = {
        "plain": open_model(plain, provider=work.provider, quiet=True),
        "exported": open_model(work.onnx_path, provider=work.provider, quiet=True),
    }
    rows = []
    for n, steps in ((1, 100), (8, 20)):
        seeds = list(range(n))
        for s in sessions.values():
            ort_rollout(s, seeds, 2, GRID)

        def timed(s: NCASession, n_steps: int = steps, seeds: list[int] = seeds) -> Callable[[], float]:
            return lambda: seconds_of(lambda: ort_rollout(s, seeds, n_steps, GRID)) / n_steps

        res = best_of(work.rounds, {name: timed(s) for name, s in sessions.items()})
        row = {"batch": n, **{f"{k}_ms": min(v) * 1e3 for k, v in res.items()}}
        row["speedup"] = row["plain_ms"] / row["exported_ms"]
        rows.append(row)
    return {"rows": rows}


def figures(res: Result) -> dict[str, object]:
    return {f"speedup[{r['batch']}x{GRID}]": r["speedup"] for r in res["rows"]}


def report(res: Result) -> list[str]:
    rows = [
        [str(r["batch"]), f"{r['plain_ms']:.2f}", f"{r['exported_ms']:.2f}", f"{r['speedup']:.2f}x"]
        for r in res["rows"]
    ]
    return [table(["batch (72x72)", "plain graph ms/step", "exported ms/step", "speed-up"], rows)]


if __name__ == "__main__":
    sys.exit(scenario_main(sys.modules[__name__]))
