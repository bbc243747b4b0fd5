"""PNG frames: numbered straight-alpha RGBA PNGs (``frame-00000.png``...) in a folder.

They are written as they come into a temporary sibling folder, swapped in at close. A folder that exists is
replaced only if it is empty or holds nothing but ``frame-*.png`` files (an earlier render); otherwise it is
refused. Summary key: ``pattern``.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import uuid
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import NCAError
from .base import BaseWriter, scaled

__all__ = ["FRAME_NAME_DIGITS", "PngFramesWriter"]

#: Fewest digits in PNG frame names (``frame-00000.png``).
FRAME_NAME_DIGITS = 5

_FRAME_FILE = re.compile(r"frame-\d+\.png")


def _check_frames_folder(path: Path) -> None:
    """Refuse a target that is a file or a folder holding anything but ``frame-*.png`` files."""
    if not path.exists():
        return
    if not path.is_dir():
        raise NCAError(f"{str(path)!r} is a file; PNG frames need a folder")
    foreign = sorted(p.name for p in path.iterdir() if not (_FRAME_FILE.fullmatch(p.name) and p.is_file()))
    if foreign:
        raise NCAError(
            f"folder {str(path)!r} holds other files than frame-*.png (e.g. {foreign[0]!r}); choose an empty folder"
        )


class PngFramesWriter(BaseWriter):
    """Numbered RGBA PNGs written as they come into a temporary sibling folder, swapped in at close."""

    format = "frames"

    def _layout(self) -> None:
        self.digits = max(FRAME_NAME_DIGITS, len(str(self.n_frames - 1)))
        _check_frames_folder(self.path)

    def _open(self) -> None:
        path = self.path
        try:
            self._tmp: Path | None = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
        except OSError as exc:
            raise NCAError(f"cannot write to {str(path.parent)!r}: {exc.strerror}") from None

    def name(self, index: int) -> str:
        """File name of frame ``index``."""
        return f"frame-{index:0{self.digits}d}.png"

    def _add(self, frame: np.ndarray, index: int) -> None:
        assert self._tmp is not None
        image = scaled(Image.fromarray(frame, "RGBA"), self.options.scale)
        image.save(self._tmp / self.name(index), format="PNG")

    def _finish(self) -> dict[str, object]:
        assert self._tmp is not None
        _check_frames_folder(self.path)  # again: something may have appeared meanwhile
        os.chmod(self._tmp, 0o755)
        old = None
        if self.path.exists():
            old = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}.old")
            os.rename(self.path, old)
        try:
            os.rename(self._tmp, self.path)
        except OSError as exc:
            if old is not None:
                os.rename(old, self.path)
            raise NCAError(f"cannot write {str(self.path)!r}: {exc.strerror}") from None
        self._tmp = None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return {"pattern": f"frame-%0{self.digits}d.png"}

    def _discard(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
