"""How the console script starts and ends a process quickly, without changing what it does.

* :func:`one_blas_thread`: numpy's OpenBLAS starts a thread per core when numpy is imported (~50 ms of a
  render's start on 2 busy cores) and no render-side product is large enough to use them (the GIF's colour
  table multiplies blocks of 256 colours on the calling thread); onnxruntime and torch keep their own pools.
* :func:`exit_now`: the interpreter's teardown (freeing every module, onnxruntime's and OpenBLAS's static
  objects) takes ~30-60 ms after the work is done. Once the command has returned, its files are closed and
  renamed and its threads and processes joined, so the process flushes its streams, runs the ``atexit``
  callbacks and ends with ``os._exit``. Where something might still run (a non-daemon thread, a child
  process) or torch is loaded, it exits the ordinary way.

Only the console script (:func:`ncarender.cli.main`) calls these; the library and typer's test runner never do.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading

__all__ = ["BLAS_THREAD_VARS", "exit_code", "exit_now", "one_blas_thread"]

#: The variables OpenBLAS reads for its thread count, the first one set wins (numpy's wheels use OpenBLAS).
BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")


def one_blas_thread() -> None:
    """Give numpy's OpenBLAS one thread, unless the environment names a count (the user's choice stays) or
    numpy is already loaded (too late to matter). Child processes (the batch's encoders) inherit it."""
    if "numpy" in sys.modules or any(name in os.environ for name in BLAS_THREAD_VARS):
        return
    os.environ["OPENBLAS_NUM_THREADS"] = "1"


def exit_code(code: object) -> int:
    """The status the interpreter exits with for ``SystemExit(code)``: None -> 0, an int as is, anything else is
    printed on stderr and gives 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _may_exit_now() -> bool:
    """Whether nothing of the process can still be running: no other non-daemon thread, no child process of
    ``multiprocessing``, and no torch (its pools and files are left to its own teardown)."""
    if "torch" in sys.modules:
        return False
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        return False
    mp = sys.modules.get("multiprocessing")
    return mp is None or not mp.active_children()


def exit_now(code: object) -> None:
    """End the process with the status of ``SystemExit(code)``: flush stdout and stderr, run the ``atexit``
    callbacks and leave with ``os._exit``, skipping the interpreter's teardown; the ordinary ``SystemExit`` where
    :func:`_may_exit_now` says something could still run. Never returns."""
    status = exit_code(code)
    if not _may_exit_now():
        raise SystemExit(status)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # a closed pipe (`ncarender info | head`): Python exits 120 there
            status = status or 120
    os._exit(status)
