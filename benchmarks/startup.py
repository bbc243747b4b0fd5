"""``ncarender --help`` wall time (best of 5), and whether ``--help`` or a render imports torch.

python benchmarks/startup.py [--json startup.json]
"""

from __future__ import annotations

import re
import sys

from harness import Result, ncarender_cmd, run_measured
from workload import Workload, scenario_main

NAME = "startup"


def run(work: Workload) -> Result:
    walls = [run_measured(ncarender_cmd("--help")).wall for _ in range(5)]

    def imports_torch(*args: str) -> bool:
        proc = run_measured([sys.executable, "-X", "importtime", "-m", "ncarender", *args], cwd=work.tmp)
        return any(re.search(r"\|\s*torch(\.|$)", line) for line in proc.stderr.splitlines())

    gif = ("gif", str(work.tmp / "s.gif"), "-m", str(work.onnx_path), "--steps", "2", "-q")
    return {
        "help_s": min(walls),
        "help_imports_torch": imports_torch("--help"),
        "gif_imports_torch": imports_torch(*gif),
    }


def figures(res: Result) -> dict[str, object]:
    return {"help_s": res["help_s"], "imports_torch": res["help_imports_torch"] or res["gif_imports_torch"]}


def report(res: Result) -> list[str]:
    return [
        f"start-up: ncarender --help {res['help_s']:.3f} s; torch imported by --help: {res['help_imports_torch']}, "
        f"by gif: {res['gif_imports_torch']}"
    ]


if __name__ == "__main__":
    sys.exit(scenario_main(sys.modules[__name__]))
