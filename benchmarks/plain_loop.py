"""The plain onnxruntime rollout a user would write, timed in a fresh process; or ncarender's, timed the same way.

    python benchmarks/plain_loop.py MODEL.onnx [--size 72] [--batch 1] [--steps 400] [--device cpu|cuda]
    python benchmarks/plain_loop.py MODEL.onnx --ncarender [--full-grid] ...

The plain loop: a default ``onnxruntime.InferenceSession`` (onnxruntime's default threads and spinning), the
state and the masks as numpy arrays, one ``session.run`` per step, the masks drawn as ncarender draws them (one
``numpy.random.default_rng(seed)`` per seed, an ``(H, W)`` float32 draw per step, ``< fire rate``), so both end on
the same state. ``--ncarender`` runs ncarender's ``roll_out`` with a frame only at the end instead, as ``ncarender
frames --every STEPS`` does (``--full-grid``: every step on the whole grid). Prints one JSON line: ``open_s`` (the
session), ``rollout_s`` (the loop, timed as the command's ``seconds.rollout``: from the first mask to the final
state on the host) and a checksum of the final state.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    """Run one rollout; print its JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--size", type=int, default=72)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--ncarender", action="store_true", help="time ncarender's rollout instead")
    parser.add_argument("--full-grid", action="store_true", help="with --ncarender: no live region")
    args = parser.parse_args(argv)
    size, n, steps = args.size, args.batch, args.steps
    t0 = time.perf_counter()
    if args.ncarender:
        from ncarender.runtime import open_model
        from ncarender.runtime.rollout import roll_out
        from ncarender.spec import RenderSpec

        nca = open_model(args.model, provider=args.device, quiet=True)
        t1 = time.perf_counter()
        spec = RenderSpec(tuple(range(n)), steps, steps, (size, size))
        *_, (_, x) = roll_out(nca, spec, include_seed_frame=False, live=not args.full_grid)
    else:
        import onnxruntime as ort

        providers = ["CUDAExecutionProvider"] if args.device == "cuda" else ["CPUExecutionProvider"]
        session = ort.InferenceSession(str(args.model), providers=providers)
        meta = session.get_modelmeta().custom_metadata_map
        channels = int(meta.get("ncarender.channels", 16))
        fire = np.float32(float(meta.get("ncarender.fire_rate", 0.5)))
        t1 = time.perf_counter()
        rngs = [np.random.default_rng(i) for i in range(n)]
        x = np.zeros((n, channels, size, size), dtype=np.float32)
        x[:, 3:, size // 2, size // 2] = 1.0
        for _ in range(steps):
            mask = np.stack([rng.random((size, size), dtype=np.float32) < fire for rng in rngs])[:, None]
            x = session.run(["next_state"], {"state": x, "mask": mask.astype(np.float32)})[0]
    t2 = time.perf_counter()
    print(json.dumps({"open_s": t1 - t0, "rollout_s": t2 - t1, "sum": float(np.abs(x).sum(dtype=np.float64))}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
