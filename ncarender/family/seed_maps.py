"""How a family model turns a render seed into a flake and its code: one record per kind of seed map.

A family model's metadata names its seed map (``"seed_map"`` in the family JSON). Each kind is one record
here that owns everything the rest of the code would otherwise branch on: which flake a seed grows, that
flake's code, which ``--flake`` values exist, what the metadata carries, what ``info`` says and which codes
the live page offers. Adding a kind of conditioning is one record here (and the trainer's use of it).

- :class:`CycleMap` (``cycle``): K fixed flakes with arbitrary codes; seed ``s`` grows flake ``s mod K``.
- :class:`ParamsMap` (``reiter-params``): a continuous family; seed ``s`` grows parameter draw ``s`` of a
  :class:`~ncarender.family.param_family.ParamMap`, coded by its own parameters.
- :class:`OneTarget` (``one-target``): a model that grows one target is a seed map too, with one flake and no
  code, so the render side asks the record instead of testing for a family.

:data:`SEED_MAPS` is the table of the kinds a family's metadata may name (name -> class).

numpy only: the render path reads these.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ..errors import NCAError

if TYPE_CHECKING:
    from .param_family import ParamMap

__all__ = [
    "PARAM_FAMILY_SHOWN",
    "SEED_MAPS",
    "SEED_MAP_CYCLE",
    "SEED_MAP_ONE_TARGET",
    "SEED_MAP_PARAMS",
    "CycleMap",
    "OneTarget",
    "ParamsMap",
    "SeedMap",
    "seed_map_from_json",
    "seed_map_of_spec",
]

#: How a family model maps a render seed to a flake: flake = seed mod K (the mask stream is the seed's, as always).
SEED_MAP_CYCLE = "cycle"
#: A continuous family: seed N grows parameter draw N of the metadata's ``param_map``, coded by its parameters.
SEED_MAP_PARAMS = "reiter-params"
#: A model that grows one target: one flake, no code (never written into a family's metadata).
SEED_MAP_ONE_TARGET = "one-target"
#: How many of a continuous family's training flakes (codes, parameters, targets) its metadata keeps.
PARAM_FAMILY_SHOWN = 16
#: The largest seed or draw index (a continuous family's ``--flake``).
_MAX_DRAW = 2**63


class SeedMap(ABC):
    """One kind of seed map: seed -> flake -> code, its metadata, its ``info`` and its page."""

    #: The name in the metadata (``"seed_map"``).
    kind: ClassVar[str]
    #: Whether a checkpoint keeps the family's targets (else it keeps the draws and regrows them from the spec).
    stores_targets: ClassVar[bool] = True
    #: Whether a render names the flake each seed grows (its result, a batch manifest); not for one target.
    names_flakes: ClassVar[bool] = True

    @classmethod
    def from_json(cls, raw: dict[str, object], code_channels: int, source: str) -> SeedMap:
        """The map a family's metadata JSON ``raw`` describes (its own keys checked; an :class:`NCAError`)."""
        return cls()

    @classmethod
    def trains(cls, spec: str) -> SeedMap | None:
        """The map a family named ``spec`` trains with, if this kind is the one its name calls for."""
        return None

    @abstractmethod
    def flake_of_seed(self, seed: int, flakes: int) -> int:
        """The flake a render seed grows, of the ``flakes`` the metadata lists."""

    @abstractmethod
    def code_of_flake(self, flake: int, codes: np.ndarray) -> np.ndarray:
        """The code ``(D,)`` float32 of ``flake``, given the metadata's codes ``(K, D)``."""

    @abstractmethod
    def check_flake(self, flake: int, flakes: int) -> None:
        """Refuse a ``--flake`` this model cannot grow (an :class:`NCAError`, one line)."""

    def params_of_flake(self, flake: int) -> dict[str, float] | None:
        """The generator parameters of ``flake`` a batch manifest records, if the map knows them."""
        return None

    @abstractmethod
    def shown(self, flakes: int) -> int:
        """How many of ``flakes`` training flakes the metadata keeps (codes, parameters, targets)."""

    @abstractmethod
    def to_json(self, draws: tuple[int, ...], flakes: int) -> dict[str, object]:
        """The family JSON's keys of this map, for a run that trained ``draws`` (or ``flakes`` flakes)."""

    @abstractmethod
    def count_json(self, flakes: int) -> dict[str, object]:
        """``ncarender info``'s count of what was trained: ``flakes``, or a continuous family's draws."""

    @abstractmethod
    def describe(self, flakes: int) -> dict[str, object]:
        """``ncarender info``'s words on the map: the ``seed_map`` line and what goes with it."""

    @abstractmethod
    def page_codes(self, codes: np.ndarray) -> np.ndarray:
        """The codes ``(K, D)`` float32 the live page offers, given the metadata's."""

    @abstractmethod
    def page_start(self, codes: np.ndarray, flake: int | None, seed: int) -> tuple[np.ndarray, int, list[int] | None]:
        """The page's codes, the flake it starts with (``flake``, else the seed's) and each code's draw, if any."""


