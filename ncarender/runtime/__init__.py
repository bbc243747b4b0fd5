"""onnxruntime side: the session, its providers, the rollout loop and the mask stream. No torch.

* :mod:`~ncarender.runtime.session`: :class:`NCASession` (one session factory, :func:`open_model`), the contract
  check, the metadata: the step.
* :mod:`~ncarender.runtime.catalog`: the built-in models by name (``--model snowflake``), the default.
* :mod:`~ncarender.runtime.providers`: which execution providers, with which options; loud fallbacks.
* :mod:`~ncarender.runtime.rollout`: the driver, :func:`roll_out` (a :class:`~ncarender.spec.RenderSpec` -> float
  states): the loop, damage, frames, non-finite states.
* :mod:`~ncarender.runtime.buffers`: the state in bound buffers per window shape, masks bound per step.
* :mod:`~ncarender.runtime.graphs`: a session's CUDA graphs and the buffers they were captured on.
* :mod:`~ncarender.runtime.window`: the live region: the window a step can change, buckets, device helpers.
* :mod:`~ncarender.runtime.masks`: the seeded update masks, drawn in blocks.
* :mod:`~ncarender.runtime.int8`: a float32 step's update network quantised to int8 (``export --int8``).
* :mod:`~ncarender.resources` (re-exported here): usable cores, free memory, a rollout's memory.

Names are imported lazily: ``import ncarender.runtime`` loads no onnxruntime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

__all__ = [
    "ALLOW_SPINNING",
    "BUILTIN_MODELS",
    "BYTES_PER_CELL",
    "CUDA_PROVIDER_OPTIONS",
    "DEFAULT_MODEL",
    "PROVIDERS",
    "MaskStream",
    "NCASession",
    "NonFiniteStateError",
    "available_memory",
    "available_providers",
    "default_model_path",
    "initial_states",
    "open_model",
    "resolve_model",
    "roll_out",
    "rollout_bytes",
    "usable_cores",
]

if TYPE_CHECKING:
    from ..resources import BYTES_PER_CELL, available_memory, rollout_bytes, usable_cores
    from .catalog import BUILTIN_MODELS, DEFAULT_MODEL, resolve_model
    from .masks import MaskStream
    from .providers import ALLOW_SPINNING, CUDA_PROVIDER_OPTIONS, PROVIDERS, available_providers
    from .rollout import NonFiniteStateError, initial_states, roll_out
    from .session import NCASession, default_model_path, open_model

_LAZY = {
    "ALLOW_SPINNING": ".providers",
    "BUILTIN_MODELS": ".catalog",
    "BYTES_PER_CELL": "..resources",
    "CUDA_PROVIDER_OPTIONS": ".providers",
    "DEFAULT_MODEL": ".catalog",
    "PROVIDERS": ".providers",
    "MaskStream": ".masks",
    "NCASession": ".session",
    "NonFiniteStateError": ".rollout",
    "available_memory": "..resources",
    "available_providers": ".providers",
    "default_model_path": ".session",
    "initial_states": ".rollout",
    "open_model": ".session",
    "resolve_model": ".catalog",
    "roll_out": ".rollout",
    "rollout_bytes": "..resources",
    "usable_cores": "..resources",
}


__getattr__ = lazy_exports(__name__, _LAZY)
