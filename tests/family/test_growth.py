"""Growth as data: a flake's crystal at a fraction of its automaton steps, at the finished crystal's scale."""

from __future__ import annotations

import numpy as np
import pytest

from ncarender.errors import NCAError
from ncarender.family.family import make_family
from ncarender.family.growth import automaton_step, family_growth, growth_snapshots
from ncarender.family.reiter import ReiterParams


def test_the_last_snapshot_is_the_target_and_growth_only_adds_ice() -> None:
    fam = make_family("reiter:3@16")
    snaps = family_growth(fam, [0.0, 0.25, 0.5, 0.75, 1.0])
    assert snaps.shape == (3, 5, 4, 16, 16) and snaps.dtype == np.float32
    assert np.array_equal(snaps[:, -1], fam.targets)  # byte for byte
    alpha = snaps[:, :, 3].sum(axis=(2, 3))  # (K, F): ice covered grows with the fraction
    assert (np.diff(alpha, axis=1) > 0).all()
    assert (snaps[:, 0, 3] > 0).sum(axis=(1, 2)).max() <= 4  # the seed: one hex cell, at most a few squares
    assert np.array_equal(snaps, family_growth("reiter:3@16", [0.0, 0.25, 0.5, 0.75, 1.0]))  # repeatable


def test_a_snapshot_is_drawn_at_the_finished_scale_inside_the_finished_flake() -> None:
    fam = make_family("reiter:2@24")
    half = family_growth(fam, [0.5])[:, 0]
    # the half-grown flake is smaller than the target, and lies within it
    assert ((half[:, 3] > 0) & (fam.targets[:, 3] == 0)).sum() <= 4
    assert (half[:, 3].sum(axis=(1, 2)) < 0.7 * fam.targets[:, 3].sum(axis=(1, 2))).all()


def test_fractions_and_step_counts_are_checked() -> None:
    p = ReiterParams(1.0, 0.4, 1e-3)
    for bad in ([], [1.5], [float("nan")], [-0.1]):
        with pytest.raises(NCAError):
            growth_snapshots([p], [10], bad, domain=8, size=16, diameter=12)
    with pytest.raises(NCAError, match="step counts"):
        growth_snapshots([p], [10, 20], [0.5], domain=8, size=16, diameter=12)
    assert automaton_step(0.5, 7) == 4 and automaton_step(1.0, 7) == 7 and automaton_step(0.0, 7) == 0
