"""A continuous snowflake family: every draw index its own Reiter parameters, coded by the parameters themselves.

A discrete family (:mod:`ncarender.family.family`) is K fixed flakes with
arbitrary codes. A *continuous* family (spec ``reiter:params:N``) conditions
on the automaton's own parameters instead: draw ``i`` takes the box ``i mod 6``
of :data:`~ncarender.family.reiter.FAMILY_BOXES` and uniform numbers from a PCG64
stream keyed by ``(SEED, i)``, and its code is ``(alpha, beta, log10 gamma)``
scaled to ``[0, 1]`` over the boxes' bounding box (:class:`ParamMap`). Training
uses draws ``0..N-1`` that grow; a render seed ``s`` grows draw ``s``, so seeds
from ``N`` on are parameters the model never saw, judged against the
automaton's own crystal for them. numpy only: the render path computes a
seed's code with :meth:`ParamMap.code`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import NCAError
from .reiter import FAMILY_BOXES, ReiterParams

__all__ = ["PARAM_CODE_CHANNELS", "ParamMap", "default_param_map"]

#: Code channels of a continuous family: normalised alpha, beta and log10 gamma.
PARAM_CODE_CHANNELS = 3


@dataclass(frozen=True)
class ParamMap:
    """How a draw index becomes Reiter parameters and a code (what a continuous model's metadata carries).

    ``boxes`` one ``((alpha lo, hi), (beta lo, hi), (log10 gamma lo, hi))`` per
    box, draw ``i`` using box ``i mod len(boxes)``; ``lo``/``hi`` the corners of
    the code's box over ``(alpha, beta, log10 gamma)``; ``seed`` keys the stream.
    """

    boxes: tuple[tuple[tuple[float, float], ...], ...]
    lo: tuple[float, float, float]
    hi: tuple[float, float, float]
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.boxes or any(len(b) != 3 or any(len(r) != 2 for r in b) for b in self.boxes):
            raise NCAError("a parameter map needs boxes of three (low, high) ranges")
        numbers = [v for b in self.boxes for r in b for v in r] + [*self.lo, *self.hi]
        if len(self.lo) != 3 or len(self.hi) != 3 or not all(math.isfinite(float(v)) for v in numbers):
            raise NCAError("a parameter map's ranges and code box must be finite numbers")
        if any(h <= lo for lo, h in zip(self.lo, self.hi, strict=True)):
            raise NCAError("a parameter map's code box must have hi > lo in every coordinate")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**63:
            raise NCAError(f"a parameter map's seed must be a whole number from 0 to 2**63-1, got {self.seed!r}")

    def params(self, index: int) -> ReiterParams:
        """The parameters of draw ``index`` (>= 0); the same map and index give the same numbers everywhere.

        Uniform numbers come straight from the PCG64 bit stream of ``SeedSequence([seed, index])`` (53 bits
        each), which numpy keeps stable across versions; alpha and beta are rounded to 4 decimals, gamma to 3
        significant digits, as the discrete family's draws are.
        """
        if isinstance(index, bool) or not 0 <= int(index) < 2**63:
            raise NCAError(f"a draw index must be a whole number from 0 to 2**63-1, got {index!r}")
        box = self.boxes[int(index) % len(self.boxes)]
        raw = np.random.PCG64(np.random.SeedSequence([self.seed, int(index)])).random_raw(3)
        u = [(int(v) >> 11) * 2.0**-53 for v in raw]
        a = round(box[0][0] + (box[0][1] - box[0][0]) * u[0], 4)
        b = round(box[1][0] + (box[1][1] - box[1][0]) * u[1], 4)
        g = float(f"{10.0 ** (box[2][0] + (box[2][1] - box[2][0]) * u[2]):.3g}")
        return ReiterParams(a, b, g)

    def code_of(self, params: ReiterParams) -> np.ndarray:
        """The code ``(3,)`` float32 in ``[0, 1]`` of ``params``: (alpha, beta, log10 gamma) scaled to the code box."""
        v = np.array([params.alpha, params.beta, math.log10(max(params.gamma, 1e-12))])
        lo, hi = np.asarray(self.lo), np.asarray(self.hi)
        return np.clip((v - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)

    def codes(self, indices: Sequence[int]) -> np.ndarray:
        """The codes ``(len(indices), 3)`` float32 of draws ``indices``."""
        out = np.zeros((len(indices), PARAM_CODE_CHANNELS), dtype=np.float32)
        for row, index in enumerate(indices):
            out[row] = self.code_of(self.params(int(index)))
        return out

    def to_json(self) -> dict[str, object]:
        """The map as plain JSON data (see :meth:`from_json`)."""
        return {
            "boxes": [[list(r) for r in b] for b in self.boxes],
            "lo": list(self.lo),
            "hi": list(self.hi),
            "seed": self.seed,
        }

    @classmethod
    def from_json(cls, raw: object) -> ParamMap:
        """The map from :meth:`to_json`'s data; anything malformed is an :class:`NCAError`."""
        try:
            assert isinstance(raw, dict)
            boxes = tuple(tuple((float(r[0]), float(r[1])) for r in b) for b in raw["boxes"])
            lo = tuple(float(v) for v in raw["lo"])
            hi = tuple(float(v) for v in raw["hi"])
            seed = raw.get("seed", 0)
            if not isinstance(seed, int):
                raise TypeError
        except (AssertionError, KeyError, TypeError, ValueError, IndexError):
            raise NCAError("the parameter map is malformed") from None
        return cls(boxes, lo, hi, seed)  # type: ignore[arg-type]  # (lengths are checked in __post_init__)


def default_param_map(seed: int = 0) -> ParamMap:
    """The discrete family's boxes, coded over their bounding box; ``seed`` picks another stream of draws."""
    boxes = tuple((a, b, g) for _, a, b, g in FAMILY_BOXES)
    lo = tuple(min(b[i][0] for b in boxes) for i in range(3))
    hi = tuple(max(b[i][1] for b in boxes) for i in range(3))
    return ParamMap(boxes, lo, hi, seed)  # type: ignore[arg-type]
