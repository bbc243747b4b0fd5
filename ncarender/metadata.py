"""Keys of the ONNX ``metadata_props`` that ncarender writes and reads (no torch, no onnxruntime)."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field

import numpy as np

from .errors import NCAError

__all__ = [
    "DEFAULT_CHANNELS",
    "DEFAULT_FIRE_RATE",
    "DEFAULT_GRID",
    "FORMAT_VERSION",
    "META",
    "ModelInfo",
    "parse_metadata",
]

FORMAT_VERSION = 1


class META:
    """The metadata key names (one place, used by export and runtime)."""

    format_version = "ncarender.format_version"
    precision = "ncarender.precision"
    channels = "ncarender.channels"
    hidden = "ncarender.hidden"
    fire_rate = "ncarender.fire_rate"
    alive_threshold = "ncarender.alive_threshold"
    grid_height = "ncarender.grid_height"
    grid_width = "ncarender.grid_width"
    target_name = "ncarender.target_name"
    target_png = "ncarender.target_png_base64"
    iterations = "ncarender.training_iterations"
    final_loss = "ncarender.final_loss"
    version = "ncarender.version"
    training = "ncarender.training"


#: DESIGN.md defaults, used for a model that honours the contract but carries no ncarender metadata.
DEFAULT_CHANNELS = 16
DEFAULT_FIRE_RATE = 0.5
DEFAULT_ALIVE_THRESHOLD = 0.1
DEFAULT_GRID = (72, 72)


@dataclass(frozen=True)
class ModelInfo:
    """What the runtime knows about a model, from its metadata or the defaults."""

    has_metadata: bool
    channels: int = DEFAULT_CHANNELS
    fire_rate: float = DEFAULT_FIRE_RATE
    alive_threshold: float = DEFAULT_ALIVE_THRESHOLD
    grid: tuple[int, int] = DEFAULT_GRID
    target_name: str | None = None
    target_png: bytes | None = None
    iterations: int | None = None
    final_loss: float | None = None
    version: str | None = None
    hidden: int | None = None
    precision: str = "float32"
    training: dict[str, object] = field(default_factory=dict)

    def target(self) -> np.ndarray | None:
        """The stored target as premultiplied RGBA ``(4, H, W)`` float32, or None."""
        if self.target_png is None:
            return None
        from .train.targets import target_from_png_bytes

        return target_from_png_bytes(self.target_png)


def parse_metadata(props: dict[str, str], *, source: str) -> ModelInfo:
    """Build :class:`ModelInfo` from ``metadata_props``; malformed values are an :class:`NCAError`."""
    if META.format_version not in props:
        return ModelInfo(has_metadata=False)
    try:
        version = int(props[META.format_version])
        if version > FORMAT_VERSION:
            raise NCAError(f"{source}: model format version {version} is newer than this ncarender; upgrade it")
        png = props.get(META.target_png)
        training = json.loads(props[META.training]) if META.training in props else {}
        info = ModelInfo(
            channels=int(props.get(META.channels, DEFAULT_CHANNELS)),
            fire_rate=float(props.get(META.fire_rate, DEFAULT_FIRE_RATE)),
            alive_threshold=float(props.get(META.alive_threshold, DEFAULT_ALIVE_THRESHOLD)),
            grid=(
                int(props.get(META.grid_height, DEFAULT_GRID[0])),
                int(props.get(META.grid_width, DEFAULT_GRID[1])),
            ),
            has_metadata=True,
            target_name=props.get(META.target_name),
            target_png=base64.b64decode(png, validate=True) if png else None,
            iterations=int(props[META.iterations]) if META.iterations in props else None,
            final_loss=float(props[META.final_loss]) if META.final_loss in props else None,
            version=props.get(META.version),
            hidden=int(props[META.hidden]) if META.hidden in props else None,
            precision=props.get(META.precision, "float32"),
            training=training if isinstance(training, dict) else {},
        )
    except (ValueError, binascii.Error, json.JSONDecodeError) as exc:
        raise NCAError(f"{source}: malformed ncarender metadata ({exc})") from None
    if not 0.0 < info.fire_rate <= 1.0:
        raise NCAError(f"{source}: fire rate {info.fire_rate} in the metadata is outside (0, 1]")
    if info.channels < 4 or min(info.grid) < 3:
        raise NCAError(f"{source}: metadata gives {info.channels} channels and a {info.grid} grid; not usable")
    return info
