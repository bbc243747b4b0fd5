"""The torch commands: ``train`` and ``export`` (the ``[train]`` extra); the only commands that import
:mod:`ncarender.train`.

torch is imported only inside ``train`` and ``export``, so that ``--help`` and every render command start fast and
work without the ``[train]`` extra.
"""

from __future__ import annotations

import contextlib
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from ..errors import NCAError
from .app import command, emit_json, given_on_command_line, notice, say
from .options import JsonOpt, QuietOpt
from .train_progress import TrainProgress
from .train_setup import QUICK_MINUTES, plan_run, quick_help


@contextlib.contextmanager
def _stops_as_interrupt() -> Iterator[None]:
    """While training, SIGTERM (``kill``, ``timeout``) stops the run like Ctrl-C: a checkpoint, then exit 130.

    A run started in the background by a shell inherits SIGINT ignored; it is restored too, so ``kill -INT``
    and Ctrl-C after ``fg`` also checkpoint.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def _needs_torch(what: str) -> Iterator[None]:
    """Turn a missing torch (the ``[train]`` extra) into one line."""
    try:
        yield
    except ImportError as exc:
        raise NCAError(f"{what} needs torch: pip install 'ncarender[train]' ({exc.name} missing)") from None


@command()
def train(
    ctx: typer.Context,
    target: Annotated[
        str,
        typer.Argument(
            help="Target image path (PNG, WebP, JPEG...), a built-in name (snowflake), or a procedural family "
            "of flakes such as reiter:16 (also reiter:K:SEED, reiter:K@SIZE): one seed-conditioned model grows all K. "
            "reiter:params:N is a continuous family: N parameter draws, coded by their own alpha, beta, gamma, "
            "so every render seed grows a new crystal. See the targets first with `ncarender family reiter:16`."
        ),
    ] = "snowflake",
    output: Annotated[Path, typer.Option("--output", "-o", help="Checkpoint to write (.pt).")] = Path("model.pt"),
    mode: Annotated[
        str, typer.Option(help="grow (fresh seed each time), persist (sample pool) or regenerate (pool + damage).")
    ] = "regenerate",
    iterations: Annotated[
        int,
        typer.Option(
            help="Total training iterations. With --resume and none given: the run's own total if it stopped short "
            "of it (--minutes, Ctrl-C), else 4000."
        ),
    ] = 4000,
    minutes: Annotated[
        float | None,
        typer.Option(
            help="Time budget of this sitting in minutes (set-up included): the run stops before it with a "
            "checkpoint, and `--resume` goes on (with a new --minutes if you like). With --iterations, whichever "
            f"ends first. Default: none (--quick: {QUICK_MINUTES:g}).",
            show_default=False,
        ),
    ] = None,
    quick: Annotated[bool, typer.Option("--quick", help=quick_help())] = False,
    batch_size: Annotated[int, typer.Option(help="Samples per iteration.")] = 8,
    pool_size: Annotated[int, typer.Option(help="Sample pool size (persist, regenerate).")] = 1024,
    steps_min: Annotated[int, typer.Option(help="Fewest NCA steps per rollout.")] = 64,
    steps_max: Annotated[int, typer.Option(help="Most NCA steps per rollout.")] = 96,
    lr: Annotated[
        float,
        typer.Option(
            help="Adam learning rate. With --resume: the rate from here on, replacing the saved one and any drop "
            "already taken (--lr-decay-at can schedule a new drop)."
        ),
    ] = 2e-3,
    lr_decay_at: Annotated[
        int,
        typer.Option(
            help="Iteration at which the learning rate drops x0.1. With --resume a later iteration moves the drop, "
            "or adds a second one if the run has already dropped."
        ),
    ] = 2000,
    size: Annotated[int, typer.Option(help="Target size in cells (longer side).")] = 40,
    pad: Annotated[int, typer.Option(help="Empty cells around the target on each side.")] = 16,
    channels: Annotated[int, typer.Option(help="State channels (4 RGBA + hidden).")] = 16,
    hidden: Annotated[int, typer.Option(help="Width of the update network's hidden layer.")] = 128,
    code_channels: Annotated[
        int, typer.Option(help="A family's flake-code channels (after the state channels); ignored for one target.")
    ] = 8,
    fire_rate: Annotated[float, typer.Option(help="Probability that a cell updates in a step.")] = 0.5,
    lattice: Annotated[
        str,
        typer.Option(
            help="square, or hex: the state is the axial array of the hexagonal lattice the family's crystals grow "
            "on (targets coloured per hex cell, no resampling; identity + six-neighbour Laplacian perception). "
            "hex needs a family TARGET (reiter:...)."
        ),
    ] = "square",
    mask: Annotated[
        str | None,
        typer.Option(
            help="Update mask: cell (a Bernoulli draw per cell) or orbit (one per orbit of the hexagon's twelve "
            "symmetries: six-fold symmetric flakes, bit for bit; hex only). Default: orbit on hex, else cell."
        ),
    ] = None,
    lap_gain: Annotated[
        float,
        typer.Option(
            help="A hex model: the gain of its six-neighbour Laplacian perception, gain x (mean of the six - cell). "
            "1 is the normalised Laplacian; 6 the plain sum of the six minus six times the cell. Part of the model "
            "(its ONNX file carries it)."
        ),
    ] = 1.0,
    palette_weight: Annotated[
        float,
        typer.Option(
            help="A family model: weight of a penalty on colours off the family's rim-core palette line along the "
            "rollout (0: off), so the flakes grow in the family's colours. From the first iteration it stops "
            "seeds growing: add it with --resume to a run that grows."
        ),
    ] = 0.0,
    growth_steps: Annotated[
        int,
        typer.Option(
            help="A family model: teach the automaton's own growth over T model steps (0: off, the end state "
            "only). Samples grown from a seed are compared every --growth-every steps with the flake's crystal at "
            "that fraction of its growth; renders then default to T steps plus a hold. Recorded in the model; "
            "--resume may add it to a run without one, never change it. 64 is the shipped default's."
        ),
    ] = 0,
    growth_weight: Annotated[
        float, typer.Option(help="Weight of the growth loss beside the end-state loss (with --growth-steps).")
    ] = 0.3,
    growth_every: Annotated[
        int, typer.Option(help="A growth keyframe every N steps up to --growth-steps (with --growth-steps).")
    ] = 4,
    growth_seeds: Annotated[
        int,
        typer.Option(
            help="Samples per batch started afresh from a seed; they carry the growth loss (with --growth-steps)."
        ),
    ] = 2,
    flake_focus: Annotated[
        float,
        typer.Option(
            help="A family model: weight each sample's end-state loss by its flake's running loss to this power "
            "(0: all alike; 1: a flake twice as far from its target counts twice), so the hardest flakes steer "
            "training."
        ),
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed repeats a run on the same machine.")] = 0,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    checkpoint_every: Annotated[int, typer.Option(help="Write a checkpoint every N iterations.")] = 200,
    resume: Annotated[
        bool,
        typer.Option(
            help="Continue the run saved at --output. It keeps its target, model, mode, pool size and seed (giving "
            "another value is an error); --iterations, --lr, --batch-size, --steps-min, --steps-max, --lr-decay-at, "
            "--palette-weight, the --growth-* options, --flake-focus, --checkpoint-every and --device may change "
            "(--growth-steps only where the run has none). Without the .pool.pt beside it, a fresh pool is first "
            "aged by the model (--warm-rounds)."
        ),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Start a new run even though --output exists (it is replaced).")
    ] = False,
    warm_rounds: Annotated[
        int,
        typer.Option(
            help="With --resume and no .pool.pt: age the fresh pool by 1 to N rollouts of the model per seed "
            "(0: start from seeds)."
        ),
    ] = 4,
    preview: Annotated[
        Path | None, typer.Option(help="Also write a PNG of a final-state rollout from the seed.")
    ] = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Train an NCA to grow TARGET from a single cell (needs the \\[train] extra: torch)."""
    params = dict(locals())  # a copy: --quick fills in its values
    changes = given_on_command_line(ctx, params)
    with _needs_torch("training"):
        from ..train.loop import train as run_training
    plan = plan_run(params, changes, note=lambda line: say(line, quiet))
    with TrainProgress(quiet, plan.minutes) as progress, _stops_as_interrupt():
        result = run_training(
            plan.target,
            output,
            config=plan.config,
            model_config=plan.model_config,
            target_name=plan.target_name,
            family=plan.family,
            device=device,
            resume=resume,
            progress=progress,
            changes=changes,
            warm_rounds=warm_rounds,
            notify=notice,
            minutes=plan.minutes,
        )
    if preview is not None:
        from ..train.export import write_preview

        write_preview(output, preview)
    summary = {
        "checkpoint": str(result.checkpoint),
        "iterations": result.iterations,
        "final_loss": result.final_loss,
        "seconds": round(result.seconds, 3),
        "interrupted": result.interrupted,
        "stopped": result.stopped,
    }
    if result.interrupted:
        say(f"interrupted: checkpoint at iteration {result.iterations} written to {output}", quiet=False)
    elif result.stopped == "budget":
        say(
            f"time budget reached: wrote {output} at iteration {result.iterations} of {plan.config.iterations} "
            f"(loss {result.final_loss:.5f}); go on with `ncarender train -o {output} --resume --minutes M`",
            quiet,
        )
    else:
        say(f"wrote {output} ({result.iterations} iterations, loss {result.final_loss:.5f})", quiet)
    if json_out:
        emit_json(summary)
    if result.interrupted:
        raise typer.Exit(130)


