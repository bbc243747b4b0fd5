"""ncarender's benchmark: everything side by side in one run, printed as a table and written as JSON.

    python benchmarks/bench.py [--quick] [--device cpu|cuda] [--json bench.json] [--checkpoint X.pt]

Needs the ``[train]`` extra (torch is the baseline; the package's render path
never imports it) and Linux (peak memory comes from ``os.wait4``). Sections:

* ``ceiling``: a matrix product shaped like the update layers (cells x 48 @ 48 x 128,
  then cells x 128 @ 128 x 16, at batch 8 on 72x72), in onnxruntime and torch, with
  as many threads as the rollout: the practical fp32 ceiling of this machine.
* ``rollout``: from the seed, batch 1 and 8 on 72x72, 128x128 and 256x256 (and 64 on 72x72): ncarender on the
  live region (``live``), ncarender on the whole grid (``full``), the plain onnxruntime loop a user would write
  (``plain``: a default session, numpy in and out, ``session.run`` per step) and torch eager, with the same
  weights and masks (per-seed numpy generators; the final states are compared, live must equal full):
  ms/step, cell-steps/s and GFLOP/s counted on the full grid, fraction of the ceiling, ratios. Rounds
  interleave the rollouts; each figure is the median round.
* ``command``: fresh processes, 400 steps, a frame at the end, at batch 1 and 8 on 72x72 and 128x128: the
  rollout as a command times it (``ncarender frames --every 400`` at batch 1, ``NCASession.states`` at both)
  against the plain loop (``plain_loop.py``).
* ``layout``: the exported graph (:class:`ncarender.train.export.OnnxStep`) against the
  model's plain graph (one depthwise conv with three filters per channel).
* ``session``: onnxruntime threads and spinning, on the exported graph.
* ``end_to_end``: ``ncarender gif`` (live region, and full grid with ``NCARENDER_LIVE_REGION=0``) and ``mp4``
  (200 steps) as subprocesses: wall time, its split (start-up, rollout, frame conversion, encoding) and peak
  RSS, next to the naive pipeline (``naive_gif.py``: torch eager + per-frame Pillow GIF).
* ``batch``: ``ncarender batch`` of 64 seeds x 200 steps to GIF, live region and full grid (wall, seeds/s),
  against the rollout of those seeds alone.
* ``memory``: peak RSS of a long MP4 (5,000 steps, every step a frame) against a
  200-step one.
* ``startup``: ``ncarender --help`` wall time and whether torch gets imported.

Numbers from a shared or busy machine are noisy: read the ratios, which are
measured side by side in one run. ``--quick`` runs fewer rows, steps and rounds,
and no ``layout`` or ``session`` section.
``--device cuda`` runs the rollouts (batch 1, 8, 64, 256 on 72x72, 1 on 128x128) and
renders on the GPU against torch eager on CUDA.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import torch

from ncarender import __version__
from ncarender.runtime import ALLOW_SPINNING, NCASession, open_model, usable_cores
from ncarender.runtime.rollout import roll_out
from ncarender.spec import RenderSpec
from ncarender.train.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from ncarender.train.export import OPSET, export_checkpoint, model_from_checkpoint
from ncarender.train.model import NCA, NCAConfig, seed_state

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
GRID = 72


def flop_per_cell(config: NCAConfig) -> int:
    """Multiply-adds x 2 of one step per cell: perception (depthwise 3x3) and the two 1x1 layers."""
    c, hidden = config.channels, config.hidden
    return 2 * (3 * c * 9 + 3 * c * hidden + hidden * c)


# --------------------------------------------------------------------------- helpers


@dataclass
class Proc:
    """A finished subprocess: wall seconds, exit code, peak RSS (MiB) of it and its waited-for children."""

    wall: float
    rc: int
    peak_mib: float
    stdout: str
    stderr: str

    def json_line(self) -> dict[str, Any]:
        """The last line of stdout parsed as JSON (``{}`` if there is none)."""
        for line in reversed(self.stdout.strip().splitlines()):
            if line.startswith("{"):
                parsed: dict[str, Any] = json.loads(line)
                return parsed
        return {}


#: Runs a command from a small process and reports its wall time and peak RSS. A process forked straight
#: from this one would start with this process's resident memory (torch and all) as its peak.
_LAUNCHER = """
import os, sys, time
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - t0
with open(sys.argv[1], "w") as fh:
    fh.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss} {wall}")
"""


def run_measured(cmd: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> Proc:
    """Run ``cmd`` (with ``env`` added to the environment); measure its wall time and peak resident memory
    (``os.wait4`` in a small launcher; POSIX)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryDirectory() as d:
        report = Path(d) / "report"
        launcher = [sys.executable, "-I", "-S", "-c", _LAUNCHER, str(report), *cmd]
        environ = {**os.environ, **env} if env else None
        subprocess.run(launcher, stdout=out, stderr=err, cwd=cwd, env=environ, check=False)
        rc, maxrss, wall = report.read_text().split()
        out.seek(0)
        err.seek(0)
        scale = 1.0 if sys.platform == "darwin" else 1024.0  # ru_maxrss: bytes on macOS, KiB on Linux
        return Proc(
            wall=float(wall),
            rc=int(rc),
            peak_mib=int(maxrss) * scale / 2**20,
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
        )


def ncarender_cmd(*args: str) -> list[str]:
    """The ``ncarender`` console script of this interpreter's environment (else ``python -m ncarender``)."""
    script = Path(sys.executable).with_name("ncarender")
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "ncarender", *args]


