"""What a rollout needs of this machine: cores, memory, and the check that refuses a job that would not fit.

No onnxruntime here: the runtime, the writers and the batch's encoder processes use it.
"""

from __future__ import annotations

import os

from .errors import NCAError

__all__ = ["BYTES_PER_CELL", "available_memory", "check_memory", "rollout_bytes", "usable_cores"]

#: Bytes of working memory per cell and sample for one step of a 16-channel model: two state buffers, the mask,
#: perception (3C), hidden layer (128) and update (C), float32, with slack.
BYTES_PER_CELL = 4 * (2 * 16 + 1 + 48 + 128 + 16) * 2


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def available_memory() -> int:
    """Bytes of memory available now (Linux), or a generous guess elsewhere."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 * 2**30


def rollout_bytes(n: int, height: int, width: int, channels: int = 16) -> int:
    """Working memory of a rollout of ``n`` samples on a ``height x width`` grid of a ``channels``-channel model."""
    return n * height * width * BYTES_PER_CELL * max(1, channels) // 16


def check_memory(need: int, what: str) -> None:
    """Raise :class:`NCAError` ("WHAT needs about X GiB; only Y GiB is free") if ``need`` bytes are not free now."""
    avail = available_memory()
    if need > avail:
        raise NCAError(f"{what} needs about {need / 2**30:.1f} GiB; only {avail / 2**30:.1f} GiB is free")
