"""The model commands that need no torch: ``eval``, ``family`` and ``info`` (``train``, ``export``: :mod:`.train`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import NCAError
from ..limits import EVAL_STEP
from ..runtime.catalog import builtin_names
from .app import command, emit_json, say
from .options import JsonOpt, ModelArg, ProviderOpt, QuietOpt, path
from .progress import ProgressBar

if TYPE_CHECKING:
    from ..evaluate.report import Judged


@command("eval")
def eval_(
    model: ModelArg = None,
    target: Annotated[
        str | None, typer.Option(help="Target image or built-in name (default: the image stored in the model).")
    ] = None,
    target_size: Annotated[int, typer.Option(help="Size in cells of --target (it is centred on the grid).")] = 40,
    num_seeds: Annotated[
        int | None,
        typer.Option(
            "--num-seeds",
            "-k",
            help="Seeds to grow, 0..K-1 (default 16); a family model: seeds per flake (4); "
            "a continuous family: held-out seeds (48).",
        ),
    ] = None,
    steps: Annotated[
        str | None,
        typer.Option(
            "--steps", help="Comma-separated steps to measure at (default 100,200,500,1000; a family: 200,1000)."
        ),
    ] = None,
    regen: Annotated[bool, typer.Option("--regen/--no-regen", help="Also measure regeneration after damage.")] = True,
    regrowth: Annotated[
        int | None,
        typer.Option(
            help="Random discs (Distill's damage distribution) to measure regrowth over; 0: none. "
            "Default 24 (a family model: two per flake, at least 24)."
        ),
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="Exit 2 if the model misses its ship floor (a model with no floor: its quality bar)."
        ),
    ] = False,
    picture: Annotated[
        Path | None,
        typer.Option(
            help="Also draw the growth strip to this PNG: per flake, Reiter's automaton above the model at the "
            "growth figure's fractions (a square family model)."
        ),
    ] = None,
    against: Annotated[
        str | None,
        typer.Option(
            help="Instead: measure MODEL's drift from this float32 model (an int8 step against the step it was "
            "made from): frame MSE at the --steps (default 100,200,500,1000) over seeds 0..K-1 (default 8), "
            "alive, and a family's identity, against the ship floor.",
        ),
    ] = None,
    provider: ProviderOpt = "auto",
    json_out: JsonOpt = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress on stderr (the report still goes to stdout).")
    ] = False,
) -> None:
    """Measure how close MODEL grows to its target(s) (MSE of RGBA), whether it stays finite, and regrowth.

    The report goes to stdout (with --json: the JSON, and the report on stderr); progress goes to stderr.

    A family model is measured flake by flake: MSE against its own target, identity (its final frame is
    nearest its own target), distinctness of seeds 0-15, and regrowth. A continuous family (reiter:params:N)
    is measured seed by seed against Reiter's own crystal for the seed's parameters: training seeds and
    held-out seeds (parameters it never trained on; --num-seeds of them, default 48).
    """
    from ..evaluate.choose import EvalOptions, evaluate_model
    from ..family.family import is_family_spec
    from ..family.seed_maps import SEED_MAP_CYCLE
    from ..runtime import open_model

    try:
        step_list = [int(s) for s in steps.split(",") if s.strip()] if steps is not None else None
    except ValueError:
        raise NCAError(f"--steps {steps!r}: expected comma-separated integers such as 100,200") from None
    for step in step_list or []:
        EVAL_STEP.check(step)
    if num_seeds is not None and num_seeds < 1:
        raise NCAError(f"--num-seeds must be at least 1, got {num_seeds}")
    if regrowth is not None and regrowth < 0:
        raise NCAError(f"--regrowth must be 0 or more, got {regrowth}")
    if picture is not None and picture.suffix.lower() != ".png":
        raise NCAError(f"--picture writes a PNG; got {str(picture)!r}")
    session = open_model(model, provider=provider, quiet=True)
    reference = None
    if against is not None:
        if picture is not None:
            raise NCAError("--picture draws a model's growth; --against measures a drift, not a growth")
        given = [
            flag
            for flag, set_ in (
                ("--target", target is not None),
                ("--target-size", target_size != 40),
                ("--no-regen", not regen),
                ("--regrowth", regrowth is not None),
            )
            if set_
        ]
        if given:
            raise NCAError(
                f"{given[0]} does not apply with --against (a drift over --steps on -k seeds, no target or regrowth)"
            )
        reference = open_model(against, provider=provider, quiet=True)
        mine, theirs = session.info, reference.info
        if (mine.channels, mine.grid, mine.fire_rate) != (theirs.channels, theirs.grid, theirs.fire_rate):
            raise NCAError(f"--against {against}: not the same model (channels, grid or fire rate differ)")
    if picture is not None:
        fam, lattice = session.info.seeding, session.info.lattice
        if fam.seed_map.kind != SEED_MAP_CYCLE or lattice.name != "square" or not is_family_spec(fam.spec):
            raise NCAError("--picture draws a square family model's growth (reiter:K); this model has none to draw")
        from ..atomic import check_writable_dir

        check_writable_dir(picture.parent if str(picture.parent) else Path("."))
    options = EvalOptions(target, target_size, num_seeds, step_list, regen, regrowth)
    with ProgressBar("eval", quiet=quiet, unit="seed-steps") as progress:
        done = 0

        def count(samples: int) -> None:
            nonlocal done
            done += samples
            progress.update(done, None)

        session.on_step = count
        if reference is not None:
            from ..evaluate.drift import DRIFT_SEEDS, DRIFT_STEPS, evaluate_drift

            reference.on_step = count
            seeds = range(num_seeds) if num_seeds is not None else DRIFT_SEEDS
            report: Judged = evaluate_drift(reference, session, seeds=seeds, steps=step_list or DRIFT_STEPS)
        else:
            report = evaluate_model(session, options)
        session.on_step = None
    growth = getattr(report, "growth", None)
    if picture is not None and growth is not None:
        from ..evaluate.growth import growth_strip

        growth_strip(growth, picture)
    if json_out:  # the report for people on stderr, the JSON on stdout
        typer.echo(report.format(), err=True)
        emit_json(report.to_json())
    else:
        typer.echo(report.format())
    if check and not report.shippable:
        if all(report.floor.values()) and report.unmeasured:  # nothing failed, but not all was measured
            raise NCAError(
                f"--check cannot judge the ship floor: {', '.join(report.unmeasured)} not measured with these "
                "options (--steps, --regen, --regrowth, --num-seeds); run eval --check with their defaults"
            )
        raise typer.Exit(2)


@command()
def family(
    spec: Annotated[
        str,
        typer.Argument(
            help="A procedural family: reiter:K, reiter:K:SEED or reiter:K@SIZE; reiter:params:N shows its first draws."
        ),
    ],
    output: Annotated[
        Path | None, typer.Argument(help="PNG contact sheet of the targets (default: SPEC's name, .png).")
    ] = None,
    scale: Annotated[int, typer.Option(help="Pixels per cell in the sheet.")] = 3,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Show a snowflake family before training on it: a sheet of its K targets with their Reiter parameters.

    Reiter's hexagonal snow-crystal automaton grows each flake; alpha (diffusion), beta (background vapour)
    and gamma (vapour added) are printed under each tile. The same spec always gives the same targets.
    """
    from ..family.family import family_sheet, make_family, parse_family_spec

    parsed = parse_family_spec(spec)
    out = (
        output
        if output is not None
        else Path(str(parsed).replace(":", "-").replace("@", "-").replace("/", "-") + ".png")
    )
    fam = make_family(parsed)
    summary = family_sheet(fam, out, scale=scale)
    say(f"wrote {out} ({len(fam)} flakes of {fam.spec}, {summary['width']}x{summary['height']} px)", quiet)
    if json_out:
        emit_json(
            {
                **summary,
                "flakes": [
                    {"flake": i, "alpha": p.alpha, "beta": p.beta, "gamma": p.gamma, "steps": n}
                    for i, (p, n) in enumerate(zip(fam.params, fam.steps, strict=True))
                ],
            }
        )


@command()
def info(
    model: Annotated[
        str | None,
        typer.Argument(
            parser=path, help=f"A .onnx step model, a .pt checkpoint or a built-in name ({builtin_names()})."
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Show a model's metadata, shapes, parameters and providers; without MODEL, list the built-in models."""
    from ..info import describe, describe_builtins, format_info

    data = describe(model) if model is not None else describe_builtins()
    if json_out:
        emit_json(data)
    else:
        typer.echo(format_info(data))
