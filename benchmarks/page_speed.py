"""Steps per second of the live page (``ncarender html``) in headless Chromium, next to onnxruntime.

For each grid size the page is built from the model, loaded from ``file://`` in the system's chromium
(Python playwright), and timed in the page with ``performance.now()`` around ``window.ncarender.time(n)``
(n steps, no drawing): the early phase (steps 0-50 from one seed cell) and the grown flake (steps
200-300). Next to it, a plain onnxruntime loop (``session.run`` per step, batch 1, default session
options: what a user would write) over the same grid and phases. Prints a table, then one JSON object.

    python benchmarks/page_speed.py [--sizes 72,128] [--model M.onnx] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import onnxruntime as ort
from harness import chromium  # the system chromium, a fresh profile

from ncarender.runtime import default_model_path, initial_states
from ncarender.writers.html import write_page

if TYPE_CHECKING:
    from playwright.sync_api import Page

#: (name, first step, last step): the phases timed.
PHASES = (("early", 0, 50), ("grown", 200, 300))


def page_speed(page: Page, path: Path, repeats: int) -> dict[str, float]:
    """Best steps/s over ``repeats`` runs of each phase, and the cells the network ran for per step."""
    page.goto(path.as_uri())
    page.wait_for_function("() => window.ncarender !== undefined")
    out: dict[str, float] = {}
    for name, start, stop in PHASES:
        best = 0.0
        for _ in range(repeats):
            ms = page.evaluate(
                """([start, stop]) => {
                    ncarender.pause(); ncarender.reset();
                    if (start) ncarender.time(start);
                    return ncarender.time(stop - start);
                }""",
                [start, stop],
            )
            best = max(best, (stop - start) / (ms / 1000.0))
        out[name] = best
        out[f"{name}_active_cells"] = page.evaluate("() => ncarender.lastActive")
    return out


def ort_speed(model: Path, size: int, repeats: int) -> dict[str, float]:
    """Best steps/s of a plain ``session.run`` loop (batch 1) over each phase."""
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    out: dict[str, float] = {}
    for name, start, stop in PHASES:
        best = 0.0
        for _ in range(repeats):
            x = initial_states(1, 16, size, size)
            masks = (rng.random((stop, 1, 1, size, size)) < 0.5).astype(np.float32)
            for t in range(start):
                x = session.run(["next_state"], {"state": x, "mask": masks[t]})[0]
            t0 = time.perf_counter()
            for t in range(start, stop):
                x = session.run(["next_state"], {"state": x, "mask": masks[t]})[0]
            best = max(best, (stop - start) / (time.perf_counter() - t0))
        out[name] = best
    return out


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="72,128", help="grid sides, comma-separated")
    parser.add_argument("--model", type=Path, default=None, help="step model (default: the shipped snowflake)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    model = args.model or default_model_path()
    sizes = [int(s) for s in args.sizes.split(",")]
    results = []
    with tempfile.TemporaryDirectory() as tmp, chromium() as browser:
        page = browser.new_page()
        version = browser.browser.version if browser.browser else "?"
        for size in sizes:
            path = write_page(model, Path(tmp) / f"p{size}.html", size=(size, size)).path
            results.append(
                {
                    "size": size,
                    "page": page_speed(page, path, args.repeats),
                    "onnxruntime": ort_speed(model, size, args.repeats),
                }
            )
    print(f"steps/s (best of {args.repeats}); page: headless Chromium {version}; onnxruntime {ort.__version__}")
    print(f"{'grid':>8} {'phase':>6} {'page':>9} {'ort loop':>9} {'page/ort':>9} {'net cells':>10}")
    for r in results:
        for name, _, _ in PHASES:
            p, o = r["page"][name], r["onnxruntime"][name]
            cells = int(r["page"][f"{name}_active_cells"])
            print(f"{r['size']:>4}x{r['size']:<3} {name:>6} {p:9.1f} {o:9.1f} {p / o:9.2f} {cells:>10}")
    meta = {"machine": platform.processor() or platform.machine(), "chromium": version, "onnxruntime": ort.__version__}
    print(json.dumps({"benchmark": "page_speed", **meta, "results": results}))


if __name__ == "__main__":
    main()