@dataclass(frozen=True)
class CycleMap(SeedMap):
    """K fixed flakes: seed ``s`` grows flake ``s mod K``; ``--flake`` picks one of them."""

    kind: ClassVar[str] = SEED_MAP_CYCLE

    def flake_of_seed(self, seed: int, flakes: int) -> int:
        return seed % flakes

    def code_of_flake(self, flake: int, codes: np.ndarray) -> np.ndarray:
        return codes[flake]

    def check_flake(self, flake: int, flakes: int) -> None:
        if not 0 <= flake < flakes:
            raise NCAError(f"--flake {flake} is out of range: this model has {flakes} flakes (0-{flakes - 1})")

    def shown(self, flakes: int) -> int:
        return flakes

    def to_json(self, draws: tuple[int, ...], flakes: int) -> dict[str, object]:
        return {"seed_map": self.kind}

    def count_json(self, flakes: int) -> dict[str, object]:
        return {"flakes": flakes}

    def describe(self, flakes: int) -> dict[str, object]:
        return {"seed_map": f"{self.kind}: seed N grows flake N mod {flakes}; --flake K picks one"}

    def page_codes(self, codes: np.ndarray) -> np.ndarray:
        return codes.astype(np.float32)

    def page_start(self, codes: np.ndarray, flake: int | None, seed: int) -> tuple[np.ndarray, int, list[int] | None]:
        k = int(codes.shape[0])
        if flake is None:
            return codes, seed % k, None
        self.check_flake(flake, k)
        return codes, flake, None


