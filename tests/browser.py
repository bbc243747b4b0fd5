"""A headless Chromium for tests (Python playwright over the system's chromium; never a downloaded browser).

With ``CI=true`` a missing browser or playwright fails the test loudly; elsewhere it skips.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

#: Where the browser is looked for, first match wins (``NCARENDER_CHROMIUM`` overrides).
CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "chromium", "chromium-browser")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    """The chromium executable to drive, or None."""
    wanted = os.environ.get("NCARENDER_CHROMIUM")
    for name in (wanted,) if wanted else CANDIDATES:
        found = shutil.which(name) if name else None
        if found:
            return found
    return None


def unavailable(reason: str) -> None:
    """Skip, or under CI (``CI=true``) fail: browser tests must run there."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but the browser tests cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


@contextmanager
def chromium(*, webgl: bool = False) -> Iterator[BrowserContext]:
    """A fresh headless Chromium with its own temporary profile (``--user-data-dir``), closed on exit."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install playwright)")
    exe = chromium_path()
    if exe is None:
        unavailable("no chromium found (apt-get install chromium)")
    args = [*ARGS, "--enable-unsafe-swiftshader"] if webgl else ARGS
    with tempfile.TemporaryDirectory(prefix="ncarender-chromium-") as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(Path(profile)), executable_path=exe, headless=True, args=args, viewport={"width": 640, "height": 560}
        )
        try:
            yield context
        finally:
            context.close()
