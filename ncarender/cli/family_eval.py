"""``eval`` of a family model (discrete or continuous): the measuring and the printing, for :mod:`.model`."""

from __future__ import annotations

from collections.abc import Sequence

import typer

from ..runtime import NCASession
from .app import emit_json


def eval_family(
    session: NCASession, num_seeds: int | None, steps: Sequence[int] | None, regrowth: int | None, json_out: bool
) -> bool:
    """Measure the family model of ``session``, print the table on stderr (and JSON on stdout).

    Returns True if the model holds its kind's ship floor (``eval --check`` exits 2 otherwise).

    ``num_seeds``: mask seeds per flake (default 4), or a continuous family's held-out seeds (default 48).
    """
    family = session.info.family
    assert family is not None
    family_steps = (200, 1000) if steps is None else steps
    if family.continuous:
        from ..evaluate_params import evaluate_params, format_params_report

        params_report = evaluate_params(
            session, held_out=num_seeds or 48, steps=family_steps, regrowth_samples=24 if regrowth is None else regrowth
        )
        typer.echo(format_params_report(params_report), err=True)
        if json_out:
            emit_json(params_report.to_json())
        return params_report.shippable
    from ..evaluate_family import evaluate_family, format_family_report

    report = evaluate_family(session, mask_seeds=num_seeds or 4, steps=family_steps, regrowth_samples=regrowth)
    typer.echo(format_family_report(report), err=True)
    if json_out:
        emit_json(report.to_json())
    return report.shippable
