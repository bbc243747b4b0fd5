"""What a seed-conditioned (family) run learns: K target flakes and one code per flake (numpy only).

A family model grows flake ``k`` from a seed cell that carries code ``codes[k]``
in its D code channels (see :mod:`ncarender.train.model`). The codes are fixed
before training, not learned: points in ``[0, 1]^D`` spread apart by a greedy
farthest-point pick from a seeded draw, so that every pair of flakes is told
apart by a large difference in the network's input.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import NCAError
from .seed_maps import SeedMap, seed_map_of_spec

__all__ = ["DEFAULT_CODE_CHANNELS", "FamilyTargets", "make_codes"]

#: Code channels of a family model unless asked otherwise.
DEFAULT_CODE_CHANNELS = 8


def make_codes(k: int, d: int, seed: int = 0) -> np.ndarray:
    """``k`` well-separated codes ``(k, d)`` float32 in ``[0, 1]``; the same arguments give the same codes.

    Candidates are drawn uniformly from a seeded generator; the first is the
    candidate nearest the centre of the cube, then each next code is the
    candidate farthest from those already chosen.
    """
    if k < 1 or d < 1:
        raise NCAError(f"a family needs at least one flake and one code channel (got {k} flakes, {d} channels)")
    rng = np.random.default_rng(seed)
    cand = rng.random((max(64 * k, 256), d))
    chosen = [int(np.argmin(((cand - 0.5) ** 2).sum(axis=1)))]
    dist = ((cand - cand[chosen[0]]) ** 2).sum(axis=1)
    for _ in range(k - 1):
        nxt = int(np.argmax(dist))
        chosen.append(nxt)
        dist = np.minimum(dist, ((cand - cand[nxt]) ** 2).sum(axis=1))
    return cand[chosen].astype(np.float32)


@dataclass(frozen=True)
class FamilyTargets:
    """The flakes of a family run.

    ``targets`` ``(K, 4, H, W)`` premultiplied RGBA float32, ``codes`` ``(K, D)``
    float32 in ``[0, 1]``, ``spec`` the family's name (e.g. ``reiter:16``) and
    ``params`` one dict of generator parameters per flake (may be empty dicts);
    ``draws`` the draw index of each flake of a continuous family (``reiter:params:N``), else empty.
    """

    targets: np.ndarray
    codes: np.ndarray
    spec: str
    params: tuple[dict[str, float], ...] = field(default=())
    draws: tuple[int, ...] = field(default=())

    def __post_init__(self) -> None:
        t, c = self.targets, self.codes
        if t.ndim != 4 or t.shape[1] != 4:
            raise NCAError(f"family {self.spec!r}: targets must be (K, 4, H, W), got {t.shape}")
        if c.ndim != 2 or c.shape[0] != t.shape[0]:
            raise NCAError(f"family {self.spec!r}: {t.shape[0]} targets but codes of shape {c.shape}")
        if not np.isfinite(c).all() or c.min() < 0:
            raise NCAError(f"family {self.spec!r}: codes must be finite and >= 0")
        if self.params and len(self.params) != t.shape[0]:
            raise NCAError(f"family {self.spec!r}: {len(self.params)} parameter sets for {t.shape[0]} targets")
        if self.draws and len(self.draws) != t.shape[0]:
            raise NCAError(f"family {self.spec!r}: {len(self.draws)} draw indices for {t.shape[0]} targets")

    @property
    def seed_map(self) -> SeedMap:
        """How a render seed of the exported model picks a flake and its code (from the spec)."""
        return seed_map_of_spec(self.spec)

    @property
    def k(self) -> int:
        """Number of flakes."""
        return int(self.targets.shape[0])

    @property
    def code_channels(self) -> int:
        """Width D of a code."""
        return int(self.codes.shape[1])


def family_targets(
    spec: str, code_channels: int | None = DEFAULT_CODE_CHANNELS, *, code_seed: int = 0
) -> FamilyTargets:
    """The targets of the procedural family ``spec`` (e.g. ``reiter:16``) with ``code_channels``-wide codes.

    A continuous family (``reiter:params:N``) is coded by its parameters: always
    :data:`~ncarender.family.param_family.PARAM_CODE_CHANNELS` wide (``code_channels`` None or that width).
    """
    from .family import make_family, parse_family_spec
    from .param_family import PARAM_CODE_CHANNELS, default_param_map

    parsed = parse_family_spec(spec)
    if parsed.continuous:
        if code_channels not in (None, PARAM_CODE_CHANNELS):
            raise NCAError(
                f"a continuous family is coded by its {PARAM_CODE_CHANNELS} parameters; "
                f"--code-channels {code_channels} does not apply"
            )
    elif code_channels is None:
        code_channels = DEFAULT_CODE_CHANNELS
    elif code_channels < 1:
        raise NCAError(f"--code-channels must be at least 1 for a family, got {code_channels}")
    family = make_family(parsed)
    params = tuple({"alpha": p.alpha, "beta": p.beta, "gamma": p.gamma} for p in family.params)
    if parsed.continuous:
        pmap = default_param_map(parsed.seed)
        codes = np.stack([pmap.code_of(p) for p in family.params])
    else:
        assert code_channels is not None
        codes = make_codes(len(family), code_channels, code_seed)
    targets = np.array(family.targets, dtype=np.float32)
    return FamilyTargets(targets, codes, family.spec, params, family.draws)
