"""Batch throughput: renders per second of ``batch --seeds 0-63`` to GIF and to WebP, with the time split into
rollout, frame conversion and encoding, for this checkout and the ``--baseline`` one (e.g. main), in one run.

Each batch runs in a fresh process (``render_batch``, the function the command calls, with the checkout on
``PYTHONPATH``) that times the rollout and the conversion of its chunks (the timings ``Renderer.composites``
keeps) and each encode (``ncarender.batch.encoders.encode``, wall and thread CPU; encoders run as a thread with
the default one encoder of a 2-core machine; with encoder processes the split is not measured). The process's
wall, CPU (all threads) and renders/s are over the whole batch. This checkout also runs GIF with ``--batch-size
32`` and with ``-j 2`` (encoder processes), and WebP with ``-j 2`` as processes and as threads, to check the
defaults. Checkouts and settings take turns each round; figures are medians. 1000 seeds are not run: ~16x the
time (on 2 busy cores ~5 minutes a GIF batch, ~25 a WebP one), and the chunks are the same size, so renders/s
changes only by the last chunk's tail.

    python benchmarks/batch_split.py [--quick] [--baseline DIR] [--json batch_split.json]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import REPO, Result, table

if TYPE_CHECKING:
    from workload import Workload

NAME = "batch_split"
SEEDS, STEPS = 64, 200
FORMATS = ("gif", "webp")
#: Settings of this checkout besides its defaults, by format: (name, batch_size, jobs, executor).
VARIANTS = {
    "gif": [("--batch-size 32", 32, None, "auto"), ("-j 2", None, 2, "auto")],
    "webp": [("-j 2", None, 2, "auto"), ("-j 2 threads", None, 2, "thread")],
}


def measure(
    model: str, fmt: str, seeds: int, batch_size: int | None, jobs: int | None, executor: str = "auto"
) -> dict[str, Any]:
    """In this process (the ncarender on ``sys.path``): one batch, its wall, CPU and split."""
    import ncarender.batch.encoders as encoders
    from ncarender.api import Renderer
    from ncarender.batch import render_batch

    split = {"rollout": 0.0, "convert": 0.0, "encode": 0.0, "encode_cpu": 0.0}
    original_composites = Renderer.composites
    original_encode = encoders.encode

    def composites(self: Renderer, *args: Any, **kwargs: Any) -> Any:
        timings = kwargs.setdefault("timings", {})
        before = dict(timings)
        yield from original_composites(self, *args, **kwargs)
        for key in ("rollout", "convert"):
            split[key] += timings.get(key, 0.0) - before.get(key, 0.0)

    def encode(task: Any) -> Any:
        c0, w0 = time.thread_time(), time.perf_counter()
        done = original_encode(task)
        split["encode"] += time.perf_counter() - w0
        split["encode_cpu"] += time.thread_time() - c0
        return done

    Renderer.composites = composites  # type: ignore[method-assign]
    encoders.encode = encode  # threads only: a process pool pickles the original by name
    encode.__module__, encode.__qualname__ = original_encode.__module__, original_encode.__qualname__
    renderer = Renderer(model, provider="cpu", quiet=True)
    with tempfile.TemporaryDirectory(prefix="ncarender-batch-") as out:
        c0, w0 = time.process_time(), time.perf_counter()
        result = render_batch(
            renderer,
            out,
            f"0-{seeds - 1}",
            formats=fmt,
            steps=STEPS,
            batch_size=batch_size,
            jobs=jobs,
            executor=executor,
        )
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "renders_per_s": seeds / wall,
        "batch_size": result.batch_size,
        "jobs": result.jobs,
        **{f"{k}_s": v for k, v in split.items()},
    }


def run(work: Workload, seeds: int = SEEDS) -> Result:
    trees = {"this": REPO, **({"baseline": work.baseline.resolve()} if work.baseline else {})}
    runs: list[tuple[str, Path, str, int | None, int | None, str]] = []
    for fmt in FORMATS:
        runs += [(f"{name} {fmt}", tree, fmt, None, None, "auto") for name, tree in trees.items()]
        runs += [(f"this {fmt} {v}", REPO, fmt, b, j, e) for v, b, j, e in VARIANTS.get(fmt, [])]
    rounds = 1 if work.quick else 2
    got: dict[str, list[dict[str, Any]]] = {name: [] for name, *_ in runs}
    for r in range(rounds):
        for name, tree, fmt, batch_size, jobs, executor in runs if r % 2 == 0 else runs[::-1]:
            print(f"  {name} (round {r + 1})", file=sys.stderr)
            env = {**os.environ, "PYTHONPATH": str(tree)}
            args = [str(work.onnx_path), fmt, str(seeds), str(batch_size or 0), str(jobs or 0), executor]
            done = subprocess.run(
                [sys.executable, __file__, "--measure", *args], capture_output=True, text=True, env=env, check=False
            )
            if done.returncode != 0:
                return {"error": f"{name}: {(done.stderr.strip().splitlines() or ['exit'])[-1]}"}
            got[name].append(json.loads(done.stdout))
    rows = {name: {key: statistics.median(g[key] for g in got[name]) for key in got[name][0]} for name in got}
    out: Result = {"seeds": seeds, "steps": STEPS, "rounds": rounds, "rows": rows}
    if "baseline" in trees:
        out["vs_baseline"] = {
            fmt: rows[f"this {fmt}"]["renders_per_s"] / rows[f"baseline {fmt}"]["renders_per_s"] for fmt in FORMATS
        }
    return out


def figures(res: Result) -> dict[str, object]:
    if "error" in res:
        return {}
    out: dict[str, object] = {f"renders_per_s[{k}]": r["renders_per_s"] for k, r in res["rows"].items()}
    out.update({f"vs_baseline[{fmt}]": v for fmt, v in res.get("vs_baseline", {}).items()})
    return out


def report(res: Result) -> list[str]:
    if "error" in res:
        return [f"batch split: failed ({res['error']})"]
    head = ["run", "batch", "-j", "wall s", "CPU s", "renders/s", "rollout s", "convert s", "encode s (CPU)"]
    body = [
        [
            name,
            f"{r['batch_size']:.0f}",
            f"{r['jobs']:.0f}",
            f"{r['wall_s']:.2f}",
            f"{r['cpu_s']:.2f}",
            f"{r['renders_per_s']:.2f}",
            f"{r['rollout_s']:.2f}",
            f"{r['convert_s']:.2f}",
            f"{r['encode_s']:.2f} ({r['encode_cpu_s']:.2f})" if r["encode_s"] else "(processes)",
        ]
        for name, r in res["rows"].items()
    ]
    lines = [
        f"batch throughput: {res['seeds']} seeds x {res['steps']} steps, median of {res['rounds']} rounds; "
        "rollout and convert on the main thread, encode beside it",
        table(head, body),
    ]
    if "vs_baseline" in res:
        lines.append(
            "renders/s against the baseline: " + ", ".join(f"{fmt} {v:.2f}x" for fmt, v in res["vs_baseline"].items())
        )
    return lines


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:  # the child: no torch, the ncarender on PYTHONPATH
        model, fmt, seeds, batch_size, jobs, executor = sys.argv[2:8]
        print(json.dumps(measure(model, fmt, int(seeds), int(batch_size) or None, int(jobs) or None, executor)))
        sys.exit(0)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from workload import scenario_main

    sys.exit(scenario_main(sys.modules[__name__]))
