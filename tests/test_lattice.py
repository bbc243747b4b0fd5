"""The lattice record: hex orbits about the seed cell, metadata names, unknown names refused."""

from __future__ import annotations

import numpy as np
import pytest

from ncarender.errors import NCAError
from ncarender.lattice import HEX, HEX_LAPLACIAN, SQUARE, check_mask_kind, hex_orbits, lattice_named
from ncarender.metadata import FORMAT_VERSION, META, parse_metadata


@pytest.mark.parametrize("size", [(5, 5), (41, 41), (40, 36)])
def test_orbits_are_closed_under_rotation_and_mirror(size: tuple[int, int]) -> None:
    h, w = size
    rep = hex_orbits(h, w)
    assert rep.shape == (h * w,) and (rep[rep] == rep).all()
    _, counts = np.unique(rep, return_counts=True)
    assert counts.max() == (12 if min(h, w) > 5 else 6) and counts.min() >= 1
    # A cell and its 60-degree rotation and its mirror share one representative, wherever both are in the array.
    rows, cols = np.mgrid[0:h, 0:w]
    r, q = rows - h // 2, cols - w // 2
    x, z = q, r
    y = -x - z
    for qq, rr in ((-z, -y), (x, y)):  # rotation (x,y,z) -> (-z,-x,-y); mirror (x,y,z) -> (x,z,y)
        row, col = rr + h // 2, qq + w // 2
        inside = (row >= 0) & (row < h) & (col >= 0) & (col < w)
        assert (rep.reshape(h, w)[inside] == rep[(row * w + col)[inside]]).all()
    assert rep[(h // 2) * w + w // 2] == (h // 2) * w + w // 2  # the seed cell is an orbit of its own


def test_lap6_is_mean_of_six_minus_cell() -> None:
    assert HEX_LAPLACIAN[0, 0] == HEX_LAPLACIAN[2, 2] == 0
    assert abs(float(HEX_LAPLACIAN.sum())) < 1e-6 and np.isclose(HEX_LAPLACIAN[1, 1], -1.0)
    assert HEX.neighbourhood.sum() == 7 and SQUARE.neighbourhood.sum() == 9


def test_lattice_and_mask_names() -> None:
    assert lattice_named(None) is SQUARE and lattice_named("hex") is HEX
    assert check_mask_kind(None, SQUARE) == "cell" and check_mask_kind("orbit", HEX) == "orbit"
    with pytest.raises(NCAError, match="unknown lattice 'tri'"):
        lattice_named("tri")
    with pytest.raises(NCAError, match="needs the hex lattice"):
        check_mask_kind("orbit", SQUARE)
    with pytest.raises(NCAError, match="no symmetry orbits"):
        SQUARE.orbits(4, 4)


def test_metadata_names_the_lattice() -> None:
    base = {META.format_version: str(FORMAT_VERSION)}
    assert parse_metadata(base, source="m").lattice is SQUARE
    info = parse_metadata({**base, META.lattice: "hex", META.mask: "orbit"}, source="m")
    assert info.lattice is HEX and info.mask_kind == "orbit"
    with pytest.raises(NCAError, match=r"^m: unknown lattice 'cube'"):
        parse_metadata({**base, META.lattice: "cube"}, source="m")
    with pytest.raises(NCAError, match=r"^m: unknown mask kind 'stripes'"):
        parse_metadata({**base, META.lattice: "hex", META.mask: "stripes"}, source="m")
