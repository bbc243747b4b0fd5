"""The batch manifest: ``OUTDIR/manifest.jsonl``, one JSON object a line, appended whole, locked and fsynced.

Also what resume needs: the sha256 of an output (a file or a folder), which wanted outputs are complete and
recorded, and the temporaries an interrupted writer left.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import NCAError
from ..writers.formats import output_name, temporary_pattern

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: appends are not locked against other processes
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "MANIFEST_NAME",
    "Manifest",
    "completed",
    "path_sha256",
    "read_manifest",
    "remove_temporaries",
    "signals_held",
]

#: The manifest's file name inside OUTDIR.
MANIFEST_NAME = "manifest.jsonl"


def path_sha256(path: Path, *, sync: bool = False) -> str:
    """SHA-256 of a file, or of a folder: of ``name NUL sha256(file) LF`` for its files in name order.

    With ``sync`` each file is also fsynced, so a record never outlives its data.
    """
    if path.is_dir():
        outer = hashlib.sha256()
        for child in sorted(path.iterdir()):
            if child.is_file():
                outer.update(f"{child.name}\0{path_sha256(child, sync=sync)}\n".encode())
        return outer.hexdigest()
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
        if sync:
            os.fsync(fh.fileno())
    return digest.hexdigest()


def read_manifest(path: Path | str) -> list[dict[str, object]]:
    """The records of a manifest in order; a torn last line (a write cut short) is ignored.

    A missing file has no records. Any other line that is not a JSON object
    raises :class:`NCAError`.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise NCAError(f"cannot read the manifest {str(path)!r}: {exc.strerror}") from None
    lines = data.split(b"\n")[:-1]  # what follows the last newline is nothing, or a torn line
    records: list[dict[str, object]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            raise NCAError(f"{str(path)!r} line {number} is not a JSON object; fix or remove that line")
        records.append(record)
    return records


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class Manifest:
    """An append-only JSON Lines file; each append is one locked, fsynced write of a whole line.

    Before appending, a torn last line (left by a process killed mid-write or
    a full disk) is cut off; a failed append is rolled back, so the file is
    always whole lines. Several processes (shards) may append to one file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, record: dict[str, object]) -> None:
        """Append ``record`` as one line; :class:`NCAError` if the disk refuses."""
        line = (json.dumps(record, sort_keys=True) + "\n").encode()
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            raise NCAError(f"cannot write the manifest {str(self.path)!r}: {exc.strerror}") from None
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            size = _cut_torn_line(fd)
            try:
                _write_all(fd, line)
                os.fsync(fd)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, size)
                raise NCAError(f"cannot write the manifest {str(self.path)!r}: {exc.strerror}") from None
        finally:
            os.close(fd)  # also releases the lock


#: The signals that stop a batch (Ctrl-C; SIGTERM from a scheduler, which the command line makes a Ctrl-C).
_STOPS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Run the block as one step that Ctrl-C or SIGTERM cannot split: a signal that arrives meanwhile is acted on
    (its handler called, or its default action taken) when the block ends.

    A manifest line and the count of written outputs change together under it, so an interrupt message's count
    always equals the manifest's lines. Outside the main thread (where Python runs no signal handlers) it does
    nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, frame: arrived.append(signum)) for sig in _STOPS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        for signum in dict.fromkeys(arrived):
            handler = previous[signal.Signals(signum)]
            if callable(handler):
                handler(signum, None)
            elif handler in (signal.SIG_DFL, None):
                signal.raise_signal(signum)


def _cut_torn_line(fd: int) -> int:
    """Truncate ``fd`` after its last newline if it does not end with one; return its size."""
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return size
    end = size
    while end > 0:
        start = max(0, end - 4096)
        cut = os.pread(fd, end - start, start).rfind(b"\n")
        if cut >= 0:
            end = start + cut + 1
            break
        end = start
    os.ftruncate(fd, end)
    return end


def completed(
    outdir: Path, records: Iterable[dict[str, object]], wanted: dict[tuple[int, str], dict[str, object]], model: str
) -> set[tuple[int, str]]:
    """The ``(seed, format)`` pairs of ``wanted`` whose latest record matches and whose file is intact."""
    latest: dict[str, dict[str, object]] = {}
    for line in records:
        if isinstance(line.get("path"), str):
            latest[str(line["path"])] = line
    done: set[tuple[int, str]] = set()
    for (seed, fmt), options in wanted.items():
        record = latest.get(output_name(seed, fmt))
        if (
            record is None
            or record.get("seed") != seed
            or record.get("format") != fmt
            or record.get("model_sha256") != model
            or record.get("options") != options
        ):
            continue
        path = outdir / output_name(seed, fmt)
        atlas = record.get("atlas")
        if not path.exists() or (isinstance(atlas, str) and not (outdir / atlas).is_file()):
            continue
        if path_sha256(path) == record.get("sha256"):
            done.add((seed, fmt))
    return done


def remove_temporaries(outdir: Path, names: set[str]) -> None:
    """Remove what an interrupted writer left for the outputs ``names`` (only those: other shards may be writing)."""
    pattern = temporary_pattern()
    for entry in outdir.iterdir():
        match = pattern.match(entry.name)
        if match and match.group(1) in names:
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    entry.unlink()
