"""What every rollout scenario shares: the weights, their ONNX export, the session and the torch model, and the
options of a run; and :func:`scenario_main`, which runs one scenario module on its own.

Needs the ``[train]`` extra (torch is the baseline; the package's render path never imports it).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import numpy as np
import torch
from harness import REPO, Result, check_targets, environment, load_average, targets_table, write_json

from ncarender.runtime import ALLOW_SPINNING, NCASession, open_model, roll_out, usable_cores
from ncarender.spec import RenderSpec
from ncarender.train.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from ncarender.train.export import export_checkpoint, model_from_checkpoint
from ncarender.train.model import NCA, NCAConfig

#: The grid side of the rows that name none (the shipped model's).
GRID = 72


def flop_per_cell(config: NCAConfig) -> int:
    """Multiply-adds x 2 of one step per cell: perception (depthwise 3x3) and the two 1x1 layers."""
    c, hidden = config.channels, config.hidden
    return 2 * (3 * c * 9 + 3 * c * hidden + hidden * c)


def sync(device: str) -> None:
    """Wait for the GPU's queued work (nothing on the CPU)."""
    if device == "cuda":
        torch.cuda.synchronize()


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


def ort_rollout(session: NCASession, seeds: Sequence[int], steps: int, size: int, *, live: bool = True) -> np.ndarray:
    """Run ``steps`` steps with no frames but the last; return the final state ``(N, C, H, W)``.

    ``live``: on the live region (ncarender's default), else every step on the whole grid.
    """
    spec = RenderSpec(tuple(seeds), steps, steps, (size, size))
    frames = list(roll_out(session, spec, include_seed_frame=False, live=live))
    return frames[-1][1]


@dataclass
class Workload:
    """One run's options and model: ``ckpt_path`` (a copy), ``onnx_path`` (its export), ``session`` on
    ``device``, the torch ``model``; ``results`` holds the scenarios run so far, by name (a scenario that needs
    another's figures reads them there or runs it)."""

    device: str
    quick: bool
    rounds: int
    threads: int
    tmp: Path
    ckpt_path: Path
    onnx_path: Path
    session: NCASession
    model: NCA
    weights: str
    baseline: Path | None = None
    long_steps: int | None = None
    results: dict[str, Result] = field(default_factory=dict)

    @property
    def provider(self) -> str:
        return "cuda" if self.device == "cuda" else "cpu"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every run takes."""
    parser.add_argument("--quick", action="store_true", help="fewer rows, steps and rounds")
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


def open_workload(args: argparse.Namespace, tmp: Path) -> Workload:
    """Copy or make the weights, export them (with the parity check), open the session and the torch model."""
    device = args.device
    if device == "cuda" and not torch.cuda.is_available():
        sys.exit("--device cuda: torch sees no GPU")
    threads = usable_cores()
    torch.set_num_threads(threads)
    source = args.checkpoint or (REPO / "models" / "snowflake.pt")
    ckpt_path = tmp / "model.pt"
    if source.exists():
        ckpt = load_checkpoint(source)
        weights = f"{source.name} ({ckpt.iterations} iterations)"
        save_checkpoint(ckpt_path, ckpt)  # a copy: a training run may replace the file while we read it
    else:
        ckpt = make_checkpoint(ckpt_path)
        weights = "random (seeded; cost does not depend on the weights, GIF sizes do)"
    print("exporting (with the parity check)...", file=sys.stderr)
    onnx_path = export_checkpoint(ckpt_path, tmp / "model.onnx").path
    return Workload(
        device=device,
        quick=args.quick,
        rounds=2 if args.quick else 3,
        threads=threads,
        tmp=tmp,
        ckpt_path=ckpt_path,
        onnx_path=onnx_path,
        session=open_model(onnx_path, provider="cuda" if device == "cuda" else "cpu", quiet=True),
        model=model_from_checkpoint(ckpt).to(device),
        weights=weights,
        baseline=args.baseline,
        long_steps=args.long_steps,
    )


def header(work: Workload) -> Result:
    """What a results file says of its run besides the scenarios: device, kind of run, machine, weights."""
    env = environment()
    env.update(
        torch=torch.__version__,
        gpu=torch.cuda.get_device_name(0) if work.device == "cuda" else None,
        allow_spinning=ALLOW_SPINNING,
    )
    return {"device": work.device, "quick": work.quick, "weights": work.weights, "environment": env}


def summary_lines(res: Result) -> list[str]:
    """The lines above the tables: the run, the machine, the versions."""
    env = res["environment"]
    return [
        f"ncarender {env['ncarender']} benchmark, {res['device']}, {'quick' if res['quick'] else 'full'} run",
        f"machine: {env['cpu']} ({env['cores']} usable cores; {', '.join(env['cpu_flags'])}), "
        f"{env['gpu'] or 'no GPU'}; load average {env['load_before']} before, {env.get('load_after')} after",
        f"onnxruntime {env['onnxruntime']}, torch {env['torch']}, numpy {env['numpy']}; weights: {res['weights']}",
        "Figures are medians of interleaved rounds in this one run; on a busy machine read the ratios.",
        "",
    ]


def run_scenarios(work: Workload, scenarios: Sequence[ModuleType], emit: Callable[[str], None]) -> Result:
    """Run ``scenarios`` in order; the whole result: header, each scenario's result, the figures, the targets and
    the report as text (also given to ``emit``)."""
    res = header(work)
    for module in scenarios:
        if module.NAME not in work.results:
            print(f"{module.NAME}...", file=sys.stderr)
            work.results[module.NAME] = module.run(work)
    res["environment"]["load_after"] = load_average()
    res["scenarios"] = work.results
    figures: dict[str, object] = {}
    for module in scenarios:
        figures.update({f"{module.NAME}.{k}": v for k, v in module.figures(work.results[module.NAME]).items()})
    res["figures"] = figures
    res["targets"] = check_targets(figures, work.device, {m.NAME for m in scenarios})
    lines = summary_lines(res)
    for module in scenarios:
        lines += [*module.report(work.results[module.NAME]), ""]
    lines.append(targets_table(res["targets"]))
    res["table"] = "\n".join(lines)
    emit(res["table"])
    return res


def scenario_main(module: ModuleType, argv: Sequence[str] | None = None) -> int:
    """Run one scenario ``module`` on its own (with the scenarios it needs first): its tables and targets on stdout,
    progress on stderr, everything as JSON with ``--json``."""
    parser = argparse.ArgumentParser(description=(module.__doc__ or module.NAME).splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ncarender-bench-") as tmp:
        work = open_workload(args, Path(tmp))
        res = run_scenarios(work, [*getattr(module, "NEEDS", ()), module], print)
    if args.json:
        write_json(args.json, res)
    return 0
