"""Damage on the way of a render: a disc erased after some steps (``--damage STEP:X,Y,R``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import NCAError

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Damage", "parse_damage"]


@dataclass(frozen=True)
class Damage:
    """Erase a disc at ``step`` (after that many steps): centre ``(x, y)`` and radius ``r`` in grid units -1..1."""

    step: int
    x: float
    y: float
    r: float

    def keep_mask(self, height: int, width: int) -> np.ndarray:
        """Float32 ``(H, W)``: 0 inside the disc, 1 elsewhere."""
        import numpy as np  # here: the spec itself is plain data, imported by the command line before numpy

        ys = np.linspace(-1.0, 1.0, height, dtype=np.float32)[:, None]
        xs = np.linspace(-1.0, 1.0, width, dtype=np.float32)[None, :]
        return (((xs - self.x) ** 2 + (ys - self.y) ** 2) > self.r**2).astype(np.float32)


def parse_damage(spec: str) -> Damage:
    """Parse ``STEP:X,Y,R`` (e.g. ``100:0.2,0,0.3``) into a :class:`Damage`."""
    try:
        step_s, rest = spec.split(":", 1)
        x_s, y_s, r_s = rest.split(",")
        damage = Damage(int(step_s), float(x_s), float(y_s), float(r_s))
    except ValueError:
        raise NCAError(f"--damage {spec!r}: expected STEP:X,Y,R such as 100:0.2,0,0.3") from None
    if damage.step < 0 or damage.r <= 0 or not all(math.isfinite(v) for v in (damage.x, damage.y, damage.r)):
        raise NCAError(f"--damage {spec!r}: STEP must be >= 0 and R > 0")
    return damage
