"""The render plan (:mod:`ncarender.plan`): each output's view and each seed's flake, decided once from the
spec and the model's metadata; and a one-target model as a seed map of one flake."""

from __future__ import annotations

import numpy as np
import pytest

from ncarender.errors import NCAError
from ncarender.family.seed_maps import SEED_MAPS, CycleMap, OneTarget, ParamsMap, seed_map_from_json
from ncarender.lattice import HEX
from ncarender.metadata import FamilyInfo, ModelInfo
from ncarender.plan import Look, plan_render
from ncarender.runtime.seeds import flakes_of, states_for_seeds
from ncarender.spec import RenderSpec
from ncarender.writers.formats import output_spec

SQUARE_ONE = ModelInfo(has_metadata=True, grid=(20, 24), target_name="snowflake")
CYCLE = FamilyInfo("reiter:3", np.arange(6, dtype=np.float32).reshape(3, 2), CycleMap())


def _spec(*formats: str, **kw: object) -> RenderSpec:
    return RenderSpec(seeds=(0, 1, 4), steps=10, **kw).with_outputs(*(output_spec(f) for f in formats))  # type: ignore[arg-type]


def test_square_model_writers_scale_its_cells() -> None:
    plan = plan_render(_spec("gif", "sheet"), SQUARE_ONE)
    assert plan.grid == (20, 24)
    for view in plan.outputs:
        assert view.writes is view.output  # the writer scales the cells itself
        assert view.frame_grid == (20, 24)
        assert view.look == Look(view.output.background, 1)
    assert plan.flakes is None and [s.flake for s in plan.seeds] == [None, None, None]


def test_hex_model_frames_are_its_picture_at_the_scale() -> None:
    info = ModelInfo(has_metadata=True, grid=(12, 12), lattice=HEX, channels=8)
    plan = plan_render(_spec("gif", size=(10, 14)), info)
    view = plan.output
    scale = view.output.options.scale
    assert view.writes.options.scale == 1 and view.writes.format == "gif"
    assert view.frame_grid == (10 * scale, 14 * scale)
    assert view.look == Look(view.output.background, scale)


def test_family_seeds_pick_flakes_and_flake_overrides() -> None:
    info = ModelInfo(has_metadata=True, channels=18, family=CYCLE)
    assert plan_render(_spec("gif"), info).flakes == [0, 1, 1]
    assert plan_render(_spec("gif", flake=2), info).flakes == [2, 2, 2]
    with pytest.raises(NCAError, match="out of range"):
        plan_render(_spec("gif", flake=3), info)


def test_one_target_is_a_seed_map_of_one_flake() -> None:
    seeding = SQUARE_ONE.seeding
    assert isinstance(seeding.seed_map, OneTarget) and not seeding.names_flakes
    assert seeding.flakes == 1 and seeding.code_channels == 0 and SQUARE_ONE.code_channels == 0
    assert flakes_of(SQUARE_ONE, [0, 5]) is None
    x = states_for_seeds(SQUARE_ONE, [0, 5], 5, 7)
    assert x.shape == (2, 16, 5, 7) and (x[:, 3:, 2, 3] == 1).all() and x.sum() == 2 * 13
    with pytest.raises(NCAError, match=r"--flake needs a family model; this model grows one target \(snowflake\)"):
        plan_render(_spec("gif", flake=0), SQUARE_ONE)


def test_seed_maps_are_a_table() -> None:
    assert {"cycle": CycleMap, "reiter-params": ParamsMap} == SEED_MAPS
    assert isinstance(seed_map_from_json({}, 2, "m"), CycleMap)
    with pytest.raises(NCAError, match="unknown family seed map 'one-target'"):
        seed_map_from_json({"seed_map": "one-target"}, 2, "m")