def best_of(rounds: int, runs: dict[str, Callable[[], float]]) -> dict[str, list[float]]:
    """Run every callable once per round, alternating their order; return each one's results."""
    results: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            results[name].append(runs[name]())
    return results


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages (empty where unknown)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def cpu_model() -> str:
    """The CPU's model name (Linux), else what platform says."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> list[str]:
    """The SIMD extensions that matter here (Linux)."""
    try:
        with open("/proc/cpuinfo") as fh:
            flags = next((line.split(":", 1)[1].split() for line in fh if line.startswith("flags")), [])
    except OSError:
        return []
    return [f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16") if f in flags]


# --------------------------------------------------------------------------- model


def make_checkpoint(path: Path) -> Checkpoint:
    """A seeded random NCA (non-zero last layer, so the state moves) for machines with no trained model."""
    torch.manual_seed(0)
    model = NCA()
    with torch.no_grad():
        model.w2.weight.normal_(0.0, 0.02)
    ckpt = Checkpoint(
        model_config=model.config,
        state_dict={k: v.detach().clone() for k, v in model.state_dict().items()},
        target=np.zeros((4, GRID, GRID), dtype=np.float32),
        target_name="random (benchmark)",
    )
    save_checkpoint(path, ckpt)
    return ckpt


def export_plain(model: NCA, path: Path) -> None:
    """Export ``model.forward`` itself (the plain layout, one depthwise conv with three filters per channel)."""
    import warnings

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


# --------------------------------------------------------------------------- sections


def ceiling(threads: int, device: str, rounds: int) -> dict[str, Any]:
    """Best GFLOP/s of the two update layers as plain matrix products: the practical fp32 ceiling.

    Rows: one 72x72 grid (5,184 cells) and eight (41,472); backends: onnxruntime (MLAS, CPU only) and torch;
    threads: 1 and all usable cores (CPU). The best combination is the ceiling.
    """
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    shapes = [(48, 128), (128, 16)]
    thread_counts = sorted({1, threads}) if device == "cpu" else [threads]
    runs: dict[str, Callable[[], float]] = {}
    flops: dict[str, int] = {}

    def timed(pairs: list[Callable[[], object]], n_threads: int) -> Callable[[], float]:
        def run() -> float:
            torch.set_num_threads(n_threads)
            best = float("inf")
            for _ in range(5):
                _sync(device)
                t0 = time.perf_counter()
                for fn in pairs:
                    fn()
                _sync(device)
                best = min(best, time.perf_counter() - t0)
            torch.set_num_threads(threads)
            return best

        return run

    for cells in (GRID * GRID, 8 * GRID * GRID):
        for n_threads in thread_counts:
            if device == "cpu":
                calls: list[Callable[[], object]] = []
                for k, n in shapes:
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
                    opts.intra_op_num_threads = n_threads
                    sess = ort.InferenceSession(proto.SerializeToString(), opts, providers=["CPUExecutionProvider"])
                    binding = sess.io_binding()
                    binding.bind_cpu_input("x", rng.standard_normal((cells, k), dtype=np.float32))
                    y = ort.OrtValue.ortvalue_from_numpy(np.empty((cells, n), np.float32))
                    binding.bind_ortvalue_output("y", y)
                    calls.append(_step_timer(sess, binding, 1))
                name = f"onnxruntime rows={cells} threads={n_threads}"
                runs[name], flops[name] = timed(calls, n_threads), 0
            dev = torch.device(device)
            mats = [
                (torch.randn(cells, k, device=dev), torch.randn(k, n, device=dev), torch.empty(cells, n, device=dev))
                for k, n in shapes
            ]
            calls = [_matmul_call(a, b, c) for a, b, c in mats]
            name = f"torch rows={cells} threads={n_threads}"
            runs[name], flops[name] = timed(calls, n_threads), 0
            for key in runs:
                if key.endswith(f"rows={cells} threads={n_threads}"):
                    flops[key] = sum(2 * cells * k * n for k, n in shapes)
    for fn in runs.values():
        fn()  # warm up
    results = best_of(rounds, runs)
    gflops = {name: flops[name] / min(times) / 1e9 for name, times in results.items()}
    best = max(gflops, key=lambda name: gflops[name])
    return {"shapes": ["cells x 48 @ 48 x 128", "cells x 128 @ 128 x 16"], "gflops": gflops[best], "best": best,
            "all_gflops": gflops}  # fmt: skip


def _matmul_call(a: torch.Tensor, b: torch.Tensor, out: torch.Tensor) -> Callable[[], object]:
    return lambda: torch.matmul(a, b, out=out)


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def ort_rollout(session: NCASession, seeds: Sequence[int], steps: int, size: int, *, live: bool = True) -> np.ndarray:
    """Run ``steps`` steps with no frames but the last; return the final state ``(N, C, H, W)``.

    ``live``: on the live region (ncarender's default), else every step on the whole grid.
    """
    spec = RenderSpec(tuple(seeds), steps, steps, (size, size))
    frames = list(roll_out(session, spec, include_seed_frame=False, live=live))
    return frames[-1][1]


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
    _sync(device)
    return x.cpu().numpy()


#: The rollouts of every rollout row, in table order: ncarender on the live region, ncarender on the whole grid,
#: the plain onnxruntime loop, torch eager.
ROLLOUTS = ("live", "full", "plain", "torch")


def rollouts(
    session: NCASession,
    plain: ort.InferenceSession,
    model: NCA,
    configs: list[tuple[int, int, int, int]],
    device: str,
    rounds: int,
    ceil: float,
) -> list[dict[str, Any]]:
    """The four rollouts for each ``(batch, size, steps, torch_steps)`` (see :func:`rollout_row`)."""
    rows = []
    for n, size, steps, torch_steps in configs:
        row = rollout_row(session, plain, model, n, size, steps, torch_steps, device, rounds, ceil)
        rows.append(row)
        print(
            f"  rollout batch {n} {size}x{size} steps 0-{steps}: live {row['live_vs_full']:.2f}x full grid, "
            f"{row['live_vs_plain']:.2f}x plain loop, {row['live_vs_torch']:.2f}x torch ({row['torch_config']})",
            file=sys.stderr,
        )
    return rows


def rollout_row(
    session: NCASession,
    plain: ort.InferenceSession,
    model: NCA,
    n: int,
    size: int,
    steps: int,
    torch_steps: int,
    device: str,
    rounds: int,
    ceil: float,
) -> dict[str, Any]:
    """``n`` seeds on ``size`` x ``size`` from the seed: ncarender on the live region and on the whole grid and the
    plain onnxruntime loop for ``steps`` steps, torch eager (whose step costs the same at any step) for
    ``torch_steps``; interleaved rounds, each figure the median round (and the best).

    Figures are per step and counted on the full grid (cell-steps/s: N x H x W cells per step, so a live-region
    rollout's rate is what a full-grid rollout would need to match it). torch runs with 1 thread and with all
    usable cores (CPU) and is credited with the faster. The live and full-grid final states must be equal; the
    plain loop's and torch's are compared with the full grid's.
    """
    fpc = flop_per_cell(model.config)
    cores = usable_cores()
    seeds = list(range(n))
    finals: dict[str, np.ndarray] = {}

    def timed(name: str, fn: Callable[[], np.ndarray], n_steps: int, threads: int = cores) -> Callable[[], float]:
        def run() -> float:
            torch.set_num_threads(threads)
            t0 = time.perf_counter()
            finals[name] = fn()
            elapsed = time.perf_counter() - t0
            torch.set_num_threads(cores)
            return elapsed / n_steps

        return run

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
    res = best_of(rounds, runs)
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


def command_vs_plain(
    onnx_path: Path, device: str, configs: list[tuple[int, int]], steps: int, rounds: int, tmp: Path, full: bool
) -> list[dict[str, Any]]:
    """The rollout of a fresh process, as a command times it, against the plain loop in a fresh process.

    Per ``(batch, size)``: ``plain_loop.py`` (the plain loop), ``plain_loop.py --ncarender`` (``NCASession.states``
    with a frame at the end; ``--full-grid`` too when ``full``) and, at batch 1, ``ncarender frames --steps STEPS
    --every STEPS`` itself (its ``seconds.rollout``; with ``NCARENDER_LIVE_REGION=0`` too when ``full``), each
    ``steps`` steps. Interleaved rounds; medians.
    """
    script = [sys.executable, str(HERE / "plain_loop.py"), str(onnx_path), "--device", device, "--steps", str(steps)]
    provider = "cuda" if device == "cuda" else "cpu"
    rows = []
    for n, size in configs:
        geometry = ["--size", str(size), "--batch", str(n)]
        cmds: dict[str, tuple[list[str], dict[str, str]]] = {
            "plain": ([*script, *geometry], {}),
            "api": ([*script, *geometry, "--ncarender"], {}),
        }
        if full:
            cmds["api full grid"] = ([*script, *geometry, "--ncarender", "--full-grid"], {})
        if n == 1:
            frames = ncarender_cmd(
                "frames", str(tmp / "frames"), "-m", str(onnx_path), "--steps", str(steps), "--every", str(steps),
                "--size", str(size), "--provider", provider, "--json", "-q",
            )  # fmt: skip
            cmds["command"] = (frames, {})
            if full:
                cmds["command full grid"] = (frames, {"NCARENDER_LIVE_REGION": "0"})
        seconds: dict[str, list[float]] = {name: [] for name in cmds}
        for r in range(rounds):
            for name in cmds if r % 2 == 0 else list(cmds)[::-1]:
                cmd, env = cmds[name]
                proc = run_measured(cmd, cwd=tmp, env=env)
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
    return rows


def layout(plain: Path, exported: Path, device: str, rounds: int) -> list[dict[str, Any]]:
    """Step time of the plain graph against the exported one, both through ``NCASession.rollout``."""
    provider = "cuda" if device == "cuda" else "cpu"
    sessions = {
        "plain": open_model(plain, provider=provider, quiet=True),
        "exported": open_model(exported, provider=provider, quiet=True),
    }
    rows = []
    for n, steps in ((1, 100), (8, 20)):
        seeds = list(range(n))
        for s in sessions.values():
            ort_rollout(s, seeds, 2, GRID)

        def timed(s: NCASession, n_steps: int = steps, seeds: list[int] = seeds) -> Callable[[], float]:
            return lambda: _time(lambda: ort_rollout(s, seeds, n_steps, GRID)) / n_steps

        res = best_of(rounds, {name: timed(s) for name, s in sessions.items()})
        row = {"batch": n, **{f"{k}_ms": min(v) * 1e3 for k, v in res.items()}}
        row["speedup"] = row["plain_ms"] / row["exported_ms"]
        rows.append(row)
    return rows


def _time(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def session_options(exported: Path, rounds: int) -> list[dict[str, Any]]:
    """One step's time for intra-op threads x spinning, at batch 1 and 8 (bound buffers, fixed input)."""
    cores = usable_cores()
    thread_counts = sorted({1, cores})
    rows = []
    for n in (1, 8):
        x = seed_state(n, GRID, 16).numpy()
        x[:, :4, GRID // 2 - 8 : GRID // 2 + 8, GRID // 2 - 8 : GRID // 2 + 8] = 0.5
        mask = (np.random.default_rng(0).random((n, 1, GRID, GRID), dtype=np.float32) < 0.5).astype(np.float32)
        reps = 100 // n
        runs: dict[str, Callable[[], float]] = {}
        for threads in thread_counts:
            for spin in (True, False):
                opts = ort.SessionOptions()
                opts.intra_op_num_threads = threads
                opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
                opts.log_severity_level = 3
                sess = ort.InferenceSession(str(exported), opts, providers=["CPUExecutionProvider"])
                binding = sess.io_binding()
                binding.bind_cpu_input("state", x)
                binding.bind_cpu_input("mask", mask)
                binding.bind_ortvalue_output("next_state", ort.OrtValue.ortvalue_from_numpy(np.empty_like(x)))
                sess.run_with_iobinding(binding)
                runs[f"threads={threads} spin={'on' if spin else 'off'}"] = _step_timer(sess, binding, reps)
        res = best_of(rounds, runs)
        for name, times in res.items():
            rows.append(
                {
                    "batch": n,
                    "options": name,
                    "ms_per_step": min(times) * 1e3,
                    "ms_per_step_median": float(np.median(times)) * 1e3,
                }
            )
    return rows


def _step_timer(sess: ort.InferenceSession, binding: Any, reps: int) -> Callable[[], float]:
    """Seconds per run of ``sess`` on ``binding``, over ``reps`` runs."""

    def run() -> float:
        t0 = time.perf_counter()
        for _ in range(reps):
            sess.run_with_iobinding(binding)
        return (time.perf_counter() - t0) / reps

    return run


#: The environment that turns the live region off in a command (every step on the whole grid, as before it).
FULL_GRID_ENV = {"NCARENDER_LIVE_REGION": "0"}


def _median_run(procs: list[Proc]) -> Proc:
    """The run of median wall time (the lower middle one of an even count)."""
    return sorted(procs, key=lambda p: p.wall)[(len(procs) - 1) // 2]


def end_to_end(
    onnx_path: Path,
    ckpt_path: Path,
    device: str,
    steps: int,
    quick: bool,
    tmp: Path,
    torch_threads: int,
    baseline: Path | None = None,
) -> dict[str, dict[str, Any]]:
    """``ncarender gif`` (live region, full grid, and ``baseline``'s code if given), ``mp4`` and the naive pipeline
    as subprocesses, interleaved (each gif 5 times, 9 in a full run; mp4 2 and 3 times; the naive pipeline once
    and twice); each figure from the run of median wall time (``wall_best_s``: the fastest).

    The naive pipeline gets ``torch_threads``: the faster torch setting of the batch-1 rollout.
    """
    provider = "cuda" if device == "cuda" else "cpu"
    common = ["-m", str(onnx_path), "--steps", str(steps), "--provider", provider, "--json", "-q"]
    gif = ncarender_cmd("gif", str(tmp / "e2e.gif"), *common)
    cmds: dict[str, tuple[list[str], dict[str, str]]] = {
        "gif": (gif, {}),
        "gif_full_grid": (gif, FULL_GRID_ENV),
        **({"gif_baseline": (gif, {"PYTHONPATH": str(baseline)})} if baseline else {}),
        "mp4": (ncarender_cmd("mp4", str(tmp / "e2e.mp4"), *common), {}),
        "naive_gif": (
            [
                sys.executable, str(HERE / "naive_gif.py"), str(ckpt_path), str(tmp / "naive.gif"),
                "--steps", str(steps), "--device", device, "--threads", str(torch_threads),
            ],
            {},
        ),
    }  # fmt: skip
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:  # e.g. a GPU machine without it: GIF only
        print("  (imageio-ffmpeg is not installed: no mp4 row)", file=sys.stderr)
        del cmds["mp4"]
    gifs = 5 if quick else 9
    runs = {"gif": gifs, "gif_full_grid": gifs, "gif_baseline": gifs, "mp4": 2 if quick else 3}
    runs["naive_gif"] = 1 if quick else 2
    procs: dict[str, list[Proc]] = {name: [] for name in cmds}
    for r in range(max(runs.values())):
        for name in cmds if r % 2 == 0 else list(cmds)[::-1]:
            if len(procs[name]) >= runs[name]:
                continue
            cmd, env = cmds[name]
            proc = run_measured(cmd, cwd=tmp, env=env)
            if proc.rc != 0:
                raise RuntimeError(f"{name} failed ({proc.rc}): {proc.stderr.strip()[-400:]}")
            procs[name].append(proc)
    out: dict[str, dict[str, Any]] = {}
    for name, runs in procs.items():
        proc = _median_run(runs)
        summary = proc.json_line()
        seconds = {k: float(v) for k, v in summary.get("seconds", {}).items()}
        out[name] = {
            "wall_s": proc.wall,
            "wall_best_s": min(p.wall for p in runs),
            "walls_s": [p.wall for p in runs],
            "peak_mib": proc.peak_mib,
            "split_s": seconds,
        }
        if "bytes" in summary:
            out[name]["bytes"] = summary["bytes"]
    out["naive_gif"]["bytes"] = (tmp / "naive.gif").stat().st_size
    return out


def batch_gif(
    session: NCASession,
    onnx_path: Path,
    device: str,
    seeds: int,
    steps: int,
    rounds: int,
    tmp: Path,
    baseline: Path | None = None,
) -> dict[str, Any]:
    """``ncarender batch`` of ``seeds`` seeds to GIF, on the live region, on the full grid and with ``baseline``'s
    code if given (interleaved, ``rounds`` each, the median), against one rollout of those seeds with no frames
    (live region)."""
    provider = "cuda" if device == "cuda" else "cpu"
    cmd = ncarender_cmd(
        "batch", str(tmp / "batch"), "--seeds", f"0-{seeds - 1}", "--format", "gif", "--steps", str(steps),
        "-m", str(onnx_path), "--provider", provider, "-q",
    )  # fmt: skip
    envs: dict[str, dict[str, str]] = {"live": {}, "full": FULL_GRID_ENV}
    if baseline:
        envs["baseline"] = {"PYTHONPATH": str(baseline)}
    walls: dict[str, list[float]] = {name: [] for name in envs}
    out: dict[str, Any] = {"seeds": seeds, "steps": steps}
    for r in range(rounds):
        for name in list(envs) if r % 2 == 0 else list(envs)[::-1]:
            shutil.rmtree(tmp / "batch", ignore_errors=True)
            proc = run_measured(cmd, cwd=tmp, env=envs[name])
            if proc.rc != 0:
                out["error"] = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.rc}"
                return out
            walls[name].append(proc.wall)
            out[f"peak_mib_{name}"] = proc.peak_mib
    ort_rollout(session, list(range(seeds)), 2, GRID)  # warm up at this batch (GPU: algorithm choice, arena)
    rollout = _time(lambda: ort_rollout(session, list(range(seeds)), steps, GRID))
    live, full = float(np.median(walls["live"])), float(np.median(walls["full"]))
    out.update(
        rollout_alone_s=rollout,
        batch_wall_s=live,
        batch_wall_full_grid_s=full,
        walls_s=walls,
        seeds_per_s=seeds / live,
        seeds_per_s_full_grid=seeds / full,
        live_vs_full=live / full,
        ratio=live / rollout,
        peak_mib=out["peak_mib_live"],
    )
    if baseline:
        base = float(np.median(walls["baseline"]))
        out.update(batch_wall_baseline_s=base, seeds_per_s_baseline=seeds / base, live_vs_baseline=live / base)
    return out


def memory(onnx_path: Path, device: str, long_steps: int, tmp: Path) -> dict[str, Any]:
    """Peak RSS of a 200-step and a ``long_steps``-step MP4 (a frame every step)."""
    provider = "cuda" if device == "cuda" else "cpu"
    out: dict[str, Any] = {}
    for steps in (200, long_steps):
        cmd = ncarender_cmd(
            "mp4", str(tmp / f"mem{steps}.mp4"), "-m", str(onnx_path), "--steps", str(steps), "--every", "1",
            "--provider", provider, "-q", "--json",
        )  # fmt: skip
        proc = run_measured(cmd, cwd=tmp)
        if proc.rc != 0:  # e.g. a model that is not stable for that long
            lines = proc.stderr.strip().splitlines()
            return {"error": f"mp4 --steps {steps}: {lines[-1] if lines else f'exit {proc.rc}'}"}
        out[f"mp4_{steps}"] = {"steps": steps, "peak_mib": proc.peak_mib, "wall_s": proc.wall}
    out["ratio"] = out[f"mp4_{long_steps}"]["peak_mib"] / out["mp4_200"]["peak_mib"]
    return out


def startup(onnx_path: Path, tmp: Path) -> dict[str, Any]:
    """``ncarender --help``: best wall of 5; and whether ``--help`` or a render imports torch."""
    walls = [run_measured(ncarender_cmd("--help")).wall for _ in range(5)]

    def imports_torch(*args: str) -> bool:
        proc = run_measured([sys.executable, "-X", "importtime", "-m", "ncarender", *args], cwd=tmp)
        return any(re.search(r"\|\s*torch(\.|$)", line) for line in proc.stderr.splitlines())

    return {
        "help_s": min(walls),
        "help_imports_torch": imports_torch("--help"),
        "gif_imports_torch": imports_torch("gif", str(tmp / "s.gif"), "-m", str(onnx_path), "--steps", "2", "-q"),
    }


# --------------------------------------------------------------------------- report


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A Markdown table."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    rule = "| " + " | ".join("-" * w for w in widths) + " |"
    body = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    return "\n".join([line, rule, *body])


def _row(res: dict[str, Any], batch: int, grid: int) -> dict[str, Any] | None:
    return next((r for r in res["rollout"] if r["batch"] == batch and r["grid"] == grid), None)


def targets(res: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """Each target of issues 6 and 13: (what, measured, met)."""
    out: list[tuple[str, str, bool | None]] = []
    cpu = res["device"] == "cpu"  # the rollout, command and batch targets are CPU targets
    b8 = _row(res, 8, GRID)
    if b8 is not None and cpu:
        out.append(("rollout 72x72 steps 0-200 batch 8: live region >= 2.5x full grid", f"{b8['live_vs_full']:.2f}x",
                    b8["live_vs_full"] >= 2.5))  # fmt: skip
        out.append(("rollout batch 8 72x72 >= 5x torch eager", f"{b8['speedup']:.2f}x", b8["speedup"] >= 5))
        frac = b8["full"]["of_ceiling"]
        out.append(("full-grid rollout batch 8 72x72 >= 60% of the matmul ceiling", f"{frac:.0%}", frac >= 0.6))
    b128 = _row(res, 1, 128)
    if b128 is not None and cpu:
        out.append(("rollout 128x128 batch 1: live region >= 6x full grid", f"{b128['live_vs_full']:.2f}x",
                    b128["live_vs_full"] >= 6))  # fmt: skip
    if res["rollout"]:
        same = all(r["live_equals_full"] for r in res["rollout"])
        out.append(("live-region final states equal the full grid's (every rollout row)", str(same), same))
    for row in res.get("command") or []:
        if not cpu:
            break
        bar = 2.0 if row["grid"] <= GRID else 4.0
        name = "command" if "command" in row else "api"
        what = "ncarender frames" if name == "command" else "NCASession.states"
        out.append((f"{row['steps']} steps {row['batch']} x {row['grid']}x{row['grid']}, fresh process: {what} "
                    f"rollout >= {bar:g}x the plain loop", f"{row[f'{name} vs plain']:.2f}x",
                    row[f"{name} vs plain"] >= bar))  # fmt: skip
    e2e = res.get("end_to_end")
    if e2e:
        ratio = e2e["naive_gif"]["wall_s"] / e2e["gif"]["wall_s"]
        out.append(("gif --steps 200 end to end >= 5x faster than naive", f"{ratio:.2f}x", ratio >= 5))
        before = "gif_baseline" if "gif_baseline" in e2e else "gif_full_grid"
        ratio = e2e[before]["wall_s"] / e2e["gif"]["wall_s"]
        what = "the baseline code" if before == "gif_baseline" else "the full grid (same code)"
        out.append((f"gif --steps 200 end to end >= 1.4x faster than {what}", f"{ratio:.2f}x", ratio >= 1.4))
        split = e2e["gif"]["split_s"]
        if split:
            ok = split.get("encode", 0) <= split.get("rollout", 0)
            out.append(
                ("GIF encoding <= rollout", f"{split.get('encode', 0):.3f} s vs {split.get('rollout', 0):.3f} s", ok)
            )
    st = res.get("startup")
    if st:
        ok = st["help_s"] < 0.3 and not st["help_imports_torch"] and not st["gif_imports_torch"]
        torch_note = "imports torch" if st["help_imports_torch"] or st["gif_imports_torch"] else "no torch"
        out.append(("ncarender --help < 0.3 s, no torch", f"{st['help_s']:.3f} s, {torch_note}", ok))
    bt = res.get("batch")
    if bt and cpu:
        label = f"batch {bt['seeds']} seeds x {bt['steps']} steps GIF"
        if "ratio" in bt:
            if "live_vs_baseline" in bt:
                what, ratio, before = "the baseline code's", bt["live_vs_baseline"], bt["batch_wall_baseline_s"]
            else:
                what, ratio, before = "the full grid's", bt["live_vs_full"], bt["batch_wall_full_grid_s"]
            out.append((f"{label} wall <= 0.6x {what}", f"{ratio:.2f}x ({bt['batch_wall_s']:.1f} vs {before:.1f} s)",
                        ratio <= 0.6))  # fmt: skip
            out.append((f"{label} <= 1.3x rollout", f"{bt['ratio']:.2f}x", bt["ratio"] <= 1.3))
        else:
            out.append((f"{label} <= 1.3x rollout", bt["error"], None))
    mem = res.get("memory")
    if mem and "error" in mem:
        out.append(("peak memory of a long MP4 <= 1.2x 200-step", mem["error"], None))
    elif mem:
        long_key = next(k for k in mem if k.startswith("mp4_") and k != "mp4_200")
        label = f"peak memory {mem[long_key]['steps']}-step MP4 <= 1.2x 200-step"
        out.append((label, f"{mem['ratio']:.2f}x", mem["ratio"] <= 1.2))
    if res["device"] == "cuda":
        b256 = _row(res, 256, GRID)
        if b256 is not None:
            rate = b256["live"]["cell_steps_per_s"]
            out.append(
                ("CUDA batch 256 72x72 >= 0.6 G cell-steps/s (full-grid equivalent, live region)",
                 f"{rate / 1e9:.2f} G ({b256['live_vs_full']:.2f}x full grid, {b256['speedup']:.2f}x torch)",
                 rate >= 0.6e9)
            )  # fmt: skip
    return out


def report(res: dict[str, Any]) -> str:
    """The whole result as Markdown tables."""
    env = res["environment"]
    lines = [
        f"ncarender {env['ncarender']} benchmark, {res['device']}, {'quick' if res['quick'] else 'full'} run",
        f"machine: {env['cpu']} ({env['cores']} usable cores; {', '.join(env['cpu_flags'])}), "
        f"{env['gpu'] or 'no GPU'}; load average {env['load_before']} before, {env['load_after']} after",
        f"onnxruntime {env['onnxruntime']}, torch {env['torch']}, numpy {env['numpy']}; weights: {res['weights']}",
        "Figures are medians of interleaved rounds in this one run; on a busy machine read the ratios.",
        "",
        f"Matmul ceiling ({' + '.join(res['ceiling']['shapes'])}): {res['ceiling']['gflops']:.0f} GFLOP/s, "
        f"best of: " + ", ".join(f"{k} {v:.0f}" for k, v in res["ceiling"]["all_gflops"].items()),
        "",
        "Rollouts from the seed; per step and counted on the full grid (N x H x W cells a step); live: ncarender on "
        "the live region, full: ncarender on the whole grid, plain: the plain onnxruntime loop, torch: torch eager "
        "(fewer steps: its step costs the same at any step).",
        "",
    ]
    rows = []
    for r in res["rollout"]:
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
            rows.append(
                [
                    f"{r['batch']} x {r['grid']}x{r['grid']}",
                    name,
                    f"0-{steps}",
                    f"{m['ms_per_step']:.3f}",
                    f"{m['cell_steps_per_s'] / 1e6:.1f} M",
                    f"{m['gflops']:.0f}",
                    f"{m['of_ceiling']:.0%}",
                    vs,
                ]
            )
    head = ["batch x grid", "rollout", "steps", "ms/step", "cell-steps/s", "GFLOP/s", "of ceiling",
            "live vs full / plain / torch"]  # fmt: skip
    lines += [table(head, rows), ""]
    if res.get("command"):
        rows = []
        for r in res["command"]:
            cols = [k for k in r if k not in ("batch", "grid", "steps") and not k.endswith("vs plain")]
            for name in cols:
                ratio = r.get(f"{name} vs plain")
                rows.append([f"{r['batch']} x {r['grid']}x{r['grid']}", name, f"{r[name]:.3f}",
                             f"{ratio:.2f}x" if ratio else ""])  # fmt: skip
        steps = res["command"][0]["steps"]
        lines += [
            f"Fresh processes, {steps} steps, a frame at the end: the rollout as a command times it (first mask to "
            "final state) against the plain loop (benchmarks/plain_loop.py); command = ncarender frames --every "
            f"{steps}, api = NCASession.states.",
            "",
            table(["batch x grid", "rollout", "seconds", "vs plain loop"], rows),
            "",
        ]
    if res.get("layout"):
        lay = [
            [str(r["batch"]), f"{r['plain_ms']:.2f}", f"{r['exported_ms']:.2f}", f"{r['speedup']:.2f}x"]
            for r in res["layout"]
        ]
        lines += [table(["batch (72x72)", "plain graph ms/step", "exported ms/step", "speed-up"], lay), ""]
    if res.get("session"):
        ses = [[str(r["batch"]), r["options"], f"{r['ms_per_step']:.2f}", f"{r['ms_per_step_median']:.2f}"]
               for r in res["session"]]  # fmt: skip
        lines += [table(["batch", "session options", "best ms/step", "median ms/step"], ses), ""]
    e2e = res.get("end_to_end")
    if e2e:
        rows = []
        for name, m in e2e.items():
            split = m["split_s"]
            rows.append(
                [name, f"{m['wall_s']:.2f}"]
                + [f"{split[k]:.3f}" if k in split else "" for k in ("startup", "rollout", "convert", "encode")]
                + [f"{m['peak_mib']:.0f}", f"{m.get('bytes', 0) / 1e6:.2f}"]
            )
        head = ["200 steps", "wall s", "start-up", "rollout", "convert", "encode", "peak MiB", "MB"]
        lines += [table(head, rows), ""]
    bt = res.get("batch")
    if bt:
        if "ratio" in bt:
            lines.append(
                f"batch: {bt['seeds']} seeds x {bt['steps']} steps to GIF {bt['batch_wall_s']:.2f} s wall "
                f"({bt['seeds_per_s']:.2f} seeds/s, peak {bt['peak_mib']:.0f} MiB) against "
                f"{bt['batch_wall_full_grid_s']:.2f} s ({bt['seeds_per_s_full_grid']:.2f} seeds/s) on the full grid: "
                f"{bt['live_vs_full']:.2f}x; rollout alone {bt['rollout_alone_s']:.2f} s: {bt['ratio']:.2f}x"
            )
            if "live_vs_baseline" in bt:
                lines.append(
                    f"batch, baseline code: {bt['batch_wall_baseline_s']:.2f} s ({bt['seeds_per_s_baseline']:.2f} "
                    f"seeds/s): live region {bt['live_vs_baseline']:.2f}x"
                )
        else:
            lines.append(f"batch: failed ({bt['error']})")
    mem = res.get("memory")
    if mem and "error" in mem:
        lines.append(f"memory: failed ({mem['error']})")
    elif mem:
        parts = [f"{v['steps']} steps {v['peak_mib']:.0f} MiB ({v['wall_s']:.1f} s)" for v in mem.values() if
                 isinstance(v, dict)]  # fmt: skip
        lines.append(f"memory (mp4, every step a frame): {', '.join(parts)}: {mem['ratio']:.2f}x")
    st = res.get("startup")
    if st:
        lines.append(
            f"start-up: ncarender --help {st['help_s']:.3f} s; torch imported by --help: {st['help_imports_torch']}, "
            f"by gif: {st['gif_imports_torch']}"
        )
    lines += ["", table(["target", "measured", "met"], [[t, m, {True: "yes", False: "no", None: "?"}[ok]]
                                                        for t, m, ok in res["targets"]])]  # fmt: skip
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the tables on stdout, progress on stderr."""
    parser = argparse.ArgumentParser(description="ncarender benchmark (see the module docstring)")
    parser.add_argument("--quick", action="store_true", help="fewer rows, steps, rounds (~3 min)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--checkpoint", type=Path, help="weights to use (default: models/snowflake.pt if present, else random)"
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout (e.g. git worktree add /tmp/base 2babc7b): its gif and batch side by side",
    )
    parser.add_argument("--long-steps", type=int, help="steps of the long MP4 for the memory check (default 5000)")
    parser.add_argument(
        "--skip",
        default="",
        help="comma-separated sections to skip: command,layout,session,end_to_end,batch,memory,startup",
    )
    args = parser.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if args.quick:  # issue 6's graph-layout and session-option tables: in a full run
        skip |= {"layout", "session"}
    quick, device = args.quick, args.device
    if device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no GPU")
    threads = usable_cores()
    torch.set_num_threads(threads)
    rounds = 2 if quick else 3
    res: dict[str, Any] = {"device": device, "quick": quick}
    res["environment"] = {
        "ncarender": __version__,
        "cpu": cpu_model(),
        "cpu_flags": cpu_flags(),
        "cores": threads,
        "gpu": torch.cuda.get_device_name(0) if device == "cuda" else None,
        "onnxruntime": ort.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "load_before": load_average(),
        "allow_spinning": ALLOW_SPINNING,
    }
    with tempfile.TemporaryDirectory(prefix="ncarender-bench-") as tmp_name:
        tmp = Path(tmp_name)
        ckpt_path = args.checkpoint or (REPO / "models" / "snowflake.pt")
        if ckpt_path.exists():
            ckpt = load_checkpoint(ckpt_path)
            res["weights"] = f"{ckpt_path.name} ({ckpt.iterations} iterations)"
            # Copy: a training run may replace the file while we read it.
            ckpt_path = tmp / "model.pt"
            save_checkpoint(ckpt_path, ckpt)
        else:
            ckpt_path = tmp / "model.pt"
            ckpt = make_checkpoint(ckpt_path)
            res["weights"] = "random (seeded; cost does not depend on the weights, GIF sizes do)"
        print("exporting (with the parity check)...", file=sys.stderr)
        onnx_path = export_checkpoint(ckpt_path, tmp / "model.onnx").path
        model = model_from_checkpoint(ckpt).to(device)
        session = open_model(onnx_path, provider="cuda" if device == "cuda" else "cpu", quiet=True)

        print("ceiling...", file=sys.stderr)
        res["ceiling"] = ceiling(threads, device, rounds + 2)
        # (batch, grid, steps from the seed, torch eager's steps)
        if device == "cuda":
            configs = [(1, 72, 200, 100), (8, 72, 200, 100), (64, 72, 200, 50), (256, 72, 200, 20), (1, 128, 200, 100)]
        elif quick:
            configs = [(1, 72, 200, 40), (8, 72, 200, 10), (1, 128, 200, 20), (1, 256, 100, 4)]
        else:
            configs = [(1, 72, 200, 100), (8, 72, 200, 20), (64, 72, 100, 4), (1, 128, 200, 40), (8, 128, 200, 8),
                       (1, 256, 200, 10), (8, 256, 200, 2)]  # fmt: skip
        print("rollouts...", file=sys.stderr)
        plain = plain_session(onnx_path, device)
        res["rollout"] = rollouts(session, plain, model, configs, device, rounds, res["ceiling"]["gflops"])
        if "command" not in skip:
            print("command vs plain loop...", file=sys.stderr)
            pairs = [(1, 72), (8, 72), (1, 128), (8, 128)]
            steps = 200 if quick else 400
            res["command"] = command_vs_plain(onnx_path, device, pairs, steps, rounds, tmp, full=not quick)
        if "layout" not in skip:
            print("graph layout...", file=sys.stderr)
            export_plain(model.cpu(), tmp / "plain.onnx")
            model.to(device)
            res["layout"] = layout(tmp / "plain.onnx", onnx_path, device, rounds)
        if "session" not in skip and device == "cpu":
            print("session options...", file=sys.stderr)
            res["session"] = session_options(onnx_path, rounds)
        if "end_to_end" not in skip:
            print("end to end...", file=sys.stderr)
            b1 = res["rollout"][0]["torch_config"]
            torch_threads = int(b1.split("=")[1]) if "=" in b1 else threads
            res["end_to_end"] = end_to_end(
                onnx_path, ckpt_path, device, 200, quick, tmp, torch_threads, baseline=args.baseline
            )
        if "batch" not in skip:
            print("batch...", file=sys.stderr)
            res["batch"] = batch_gif(session, onnx_path, device, 64, 200, 1 if quick else 2, tmp, args.baseline)
        if "memory" not in skip:
            long_steps = args.long_steps or (1000 if quick else 5000)
            print(f"memory (mp4 of {long_steps} steps)...", file=sys.stderr)
            res["memory"] = memory(onnx_path, device, long_steps, tmp)
        if "startup" not in skip:
            res["startup"] = startup(onnx_path, tmp)
    res["environment"]["load_after"] = load_average()
    res["targets"] = targets(res)
    text = report(res)
    print(text)
    if args.json:
        res["table"] = text
        args.json.write_text(json.dumps(res, indent=2, default=str) + "\n")
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
