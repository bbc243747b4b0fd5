"""Bytes and encode time of every animated format for one render, side by side in one run.

The render is the default ``ncarender gif --steps 200`` (the shipped snowflake, seed 0, its 72x72 grid, 201
frames, scale 4, 20 fps, a 1 s hold). Its frames are rolled out once, over white and transparent; then each
output is encoded from them by the writers' own path (:func:`ncarender.writers.write_output`, on this thread),
each with its command's defaults (gif and mp4 over white, webp and apng transparent) unless the row says other,
in interleaved rounds. Prints the median encode time and the bytes of each (every round must give the same
bytes), as a Markdown table, then one JSON object.

    python benchmarks/formats.py [--rounds 3] [--steps 200] [--model M.onnx] [--smooth]

``--smooth`` adds rows with ``--resample smooth``; ``--steps 20 --rounds 1`` checks the script in seconds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's ncarender, not an installed one

import numpy as np  # noqa: E402

from ncarender import Renderer  # noqa: E402
from ncarender.render import Background  # noqa: E402
from ncarender.writers import output_spec, write_output  # noqa: E402
from ncarender.writers.formats import OutputSpec  # noqa: E402


@dataclass(frozen=True)
class Row:
    """One output: its label in the table, its spec and file name."""

    label: str
    spec: OutputSpec
    name: str


def rows(smooth: bool) -> list[Row]:
    """The outputs to compare: each command's defaults, WebP lossy at 80, and (``smooth``) smooth scaling."""
    out = [
        Row("GIF (white)", output_spec("gif"), "a.gif"),
        Row("GIF (transparent, 1-bit)", output_spec("gif", background="transparent"), "t.gif"),
        Row("WebP lossless", output_spec("webp"), "a.webp"),
        Row("WebP --quality 80", output_spec("webp", quality=80), "q.webp"),
        Row("APNG", output_spec("apng"), "a.apng"),
        Row("MP4 (white, crf 18)", output_spec("mp4"), "a.mp4"),
    ]
    if smooth:
        out += [
            Row("GIF smooth (white)", output_spec("gif", resample="smooth"), "s.gif"),
            Row("WebP lossless smooth", output_spec("webp", resample="smooth"), "s.webp"),
            Row("WebP --quality 80 smooth", output_spec("webp", quality=80, resample="smooth"), "sq.webp"),
            Row("APNG smooth", output_spec("apng", resample="smooth"), "s.apng"),
            Row("MP4 smooth (white)", output_spec("mp4", resample="smooth"), "s.mp4"),
        ]
    return out


def main() -> None:
    """Roll out once, encode every row in interleaved rounds, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--model", type=Path, default=None, help="step model (default: the shipped snowflake)")
    parser.add_argument("--smooth", action="store_true", help="add rows with --resample smooth")
    args = parser.parse_args()

    renderer = Renderer(args.model, provider="cpu", quiet=True)
    table = rows(args.smooth)
    backgrounds = list(dict.fromkeys(row.spec.background for row in table))
    frames: dict[Background, list[np.ndarray]] = {bg: [] for bg in backgrounds}
    from ncarender.spec import RenderSpec

    spec = RenderSpec(seeds=(0,), steps=args.steps)
    for _, converted in renderer.composites(spec, backgrounds):
        for bg, rgba in zip(backgrounds, converted, strict=True):
            frames[bg].append(rgba[0])
    grid = renderer.grid
    seconds: dict[str, list[float]] = {row.label: [] for row in table}
    digests: dict[str, set[str]] = {row.label: set() for row in table}
    sizes: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="ncarender-formats-") as tmp:
        for _ in range(args.rounds):
            for row in table:
                path = Path(tmp) / row.name
                stack = frames[row.spec.background]
                t0 = time.perf_counter()
                write_output(row.spec.format, path, stack, n_frames=len(stack), grid=grid, options=row.spec.options)  # type: ignore[arg-type]
                seconds[row.label].append(time.perf_counter() - t0)
                data = path.read_bytes()
                sizes[row.label] = len(data)
                digests[row.label].add(hashlib.sha256(data).hexdigest())
    unstable = [label for label, seen in digests.items() if len(seen) != 1]
    if unstable:
        sys.exit(f"the bytes changed between rounds: {', '.join(unstable)}")

    n_frames = len(frames[backgrounds[0]])
    height, width = grid
    print(
        f"{args.steps} steps, {n_frames} frames of {width * 4}x{height * 4} px, {args.rounds} round(s), "
        f"{os.cpu_count()} CPU(s), load {os.getloadavg()[0]:.1f}"
    )
    print()
    print("| output | bytes | KiB | encode s (median) |")
    print("| --- | --- | --- | --- |")
    for row in table:
        size, median = sizes[row.label], statistics.median(seconds[row.label])
        print(f"| {row.label} | {size:,} | {size / 1024:,.0f} | {median:.2f} |")
    print()
    print(
        json.dumps(
            {
                "steps": args.steps,
                "frames": n_frames,
                "rounds": args.rounds,
                "rows": {row.label: {"bytes": sizes[row.label], "seconds": seconds[row.label]} for row in table},
            },
            sort_keys=True,
        )
    )


if __name__ == "__main__":
    main()
