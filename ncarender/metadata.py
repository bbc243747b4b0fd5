"""Keys of the ONNX ``metadata_props`` that ncarender writes and reads (no torch, no onnxruntime)."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from .errors import NCAError
from .lattice import MASK_CELL, SQUARE, Lattice, check_mask_kind, lattice_named

if TYPE_CHECKING:
    from .family.seed_maps import SeedMap

__all__ = [
    "DEFAULT_CHANNELS",
    "DEFAULT_FIRE_RATE",
    "DEFAULT_GRID",
    "FAMILY_FORMAT_VERSION",
    "FORMAT_VERSION",
    "META",
    "FamilyInfo",
    "ModelInfo",
    "parse_metadata",
]

FORMAT_VERSION = 1
#: A family model is written as format 2, so an older ncarender refuses it instead of rendering noise.
FAMILY_FORMAT_VERSION = 2


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
    #: A family model: code width D (the last D of ``channels``), the family JSON, its targets as one PNG strip.
    code_channels = "ncarender.code_channels"
    family = "ncarender.family"
    family_targets_png = "ncarender.family_targets_png_base64"
    #: The lattice the state lives on (``square``, ``hex``; absent: square) and the update mask's kind
    #: (``cell``, ``orbit``; absent: cell): :mod:`ncarender.lattice`.
    lattice = "ncarender.lattice"
    mask = "ncarender.mask"
    #: The growth time ``T`` a model was taught (model steps from the seed to the finished flake; absent: none).
    growth_steps = "ncarender.growth_steps"
    #: A lower-precision step (int8): its drift from the float32 step it was made from, as measured when written
    #: (JSON: seeds, steps, worst frame MSE).
    drift = "ncarender.drift"


#: DESIGN.md defaults, used for a model that honours the contract but carries no ncarender metadata.
DEFAULT_CHANNELS = 16
DEFAULT_FIRE_RATE = 0.5
DEFAULT_ALIVE_THRESHOLD = 0.1
DEFAULT_GRID = (72, 72)


@dataclass(frozen=True)
class FamilyInfo:
    """What a family model's metadata says: its K flakes' codes and how a render seed picks one.

    ``codes`` ``(K, D)`` float32 >= 0, written into the last D state channels of the seed cell;
    ``seed_map`` the record that maps a seed to a flake and a flake to its code
    (:mod:`ncarender.family.seed_maps`; a continuous family's ``codes``/``params``/targets are its first
    draws only); ``params`` one dict of generator parameters per flake; ``targets_png`` the K targets side by side.
    """

    spec: str
    codes: np.ndarray
    seed_map: SeedMap
    params: tuple[dict[str, float], ...] = ()
    targets_png: bytes | None = None

    @classmethod
    def one_target(cls, target_name: str | None) -> FamilyInfo:
        """A model that grows one target, as a family of one flake with an empty code ``(1, 0)``
        (:class:`~ncarender.family.seed_maps.OneTarget`): what the render side asks instead of testing for a family."""
        from .family.seed_maps import OneTarget

        return cls(target_name or "custom", np.zeros((1, 0), np.float32), OneTarget(target_name))

    @property
    def names_flakes(self) -> bool:
        """Whether a render names the flake each seed grows (a family; not one target)."""
        return self.seed_map.names_flakes

    @property
    def flakes(self) -> int:
        """K, the number of training flakes whose codes the metadata lists (a continuous family: the first few)."""
        return int(self.codes.shape[0])

    @property
    def code_channels(self) -> int:
        """D, the width of a code."""
        return int(self.codes.shape[1])

    def flake_of_seed(self, seed: int) -> int:
        """The flake a render seed grows (the seed map's choice)."""
        return self.seed_map.flake_of_seed(seed, self.flakes)

    def check_flake(self, flake: int | None) -> None:
        """Refuse a ``--flake`` this model cannot grow (one :class:`NCAError` line); None picks none."""
        if flake is not None:
            self.seed_map.check_flake(flake, self.flakes)

    def code_of_flake(self, flake: int) -> np.ndarray:
        """The code ``(D,)`` float32 of flake ``flake`` (the seed map's)."""
        return self.seed_map.code_of_flake(flake, self.codes)

    def targets(self) -> np.ndarray | None:
        """The K targets ``(K, 4, H, W)`` premultiplied RGBA float32, or None if not stored."""
        if self.targets_png is None:
            return None
        from .family.targets import target_from_png_bytes

        strip = target_from_png_bytes(self.targets_png)  # (4, H, K*W)
        return np.stack(np.split(strip, self.flakes, axis=2))


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
    #: A family model's flakes (None for a model that grows one target).
    family: FamilyInfo | None = None
    #: The lattice the state lives on (:data:`ncarender.lattice.SQUARE` or ``HEX``).
    lattice: Lattice = SQUARE
    #: The update mask's kind: ``cell`` (per-cell Bernoulli) or ``orbit`` (one draw per symmetry orbit).
    mask_kind: str = MASK_CELL
    #: The growth time ``T`` the model was taught (steps from the seed to the finished flake); None: not taught.
    growth_steps: int | None = None

    @cached_property
    def seeding(self) -> FamilyInfo:
        """How a render seed becomes a flake and its code: the family, or a one-target model's family of one
        (:meth:`FamilyInfo.one_target`). The render side asks this record, never whether there is a family."""
        return self.family if self.family is not None else FamilyInfo.one_target(self.target_name)

    @property
    def code_channels(self) -> int:
        """Code channels at the end of the state (0 unless a family model)."""
        return self.seeding.code_channels

    def target(self) -> np.ndarray | None:
        """The stored target as premultiplied RGBA ``(4, H, W)`` float32, or None."""
        if self.target_png is None:
            return None
        from .family.targets import target_from_png_bytes

        return target_from_png_bytes(self.target_png)


def parse_metadata(props: dict[str, str], *, source: str) -> ModelInfo:
    """Build :class:`ModelInfo` from ``metadata_props``; malformed values are an :class:`NCAError`."""
    if META.format_version not in props:
        return ModelInfo(has_metadata=False)
    try:
        version = int(props[META.format_version])
        if version > FAMILY_FORMAT_VERSION:
            raise NCAError(f"{source}: model format version {version} is newer than this ncarender; upgrade it")
        png = props.get(META.target_png)
        training = json.loads(props[META.training]) if META.training in props else {}
        lattice = lattice_named(props.get(META.lattice), source=source)
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
            family=_parse_family(props, source),
            lattice=lattice,
            mask_kind=check_mask_kind(props.get(META.mask), lattice, source=source),
            growth_steps=int(props[META.growth_steps]) if META.growth_steps in props else None,
        )
    except (ValueError, binascii.Error, json.JSONDecodeError) as exc:
        raise NCAError(f"{source}: malformed ncarender metadata ({exc})") from None
    if not 0.0 < info.fire_rate <= 1.0:
        raise NCAError(f"{source}: fire rate {info.fire_rate} in the metadata is outside (0, 1]")
    if info.growth_steps is not None and not 1 <= info.growth_steps <= 100_000:
        raise NCAError(f"{source}: growth time {info.growth_steps} in the metadata is outside 1-100000 steps")
    if info.channels < 4 + info.code_channels or min(info.grid) < 3:
        raise NCAError(f"{source}: metadata gives {info.channels} channels and a {info.grid} grid; not usable")
    return info