@command()
def export(
    checkpoint: Annotated[Path, typer.Argument(help="Checkpoint written by `ncarender train` (.pt).")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="ONNX file to write (default: beside the checkpoint).")
    ] = None,
    parity_steps: Annotated[int, typer.Option(help="Steps of the torch/onnxruntime parity rollout.")] = 128,
    half: Annotated[
        bool,
        typer.Option(
            "--half",
            help="Compute perception and the update network in float16 (inputs and outputs stay float32): "
            "faster on a GPU, not on a CPU. Default output NAME.fp16.onnx; check it with `ncarender eval`.",
        ),
    ] = False,
    int8: Annotated[
        bool,
        typer.Option(
            "--int8",
            help="Run the update network in int8 (~1.7x faster a step on a CPU; renders differ from float32). "
            "Written only if its drift from float32 over 1000 steps holds the ship floor. Default output "
            "NAME.int8.onnx; `ncarender eval NAME.int8.onnx --against NAME.onnx` measures it again.",
        ),
    ] = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Export one NCA step to ONNX (the renderers' contract) and check it against torch (needs torch)."""
    if half and int8:
        raise NCAError("--half and --int8 are two precisions; choose one")
    target = output if output is not None else checkpoint.with_suffix(".int8.onnx") if int8 else None
    if target is not None and target.suffix != ".onnx":
        raise NCAError(f"output {str(target)!r} should end in .onnx")
    with _needs_torch("export"):
        from ..train.export import export_checkpoint
    drift = None
    with tempfile.TemporaryDirectory(prefix="ncarender-export-") as tmp:
        float_out = Path(tmp) / "step.onnx" if int8 else output
        result = export_checkpoint(checkpoint, float_out, steps=parity_steps, half=half)
        if int8:
            assert target is not None
            from ..evaluate.drift import DRIFT_STEPS, write_int8

            say(f"measuring the int8 step's drift from float32 over {max(DRIFT_STEPS)} steps...", quiet)
            drift = write_int8(result.path, target)
            result.path, result.precision = target, "int8"
    say(
        f"wrote {result.path} (opset {result.opset}, {result.precision}); parity over {result.steps} steps: "
        f"{result.metric} {result.max_abs_diff:.3g} (tolerance {result.tolerance:g})"
        + ("" if drift is None else f"; drift from float32: worst frame MSE {drift.values['frame_mse_worst']:.2e}"),
        quiet,
    )
    if json_out:
        emit_json(
            {
                "path": str(result.path),
                "opset": result.opset,
                "parity_steps": result.steps,
                "precision": result.precision,
                "parity_metric": result.metric,
                "max_abs_diff": result.max_abs_diff,
                "tolerance": result.tolerance,
                "pointwise_max_abs_diff": result.pointwise,
                **({} if drift is None else {"drift": drift.to_json()}),
            }
        )
