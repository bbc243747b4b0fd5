"""The benchmarks' shared harness: timing, the machine, tables, results as JSON and the acceptance targets.

No torch here (the model set-up every rollout scenario shares is :mod:`workload`), so the scenarios that time
commands or a browser use it without the ``[train]`` extra.
"""

from __future__ import annotations

import json
import operator
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
#: The acceptance targets, as data: one record per target (see :func:`check_targets`).
TARGETS = HERE / "targets.json"

#: A scenario's result: plain JSON values.
Result = dict[str, Any]


# --------------------------------------------------------------------------- timing


def best_of(rounds: int, runs: dict[str, Callable[[], float]]) -> dict[str, list[float]]:
    """Run every callable once per round, alternating their order; return each one's results."""
    results: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            results[name].append(runs[name]())
    return results


def seconds_of(fn: Callable[[], object]) -> float:
    """Wall seconds of one call of ``fn``."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


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
#: from the benchmark would start with the benchmark's resident memory (torch and all) as its peak.
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


def median_run(procs: list[Proc]) -> Proc:
    """The run of median wall time (the lower middle one of an even count)."""
    return sorted(procs, key=lambda p: p.wall)[(len(procs) - 1) // 2]


def ncarender_cmd(*args: str) -> list[str]:
    """The ``ncarender`` console script of this interpreter's environment (else ``python -m ncarender``)."""
    script = Path(sys.executable).with_name("ncarender")
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "ncarender", *args]


#: The environment that turns the live region off in a command (every step on the whole grid, as before it).
FULL_GRID_ENV = {"NCARENDER_LIVE_REGION": "0"}


# --------------------------------------------------------------------------- the machine


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


def environment() -> dict[str, Any]:
    """This machine and the versions that matter, with the load average now (``load_before``)."""
    import numpy as np
    import onnxruntime as ort

    from ncarender import __version__
    from ncarender.resources import usable_cores

    return {
        "ncarender": __version__,
        "cpu": cpu_model(),
        "cpu_flags": cpu_flags(),
        "cores": usable_cores(),
        "onnxruntime": ort.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "load_before": load_average(),
    }


@contextmanager
def chromium() -> Iterator[BrowserContext]:
    """A fresh headless system Chromium (Python playwright) with its own temporary profile, closed on exit."""
    from playwright.sync_api import sync_playwright

    exe = os.environ.get("NCARENDER_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        sys.exit("no chromium found (apt-get install chromium, or set NCARENDER_CHROMIUM)")
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
    with tempfile.TemporaryDirectory(prefix="ncarender-bench-chromium-") as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(profile, executable_path=exe, headless=True, args=args)
        try:
            yield context
        finally:
            context.close()


# --------------------------------------------------------------------------- tables and results


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A Markdown table."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    rule = "| " + " | ".join("-" * w for w in widths) + " |"
    body = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    return "\n".join([line, rule, *body])


def write_json(path: Path, results: Result) -> None:
    """Write ``results`` as indented JSON (values JSON cannot hold written as text)."""
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"wrote {path}", file=sys.stderr)


_OPS: dict[str, Callable[[Any, Any], bool]] = {">=": operator.ge, "<=": operator.le, "==": operator.eq}


def check_targets(figures: dict[str, Any], device: str, ran: set[str]) -> list[Result]:
    """Each acceptance target of :data:`TARGETS` that applies here, with what was measured and whether it is met.

    A target is ``{"figure", "op", "bar", "what", "format"}`` (optional: ``"device"``, the only device it holds
    on; ``"optional"``, left out when its figure was not measured). It applies when its scenario (the figure's
    name up to the first dot) ran on its device; a figure that scenario did not give is "not measured".
    """
    out = []
    for target in json.loads(TARGETS.read_text())["targets"]:
        scenario = target["figure"].split(".", 1)[0]
        if scenario not in ran or target.get("device", device) != device:
            continue
        value = figures.get(target["figure"])
        if value is None and target.get("optional"):
            continue
        met = None if value is None else _OPS[target["op"]](value, target["bar"])
        measured = "not measured" if value is None else target.get("format", "{}").format(value)
        out.append({**target, "measured": measured, "value": value, "met": met})
    return out


def _bar(bar: object) -> str:
    return f"{bar:g}" if isinstance(bar, float | int) and not isinstance(bar, bool) else str(bar).lower()


def targets_table(checked: list[Result]) -> str:
    """The checked targets as a Markdown table."""
    marks = {True: "yes", False: "no", None: "?"}
    rows = [[f"{t['what']} ({t['op']} {_bar(t['bar'])})", t["measured"], marks[t["met"]]] for t in checked]
    return table(["target", "measured", "met"], rows) if rows else "(no targets apply)"
