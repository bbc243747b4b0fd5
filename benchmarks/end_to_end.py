"""``ncarender gif`` and ``mp4`` (200 steps) as subprocesses, next to the naive pipeline: wall time, its split
(start-up, rollout, frame conversion, encoding) and peak RSS.

    python benchmarks/end_to_end.py [--quick] [--device cpu|cuda] [--baseline DIR] [--json end_to_end.json]

``gif`` on the live region, ``gif_full_grid`` with ``NCARENDER_LIVE_REGION=0``, ``gif_baseline`` with another
checkout's code (``--baseline``), ``mp4``, and ``naive_gif`` (``naive_gif.py``: torch eager + per-frame Pillow GIF,
with the faster torch thread count of the batch-1 rollout where :mod:`rollouts` ran first). Interleaved: each gif
5 times (9 in a full run), mp4 2 and 3 times, the naive pipeline once and twice; each figure from the run of
median wall time (``wall_best_s``: the fastest).
"""

from __future__ import annotations

import sys
from typing import Any

from harness import FULL_GRID_ENV, HERE, Proc, Result, median_run, ncarender_cmd, run_measured, table
from workload import Workload, scenario_main

NAME = "end_to_end"
STEPS = 200


def _torch_threads(work: Workload) -> int:
    rows = work.results.get("rollout", {}).get("rows") or []
    config = rows[0]["torch_config"] if rows else ""
    return int(config.split("=")[1]) if "=" in config else work.threads


def run(work: Workload) -> Result:
    tmp = work.tmp
    common = ["-m", str(work.onnx_path), "--steps", str(STEPS), "--provider", work.provider, "--json", "-q"]
    gif = ncarender_cmd("gif", str(tmp / "e2e.gif"), *common)
    cmds: dict[str, tuple[list[str], dict[str, str]]] = {
        "gif": (gif, {}),
        "gif_full_grid": (gif, FULL_GRID_ENV),
        **({"gif_baseline": (gif, {"PYTHONPATH": str(work.baseline)})} if work.baseline else {}),
        "mp4": (ncarender_cmd("mp4", str(tmp / "e2e.mp4"), *common), {}),
        "naive_gif": (
            [
                sys.executable, str(HERE / "naive_gif.py"), str(work.ckpt_path), str(tmp / "naive.gif"),
                "--steps", str(STEPS), "--device", work.device, "--threads", str(_torch_threads(work)),
            ],
            {},
        ),
    }  # fmt: skip
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:  # e.g. a GPU machine without it: GIF only
        print("  (imageio-ffmpeg is not installed: no mp4 row)", file=sys.stderr)
        del cmds["mp4"]
    gifs = 5 if work.quick else 9
    counts = {"gif": gifs, "gif_full_grid": gifs, "gif_baseline": gifs, "mp4": 2 if work.quick else 3}
    counts["naive_gif"] = 1 if work.quick else 2
    procs: dict[str, list[Proc]] = {name: [] for name in cmds}
    for r in range(max(counts.values())):
        for name in cmds if r % 2 == 0 else list(cmds)[::-1]:
            if len(procs[name]) >= counts[name]:
                continue
            cmd, env = cmds[name]
            proc = run_measured(cmd, cwd=tmp, env=env)
            if proc.rc != 0:
                raise RuntimeError(f"{name} failed ({proc.rc}): {proc.stderr.strip()[-400:]}")
            procs[name].append(proc)
    out: dict[str, dict[str, Any]] = {}
    for name, runs in procs.items():
        proc = median_run(runs)
        summary = proc.json_line()
        out[name] = {
            "wall_s": proc.wall,
            "wall_best_s": min(p.wall for p in runs),
            "walls_s": [p.wall for p in runs],
            "peak_mib": proc.peak_mib,
            "split_s": {k: float(v) for k, v in summary.get("seconds", {}).items()},
        }
        if "bytes" in summary:
            out[name]["bytes"] = summary["bytes"]
    out["naive_gif"]["bytes"] = (tmp / "naive.gif").stat().st_size
    return out


def figures(res: Result) -> dict[str, object]:
    """How much faster ``gif`` is than the naive pipeline, the full grid and the baseline; encoding over rollout."""
    gif = res["gif"]["wall_s"]
    out: dict[str, object] = {
        "gif_vs_naive": res["naive_gif"]["wall_s"] / gif,
        "gif_vs_full_grid": res["gif_full_grid"]["wall_s"] / gif,
    }
    if "gif_baseline" in res:
        out["gif_vs_baseline"] = res["gif_baseline"]["wall_s"] / gif
    split = res["gif"]["split_s"]
    if split.get("rollout"):
        out["gif_encode_over_rollout"] = split.get("encode", 0.0) / split["rollout"]
    return out


def report(res: Result) -> list[str]:
    rows = []
    for name, m in res.items():
        split = m["split_s"]
        rows.append(
            [name, f"{m['wall_s']:.2f}"]
            + [f"{split[k]:.3f}" if k in split else "" for k in ("startup", "rollout", "convert", "encode")]
            + [f"{m['peak_mib']:.0f}", f"{m.get('bytes', 0) / 1e6:.2f}"]
        )
    return [table([f"{STEPS} steps", "wall s", "start-up", "rollout", "convert", "encode", "peak MiB", "MB"], rows)]


if __name__ == "__main__":
    sys.exit(scenario_main(sys.modules[__name__]))
