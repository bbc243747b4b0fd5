"""Write-to-temporary-then-rename, so no half-written output is ever left behind."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import NCAError

__all__ = ["atomic_path", "check_writable_dir"]


def check_writable_dir(folder: Path) -> None:
    """Raise :class:`NCAError` unless ``folder`` exists, is a folder and can be written."""
    if not folder.exists():
        raise NCAError(f"output folder {str(folder)!r} does not exist")
    if not folder.is_dir():
        raise NCAError(f"{str(folder)!r} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise NCAError(f"output folder {str(folder)!r} is not writable")


@contextlib.contextmanager
def atomic_path(path: Path | str, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it over ``path``.

    On any exception (Ctrl-C included) the temporary file is removed and
    whatever was at ``path`` stays untouched. ``suffix`` defaults to the
    suffix of ``path`` so writers that pick a format by extension still work.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    check_writable_dir(folder)
    if path.is_dir():
        raise NCAError(f"output path {str(path)!r} is a folder")
    try:
        fd, name = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=path.suffix if suffix is None else suffix, dir=folder
        )
    except OSError as exc:
        raise NCAError(f"cannot write to {str(folder)!r}: {exc.strerror}") from None
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
