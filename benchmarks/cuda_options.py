"""CUDA execution provider options, CUDA graphs and the half-precision export, side by side on one GPU.

    python benchmarks/cuda_options.py [--json cuda_options.json] [--checkpoint models/snowflake.pt]

Needs onnxruntime-gpu, a GPU and torch (for the exports). For each variant (a model precision, provider
options, CUDA graphs on or off) it measures, through ``NCASession.rollout`` (masks drawn and uploaded as in
a render): ms/step and cell-steps/s at batch 1, 8, 64 and 256 on 72x72; the bare step time at batch 256
(fixed device buffers, no masks drawn); whether two sessions give the same bits; whether seed 3 alone equals
seed 3 in a batch of 8; and the max abs difference from the CPU rollout (float32 on the CPU). The defaults
in ``ncarender.runtime.CUDA_PROVIDER_OPTIONS`` come from this table.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from ncarender.runtime import CUDA_PROVIDER_OPTIONS, MaskStream, NCASession, roll_out, usable_cores
from ncarender.runtime import rollout as runtime_rollout
from ncarender.spec import RenderSpec
from ncarender.train.export import export_checkpoint

REPO = Path(__file__).resolve().parent.parent
CONFIGS = ((1, 200), (8, 200), (64, 60), (256, 30))  # (batch, steps)
#: name, precision, provider options (over CUDA_PROVIDER_OPTIONS), CUDA graphs (None: ncarender's default).
VARIANTS: list[tuple[str, str, dict[str, str], bool | None]] = [
    ("fp32 default", "fp32", {}, None),
    ("fp32 float32 mask upload", "fp32", {}, None),  # runtime.rollout.COMPACT_MASK_UPLOAD off
    ("fp32 no graphs", "fp32", {}, False),
    ("fp32 graphs always", "fp32", {}, True),
    ("fp32 tf32", "fp32", {"use_tf32": "1"}, None),
    ("fp16 default", "fp16", {}, None),
]


def mask_pipeline(n: int = 256, block: int = 12, size: int = 72) -> dict[str, float]:
    """Host side of the masks at batch ``n``, per step: drawing (all cores) and the upload to the GPU."""
    out: dict[str, float] = {}
    for dtype in (np.float32, np.uint8):
        stream = MaskStream(list(range(n)), size, size, 0.5, block=block, workers=min(n, usable_cores()), dtype=dtype)
        host = stream.next()
        t0 = time.perf_counter()
        for _ in range(3):
            host = stream.next()
        out[f"draw_{np.dtype(dtype).name}_ms"] = (time.perf_counter() - t0) / (3 * block) * 1e3
        stream.close()
        device = ort.OrtValue.ortvalue_from_shape_and_type(host.shape, dtype, "cuda", 0)
        device.update_inplace(host)
        t0 = time.perf_counter()
        for _ in range(3):
            device.update_inplace(host)
        out[f"upload_{np.dtype(dtype).name}_ms"] = (time.perf_counter() - t0) / (3 * block) * 1e3
    return out


def final(session: NCASession, seeds: list[int], steps: int) -> np.ndarray:
    """State ``(N, C, 72, 72)`` after ``steps`` steps, no other frames."""
    return list(roll_out(session, RenderSpec(tuple(seeds), steps, steps), include_seed_frame=False))[-1][1]


def bare_step_ms(session: NCASession, n: int, reps: int = 30) -> float:
    """One step on fixed device buffers (no mask draws or uploads): the model's own time."""
    c, (h, w) = session.info.channels, session.info.grid
    state = np.zeros((n, c, h, w), np.float32)
    state[:, 3:, h // 2 - 10 : h // 2 + 10, w // 2 - 10 : w // 2 + 10] = 0.5
    values = [ort.OrtValue.ortvalue_from_numpy(state, session.device, 0) for _ in range(2)]
    mask = ort.OrtValue.ortvalue_from_numpy(np.ones((n, 1, h, w), np.float32), session.device, 0)
    binding = session.session.io_binding()
    binding.bind_ortvalue_input("mask", mask)
    binding.bind_ortvalue_input("state", values[0])
    binding.bind_ortvalue_output("next_state", values[1])
    options = ort.RunOptions()
    if session.graphs.enabled:
        options.add_run_config_entry("gpu_graph_id", "-1")  # no graph here: rollouts own the graph ids
    for _ in range(3):
        session.session.run_with_iobinding(binding, options)
    t0 = time.perf_counter()
    for _ in range(reps):
        session.session.run_with_iobinding(binding, options)
    return (time.perf_counter() - t0) / reps * 1e3


def variant(
    model: Path, options: dict[str, str], graph: bool | None, reference: np.ndarray, provider: str = "cuda"
) -> dict[str, Any]:
    """All measurements of one variant (see the module docstring)."""
    t0 = time.perf_counter()
    session = NCASession(model, provider=provider, quiet=True, cuda_options=options, cuda_graph=graph)
    out: dict[str, Any] = {"providers": session.session.get_providers(), "rows": []}
    for n, steps in CONFIGS:
        seeds = list(range(n))
        final(session, seeds, 4)  # warm up: algorithm choice, graph capture, arena growth
        best = float("inf")
        for _ in range(2):
            t = time.perf_counter()
            final(session, seeds, steps)
            best = min(best, (time.perf_counter() - t) / steps)
        out["rows"].append({"batch": n, "ms_per_step": best * 1e3, "cell_steps_per_s": n * 72 * 72 / best})
    out["setup_and_warmup_s"] = time.perf_counter() - t0
    if graph is not True:
        out["bare_step_ms_256"] = bare_step_ms(session, 256)
    batch = final(session, list(range(8)), 100)
    again = final(NCASession(model, provider=provider, quiet=True, cuda_options=options, cuda_graph=graph),
                  list(range(8)), 100)  # fmt: skip
    single = final(session, [3], 100)
    out["same_bits_new_session"] = bool(np.array_equal(batch, again))
    out["batch_equals_single"] = bool(np.array_equal(batch[3], single[0]))
    out["max_abs_diff_vs_cpu"] = float(np.abs(batch - reference).max())
    rgba = np.clip(batch[:, :4], 0, 1), np.clip(reference[:, :4], 0, 1)
    out["rgba_mse_vs_cpu"] = float(((rgba[0] - rgba[1]) ** 2).mean())
    return out


def main() -> int:
    """Run every variant; print a table, optionally write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--checkpoint", type=Path, default=REPO / "models" / "snowflake.pt")
    parser.add_argument("--dry-run-cpu", action="store_true", help="run the script on the CPU (checks the script only)")
    args = parser.parse_args()
    provider = "cpu" if args.dry_run_cpu else "cuda"
    if provider == "cuda" and "CUDAExecutionProvider" not in ort.get_available_providers():
        parser.error(f"needs onnxruntime-gpu (this one offers {ort.get_available_providers()})")
    results: dict[str, Any] = {"onnxruntime": ort.__version__, "defaults": CUDA_PROVIDER_OPTIONS, "variants": {}}
    with tempfile.TemporaryDirectory() as tmp:
        models = {
            "fp32": export_checkpoint(args.checkpoint, Path(tmp) / "m.onnx").path,
            "fp16": export_checkpoint(args.checkpoint, Path(tmp) / "m.fp16.onnx", half=True).path,
        }
        reference = final(NCASession(models["fp32"], provider="cpu", quiet=True), list(range(8)), 100)
        if provider == "cuda":  # first: a variant that breaks the CUDA context would take it down too
            results["mask_pipeline_b256"] = mask_pipeline()
            print(f"mask pipeline, batch 256, per step: {results['mask_pipeline_b256']}", file=sys.stderr)
        for name, precision, options, graph in VARIANTS:
            print(f"{name}...", file=sys.stderr, flush=True)
            runtime_rollout.COMPACT_MASK_UPLOAD = "float32 mask" not in name
            try:
                results["variants"][name] = variant(models[precision], options, graph, reference, provider)
            except Exception as exc:  # one failing variant must not lose the others
                results["variants"][name] = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
            print(f"  {json.dumps(results['variants'][name])[:600]}", file=sys.stderr, flush=True)
        runtime_rollout.COMPACT_MASK_UPLOAD = True
    head = "| variant | " + " | ".join(f"b{n} ms" for n, _ in CONFIGS) + " | b256 G cell/s | bare b256 ms | "
    head += "same bits | batch=single | max diff vs CPU | RGBA MSE vs CPU |"
    lines = [head, "|" + " --- |" * (head.count("|") - 1)]
    for name, r in results["variants"].items():
        if "error" in r:
            lines.append(f"| {name} | {r['error'][:80]} |")
            continue
        ms = " | ".join(f"{row['ms_per_step']:.3f}" for row in r["rows"])
        rate = r["rows"][-1]["cell_steps_per_s"] / 1e9
        bare = f"{r['bare_step_ms_256']:.3f}" if "bare_step_ms_256" in r else "-"
        lines.append(
            f"| {name} | {ms} | {rate:.2f} | {bare} | {r['same_bits_new_session']} | {r['batch_equals_single']} "
            f"| {r['max_abs_diff_vs_cpu']:.2g} | {r['rgba_mse_vs_cpu']:.2g} |"
        )
    print("\n".join(lines))
    if args.json:
        results["table"] = "\n".join(lines)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
