"""The built-in models: the ONNX files shipped in the package, picked by name (``--model snowflake``).

Plain data and :mod:`pathlib` only: ``ncarender --help`` reads the names, and no onnxruntime is loaded here.
A ``--model`` value names an existing file first; only a bare name that is not a file (no path separator, no file
suffix) is looked up as a built-in name: ``./snowflake`` or ``snowflake.onnx`` is a path, never a built-in.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePath

from ..errors import NCAError

__all__ = [
    "BUILTIN_MODELS",
    "DEFAULT_MODEL",
    "BuiltinModel",
    "builtin_names",
    "builtin_path",
    "is_path_like",
    "resolve_model",
]


@dataclass(frozen=True)
class BuiltinModel:
    """A shipped model: its name, its file in ``ncarender.models``, one line on what it grows, its flakes and grid.

    ``flakes`` is the number of different flakes its seeds grow (0: a new one from every seed); ``grid`` the
    grid it was trained on, ``(H, W)`` cells. Both are checked against the file's metadata by the tests.
    """

    name: str
    file: str
    about: str
    flakes: int
    grid: tuple[int, int]


#: The shipped models by name, the default first.
BUILTIN_MODELS: dict[str, BuiltinModel] = {
    m.name: m
    for m in (
        BuiltinModel(
            "snowflakes",
            "snowflakes.onnx",
            "16 different snowflakes of Reiter's automaton: seed N grows flake N mod 16, its growth from seed N",
            16,
            (40, 40),
        ),
        BuiltinModel(
            "snowflakes-per-seed",
            "snowflakes-per-seed.onnx",
            "a new crystal from every seed: seed N draws its own automaton parameters (continuous family)",
            0,
            (32, 32),
        ),
        BuiltinModel(
            "snowflake", "snowflake.onnx", "the emoji snowflake: one flake, grown from every seed", 1, (72, 72)
        ),
    )
}
#: The model a command uses without ``--model``.
DEFAULT_MODEL = "snowflakes"


def builtin_names() -> str:
    """The built-in names for messages and help: ``snowflakes, snowflakes-per-seed, snowflake``."""
    return ", ".join(BUILTIN_MODELS)


def builtin_path(name: str) -> Path:
    """The installed file of built-in model ``name``, or an :class:`NCAError` if this install lacks it."""
    from importlib import resources

    model = BUILTIN_MODELS.get(name)
    if model is None:
        raise NCAError(f"{name!r} is not a built-in model ({builtin_names()})")
    path = Path(str(resources.files("ncarender.models") / model.file))
    if not path.is_file():
        raise NCAError(
            f"the built-in model {name!r} ({model.file}) is missing from this install; "
            "pass --model FILE.onnx (export one with `ncarender export`)"
        )
    return path


def is_path_like(text: str) -> bool:
    """True if ``text`` reads as a path rather than a name: it has a path separator or a file suffix."""
    separators = {"/", os.sep} | ({os.altsep} if os.altsep else set())
    return any(sep in text for sep in separators) or bool(PurePath(text).suffix)


def resolve_model(model: str | Path | None) -> Path:
    """The file ``model`` means: an existing path as given, else a built-in name; ``None`` is the default.

    A value with a path separator or a file suffix is a path, never a built-in name (``./snowflake`` of a missing
    file is an error, not the built-in ``snowflake``). Raises :class:`NCAError` for a path that does not exist and
    is no built-in name, or a folder.
    """
    if model is None:
        return builtin_path(DEFAULT_MODEL)
    path = Path(model)
    if path.is_file():
        return path
    if str(model) in BUILTIN_MODELS and not is_path_like(str(model)):
        return builtin_path(str(model))
    if path.is_dir():
        raise NCAError(f"model {str(model)!r} is a folder, not an ONNX file")
    if path.stem in BUILTIN_MODELS and is_path_like(str(model)):
        raise NCAError(f"model {str(model)!r} does not exist (a path; the built-in model is --model {path.stem})")
    raise NCAError(f"model {str(model)!r} does not exist (built-in models: {builtin_names()})")