@dataclass(frozen=True)
class ParamsMap(SeedMap):
    """A continuous family: seed ``s`` grows draw ``s`` of ``param_map``, coded by its parameters.

    ``training_draws``: draws ``0..training_draws-1`` were trained (those that grew); later ones never seen.
    """

    kind: ClassVar[str] = SEED_MAP_PARAMS
    stores_targets: ClassVar[bool] = False  # hundreds of targets, megabytes: regrown from the spec on load
    param_map: ParamMap
    training_draws: int = 0

    @classmethod
    def from_json(cls, raw: dict[str, object], code_channels: int, source: str) -> SeedMap:
        from .param_family import PARAM_CODE_CHANNELS, ParamMap

        try:
            param_map = ParamMap.from_json(raw.get("param_map"))
        except NCAError as exc:
            raise NCAError(f"{source}: {exc}") from None
        draws = raw.get("training_draws")
        if code_channels != PARAM_CODE_CHANNELS or isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
            raise NCAError(
                f"{source}: continuous family metadata needs {PARAM_CODE_CHANNELS} code channels and training_draws"
            )
        return cls(param_map, draws)

    @classmethod
    def trains(cls, spec: str) -> SeedMap | None:
        from .family import PARAMS_PREFIX, parse_family_spec
        from .param_family import default_param_map

        return cls(default_param_map(parse_family_spec(spec).seed)) if spec.startswith(PARAMS_PREFIX) else None

    def flake_of_seed(self, seed: int, flakes: int) -> int:
        return seed

    def code_of_flake(self, flake: int, codes: np.ndarray) -> np.ndarray:
        return self.param_map.code_of(self.param_map.params(flake))

    def check_flake(self, flake: int, flakes: int) -> None:
        if not 0 <= flake < _MAX_DRAW:
            raise NCAError(f"--flake {flake} is out of range: a continuous family's draws are 0 and up")

    def params_of_flake(self, flake: int) -> dict[str, float]:
        return asdict(self.param_map.params(flake))

    def shown(self, flakes: int) -> int:
        return min(flakes, PARAM_FAMILY_SHOWN)

    def to_json(self, draws: tuple[int, ...], flakes: int) -> dict[str, object]:
        return {
            "seed_map": self.kind,
            "param_map": self.param_map.to_json(),
            "training_draws": (max(draws) + 1) if draws else flakes,
        }

    def count_json(self, flakes: int) -> dict[str, object]:
        return {"training_draws": self.training_draws}

    def describe(self, flakes: int) -> dict[str, object]:
        return {
            "seed_map": f"{self.kind}: seed N grows the crystal of parameter draw N "
            f"(draws 0-{self.training_draws - 1} were trained, later ones never seen); --flake K picks draw K",
            "param_map": self.param_map.to_json(),
        }

    def page_codes(self, codes: np.ndarray) -> np.ndarray:
        return self.param_map.codes(range(int(codes.shape[0])))

    def page_start(self, codes: np.ndarray, flake: int | None, seed: int) -> tuple[np.ndarray, int, list[int] | None]:
        """A draw past the K the metadata lists is added to the page's codes as flake K."""
        k = int(codes.shape[0])
        draw = seed if flake is None else flake
        self.check_flake(draw, k)
        if draw < k:
            return codes, draw, list(range(k))
        return np.vstack([codes, self.code_of_flake(draw, codes)[None]]), k, [*range(k), draw]


@dataclass(frozen=True)
class OneTarget(SeedMap):
    """A model that grows one target: every seed grows flake 0, whose code is empty (``(0,)``); no ``--flake``."""

    kind: ClassVar[str] = SEED_MAP_ONE_TARGET
    names_flakes: ClassVar[bool] = False
    #: The target's name, for the one line that refuses ``--flake``.
    target_name: str | None = None

    def flake_of_seed(self, seed: int, flakes: int) -> int:
        return 0

    def code_of_flake(self, flake: int, codes: np.ndarray) -> np.ndarray:
        return codes[0]

    def check_flake(self, flake: int, flakes: int) -> None:
        raise NCAError(f"--flake needs a family model; this model grows one target ({self.target_name or 'custom'})")

    def shown(self, flakes: int) -> int:
        return 1

    def to_json(self, draws: tuple[int, ...], flakes: int) -> dict[str, object]:
        return {}

    def count_json(self, flakes: int) -> dict[str, object]:
        return {}

    def describe(self, flakes: int) -> dict[str, object]:
        return {}

    def page_codes(self, codes: np.ndarray) -> np.ndarray:
        return codes.astype(np.float32)

    def page_start(self, codes: np.ndarray, flake: int | None, seed: int) -> tuple[np.ndarray, int, list[int] | None]:
        if flake is not None:
            self.check_flake(flake, 1)
        return codes, 0, None


#: The kinds of seed map a family model's metadata may name (``"seed_map"``), by name.
SEED_MAPS: dict[str, type[SeedMap]] = {cls.kind: cls for cls in (CycleMap, ParamsMap)}


def seed_map_from_json(raw: dict[str, object], code_channels: int, source: str) -> SeedMap:
    """The seed map of a family model's metadata JSON; unknown or malformed is an :class:`NCAError`."""
    kind = str(raw.get("seed_map", SEED_MAP_CYCLE))
    if kind not in SEED_MAPS:
        raise NCAError(f"{source}: unknown family seed map {kind!r}; upgrade ncarender")
    return SEED_MAPS[kind].from_json(raw, code_channels, source)


def seed_map_of_spec(spec: str) -> SeedMap:
    """The seed map a family named ``spec`` trains with (``reiter:params:N``: its parameter map; else a cycle)."""
    for cls in SEED_MAPS.values():
        chosen = cls.trains(spec)
        if chosen is not None:
            return chosen
    return CycleMap()
