"""One record per kind of seed map: seed -> flake -> code, ``--flake`` checks, and the metadata round trip."""

from __future__ import annotations

import numpy as np
import pytest

from ncarender.errors import NCAError
from ncarender.family.param_family import default_param_map
from ncarender.family.seed_maps import (
    SEED_MAP_CYCLE,
    SEED_MAP_PARAMS,
    CycleMap,
    ParamsMap,
    SeedMap,
    seed_map_from_json,
    seed_map_of_spec,
)

CODES = np.arange(12, dtype=np.float32).reshape(4, 3) / 12


@pytest.mark.parametrize(
    ("seed_map", "seed", "flake"),
    [
        (CycleMap(), 0, 0),
        (CycleMap(), 6, 2),
        (ParamsMap(default_param_map(), 24), 6, 6),
        (ParamsMap(default_param_map(), 24), 900, 900),
    ],
)
def test_a_seed_picks_a_flake(seed_map: SeedMap, seed: int, flake: int) -> None:
    assert seed_map.flake_of_seed(seed, len(CODES)) == flake


def test_codes() -> None:
    assert np.array_equal(CycleMap().code_of_flake(2, CODES), CODES[2])
    pmap = default_param_map()
    assert np.array_equal(ParamsMap(pmap, 24).code_of_flake(900, CODES), pmap.code_of(pmap.params(900)))
    assert np.array_equal(ParamsMap(pmap, 24).page_codes(CODES), pmap.codes(range(4)))


@pytest.mark.parametrize(
    ("seed_map", "flake", "message"),
    [
        (CycleMap(), 4, r"this model has 4 flakes \(0-3\)"),
        (CycleMap(), -1, "out of range"),
        (ParamsMap(default_param_map(), 24), -1, "draws are 0 and up"),
    ],
)
def test_a_flake_the_model_cannot_grow_is_refused(seed_map: SeedMap, flake: int, message: str) -> None:
    with pytest.raises(NCAError, match=message):
        seed_map.check_flake(flake, len(CODES))


@pytest.mark.parametrize("seed_map", [CycleMap(), ParamsMap(default_param_map(3), 24)])
def test_the_metadata_round_trip(seed_map: SeedMap) -> None:
    raw = seed_map.to_json(tuple(range(24)) if isinstance(seed_map, ParamsMap) else (), len(CODES))
    assert seed_map_from_json(raw, 3, "m.onnx") == seed_map


def test_the_kind_of_a_spec_and_an_unknown_kind() -> None:
    assert seed_map_of_spec("reiter:16").kind == SEED_MAP_CYCLE
    assert seed_map_of_spec("reiter:params:8:5").kind == SEED_MAP_PARAMS
    assert seed_map_of_spec("reiter:params:8:5") == ParamsMap(default_param_map(5))
    with pytest.raises(NCAError, match="unknown family seed map 'spiral'"):
        seed_map_from_json({"seed_map": "spiral"}, 3, "m.onnx")