def _parse_family(props: dict[str, str], source: str) -> FamilyInfo | None:
    """The family part of the metadata; a partial or inconsistent one is refused (never rendered as noise)."""
    has = [key for key in (META.code_channels, META.family) if key in props]
    if not has:
        return None
    if len(has) < 2:
        missing = META.family if META.code_channels in props else META.code_channels
        raise NCAError(f"{source}: family model metadata is incomplete ({missing} missing)")
    width = int(props[META.code_channels])
    raw = json.loads(props[META.family])
    codes_raw = raw.get("codes") if isinstance(raw, dict) else None
    if not isinstance(codes_raw, list) or not codes_raw:
        raise NCAError(f"{source}: family model metadata has no codes")
    try:
        codes = np.asarray(codes_raw, dtype=np.float32)
    except (TypeError, ValueError):
        raise NCAError(f"{source}: family model codes are not a table of numbers") from None
    if codes.ndim != 2 or codes.shape[1] != width or width < 1:
        raise NCAError(f"{source}: family codes have shape {codes.shape}, metadata says {width} code channels")
    if not np.isfinite(codes).all() or codes.min() < 0:
        raise NCAError(f"{source}: family codes must be finite and >= 0")
    from .family.seed_maps import seed_map_from_json

    seed_map = seed_map_from_json(raw, width, source)
    params_raw = raw.get("params") or []
    params = tuple({str(k): float(v) for k, v in p.items()} for p in params_raw if isinstance(p, dict))
    png = props.get(META.family_targets_png)
    return FamilyInfo(
        spec=str(raw.get("spec", "family")),
        codes=codes,
        seed_map=seed_map,
        params=params,
        targets_png=base64.b64decode(png, validate=True) if png else None,
    )
