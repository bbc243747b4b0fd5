"""ncarender's benchmark: every scenario side by side in one run, printed as tables and written as JSON.

    python benchmarks/run_all.py [--quick] [--device cpu|cuda] [--json results.json] [--checkpoint X.pt]
                                 [--baseline DIR] [--skip command,layout,...] [--only rollout,...]

Needs the ``[train]`` extra (torch is the baseline; the package's render path never imports it) and Linux (peak
memory comes from ``os.wait4``). The scenarios, one module each (``python benchmarks/NAME.py`` runs one alone):
``ceiling``, ``rollouts``, ``rollout_overhead``, ``command``, ``layout``, ``session_options``, ``end_to_end``,
``batch_gif``, ``batch_split``, ``int8``, ``memory``, ``startup`` (see ``benchmarks/README.md``). The acceptance
targets are data, ``benchmarks/targets.json``; the run ends with the table of those that apply, and ``--json`` holds
every figure.

Numbers from a shared or busy machine are noisy: read the ratios, which are measured side by side in one run.
``--quick`` runs fewer rows, steps and rounds, and no ``layout`` or ``session`` scenario. ``--device cuda`` runs
the rollouts (batch 1, 8, 64, 256 on 72x72, 1 on 128x128) and renders on the GPU against torch eager on CUDA.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import batch_gif
import batch_split
import ceiling
import command
import end_to_end
import int8_step
import layout
import memory
import rollout_overhead
import rollouts
import session_options
import startup
from harness import write_json
from workload import add_arguments, open_workload, run_scenarios

#: Every scenario, in the order of a run (a scenario's ``NEEDS`` run before it).
SCENARIOS = (
    ceiling,
    rollouts,
    rollout_overhead,
    command,
    layout,
    session_options,
    end_to_end,
    batch_gif,
    batch_split,
    int8_step,
    memory,
    startup,
)
#: What ``--quick`` leaves out (issue 6's graph-layout and session-option tables: a full run's).
NOT_QUICK = {"layout", "session"}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the scenarios; the tables on stdout, progress on stderr."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_arguments(parser)
    names = ",".join(m.NAME for m in SCENARIOS)
    parser.add_argument("--skip", default="", help=f"comma-separated scenarios to skip: {names}")
    parser.add_argument("--only", default="", help="comma-separated scenarios to run (and what they need)")
    args = parser.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()} | (NOT_QUICK if args.quick else set())
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = (skip | only) - {m.NAME for m in SCENARIOS}
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(sorted(unknown))}; the scenarios: {names}")
    chosen = [m for m in SCENARIOS if m.NAME not in skip and (not only or m.NAME in only)]
    needed = {n.NAME for m in chosen for n in getattr(m, "NEEDS", ())}
    chosen = [m for m in SCENARIOS if m in chosen or m.NAME in needed]
    with tempfile.TemporaryDirectory(prefix="ncarender-bench-") as tmp:
        work = open_workload(args, Path(tmp))
        res = run_scenarios(work, chosen, print)
    if args.json:
        write_json(args.json, res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
