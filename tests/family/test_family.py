"""The procedural family: Reiter's automaton, its symmetry, the square targets, specs and the sheet."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ncarender.errors import NCAError
from ncarender.family.crystal_image import crystal_target, target_mse
from ncarender.family.family import (
    MIN_TARGET_MSE,
    Family,
    FamilySpec,
    family_sheet,
    is_family_spec,
    make_family,
    parse_family_spec,
)
from ncarender.family.reiter import HexCrystal, ReiterParams, evolve, grow_crystal, grow_crystals

DIRECTIONS = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, -1), (-1, 1))
DENDRITE = ReiterParams(1.46, 0.631, 1.2e-4)
LACE = ReiterParams(1.83, 0.902, 1.2e-3)
PLATE = ReiterParams(1.84, 0.118, 0.11)


def hexdist(q: int, r: int) -> int:
    return (abs(q) + abs(r) + abs(q + r)) // 2


def reference(params: ReiterParams, domain: int, steps: int) -> np.ndarray:
    """Reiter's rule written out cell by cell, in plain Python: ``field[r + d, q + d]``, NaN off the hexagon."""
    d = domain
    cells = [(q, r) for q in range(-d, d + 1) for r in range(-d, d + 1) if hexdist(q, r) <= d]
    s = {c: params.beta for c in cells}
    s[(0, 0)] = 1.0
    for _ in range(steps):
        ice = {c for c in cells if s[c] >= 1.0}

        def receptive(c: tuple[int, int], ice: set[tuple[int, int]] = ice) -> bool:
            if hexdist(*c) == d:
                return False
            return c in ice or any((c[0] + dq, c[1] + dr) in ice for dq, dr in DIRECTIONS)

        rec = {c: receptive(c) for c in cells}
        u = {c: 0.0 if rec[c] else s[c] for c in cells}
        new = {}
        for c in cells:
            if hexdist(*c) == d:
                new[c] = params.beta
                continue
            mean = sum(u[(c[0] + dq, c[1] + dr)] for dq, dr in DIRECTIONS) / 6
            v = s[c] + params.gamma if rec[c] else 0.0
            new[c] = u[c] + params.alpha / 2 * (mean - u[c]) + v
        s = new
    out = np.full((2 * d + 1, 2 * d + 1), np.nan)
    for (q, r), value in s.items():
        out[r + d, q + d] = value
    return out


