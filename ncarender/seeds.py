"""Seed lists and shards: ``--seeds 0-99,5,0-999:10`` and ``--shard I/N``."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .errors import NCAError

__all__ = ["HARD_MAX_SEEDS", "MAX_SEEDS", "parse_seeds", "parse_shard", "shard_seeds"]

#: A seed spec may name at most this many seeds unless ``force`` is given.
MAX_SEEDS = 10_000
#: Not even ``force`` goes beyond this many seeds (the list itself would not fit).
HARD_MAX_SEEDS = 10_000_000

_SEED_ITEM = re.compile(r"^([0-9]+)(?:-([0-9]+)(?::([0-9]+))?)?$")
_SHARD = re.compile(r"^([0-9]+)/([0-9]+)$")


def parse_seeds(spec: str, *, force: bool = False, limit: int = MAX_SEEDS) -> list[int]:
    """Seeds from ``spec``: comma-separated ``N``, ``A-B`` (inclusive) or ``A-B:STEP``.

    ``0-99``, ``0,5,17``, ``0-999:10``, ``1-5,100``. Order is kept and repeats
    are dropped. More than ``limit`` seeds needs ``force``.
    """
    items = spec.split(",")
    if not spec.strip():
        raise NCAError("--seeds is empty; give seeds such as 0-99, 0,5,17 or 0-999:10")
    ranges: list[range] = []
    for raw in items:
        item = raw.strip()
        match = _SEED_ITEM.match(item)
        if not match:
            raise NCAError(
                f"--seeds {spec!r}: cannot read {item!r}; use N, A-B or A-B:STEP with whole numbers >= 0 "
                "(such as 0-99, 0,5,17 or 0-999:10)"
            )
        start = int(match.group(1))
        stop = int(match.group(2)) if match.group(2) is not None else start
        step = int(match.group(3)) if match.group(3) is not None else 1
        if stop < start:
            raise NCAError(f"--seeds {spec!r}: the range {item!r} ends before it starts")
        if step < 1:
            raise NCAError(f"--seeds {spec!r}: the step in {item!r} must be at least 1")
        if stop >= 2**63:
            raise NCAError(f"--seeds {spec!r}: seeds must be below 2**63")
        ranges.append(range(start, stop + 1, step))
    count = sum(len(r) for r in ranges)
    if count > HARD_MAX_SEEDS:
        raise NCAError(f"--seeds {spec!r} names {count} seeds; at most {HARD_MAX_SEEDS} in one batch")
    if count > limit and not force:
        raise NCAError(f"--seeds {spec!r} names {count} seeds, more than {limit}; add --force if you mean it")
    return list(dict.fromkeys(seed for r in ranges for seed in r))


def parse_shard(spec: str) -> tuple[int, int]:
    """``I/N`` -> ``(I, N)``: the I-th (from 0) of N parts, ``0 <= I < N``."""
    match = _SHARD.match(spec.strip())
    if not match:
        raise NCAError(f"--shard {spec!r}: expected I/N such as 0/4 (part I of N, counting from 0)")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1:
        raise NCAError(f"--shard {spec!r}: N must be at least 1")
    if index >= count:
        raise NCAError(f"--shard {spec!r}: I counts from 0, so it must be below N ({count})")
    return index, count


def shard_seeds(seeds: Sequence[int], index: int, count: int) -> list[int]:
    """Part ``index`` of ``count`` of ``seeds``: every ``count``-th seed from position ``index``.

    The parts are disjoint, their union is ``seeds``, and each depends only on
    the seed list, so independent processes agree on them.
    """
    if not 0 <= index < count:
        raise NCAError(f"shard {index}/{count}: I must be from 0 to N-1")
    return list(seeds[index::count])
