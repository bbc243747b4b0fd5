"""Where a render goes: a path, or a binary file object (``io.BytesIO``, ``open(..., "wb")``, a socket's file).

A file object gets the finished file's bytes in one ``write`` once the render is complete; until then the render
lives in a temporary folder, removed afterwards whatever happens. No numpy, no onnxruntime.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from .errors import NCAError
from .writers.formats import RENDERS, format_from_path, get_format

__all__ = ["Target", "file_target", "target_format"]

#: Where a render goes.
Target = str | os.PathLike[str] | IO[bytes]


def is_path(target: object) -> bool:
    """A path (``str`` or :class:`os.PathLike`), not a file object."""
    return isinstance(target, str | os.PathLike)


def target_format(target: object, fmt: str | None) -> str:
    """The format of a render to ``target``: ``fmt``, or read from the path's suffix (or a file object's ``name``)."""
    if fmt is not None:
        if fmt not in RENDERS:
            raise NCAError(f"unknown output format {fmt!r} (choose {', '.join(RENDERS)})")
        return fmt
    if is_path(target):
        return format_from_path(Path(target))  # type: ignore[arg-type]
    name = getattr(target, "name", None)
    if isinstance(name, str) and Path(name).suffix:
        return format_from_path(Path(name))
    raise NCAError(f"give fmt= ({', '.join(RENDERS)}) to render into a file object")


def _check_file_object(target: object, fmt: str) -> None:
    """Refuse, before anything renders, a target that is no writable binary file object, or a format that is
    more than one file."""
    if isinstance(target, io.TextIOBase):
        raise NCAError("a render is bytes: give a binary file object (io.BytesIO(), open(path, 'wb')), not a text one")
    if not callable(getattr(target, "write", None)):
        raise NCAError(f"the output must be a path or a binary file object, got {type(target).__name__}")
    writable = getattr(target, "writable", None)
    try:
        ok = writable() if callable(writable) else True
    except ValueError:  # closed
        ok = False
    if not ok:
        raise NCAError("the file object is closed or not open for writing")
    record = get_format(fmt)
    if not record.suffix:
        raise NCAError(f"{record.title} go into a folder: give a path, not a file object")
    if record.companions:
        raise NCAError(
            f"a {record.name} writes {', '.join(record.companions)} beside it: give a path, not a file object"
        )


@contextlib.contextmanager
def file_target(target: IO[bytes], fmt: str) -> Iterator[Path]:
    """Yield a path in a temporary folder to render ``fmt`` into; when the block ends without an error, write the
    file's bytes to ``target`` in one call. Checks ``target`` first (:class:`NCAError` for one that cannot take
    them)."""
    _check_file_object(target, fmt)
    with tempfile.TemporaryDirectory(prefix="ncarender-") as folder:
        path = Path(folder) / f"render{get_format(fmt).suffix}"
        yield path
        data = path.read_bytes()
        try:
            target.write(data)
        except (OSError, ValueError, TypeError) as exc:
            raise NCAError(f"cannot write the {fmt} to the file object: {exc}") from None