def transform(field: np.ndarray, domain: int, mapping) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The field moved by a lattice map ``(q, r) -> mapping(q, r)``, NaN off the hexagon."""
    d = domain
    out = np.full_like(field, np.nan)
    for q in range(-d, d + 1):
        for r in range(-d, d + 1):
            if hexdist(q, r) <= d:
                q2, r2 = mapping(q, r)
                out[r2 + d, q2 + d] = field[r + d, q + d]
    return out


def on_hexagon(field: np.ndarray, domain: int) -> np.ndarray:
    d = domain
    idx = np.arange(-d, d + 1)
    r, q = np.meshgrid(idx, idx, indexing="ij")
    return np.where((np.abs(q) + np.abs(r) + np.abs(q + r)) // 2 <= d, field, np.nan)


# --------------------------------------------------------------------------- the automaton


@pytest.mark.parametrize(
    ("q", "r", "expected"),
    [
        # alpha = 1, beta = 0.4, gamma = 0.01 on a radius-3 hexagon, one step after the seed:
        (0, 0, 1.0 + 0.01),  # the seed: receptive, its neighbours give no vapour, + gamma
        (1, 0, 0.4 + 0.01 + 0.4 / 4),  # receptive: + gamma + alpha/2 * (3 vapour neighbours of 6) * beta
        (0, -1, 0.4 + 0.01 + 0.4 / 4),
        (2, 0, 0.4 - 0.4 / 12),  # a corner of ring 2: one receptive neighbour, gives alpha/2 * beta/6
        (-2, 2, 0.4 - 0.4 / 12),
        (1, 1, 0.4 - 0.4 / 6),  # an edge cell of ring 2: two receptive neighbours
        (-1, -1, 0.4 - 0.4 / 6),
        (3, 0, 0.4),  # the held edge
        (2, 1, 0.4),
    ],
)
def test_one_step_by_hand(q: int, r: int, expected: float) -> None:
    field = evolve(ReiterParams(1.0, 0.4, 0.01), 1, domain=3).field
    assert field[r + 3, q + 3] == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize("params", [ReiterParams(1.0, 0.4, 0.01), ReiterParams(1.7, 0.9, 0.002), PLATE])
@pytest.mark.parametrize("steps", [0, 1, 2, 12])
def test_matches_a_cell_by_cell_loop(params: ReiterParams, steps: int) -> None:
    got = on_hexagon(evolve(params, steps, domain=5).field, 5)
    np.testing.assert_allclose(got, reference(params, 5, steps), rtol=0, atol=1e-13)


@pytest.mark.parametrize("params", [DENDRITE, LACE, PLATE], ids=["dendrite", "lace", "plate"])
def test_exact_hexagonal_symmetry(params: ReiterParams) -> None:
    crystal = grow_crystal(params)
    d, field = crystal.domain, on_hexagon(crystal.field, crystal.domain)
    assert crystal.ice.sum() > 30  # it grew
    rotations = [lambda q, r: (-r, q + r)]  # 60 degrees in cube coordinates (x, y, z) -> (-z, -x, -y)
    mirrors = [lambda q, r: (r, q), lambda q, r: (q + r, -r)]  # swap two cube axes / flip across an arm
    for mapping in rotations + mirrors:
        moved = transform(field, d, mapping)
        assert np.array_equal(moved, field, equal_nan=True)  # bit for bit, not just close


def test_batch_does_not_change_a_crystal() -> None:
    alone = grow_crystal(LACE)
    together = grow_crystals([PLATE, LACE, DENDRITE])
    assert together[1] is not None and together[1].steps == alone.steps
    assert together[1].field.tobytes() == alone.field.tobytes()


def test_grows_to_the_radius_and_stops() -> None:
    crystal = grow_crystal(DENDRITE, domain=20, radius=0.6)
    assert 12 <= crystal.extent < 14
    assert evolve(DENDRITE, crystal.steps, domain=20).field.tobytes() == crystal.field.tobytes()
    assert evolve(DENDRITE, crystal.steps - 1, domain=20).extent < 12
    assert not crystal.ice[np.isnan(on_hexagon(crystal.field, 20))].any()


def test_no_growth_is_an_error() -> None:
    with pytest.raises(NCAError, match=r"did not grow to 0.75 of the domain in 200 steps"):
        grow_crystal(ReiterParams(1.0, 0.0, 0.0), max_steps=200)
    assert grow_crystals([ReiterParams(1.0, 0.0, 0.0), PLATE], max_steps=200)[0] is None


@pytest.mark.parametrize(
    ("alpha", "beta", "gamma", "message"),
    [
        (0.0, 0.5, 0.001, r"alpha \(diffusion\) must be in \(0, 2\]"),
        (2.5, 0.5, 0.001, r"alpha .* got 2.5"),
        (-1.0, 0.5, 0.001, "alpha"),
        (1.0, 1.0, 0.001, r"beta \(background vapour\) must be in \[0, 1\), got 1"),
        (1.0, -0.1, 0.001, "beta"),
        (1.0, 0.5, 1.5, r"gamma \(vapour added\) must be in \[0, 1\]"),
        (1.0, 0.5, -1e-3, "gamma"),
        (float("nan"), 0.5, 0.001, "alpha must be finite"),
        ("1", 0.5, 0.001, "alpha must be a number"),
    ],
)
def test_out_of_range_params(alpha: float, beta: float, gamma: float, message: str) -> None:
    with pytest.raises(NCAError, match=message):
        ReiterParams(alpha, beta, gamma)


def test_edge_params_are_valid() -> None:
    assert ReiterParams(2, 0, 1) == ReiterParams(2.0, 0.0, 1.0)
    grow_crystal(ReiterParams(2.0, 0.0, 1.0))  # pure addition: a hexagon


# --------------------------------------------------------------------------- targets


@pytest.mark.parametrize("params", [DENDRITE, LACE, PLATE], ids=["dendrite", "lace", "plate"])
def test_target(params: ReiterParams) -> None:
    t = crystal_target(grow_crystal(params))
    assert t.shape == (4, 40, 40) and t.dtype == np.float32
    assert t.min() >= 0.0 and t.max() <= 1.0
    assert (t[:3] <= t[3:4] + 1e-6).all()  # premultiplied
    assert t[3, 19:21, 19:21].mean() > 0.75  # (nearly) opaque at the centre
    assert 0.0 < t[3].mean() < 0.8
    yy, xx = np.mgrid[:40, :40] + 0.5
    outside = np.hypot(yy - 20, xx - 20) > 16.5
    assert t[3][outside].max() < 0.1 and t[3][np.hypot(yy - 20, xx - 20) > 17.5].max() == 0
    assert t[3, 6:20, 19:21].min() > 0.3 and t[3, 4, 19:21].min() > 0.2  # an arm points up, to the rim
    ice = t[3] > 0.5
    assert (t[2] - t[0])[ice].mean() > 0.02  # icy blue
    # Mirror-symmetric on the square grid (left-right and top-bottom are lattice mirrors).
    assert np.abs(t - t[:, :, ::-1]).mean() < 2e-3 and np.abs(t - t[:, ::-1, :]).mean() < 2e-3


def test_target_size_and_diameter() -> None:
    t = crystal_target(grow_crystal(PLATE), size=24, diameter=12, supersample=2)
    assert t.shape == (4, 24, 24)
    assert t[3, :5].max() == 0 and t[3, 19:].max() == 0 and t[3, 12, 12] == 1
    with pytest.raises(NCAError, match="flake diameter must be from 2 to the target size"):
        crystal_target(grow_crystal(PLATE), size=24, diameter=30)


# --------------------------------------------------------------------------- families


@pytest.fixture(scope="module")
def family16() -> Family:
    return make_family("reiter:16")


def test_family(family16: Family) -> None:
    f = family16
    assert f.spec == "reiter:16" and len(f) == 16 and len(f.steps) == 16
    assert f.targets.shape == (16, 4, 40, 40) and f.targets.dtype == np.float32
    assert not f.targets.flags.writeable
    assert f.targets.min() >= 0 and f.targets.max() <= 1 and (f.targets[:, :3] <= f.targets[:, 3:4] + 1e-6).all()
    mse = [target_mse(a, b) for i, a in enumerate(f.targets) for b in f.targets[:i]]
    assert min(mse) >= MIN_TARGET_MSE
    # Varied: plates (mostly filled) and stars or dendrites (mostly empty) both appear.
    cover = f.targets[:, 3].mean(axis=(1, 2))
    assert cover.max() > 0.33 and cover.min() < 0.16  # a full hexagon 32 across covers 0.42


def test_family_is_deterministic_and_prefix_stable(family16: Family) -> None:
    again = make_family("reiter:16:0@40/32")
    assert again.spec == "reiter:16"
    assert again.targets.tobytes() == family16.targets.tobytes() and again.params == family16.params
    small = make_family("reiter:5")
    assert small.params == family16.params[:5]
    assert small.targets.tobytes() == family16.targets[:5].tobytes()
    other = make_family("reiter:5:1")
    assert other.params != small.params


def test_family_at_another_size() -> None:
    f = make_family("reiter:3@24")
    assert f.spec == "reiter:3@24" and f.targets.shape == (3, 4, 24, 24)


def test_family_that_cannot_be_distinct() -> None:
    with pytest.raises(NCAError, match=r"family 'reiter:30@8': only \d+ of 30 targets are distinct"):
        make_family("reiter:30@8")
    with pytest.raises(NCAError, match="after 3 candidates"):
        make_family("reiter:4", max_candidates=3)


@pytest.mark.parametrize(
    ("spec", "parsed", "canonical"),
    [
        ("reiter:16", FamilySpec(16, 0, 40, 32), "reiter:16"),
        ("reiter:1", FamilySpec(1), "reiter:1"),
        ("reiter:256", FamilySpec(256), "reiter:256"),
        ("reiter:16:3", FamilySpec(16, 3), "reiter:16:3"),
        ("reiter:16:0", FamilySpec(16), "reiter:16"),
        ("reiter:64@48", FamilySpec(64, 0, 48, 38), "reiter:64@48"),
        ("reiter:8:2@64/60", FamilySpec(8, 2, 64, 60), "reiter:8:2@64/60"),
        ("reiter:8@40/32", FamilySpec(8), "reiter:8"),
        ("reiter:8@40/30", FamilySpec(8, 0, 40, 30), "reiter:8@40/30"),
    ],
)
def test_parse_spec(spec: str, parsed: FamilySpec, canonical: str) -> None:
    assert parse_family_spec(spec) == parsed
    assert str(parsed) == canonical
    assert parse_family_spec(canonical) == parsed
    assert is_family_spec(spec)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("reiter:0", r"the number of flakes K must be from 1 to 256, got 0"),
        ("reiter:257", r"K must be from 1 to 256, got 257"),
        ("reiter:x", r"K must be a whole number, got 'x'; expected reiter:K\[:SEED\]\[@SIZE\[/DIAMETER\]\]"),
        ("reiter:", r"K must be a whole number, got ''"),
        ("reiter:-3", r"K must be a whole number, got '-3'"),
        ("reiter:1.5", r"K must be a whole number"),
        ("reiter:16:", r"SEED must be a whole number, got ''"),
        ("reiter:16:a", r"SEED must be a whole number"),
        ("reiter:16:1:2", r"cannot read family spec"),
        ("reiter:16@", r"SIZE must be a whole number"),
        ("reiter:16@4", r"SIZE must be from 8 to 256, got 4"),
        ("reiter:16@40/41", r"DIAMETER \(at most SIZE 40\) must be from 4 to 40, got 41"),
        ("reiter:16@40/", r"DIAMETER .* must be a whole number"),
        ("foo:3", r"unknown snowflake family 'foo' in 'foo:3'"),
        ("Reiter:3", r"unknown snowflake family 'Reiter'"),
        ("", r"unknown snowflake family"),
    ],
)
def test_bad_specs(spec: str, message: str) -> None:
    with pytest.raises(NCAError, match=message) as info:
        make_family(spec)
    assert "\n" not in str(info.value)


def test_spec_fields_are_checked() -> None:
    with pytest.raises(NCAError, match="family diameter must be a whole number from 4 to 16, got 20"):
        FamilySpec(3, size=16, diameter=20)
    with pytest.raises(NCAError, match="family count must be a whole number from 1 to 256, got 0"):
        make_family(FamilySpec(0))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("reiter:16", True), ("reiter:x", True), ("snowflake", False), ("flake.png", False), ("foo:3", False)],
)
def test_is_family_spec(text: str, expected: bool) -> None:
    assert is_family_spec(text) is expected
    assert not is_family_spec(Path(text))


# --------------------------------------------------------------------------- the sheet


def test_sheet(tmp_path: Path) -> None:
    family = make_family("reiter:5")
    path = tmp_path / "family.png"
    info = family_sheet(family, path, scale=2, columns=3)
    assert (info["columns"], info["rows"], info["count"], info["spec"]) == (3, 2, 5, "reiter:5")
    cell_w, cell_h = info["cell_width"], info["cell_height"]
    assert isinstance(cell_w, int) and isinstance(cell_h, int) and cell_w >= 80 and cell_h >= 80 + 20
    with Image.open(path) as img:
        top = info["title_height"]
        assert isinstance(top, int) and 10 < top < 40
        assert img.format == "PNG" and img.size == (3 * cell_w, top + 2 * cell_h) == (info["width"], info["height"])
        pixels = np.asarray(img.convert("RGB"))
    tile = pixels[top + 4 : top + 4 + 80, (cell_w - 80) // 2 :][:80, :80]
    assert tile.max() > 200  # a white-ish flake on the dark background
    assert sorted(p.name for p in tmp_path.iterdir()) == ["family.png"]  # no temporary left behind


def test_sheet_errors(tmp_path: Path) -> None:
    family = make_family("reiter:1")
    with pytest.raises(NCAError, match="a family sheet is a PNG"):
        family_sheet(family, tmp_path / "f.gif")
    with pytest.raises(NCAError, match="does not exist"):
        family_sheet(family, tmp_path / "nope" / "f.png")
    with pytest.raises(NCAError, match="scale must be at least 1"):
        family_sheet(family, tmp_path / "f.png", scale=0)


def test_hex_crystal_of_a_made_field() -> None:
    field = np.full((7, 7), 0.5)
    crystal = HexCrystal(DENDRITE, field, 0, 3)
    assert crystal.extent == 0.0 and not crystal.ice.any()


def test_no_torch_on_import() -> None:
    code = "import sys, ncarender.family.family, ncarender.family.reiter; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
