"""The square lattice (every model before the hex lattice; the default): the base record's answers."""

from __future__ import annotations

import numpy as np

from .base import Lattice

__all__ = ["SQUARE"]

SQUARE = Lattice("square", np.ones((3, 3), dtype=np.float32), has_orbits=False)
