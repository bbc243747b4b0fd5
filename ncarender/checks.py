"""Predicates for validating plain values (numbers from Python or NumPy), shared by the spec and the writers."""

from __future__ import annotations

import math
import numbers

__all__ = ["is_number", "is_whole"]


def is_whole(value: object) -> bool:
    """An integer (Python or NumPy), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    """A finite real number (Python or NumPy), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
