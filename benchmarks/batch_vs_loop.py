"""``ncarender batch`` against a shell-style loop of single ``ncarender gif`` calls, side by side.

Both run as fresh processes (start-up included), render the same seeds with the
same options into two folders, and must produce byte-identical GIFs. Prints
both wall times and the ratio (loop / batch), then one JSON object.

    python benchmarks/batch_vs_loop.py [--seeds 64] [--steps 200] [--model M.onnx] [--size 72] [--jobs N]

The issue's reference size is 64 seeds x 200 steps (the defaults); ``--seeds 8
--steps 40`` checks that the script works in a few seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _run(argv: list[str]) -> float:
    """Run ``python -m ncarender ARGV`` quietly; its wall time in seconds, or exit with its error."""
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "ncarender", *argv, "-q"], capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"ncarender {' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    return seconds


def main() -> None:
    """Time both ways and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=64, help="render seeds 0..N-1")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--model", type=Path, default=None, help="step model (default: the shipped snowflake)")
    parser.add_argument("--size", default=None, help="grid size (default: the model's)")
    parser.add_argument("--jobs", type=int, default=None, help="batch encoders (default: all cores)")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--provider", default="auto")
    parser.add_argument("--keep", type=Path, default=None, help="write into this folder and keep the outputs")
    args = parser.parse_args()
    if args.seeds < 1 or args.steps < 1:
        sys.exit("--seeds and --steps must be at least 1")

    common = ["--steps", str(args.steps), "--provider", args.provider]
    if args.model is not None:
        common += ["--model", str(args.model)]
    if args.size is not None:
        common += ["--size", str(args.size)]
    batch_extra = []
    if args.jobs is not None:
        batch_extra += ["--jobs", str(args.jobs)]
    if args.batch_size is not None:
        batch_extra += ["--batch-size", str(args.batch_size)]

    with tempfile.TemporaryDirectory(prefix="ncarender-bench-") as scratch:
        root = args.keep or Path(scratch)
        batch_dir, loop_dir = root / "batch", root / "loop"
        loop_dir.mkdir(parents=True, exist_ok=True)

        batch_s = _run(
            ["batch", str(batch_dir), "--seeds", f"0-{args.seeds - 1}", "--format", "gif", *common, *batch_extra]
        )
        loop_s = 0.0
        for seed in range(args.seeds):
            loop_s += _run(["gif", str(loop_dir / f"seed-{seed:04d}.gif"), "--seed", str(seed), *common])

        names = [f"seed-{seed:04d}.gif" for seed in range(args.seeds)]
        identical = all((batch_dir / n).read_bytes() == (loop_dir / n).read_bytes() for n in names)

    ratio = loop_s / batch_s
    print(f"{args.seeds} seeds x {args.steps} steps to GIF ({os.cpu_count()} cores)", file=sys.stderr)
    print(f"  ncarender batch        {batch_s:8.2f} s  ({batch_s / args.seeds:.3f} s per seed)", file=sys.stderr)
    print(f"  loop of ncarender gif  {loop_s:8.2f} s  ({loop_s / args.seeds:.3f} s per seed)", file=sys.stderr)
    print(f"  ratio (loop / batch)   {ratio:8.2f} x;  outputs byte-identical: {identical}", file=sys.stderr)
    print(
        json.dumps(
            {
                "seeds": args.seeds,
                "steps": args.steps,
                "batch_s": round(batch_s, 3),
                "loop_s": round(loop_s, 3),
                "ratio": round(ratio, 3),
                "identical": identical,
                "cpu_count": os.cpu_count(),
            }
        )
    )
    if not identical:
        sys.exit("the batch outputs differ from the single renders")


if __name__ == "__main__":
    main()
