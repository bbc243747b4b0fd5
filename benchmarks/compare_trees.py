"""Start-up and a 200-step GIF, end to end, for two or more checkouts side by side in one run.

Each row runs ``ncarender --help`` and ``ncarender gif --steps 200`` (the shipped snowflake, a fresh process each
time, with ``PYTHONPATH`` set to the checkout) and prints the median and best wall time; the checkouts take turns,
so a busy machine slows them alike.

    python benchmarks/compare_trees.py /tmp/before . [--reps 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_MAIN = "import sys; sys.argv[0] = 'ncarender'; from ncarender.cli import main; main()"


def _wall(tree: Path, argv: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _MAIN, *argv], capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"{tree}: ncarender {' '.join(argv)} failed: {done.stderr.strip()}")
    return seconds


def main() -> None:
    """Time every checkout in turns and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", type=Path, nargs="+", help="checkouts (folders holding ncarender/)")
    parser.add_argument("--reps", type=int, default=15)
    args = parser.parse_args()
    trees = [t.resolve() for t in args.trees]
    times: dict[tuple[Path, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.reps):
            for tree in trees:
                shipped = tree / "ncarender" / "models" / "snowflake.onnx"
                model = str(shipped if shipped.is_file() else tree / "models" / "snowflake.onnx")
                rows = {
                    "--help": ["--help"],
                    "gif --steps 200": ["gif", f"{tmp}/a.gif", "--steps", "200", "--model", model, "-q"],
                }
                for name, argv in rows.items():
                    times.setdefault((tree, name), []).append(_wall(tree, argv))
    print(f"| checkout | command | median s | best s |  ({args.reps} runs each, in turns)")
    print("| --- | --- | --- | --- |")
    for (tree, name), values in times.items():
        print(f"| {tree} | `ncarender {name}` | {statistics.median(values):.3f} | {min(values):.3f} |")


if __name__ == "__main__":
    main()
